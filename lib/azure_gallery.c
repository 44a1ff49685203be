/* SPDX-License-Identifier: MIT */
#include "azure_gallery.h"
#include "azure_rules.h"
#include "log.h"
#include "profile.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

void azure_image_features_done(struct azure_image_features *f) {
        free(f->name);
        free(f->version);
        memset(f, 0, sizeof *f);
}

static bool rule_passed(const struct azure_report *rep, const char *name) {
        for (size_t i = 0; i < rep->n; i++)
                if (strcmp(rep->results[i].name, name) == 0)
                        return rep->results[i].status == RULE_PASS;
        return false;
}

/* "azure-base.vhd" -> "azure-base" */
static char *name_from_path(const char *path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t n = strlen(base);
        if (n > 4 && strcasecmp(base + n - 4, ".vhd") == 0)
                n -= 4;
        return n ? xstrndup(base, n) : xstrdup("IMAGE_DEFINITION");
}

/* A gallery image version is MAJOR.MINOR.PATCH (each a 32-bit integer):
 * "1.0" -> "1.0.0"; anything else -> NULL. */
static char *gallery_version(const char *v) {
        if (!v)
                return NULL;
        unsigned long part[3] = { 0, 0, 0 };
        size_t n = 0;
        for (const char *p = v; *p; n++) {
                if (n == 3 || !isdigit((unsigned char)*p))
                        return NULL;
                char *end;
                part[n] = strtoul(p, &end, 10);
                if (part[n] > 2147483647UL || (*end && *end != '.') || (*end == '.' && !end[1]))
                        return NULL;
                p = *end ? end + 1 : end;
        }
        return n ? xasprintf("%lu.%lu.%lu", part[0], part[1], part[2]) : NULL;
}

int azure_features_from_image(const char *path, struct azure_image_features *ret) {
        memset(ret, 0, sizeof *ret);
        struct image_reader *r = NULL;
        struct image_info info = { 0 };
        struct azure_report rep = { 0 };
        int k = azure_verify_path(path, &r, &info, &rep);
        if (k < 0)
                return k;
        ret->source = "image";
        ret->bios = rule_passed(&rep, "boot.gen1-bios");
        ret->uefi = rule_passed(&rep, "boot.gen2-uefi");
        /* what verify --azure checks: BOOTX64.EFI's Authenticode chain to
         * Microsoft's UEFI CA (shim), and for NVMe both the driver and
         * Azure's disk-naming udev rules (azure-vm-utils) */
        ret->secure_boot = rule_passed(&rep, "boot.secure-boot-signed");
        ret->nvme = rule_passed(&rep, "initramfs.nvme") && rule_passed(&rep, "nvme.disk-naming");
        ret->name = name_from_path(path);
        azure_report_done(&rep);
        image_info_done(&info);
        image_reader_free(r);
        return 0;
}

void azure_features_from_profile(const struct slw_profile *p, struct azure_image_features *ret) {
        memset(ret, 0, sizeof *ret);
        ret->source = "profile";
        ret->bios = p->bootloader.bios && !p->immutable.enabled;
        ret->uefi = p->bootloader.uefi || p->immutable.enabled;
        /* an immutable image's Secure Boot is its own key's UKI, which
         * Azure's firmware (Microsoft's keys) does not trust */
        ret->secure_boot = p->bootloader.secure_boot && !p->immutable.enabled;
        ret->nvme = strv_contains(p->kernel.initramfs_modules, "nvme") && strv_contains(p->packages.install, "azure-vm-utils");
        ret->name = xstrdup(p->name ? p->name : "IMAGE_DEFINITION");
        ret->version = gallery_version(p->version);
}

const char *azure_hyperv_generation(const struct azure_image_features *f) {
        return f->uefi ? "V2" : "V1";
}

char **azure_gallery_features(const struct azure_image_features *f) {
        char **l = NULL;
        if (f->uefi && f->secure_boot)
                strv_push(&l, "SecurityType=TrustedLaunchSupported");
        if (f->uefi && f->nvme)
                strv_push(&l, "DiskControllerTypes=SCSI,NVMe");
        return l;
}

char **azure_gallery_definition_argv(const struct azure_image_features *f) {
        char **a = NULL;
        const char *const fixed[] = { "az", "sig", "image-definition", "create", "--resource-group", "RESOURCE_GROUP",
                                      "--gallery-name", "GALLERY", "--gallery-image-definition" };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                strv_push(&a, fixed[i]);
        strv_push(&a, f->name);
        const char *const rest[] = { "--publisher", "PUBLISHER", "--offer", "OFFER", "--sku", "SKU",
                                     "--os-type", "Linux", "--os-state", "Generalized", "--hyper-v-generation" };
        for (size_t i = 0; i < ELEMENTSOF(rest); i++)
                strv_push(&a, rest[i]);
        strv_push(&a, azure_hyperv_generation(f));
        _cleanup_strv_free_ char **feat = azure_gallery_features(f);
        if (feat) {
                /* one argument, the features separated by spaces, as the CLI takes them */
                size_t len = 0;
                char *joined = NULL;
                FILE *m = open_memstream(&joined, &len);
                if (!m)
                        abort();
                for (size_t i = 0; feat[i]; i++)
                        fprintf(m, "%s%s", i ? " " : "", feat[i]);
                fclose(m);
                strv_push(&a, "--features");
                strv_push(&a, joined);
                free(joined);
        }
        return a;
}

char **azure_gallery_version_argv(const struct azure_image_features *f, const char *blob_url, const char *account) {
        char **a = NULL;
        const char *const fixed[] = { "az", "sig", "image-version", "create", "--resource-group", "RESOURCE_GROUP",
                                      "--gallery-name", "GALLERY", "--gallery-image-definition" };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                strv_push(&a, fixed[i]);
        strv_push(&a, f->name);
        strv_push(&a, "--gallery-image-version");
        strv_push(&a, f->version ? f->version : "1.0.0");
        strv_push(&a, "--os-vhd-uri");
        strv_push(&a, blob_url);
        strv_push(&a, "--os-vhd-storage-account");
        strv_push(&a, account ? account : "STORAGE_ACCOUNT");
        return a;
}

static json_object *strv_json(char *const *l) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; l && l[i]; i++)
                json_object_array_add(a, json_object_new_string(l[i]));
        return a;
}

json_object *azure_gallery_to_json(const struct azure_image_features *f, const char *blob_url, const char *account) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "source", json_object_new_string(f->source));
        json_object_object_add(o, "name", json_object_new_string(f->name));
        json_object_object_add(o, "version", json_object_new_string(f->version ? f->version : "1.0.0"));
        json_object_object_add(o, "hyper_v_generation", json_object_new_string(azure_hyperv_generation(f)));
        _cleanup_strv_free_ char **feat = azure_gallery_features(f);
        json_object_object_add(o, "features", strv_json(feat));
        json_object_object_add(o, "bios", json_object_new_boolean(f->bios));
        json_object_object_add(o, "uefi", json_object_new_boolean(f->uefi));
        json_object_object_add(o, "secure_boot", json_object_new_boolean(f->secure_boot));
        json_object_object_add(o, "nvme", json_object_new_boolean(f->nvme));
        _cleanup_strv_free_ char **d = azure_gallery_definition_argv(f);
        _cleanup_strv_free_ char **v = azure_gallery_version_argv(f, blob_url, account);
        json_object *cmds = json_object_new_array();
        json_object_array_add(cmds, strv_json(d));
        json_object_array_add(cmds, strv_json(v));
        json_object_object_add(o, "commands", cmds);
        return o;
}
