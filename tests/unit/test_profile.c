/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* Profile engine: include order, merge rules, remove, reasons, origins,
 * --set, defaults, did-you-mean.  Runs from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile-internal.h"
#include "util.h"

#define FIX "tests/fixtures/profiles/"

static struct slw_profile *load_ok(const char *path, char *const *sets) {
        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load(path, sets, &p, &errs);
        if (r < 0) {
                profile_errors_print(&errs, stderr);
                fail_msg("%s: unexpected errors", path);
        }
        assert_int_equal(errs.n, 0);
        profile_errors_free(&errs);
        return p;
}

/* Loads and returns all errors as one string, one per line. */
static char *load_errors(const char *path, char *const *sets) {
        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load(path, sets, &p, &errs);
        assert_true(r < 0);
        assert_null(p);
        char *all = xstrdup("");
        for (size_t i = 0; i < errs.n; i++) {
                char buf[PATH_MAX + 64];
                char *n = xasprintf("%s%s: %s\n", all, origin_format(errs.items[i].origin, buf, sizeof(buf)),
                                    errs.items[i].message);
                free(all);
                all = n;
        }
        profile_errors_free(&errs);
        return all;
}

static void assert_origin(const struct slw_profile *p, const char *dotted, const char *expected) {
        char buf[PATH_MAX + 64];
        assert_string_equal(origin_format(profile_origin(p, dotted), buf, sizeof(buf)), expected);
}

static void assert_strv(char **l, const char *const *expected) {
        size_t n = 0;
        for (; expected[n]; n++) {
                assert_non_null(l);
                assert_non_null(l[n]);
                assert_string_equal(l[n], expected[n]);
        }
        assert_null(l[n]);
}

static void test_include_order_and_merge(void **state) {
        struct slw_profile *p = load_ok(FIX "merge/top.yaml", NULL);
        /* includes first (one, then two), the including file last: it wins */
        assert_string_equal(p->hostname, "from-top");
        assert_origin(p, "hostname", FIX "merge/top.yaml:4:11");
        assert_string_equal(p->files_loaded[0], FIX "merge/top.yaml");
        assert_string_equal(p->files_loaded[1], FIX "merge/one.yaml");
        assert_string_equal(p->files_loaded[2], FIX "merge/two.yaml");
        /* lists append in order, identical entries dedupe keeping the first origin */
        assert_strv(p->packages.install, (const char *const[]){ "curl", "less", "htop", "vim", NULL });
        assert_origin(p, "packages.install[0]", FIX "merge/one.yaml:4:13");
        assert_origin(p, "packages.install[3]", FIX "merge/top.yaml:6:13");
        assert_string_equal(p->distribution.release, "trixie");
        /* maps merge key by key; scalar from two kept where nobody overrode it */
        assert_int_equal(p->bootloader.timeout, 5);
        assert_true(p->bootloader.bios);
        profile_free(p);
}

static void test_remove_and_replace(void **state) {
        struct slw_profile *p = load_ok(FIX "merge/top.yaml", NULL);
        assert_false(strv_contains(p->packages.install, "nano"));
        assert_strv(p->systemd.enable, (const char *const[]){ "ssh.service", NULL });
        /* files: same path replaces in place; the rest keeps its place */
        assert_int_equal(p->n_files, 2);
        assert_string_equal(p->files[0].path, "/etc/motd");
        assert_string_equal(p->files[0].content, "top\n");
        assert_string_equal(p->files[0].reason, "top replaces motd");
        assert_string_equal(p->files[0].origin_path, "files[0]");
        assert_origin(p, "files[0].path", FIX "merge/top.yaml:11:11");
        assert_string_equal(p->files[1].path, "/etc/issue");
        assert_null(p->files[1].content);
        /* source resolved relative to the declaring file */
        assert_string_equal(p->files[1].source, FIX "merge/issue.txt");
        assert_int_equal(p->files[1].mode, 0600);
        assert_int_equal(p->files[0].mode, 0644);
        assert_string_equal(p->files[0].owner, "root");
        profile_free(p);
}

static void test_reasons(void **state) {
        struct slw_profile *p = load_ok(FIX "merge/top.yaml", NULL);
        struct pnode *k = pnode_lookup(p->root, "kernel");
        assert_non_null(k);
        assert_string_equal(k->reason, "kernel reason");
        struct pnode *t = pnode_lookup(p->root, "bootloader.timeout");
        assert_int_equal(t->kind, PNODE_SCALAR);
        assert_string_equal(t->value, "5");
        assert_string_equal(t->reason, "slow console");
        /* {value: [list], reason: R} */
        struct pnode *km = pnode_lookup(p->root, "prune.kernel-modules");
        assert_int_equal(km->kind, PNODE_SEQ);
        assert_string_equal(km->reason, "only the VM drivers");
        assert_strv(p->prune.kernel_modules, (const char *const[]){ "hv_*", "virtio*", NULL });
        /* the value that won carries its own reason: top's hostname has none */
        assert_null(pnode_lookup(p->root, "hostname")->reason);
        assert_null(pnode_get(k, "reason"));

        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(profile_print_summary(p, f), 0);
        fclose(f);
        assert_non_null(strstr(buf, "timeout: 5  # " FIX "merge/two.yaml:10 (slow console)\n"));
        assert_non_null(strstr(buf, "hostname: from-top  # " FIX "merge/top.yaml:4\n"));
        assert_non_null(strstr(buf, "(top replaces motd)"));
        free(buf);

        f = open_memstream(&buf, &len);
        assert_int_equal(profile_print_summary_json(p, f), 0);
        fclose(f);
        assert_non_null(strstr(buf, "\"reason\": \"slow console\""));
        assert_non_null(strstr(buf, "\"origin\": \"" FIX "merge/two.yaml:10:20\""));
        free(buf);
        profile_free(p);
}

static void test_defaults(void **state) {
        struct slw_profile *p = load_ok(FIX "minimal.yaml", NULL);
        assert_string_equal(p->name, "minimal");
        assert_null(p->version);
        assert_int_equal(p->distribution.backend, BACKEND_APT);
        assert_string_equal(p->distribution.variant, "minbase");
        assert_string_equal(p->distribution.architecture, "amd64");
        assert_strv(p->distribution.components, (const char *const[]){ "main", NULL });
        assert_false(p->packages.recommends);
        assert_true(p->bootloader.bios);
        assert_true(p->bootloader.uefi);
        assert_false(p->bootloader.secure_boot);
        assert_int_equal(p->bootloader.timeout, 1);
        assert_true(p->bootloader.serial);
        assert_false(p->generalize);
        assert_int_equal(p->disk.size, 0);
        assert_int_equal(p->disk.root_headroom, 0);
        assert_true(p->outputs[OUT_RAW]);
        for (int o = OUT_VHD; o < _OUT_MAX; o++)
                assert_false(p->outputs[o]);
        assert_int_equal(p->qcow2_compression, COMP_NONE);
        assert_null(p->prune.keep_locales);
        assert_int_equal(p->disk.n_partitions, 3);
        assert_int_equal(p->disk.partitions[0].type, PART_BIOS_BOOT);
        assert_int_equal(p->disk.partitions[0].size, 1 * MiB);
        assert_int_equal(p->disk.partitions[1].type, PART_ESP);
        assert_int_equal(p->disk.partitions[1].size, 64 * MiB);
        assert_int_equal(p->disk.partitions[1].fs, FS_VFAT);
        assert_int_equal(p->disk.partitions[2].type, PART_ROOT);
        assert_true(p->disk.partitions[2].size_auto);
        assert_int_equal(p->disk.partitions[2].fs, FS_EXT4);
        assert_origin(p, "bootloader.timeout", "default");
        assert_false(p->verify_azure);
        profile_free(p);
}

static void test_set(void **state) {
        char *sets[] = { "hostname=foo", "kernel.cmdline=quiet", "kernel.cmdline=splash", "disk.size=2GiB",
                         "bootloader.uefi=false", "files[1].mode=0755", NULL };
        struct slw_profile *p = load_ok(FIX "merge/top.yaml", sets);
        assert_string_equal(p->hostname, "foo");
        assert_origin(p, "hostname", "command line");
        /* lists: --set appends (and dedupes) */
        assert_strv(p->kernel.cmdline, (const char *const[]){ "quiet", "splash", NULL });
        assert_origin(p, "kernel.cmdline[1]", "command line");
        assert_int_equal(p->disk.size, 2 * GiB);
        assert_false(p->bootloader.uefi);
        assert_int_equal(p->files[1].mode, 0755);
        profile_free(p);

        /* a list nobody wrote yet, from the schema */
        char *sets2[] = { "systemd.mask=foo.service", "outputs=qcow2", NULL };
        p = load_ok(FIX "minimal.yaml", sets2);
        assert_strv(p->systemd.mask, (const char *const[]){ "foo.service", NULL });
        assert_true(p->outputs[OUT_QCOW2]);
        assert_false(p->outputs[OUT_RAW]);
        profile_free(p);
}

static void test_set_errors(void **state) {
        char *bad1[] = { "noequals", NULL };
        _cleanup_free_ char *e1 = load_errors(FIX "minimal.yaml", bad1);
        assert_string_equal(e1, "command line: invalid --set 'noequals': expected KEY=VALUE, like hostname=foo\n");
        char *bad2[] = { "disk..size=1", "=x", "files[9].mode=0644", NULL };
        _cleanup_free_ char *e2 = load_errors(FIX "minimal.yaml", bad2);
        assert_string_equal(e2,
                            "command line: invalid --set 'disk..size=1': expected a dotted key like disk.size or files[0].mode before '='\n"
                            "command line: invalid --set '=x': expected KEY=VALUE, like hostname=foo\n"
                            "command line: invalid --set 'files[9].mode=0644': files has no entries\n");
        char *bad4[] = { "files[0]=x", NULL };
        _cleanup_free_ char *e4 = load_errors(FIX "merge/top.yaml", bad4);
        assert_string_equal(e4, "command line: invalid --set 'files[0]=x': set a key of the entry, like files[0].mode=0600\n");
        char *bad3[] = { "disk.size=big", "bootloader.secure_boot=true", NULL };
        _cleanup_free_ char *e3 = load_errors(FIX "minimal.yaml", bad3);
        assert_string_equal(e3, "command line: disk.size: expected a size like 64MiB or auto, got 'big'\n"
                                "command line: unknown key 'bootloader.secure_boot'; did you mean 'secure-boot'?\n");
}

static void test_all_errors_collected(void **state) {
        char dir[] = "/tmp/slipway-profile-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = path_join(dir, "many.yaml");
        const char *text = "image: {name: x}\n"
                           "distribution: {release: trixie, backend: yumm}\n"
                           "hostnam: a\n"
                           "disk: {size: 12XB}\n"
                           "outputs: [raw, vdh]\n";
        assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
        _cleanup_free_ char *errs = load_errors(path, NULL);
        _cleanup_free_ char *exp = xasprintf(
                "%1$s:2:42: distribution.backend: expected one of apt, dnf or import, got 'yumm'\n"
                "%1$s:3:1: unknown key 'hostnam'; did you mean 'hostname'?\n"
                "%1$s:4:14: disk.size: expected a size like 64MiB or auto, got '12XB'\n"
                "%1$s:5:16: outputs[1]: expected one of raw, vhd, vhd-dynamic, qcow2, iso or tar, got 'vdh'\n",
                path);
        assert_string_equal(errs, exp);
        rm_rf(dir);
}

static void test_names(void **state) {
        assert_string_equal(output_name(OUT_VHD_DYNAMIC), "vhd-dynamic");
        assert_string_equal(output_extension(OUT_RAW), "raw");
        assert_string_equal(output_extension(OUT_VHD), "vhd");
        assert_string_equal(output_extension(OUT_VHD_DYNAMIC), "vhd");
        assert_string_equal(output_extension(OUT_QCOW2), "qcow2");
        assert_string_equal(output_extension(OUT_ISO), "iso");
        assert_string_equal(output_extension(OUT_TAR), "tar.zst");
        assert_string_equal(part_type_name(PART_BIOS_BOOT), "bios-boot");
        assert_string_equal(part_type_name(PART_SWAP), "swap");
        char buf[64];
        assert_string_equal(origin_format((struct slw_origin){ "a.yaml", 3, 7 }, buf, sizeof(buf)), "a.yaml:3:7");
        assert_string_equal(origin_format((struct slw_origin){ "command line", 0, 0 }, buf, sizeof(buf)), "command line");
}

static void test_shipped_azure_base(void **state) {
        struct slw_profile *p = load_ok("profiles/azure-base.yaml", NULL);
        assert_string_equal(p->name, "azure-base");
        assert_string_equal(p->version, "1.0");
        assert_true(p->outputs[OUT_RAW] && p->outputs[OUT_VHD] && p->outputs[OUT_QCOW2]);
        assert_int_equal(p->disk.size, 30 * GiB);
        assert_true(strv_contains(p->kernel.cmdline, "console=ttyS0,115200n8"));
        assert_true(strv_contains(p->kernel.cmdline, "earlyprintk=ttyS0"));
        assert_true(strv_contains(p->kernel.initramfs_modules, "hv_storvsc"));
        assert_true(strv_contains(p->packages.install, "cloud-init"));
        assert_true(p->generalize);
        assert_true(p->verify_azure);
        for (size_t i = 0; i < p->disk.n_partitions; i++)
                assert_int_not_equal(p->disk.partitions[i].type, PART_SWAP);
        for (size_t i = 0; i < p->n_files; i++)
                assert_non_null(p->files[i].reason);   /* every deviation has its reason */
        profile_free(p);

        p = load_ok("profiles/test-boot.yaml", NULL);
        assert_string_equal(p->name, "test-boot");
        assert_int_equal(p->disk.size, 0);
        assert_true(p->outputs[OUT_RAW]);
        assert_false(p->outputs[OUT_VHD]);
        assert_true(strv_contains(p->systemd.enable, "slipway-boot-marker.service"));
        assert_true(strv_contains(p->systemd.enable, "ssh.service"));
        profile_free(p);

        p = load_ok("profiles/wsl.yaml", NULL);
        assert_false(p->bootloader.bios);
        assert_false(p->bootloader.uefi);
        assert_false(strv_contains(p->packages.install, "linux-image-cloud-amd64"));
        assert_int_equal(p->disk.n_partitions, 1);
        assert_true(p->outputs[OUT_TAR]);
        profile_free(p);

        p = load_ok("profiles/azurelinux-4.yaml", NULL);
        assert_int_equal(p->distribution.backend, BACKEND_DNF);
        assert_int_equal(p->distribution.n_repos, 1);
        assert_null(p->distribution.components);
        assert_string_equal(p->distribution.architecture, "x86_64");
        profile_free(p);
}

/* immutable.enabled: the fixed layout, its names and defaults. */
static void test_immutable_model(void **state) {
        struct slw_profile *p = load_ok(FIX "immutable/ok.yaml", NULL);
        assert_true(p->immutable.enabled);
        assert_false(p->bootloader.bios);   /* default off: systemd-boot is UEFI only */
        assert_true(p->bootloader.uefi);
        assert_int_equal(p->immutable.filesystem, FS_EROFS);
        assert_int_equal(p->immutable.compression, ROC_LZ4HC);
        assert_int_equal(p->immutable.slot_size, 1024 * MiB);
        assert_int_equal(p->immutable.var_size, 256 * MiB);
        assert_int_equal(p->immutable.esp_size, 256 * MiB);
        assert_string_equal(p->immutable.update_source, "/var/lib/slipway/updates");
        assert_int_equal(p->immutable.tries, 3);
        static const enum slw_part_type types[] = { PART_ESP, PART_ROOT, PART_ROOT_VERITY, PART_ROOT, PART_ROOT_VERITY, PART_VAR };
        static const char *const labels[] = { "ESP", "imm_2.1", "imm_2.1_verity", "_empty", "_empty", "var" };
        static const int slots[] = { -1, 0, 0, 1, 1, -1 };
        assert_int_equal(p->disk.n_partitions, 6);
        for (size_t i = 0; i < 6; i++) {
                assert_int_equal(p->disk.partitions[i].type, types[i]);
                assert_int_equal(p->disk.partitions[i].slot, slots[i]);
                if (labels[i])
                        assert_string_equal(p->disk.partitions[i].label, labels[i]);
        }
        assert_int_equal(p->disk.partitions[1].fs, FS_EROFS);
        assert_int_equal(p->disk.partitions[3].fs, FS_NONE);   /* slot B stays empty */
        assert_int_equal(p->disk.partitions[5].fs, FS_EXT4);
        assert_string_equal(p->disk.partitions[5].mountpoint, "/var");
        assert_string_equal(part_type_name(PART_ROOT_VERITY), "root-verity");
        assert_int_equal(p->immutable.etc, ETC_READ_ONLY);
        profile_free(p);

        char *sets[] = { (char *)"immutable.etc=volatile", (char *)"immutable.tries=1", NULL };
        p = load_ok(FIX "immutable/ok.yaml", sets);
        assert_int_equal(p->immutable.etc, ETC_VOLATILE);
        assert_int_equal(p->immutable.tries, 1);
        profile_free(p);

        char *overlay[] = { (char *)"immutable.etc=overlay", NULL };
        p = load_ok(FIX "immutable/ok.yaml", overlay);
        assert_int_equal(p->immutable.etc, ETC_OVERLAY);
        profile_free(p);
}

/* Every contradiction of immutable.enabled is reported, each at its line. */
static void test_immutable_contradictions(void **state) {
        _cleanup_free_ char *all = load_errors(FIX "immutable/contradictions.yaml", NULL);
        static const char *const want[] = {
                "contradictions.yaml:4:20: bootloader.bios: an immutable image boots with systemd-boot",
                "contradictions.yaml:4:39: bootloader.secure-boot: an immutable image with Secure Boot boots a unified kernel "
                "image signed with the profile's key: set bootloader.secure-boot-key",
                "contradictions.yaml:4:39: bootloader.secure-boot: an immutable image with Secure Boot boots a unified kernel "
                "image signed with the profile's key: set bootloader.secure-boot-certificate",
                "contradictions.yaml:5:20: kernel.cmdline[0]: 'rw' asks for a writable root",
                "contradictions.yaml:5:24: kernel.cmdline[1]: 'roothash=abc' is set by slipway",
                "contradictions.yaml:6:22: packages.install[0]: 'packagekit' installs packages on the running system",
                "contradictions.yaml:8:18: disk.root-headroom: an immutable image sizes its root slots with immutable.slot-size",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!strstr(all, want[i]))
                        fail_msg("missing error '%s' in:\n%s", want[i], all);
}

/* bootloader.secure-boot on an immutable image: the key and certificate
 * are resolved against the file that names them. */
static void test_immutable_secure_boot(void **state) {
        struct slw_profile *p = load_ok(FIX "immutable/secure-boot.yaml", NULL);
        assert_true(p->bootloader.secure_boot);
        assert_true(p->bootloader.secure_boot_enroll);
        assert_string_equal(p->bootloader.secure_boot_key, FIX "immutable/sb/test.key");
        assert_string_equal(p->bootloader.secure_boot_certificate, FIX "immutable/sb/test.crt");
        profile_free(p);
        p = load_ok(FIX "immutable/ok.yaml", NULL);
        assert_false(p->bootloader.secure_boot);
        assert_null(p->bootloader.secure_boot_key);
        profile_free(p);
}

static void put(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = path_join(dir, name);
        _cleanup_free_ char *d = xstrdup(p);
        *strrchr(d, '/') = 0;
        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
}

/* The include search: next to the including file, SLIPWAY_PROFILE_PATH in
 * order, slipway's own profiles; ./ and ../ only next to the file. */
static void test_include_resolve(void **state) {
        char dir[] = "/tmp/slipway-incpath-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *here = path_join(dir, "here"), *a = path_join(dir, "a"), *b = path_join(dir, "b"),
                            *data = path_join(dir, "data");
        _cleanup_free_ char *env = xasprintf("%s::%s", a, b);     /* an empty entry is skipped */
        setenv("SLIPWAY_PROFILE_PATH", env, 1);
        setenv("SLIPWAY_DATADIR", data, 1);
        put(dir, "data/profiles/o/x.yaml", "hostname: data\n");

        struct profile_include_search s;
        /* only in slipway's own profiles: searched everywhere, found last */
        assert_int_equal(profile_include_resolve(here, "o/x.yaml", &s), 0);
        assert_int_equal(s.n, 4);
        _cleanup_free_ char *e0 = path_join(here, "o/x.yaml"), *e1 = path_join(a, "o/x.yaml"), *e2 = path_join(b, "o/x.yaml"),
                            *e3 = path_join(data, "profiles/o/x.yaml");
        assert_string_equal(s.candidates[0].path, e0);
        assert_int_equal(s.candidates[0].place, INCLUDE_NEXT_TO_FILE);
        assert_string_equal(s.candidates[1].path, e1);
        assert_int_equal(s.candidates[1].place, INCLUDE_PROFILE_PATH);
        assert_string_equal(s.candidates[2].path, e2);
        assert_string_equal(s.candidates[3].path, e3);
        assert_int_equal(s.candidates[3].place, INCLUDE_INSTALLED);
        assert_int_equal(s.found, 3);
        profile_include_search_free(&s);

        /* SLIPWAY_PROFILE_PATH in its order, before slipway's own */
        put(dir, "b/o/x.yaml", "hostname: b\n");
        assert_int_equal(profile_include_resolve(here, "o/x.yaml", &s), 0);
        assert_int_equal(s.found, 2);
        profile_include_search_free(&s);
        put(dir, "a/o/x.yaml", "hostname: a\n");
        assert_int_equal(profile_include_resolve(here, "o/x.yaml", &s), 0);
        assert_int_equal(s.found, 1);
        profile_include_search_free(&s);
        /* next to the including file first */
        put(dir, "here/o/x.yaml", "hostname: here\n");
        assert_int_equal(profile_include_resolve(here, "o/x.yaml", &s), 0);
        assert_int_equal(s.found, 0);
        profile_include_search_free(&s);

        /* ./ and ../: next to the file only */
        assert_int_equal(profile_include_resolve(here, "./o/y.yaml", &s), -ENOENT);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.found, -1);
        _cleanup_free_ char *y = path_join(here, "o/y.yaml");
        assert_string_equal(s.candidates[0].path, y);
        profile_include_search_free(&s);
        put(dir, "b/o/y.yaml", "hostname: b\n");
        assert_int_equal(profile_include_resolve(here, "../b/o/y.yaml", &s), 0);
        assert_int_equal(s.n, 1);
        profile_include_search_free(&s);
        assert_int_equal(profile_include_resolve(here, "./o/y.yaml", &s), -ENOENT);   /* not found in b/ */
        profile_include_search_free(&s);

        /* a dangling symlink next to the file stops the search (and fails to load) */
        _cleanup_free_ char *link = path_join(here, "o/z.yaml");
        assert_int_equal(symlink("nowhere.yaml", link), 0);
        put(dir, "a/o/z.yaml", "hostname: a\n");
        assert_int_equal(profile_include_resolve(here, "o/z.yaml", &s), 0);
        assert_int_equal(s.found, 0);
        profile_include_search_free(&s);

        /* absolute: as written, never searched */
        assert_int_equal(profile_include_resolve(here, "/nonexistent/q.yaml", &s), 0);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.candidates[0].place, INCLUDE_ABSOLUTE);
        profile_include_search_free(&s);

        /* through the loader: the origins name the file found, the profile
         * records what each include resolved to, and not found anywhere is
         * an error at the include entry that lists every place */
        put(dir, "here/top.yaml", "include: [o/x.yaml, o/w.yaml]\nimage: {name: t}\ndistribution: {release: trixie}\n");
        _cleanup_free_ char *top = path_join(here, "top.yaml");
        _cleanup_free_ char *errs = load_errors(top, NULL);
        _cleanup_free_ char *exp = xasprintf("%1$s/here/top.yaml:1:21: cannot include 'o/w.yaml': no such file next to the "
                                             "including file (%1$s/here/o/w.yaml), in SLIPWAY_PROFILE_PATH (%1$s/a/o/w.yaml, "
                                             "%1$s/b/o/w.yaml) or in slipway's own profiles (%1$s/data/profiles/o/w.yaml)\n",
                                             dir);
        assert_string_equal(errs, exp);
        unsetenv("SLIPWAY_PROFILE_PATH");
        _cleanup_free_ char *errs2 = load_errors(top, NULL);
        assert_non_null(strstr(errs2, "in SLIPWAY_PROFILE_PATH (not set) or in"));

        put(dir, "here/top.yaml", "include: [o/x.yaml]\nimage: {name: t}\ndistribution: {release: trixie}\n");
        assert_int_equal(unlink(e0), 0);           /* here/o/x.yaml: now found in data/ */
        struct slw_profile *p = load_ok(top, NULL);
        assert_string_equal(p->hostname, "data");
        _cleanup_free_ char *o3 = xasprintf("%s:1:11", e3);
        assert_origin(p, "hostname", o3);
        assert_int_equal(p->n_includes, 1);
        assert_string_equal(p->includes[0].name, "o/x.yaml");
        assert_string_equal(p->includes[0].resolved, e3);
        assert_int_equal(p->includes[0].place, INCLUDE_INSTALLED);
        assert_string_equal(p->includes[0].site.file, top);
        assert_int_equal(p->includes[0].site.line, 1);
        assert_int_equal(p->includes[0].site.col, 11);
        assert_string_equal(profile_include_place_name(INCLUDE_INSTALLED), "slipway's own profiles");
        profile_free(p);
        unsetenv("SLIPWAY_DATADIR");
        rm_rf(dir);
}

static char *strict_errors(const char *path) {
        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load_flags(path, NULL, PROFILE_LOAD_STRICT, &p, &errs);
        char *all = xstrdup("");
        for (size_t i = 0; i < errs.n; i++) {
                char buf[PATH_MAX + 64];
                char *n = xasprintf("%s%s: %s\n", all, origin_format(errs.items[i].origin, buf, sizeof(buf)), errs.items[i].message);
                free(all);
                all = n;
        }
        assert_true(r < 0 || errs.n == 0);
        profile_free(p);
        profile_errors_free(&errs);
        return all;
}

/* strict: what is a deviation, what covers it. */
static void test_strict(void **state) {
        char dir[] = "/tmp/slipway-strict-XXXXXX";
        assert_non_null(mkdtemp(dir));
        put(dir, "inc.yaml",
            "packages:\n"
            "  install: [less]\n"                          /* 2:13 */
            "kernel:\n"
            "  cmdline: [quiet]\n"                         /* covered by the kernel map's reason */
            "  reason: inc's own kernel reason\n"
            "prune:\n"
            "  caches: true\n");                           /* 7:11 not covered by top.yaml's prune reason */
        put(dir, "top.yaml",
            "reason: a top-level reason covers nothing\n"
            "include: [inc.yaml]\n"
            "image: {name: t, version: '1'}\n"             /* descriptive */
            "distribution:\n"
            "  release: trixie\n"
            "  repositories:\n"
            "    - {name: extra, baseurl: 'file:///x', gpgcheck: false}\n"   /* 7:7 a deviation */
            "hostname: h\n"                                 /* descriptive */
            "disk: {size: 2GiB}\n"                          /* descriptive */
            "outputs: [qcow2]\n"
            "packages:\n"
            "  install: [vim, {value: curl, reason: r}]\n"  /* 12:13 */
            "  remove: [less]\n"                            /* 13:12 a removal */
            "prune:\n"
            "  docs: true\n"
            "  reason: covers prune.docs, not inc.yaml's prune.caches\n"
            "systemd:\n"
            "  enable: {value: [ssh.service], reason: r}\n"
            "  default-target: multi-user.target\n"         /* 19:19 */
            "files:\n"
            "  - path: /etc/a\n"                            /* 21:5 */
            "    content: {value: x, reason: r}\n"
            "  - {path: /etc/b, content: y, reason: r}\n"
            "generalize: true\n"                            /* 24:13 */
            "timezone: {value: Etc/UTC, reason: r}\n");
        _cleanup_free_ char *top = path_join(dir, "top.yaml"), *inc = path_join(dir, "inc.yaml");
        /* file by file, in the order they were read (the including file first) */
#define H " (strict: every deviation from upstream needs a reason:)\n"
        _cleanup_free_ char *exp = xasprintf(
                "%1$s:7:7: distribution.repositories: no reason for the entry 'extra'" H
                "%1$s:12:13: packages.install: no reason for 'vim'" H
                "%1$s:13:12: packages.install: no reason for removing 'less'" H
                "%1$s:19:19: systemd.default-target: no reason for 'multi-user.target'" H
                "%1$s:21:5: files: no reason for the entry '/etc/a'" H
                "%1$s:24:13: generalize: no reason for 'true'" H
                "%2$s:2:13: packages.install: no reason for 'less'" H
                "%2$s:7:11: prune.caches: no reason for 'true'" H,
                top, inc);
#undef H
        _cleanup_free_ char *got = strict_errors(top);
        assert_string_equal(got, exp);
        /* without strict the same profile is valid ... */
        struct slw_profile *p = load_ok(top, NULL);
        profile_free(p);
        /* ... and `strict: true` in it (or by --set) asks for the same */
        char *set_strict[] = { "strict=true", NULL };
        _cleanup_free_ char *via_set = load_errors(top, set_strict);
        assert_string_equal(via_set, exp);
        /* a later file sets it back: strict: false wins over an include's true */
        put(dir, "s.yaml", "include: [strict-on.yaml]\nimage: {name: t}\ndistribution: {release: trixie}\n"
                           "packages: {install: [vim]}\nstrict: false\n");
        put(dir, "strict-on.yaml", "strict: true\n");
        _cleanup_free_ char *s = path_join(dir, "s.yaml");
        p = load_ok(s, NULL);
        profile_free(p);
        rm_rf(dir);
}

/* scripts and extra-trees: sources relative to the declaring file, defaults,
 * paths[] overrides, replace and remove by source */
static void test_scripts_trees(void **state) {
        struct slw_profile *p = load_ok(FIX "scripts/top.yaml", NULL);
        /* bin/setup.sh of top.yaml replaced the overlay's entry of the same
         * source (as written), and resolves next to top.yaml */
        assert_int_equal(p->n_post_install, 1);
        assert_string_equal(p->post_install[0].source, FIX "scripts/bin/setup.sh");
        assert_true(p->post_install[0].network);
        assert_string_equal(p->post_install[0].reason, "replaced by the top file");
        assert_string_equal(p->post_install[0].origin_path, "scripts.post-install[0]");
        assert_int_equal(p->n_finalize, 1);
        assert_string_equal(p->finalize[0].source, FIX "scripts/bin/final.sh");
        assert_false(p->finalize[0].network);
        assert_origin(p, "scripts.finalize[0]", FIX "scripts/top.yaml:6:7");
        assert_int_equal(p->n_extra_trees, 1);
        const struct slw_extra_tree *t = &p->extra_trees[0];
        assert_string_equal(t->source, FIX "scripts/overlay/tree");
        assert_string_equal(t->target, "/opt/app");
        assert_string_equal(t->owner, "app");
        assert_string_equal(t->group, "root");
        assert_int_equal(t->n_paths, 1);
        assert_string_equal(t->paths[0].path, "/opt/app/etc/app.conf");
        assert_true(t->paths[0].has_mode);
        assert_int_equal(t->paths[0].mode, 0640);
        assert_null(t->paths[0].owner);
        assert_string_equal(t->paths[0].group, "app");
        profile_free(p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_include_order_and_merge),
                cmocka_unit_test(test_remove_and_replace),
                cmocka_unit_test(test_reasons),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_set),
                cmocka_unit_test(test_set_errors),
                cmocka_unit_test(test_all_errors_collected),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_shipped_azure_base),
                cmocka_unit_test(test_immutable_model),
                cmocka_unit_test(test_immutable_contradictions),
                cmocka_unit_test(test_immutable_secure_boot),
                cmocka_unit_test(test_include_resolve),
                cmocka_unit_test(test_strict),
                cmocka_unit_test(test_scripts_trees),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
