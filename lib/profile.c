/* SPDX-License-Identifier: MIT */
/* The profile schema (a table), validation with every error collected, and
 * the typed model (struct slw_profile) with its defaults.  Loading, merging
 * and --set are in profile-load.c; summary output in profile-summary.c. */
#include "profile-internal.h"
#include "build.h"
#include "fsimage.h"
#include "gpt_layout.h"
#include "strindex.h"
#include "tree.h"
#include "util.h"
#include "verity.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

enum stype {
        T_MAP,          /* sub: the keys */
        T_MAPLIST,      /* list of maps; sub: the item keys */
        T_STR,
        T_BOOL,
        T_INT,          /* min..max */
        T_SIZE,         /* bytes: YAML int or "64MiB" */
        T_SIZE_AUTO,    /* a size or `auto` */
        T_STRLIST,
        T_ENUM,         /* enums */
        T_ENUMLIST,
        T_MODE,         /* "0644" (quoted) or 0o644 */
        T_SIZEMAP,      /* a mapping of free names (package names) to sizes */
};

struct skey {
        const char *name;
        enum stype type;
        const struct skey *sub;
        const char *const *enums;
        int64_t min, max;
};

static const char *const backends[] = { "apt", "dnf", "import", NULL };
static const char *const output_names[] = { "raw", "vhd", "vhd-dynamic", "qcow2", "iso", "tar", NULL };
static const char *const part_types[] = { "bios-boot", "esp", "root", "linux", "swap", NULL };
static const char *const fs_names[] = { "none", "ext4", "vfat", NULL };
static const char *const compressions[] = { "none", "zlib", "zstd", NULL };
static const char *const ro_filesystems[] = { "erofs", "squashfs", NULL };
/* in enum slw_ro_compression order */
static const char *const ro_compressions[] = { "none", "lz4", "lz4hc", "gzip", "xz", "zstd", NULL };
static const char *const etc_modes[] = { "read-only", "volatile", "overlay", NULL };   /* enum slw_etc_mode */

#define END { .name = NULL }

static const struct skey image_keys[] = { { .name = "name", .type = T_STR }, { .name = "version", .type = T_STR }, END };
static const struct skey repo_keys[] = {
        { .name = "name", .type = T_STR }, { .name = "baseurl", .type = T_STR }, { .name = "gpgcheck", .type = T_BOOL }, { .name = "gpgkey", .type = T_STR },
        { .name = "suite", .type = T_STR }, { .name = "components", .type = T_STRLIST }, END };
static const struct skey distribution_keys[] = {
        { .name = "backend", .type = T_ENUM, .enums = backends }, { .name = "release", .type = T_STR }, { .name = "components", .type = T_STRLIST },
        { .name = "variant", .type = T_STR }, { .name = "mirror", .type = T_STR }, { .name = "architecture", .type = T_STR }, { .name = "source", .type = T_STR },
        { .name = "image-mirror", .type = T_STR }, { .name = "repositories", .type = T_MAPLIST, .sub = repo_keys }, END };
static const struct skey packages_keys[] = {
        { .name = "install", .type = T_STRLIST }, { .name = "exclude-paths", .type = T_STRLIST }, { .name = "include-paths", .type = T_STRLIST },
        { .name = "recommends", .type = T_BOOL }, END };
static const struct skey systemd_keys[] = {
        { .name = "enable", .type = T_STRLIST }, { .name = "disable", .type = T_STRLIST }, { .name = "mask", .type = T_STRLIST }, { .name = "default-target", .type = T_STR }, END };
static const struct skey kernel_keys[] = { { .name = "cmdline", .type = T_STRLIST }, { .name = "initramfs-modules", .type = T_STRLIST }, END };
static const struct skey file_keys[] = {
        { .name = "path", .type = T_STR }, { .name = "content", .type = T_STR }, { .name = "source", .type = T_STR }, { .name = "mode", .type = T_MODE },
        { .name = "owner", .type = T_STR }, { .name = "group", .type = T_STR }, END };
static const struct skey user_keys[] = {
        { .name = "name", .type = T_STR }, { .name = "uid", .type = T_INT, .min = 0, .max = 4294967294 }, { .name = "gid", .type = T_INT, .min = 0, .max = 4294967294 },
        { .name = "system", .type = T_BOOL }, { .name = "shell", .type = T_STR }, { .name = "home", .type = T_STR }, { .name = "comment", .type = T_STR }, { .name = "password", .type = T_STR },
        { .name = "ssh-authorized-keys", .type = T_STRLIST }, { .name = "groups", .type = T_STRLIST }, { .name = "autologin", .type = T_BOOL }, END };
static const struct skey group_keys[] = {
        { .name = "name", .type = T_STR }, { .name = "gid", .type = T_INT, .min = 0, .max = 4294967294 }, { .name = "system", .type = T_BOOL }, END };
static const struct skey prune_keys[] = {
        { .name = "docs", .type = T_BOOL }, { .name = "keep-locales", .type = T_STRLIST }, { .name = "kernel-modules", .type = T_STRLIST }, { .name = "caches", .type = T_BOOL }, END };
static const struct skey bootloader_keys[] = {
        { .name = "bios", .type = T_BOOL }, { .name = "uefi", .type = T_BOOL }, { .name = "secure-boot", .type = T_BOOL },
        { .name = "secure-boot-key", .type = T_STR }, { .name = "secure-boot-certificate", .type = T_STR },
        { .name = "secure-boot-enroll", .type = T_BOOL },
        { .name = "timeout", .type = T_INT, .min = 0, .max = 3600 }, { .name = "serial", .type = T_BOOL }, END };
static const struct skey partition_keys[] = {
        { .name = "type", .type = T_ENUM, .enums = part_types }, { .name = "size", .type = T_SIZE_AUTO }, { .name = "fs", .type = T_ENUM, .enums = fs_names },
        { .name = "label", .type = T_STR }, { .name = "mountpoint", .type = T_STR }, END };
static const struct skey disk_keys[] = {
        { .name = "size", .type = T_SIZE_AUTO }, { .name = "root-headroom", .type = T_SIZE }, { .name = "partitions", .type = T_MAPLIST, .sub = partition_keys }, END };
static const struct skey qcow2_keys[] = { { .name = "compression", .type = T_ENUM, .enums = compressions }, END };
static const struct skey artifact_budget_keys[] = {
        { .name = "raw", .type = T_SIZE }, { .name = "vhd", .type = T_SIZE }, { .name = "vhd-dynamic", .type = T_SIZE }, { .name = "qcow2", .type = T_SIZE }, { .name = "iso", .type = T_SIZE },
        { .name = "tar", .type = T_SIZE }, END };
static const struct skey size_value_key = { .name = "size", .type = T_SIZE };
static const struct skey budget_keys[] = { { .name = "root-used", .type = T_SIZE }, { .name = "artifacts", .type = T_MAP, .sub = artifact_budget_keys },
                                           { .name = "packages", .type = T_SIZEMAP }, END };
static const struct skey verify_keys[] = { { .name = "azure", .type = T_BOOL }, END };
static const struct skey report_keys[] = { { .name = "checksums", .type = T_BOOL }, END };
static const struct skey immutable_keys[] = {
        { .name = "enabled", .type = T_BOOL }, { .name = "filesystem", .type = T_ENUM, .enums = ro_filesystems },
        { .name = "compression", .type = T_ENUM, .enums = ro_compressions }, { .name = "slot-size", .type = T_SIZE_AUTO },
        { .name = "var-size", .type = T_SIZE }, { .name = "esp-size", .type = T_SIZE }, { .name = "etc", .type = T_ENUM, .enums = etc_modes },
        { .name = "update-source", .type = T_STR }, { .name = "tries", .type = T_INT, .min = 1, .max = 10 },
        { .name = "signing-key", .type = T_STR },
        END };

/* scripts and extra-trees: lib/profile-scripts.c checks and types them */
static const struct skey script_keys[] = { { .name = "source", .type = T_STR }, { .name = "network", .type = T_BOOL }, END };
static const struct skey scripts_keys[] = {
        { .name = "post-install", .type = T_MAPLIST, .sub = script_keys }, { .name = "finalize", .type = T_MAPLIST, .sub = script_keys }, END };
static const struct skey tree_path_keys[] = {
        { .name = "path", .type = T_STR }, { .name = "mode", .type = T_MODE }, { .name = "owner", .type = T_STR }, { .name = "group", .type = T_STR }, END };
static const struct skey extra_tree_keys[] = {
        { .name = "source", .type = T_STR }, { .name = "target", .type = T_STR }, { .name = "owner", .type = T_STR }, { .name = "group", .type = T_STR },
        { .name = "paths", .type = T_MAPLIST, .sub = tree_path_keys }, END };

static const struct skey top_keys[] = {
        { .name = "image", .type = T_MAP, .sub = image_keys },
        { .name = "distribution", .type = T_MAP, .sub = distribution_keys },
        { .name = "packages", .type = T_MAP, .sub = packages_keys },
        { .name = "systemd", .type = T_MAP, .sub = systemd_keys },
        { .name = "kernel", .type = T_MAP, .sub = kernel_keys },
        { .name = "files", .type = T_MAPLIST, .sub = file_keys },
        { .name = "users", .type = T_MAPLIST, .sub = user_keys },
        { .name = "groups", .type = T_MAPLIST, .sub = group_keys },
        { .name = "hostname", .type = T_STR },
        { .name = "locale", .type = T_STR },
        { .name = "timezone", .type = T_STR },
        { .name = "prune", .type = T_MAP, .sub = prune_keys },
        { .name = "generalize", .type = T_BOOL },
        { .name = "bootloader", .type = T_MAP, .sub = bootloader_keys },
        { .name = "disk", .type = T_MAP, .sub = disk_keys },
        { .name = "outputs", .type = T_ENUMLIST, .enums = output_names },
        { .name = "qcow2", .type = T_MAP, .sub = qcow2_keys },
        { .name = "budget", .type = T_MAP, .sub = budget_keys },
        { .name = "verify", .type = T_MAP, .sub = verify_keys },
        { .name = "report", .type = T_MAP, .sub = report_keys },
        { .name = "immutable", .type = T_MAP, .sub = immutable_keys },
        { .name = "strict", .type = T_BOOL },
        { .name = "scripts", .type = T_MAP, .sub = scripts_keys },
        { .name = "extra-trees", .type = T_MAPLIST, .sub = extra_tree_keys },
        END,
};

static const struct skey *skey_find(const struct skey *keys, const char *name) {
        for (const struct skey *k = keys; k && k->name; k++)
                if (strcmp(k->name, name) == 0)
                        return k;
        return NULL;
}

/* Resolves a dotted path ("files[0].mode" or "kernel.cmdline") to its schema entry. */
static const struct skey *skey_lookup(const char *dotted) {
        const struct skey *keys = top_keys, *k = NULL;
        const char *p = dotted;
        while (*p) {
                size_t len = strcspn(p, ".[");
                _cleanup_free_ char *seg = xstrndup(p, len);
                k = skey_find(keys, seg);
                if (!k)
                        return NULL;
                p += len;
                while (*p == '[') {
                        p = strchr(p, ']');
                        if (!p)
                                return NULL;
                        p++;
                }
                if (*p == '.')
                        p++;
                keys = k->sub;
        }
        return k;
}

bool profile_schema_is_scalar_list(const char *dotted_path) {
        const struct skey *k = skey_lookup(dotted_path);
        return k && (k->type == T_STRLIST || k->type == T_ENUMLIST);
}

/* ---- validation ---- */

struct validator {
        struct profile_errors *errs;
};

static const char *got(const struct pnode *n, char *buf, size_t sz) {
        if (pnode_is_null(n))
                return "nothing";
        if (n->kind == PNODE_MAP)
                return "a mapping";
        if (n->kind == PNODE_SEQ)
                return "a list";
        snprintf(buf, sz, "'%.60s%s'", n->value, strlen(n->value) > 60 ? "…" : "");
        return buf;
}

static char *enum_list(const char *const *e) {
        size_t sz = 1;
        for (size_t i = 0; e[i]; i++)
                sz += strlen(e[i]) + 2;
        char *s = xcalloc(1, sz);
        for (size_t i = 0; e[i]; i++) {
                if (i)
                        strcat(s, e[i + 1] ? ", " : " or ");
                strcat(s, e[i]);
        }
        return s;
}

static bool is_bool_text(const struct pnode *n) {
        return n->kind == PNODE_SCALAR && (strcmp(n->value, "true") == 0 || strcmp(n->value, "false") == 0);
}

static int parse_int64(const char *s, int64_t *ret) {
        char *end;
        if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
                return -EINVAL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end || end == s)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Modes: a quoted octal string ("0644", "644", "0o644") or YAML 1.2's 0o644.
 * A plain 0644 is refused: YAML 1.2 reads it as the decimal 644. */
static int parse_mode(const struct pnode *n, uint32_t *ret);
int profile_parse_mode(const struct pnode *n, uint32_t *ret) {
        return parse_mode(n, ret);
}

static int parse_mode(const struct pnode *n, uint32_t *ret) {
        const char *s = n->value;
        /* --set values are never YAML numbers: there "0755" means octal */
        bool as_text = n->quoted || n->origin.line == 0;
        if (!as_text && s[0] == '0' && s[1] >= '0' && s[1] <= '9')
                return -EDOM;
        if (s[0] == '0' && s[1] == 'o')
                s += 2;
        else if (!as_text)
                return -EINVAL;
        if (!*s || strlen(s) > 5)
                return -EINVAL;
        uint32_t m = 0;
        for (; *s; s++) {
                if (*s < '0' || *s > '7')
                        return -EINVAL;
                m = m * 8 + (uint32_t)(*s - '0');
        }
        if (m > 07777)
                return -ERANGE;
        *ret = m;
        return 0;
}

static int size_of(const struct pnode *n, uint64_t *ret, bool *is_auto) {
        if (is_auto)
                *is_auto = false;
        if (n->kind != PNODE_SCALAR || pnode_is_null(n))
                return -EINVAL;
        if (is_auto && strcmp(n->value, "auto") == 0) {
                *is_auto = true;
                *ret = 0;
                return 0;
        }
        return parse_size(n->value, ret);
}

static void check_scalar(struct validator *v, const struct pnode *n, const struct skey *k, const char *path) {
        char b[128];
        struct profile_errors *e = v->errs;
        if (n->kind != PNODE_SCALAR || pnode_is_null(n)) {
                const char *exp = k->type == T_BOOL ? "true or false"
                                  : k->type == T_INT ? "an integer"
                                  : k->type == T_SIZE ? "a size like 64MiB"
                                  : k->type == T_SIZE_AUTO ? "a size like 64MiB or auto"
                                  : k->type == T_MODE ? "a quoted octal mode like \"0644\""
                                  : k->type == T_ENUM ? "one of the names below"
                                                      : "a string";
                if (k->type == T_ENUM) {
                        _cleanup_free_ char *l = enum_list(k->enums);
                        profile_errors_add(e, n->origin, "%s: expected one of %s, got %s", path, l, got(n, b, sizeof(b)));
                } else
                        profile_errors_add(e, n->origin, "%s: expected %s, got %s", path, exp, got(n, b, sizeof(b)));
                return;
        }
        switch (k->type) {
        case T_BOOL:
                if (!is_bool_text(n))
                        profile_errors_add(e, n->origin, "%s: expected true or false, got %s", path, got(n, b, sizeof(b)));
                break;
        case T_INT: {
                int64_t i;
                int r = parse_int64(n->value, &i);
                if (r == -EINVAL)
                        profile_errors_add(e, n->origin, "%s: expected an integer, got %s", path, got(n, b, sizeof(b)));
                else if (r < 0 || i < k->min || i > k->max)
                        profile_errors_add(e, n->origin, "%s: expected an integer from %" PRId64 " to %" PRId64 ", got %s",
                                           path, k->min, k->max, got(n, b, sizeof(b)));
                break;
        }
        case T_SIZE:
        case T_SIZE_AUTO: {
                uint64_t s;
                bool a;
                int r = size_of(n, &s, k->type == T_SIZE_AUTO ? &a : NULL);
                if (r == -ERANGE)
                        profile_errors_add(e, n->origin, "%s: size %s is too large", path, got(n, b, sizeof(b)));
                else if (r < 0)
                        profile_errors_add(e, n->origin, "%s: expected a size like 64MiB%s, got %s", path,
                                           k->type == T_SIZE_AUTO ? " or auto" : "", got(n, b, sizeof(b)));
                break;
        }
        case T_ENUM: {
                for (size_t i = 0; k->enums[i]; i++)
                        if (strcmp(k->enums[i], n->value) == 0)
                                return;
                _cleanup_free_ char *l = enum_list(k->enums);
                profile_errors_add(e, n->origin, "%s: expected one of %s, got %s", path, l, got(n, b, sizeof(b)));
                break;
        }
        case T_MODE: {
                uint32_t m;
                int r = parse_mode(n, &m);
                if (r == -EDOM)
                        profile_errors_add(e, n->origin,
                                           "%s: write the mode quoted, like \"%s\" (YAML 1.2 reads an unquoted %s as the decimal number %s)",
                                           path, n->value, n->value, n->value + strspn(n->value, "0"));
                else if (r < 0)
                        profile_errors_add(e, n->origin, "%s: expected an octal mode like \"0644\", got %s", path,
                                           got(n, b, sizeof(b)));
                break;
        }
        case T_STR:
                if (!n->quoted && is_bool_text(n))
                        profile_errors_add(e, n->origin, "%s: expected a string, got the boolean %s (quote it if you mean the text)",
                                           path, n->value);
                break;
        default:
                break;
        }
}

static void validate_map(struct validator *v, const struct pnode *m, const struct skey *keys, const char *path);

static void validate_value(struct validator *v, const struct pnode *n, const struct skey *k, const char *path) {
        char b[128];
        switch (k->type) {
        case T_MAP:
                if (pnode_is_null(n))
                        return;
                if (n->kind != PNODE_MAP) {
                        profile_errors_add(v->errs, n->origin, "%s: expected a mapping, got %s", path, got(n, b, sizeof(b)));
                        return;
                }
                validate_map(v, n, k->sub, path);
                return;
        case T_SIZEMAP:
                if (pnode_is_null(n))
                        return;
                if (n->kind != PNODE_MAP) {
                        profile_errors_add(v->errs, n->origin, "%s: expected a mapping of names to sizes, got %s", path, got(n, b, sizeof(b)));
                        return;
                }
                for (size_t i = 0; i < n->n_items; i++) {
                        _cleanup_free_ char *ip = xasprintf("%s.%s", path, n->items[i]->key);
                        validate_value(v, n->items[i], &size_value_key, ip);
                }
                return;
        case T_MAPLIST:
                if (pnode_is_null(n))
                        return;
                if (n->kind != PNODE_SEQ) {
                        profile_errors_add(v->errs, n->origin, "%s: expected a list of mappings, got %s", path,
                                           got(n, b, sizeof(b)));
                        return;
                }
                for (size_t i = 0; i < n->n_items; i++) {
                        _cleanup_free_ char *ip = xasprintf("%s[%zu]", path, i);
                        if (n->items[i]->kind != PNODE_MAP)
                                profile_errors_add(v->errs, n->items[i]->origin, "%s: expected a mapping, got %s", ip,
                                                   got(n->items[i], b, sizeof(b)));
                        else
                                validate_map(v, n->items[i], k->sub, ip);
                }
                return;
        case T_STRLIST:
        case T_ENUMLIST:
                if (pnode_is_null(n))
                        return;
                if (n->kind != PNODE_SEQ) {
                        profile_errors_add(v->errs, n->origin, "%s: expected a list%s, got %s", path,
                                           k->type == T_STRLIST ? " of strings" : "", got(n, b, sizeof(b)));
                        return;
                }
                for (size_t i = 0; i < n->n_items; i++) {
                        _cleanup_free_ char *ip = xasprintf("%s[%zu]", path, i);
                        struct skey item = { .name = k->name, .type = k->type == T_STRLIST ? T_STR : T_ENUM, .enums = k->enums };
                        check_scalar(v, n->items[i], &item, ip);
                }
                return;
        default:
                check_scalar(v, n, k, path);
        }
}

static void validate_map(struct validator *v, const struct pnode *m, const struct skey *keys, const char *path) {
        for (size_t i = 0; i < m->n_items; i++) {
                const struct pnode *c = m->items[i];
                _cleanup_free_ char *cp = path && *path ? xasprintf("%s.%s", path, c->key) : xstrdup(c->key);
                const struct skey *k = skey_find(keys, c->key);
                if (!k) {
                        const char *best = NULL;
                        size_t bestd = SIZE_MAX;
                        for (const struct skey *s = keys; s->name; s++) {
                                size_t d = edit_distance(c->key, s->name);
                                if (d < bestd)
                                        bestd = d, best = s->name;
                        }
                        if (strcmp(c->key, "include") == 0 && path && *path)
                                profile_errors_add(v->errs, c->key_origin, "include is only allowed at the top of a profile");
                        else if (best && bestd <= MAX((size_t)2, strlen(c->key) / 3))
                                profile_errors_add(v->errs, c->key_origin, "unknown key '%s'; did you mean '%s'?", cp, best);
                        else
                                profile_errors_add(v->errs, c->key_origin, "unknown key '%s'", cp);
                        continue;
                }
                validate_value(v, c, k, cp);
        }
}

/* ---- strict: every deviation from upstream has a reason ---- */

/* What is not a deviation from the upstream distribution: what the image is
 * called (image, hostname), which upstream it is built from (distribution,
 * but for extra repositories), and how it is packaged and checked (disk,
 * outputs, qcow2, budget, verify, report).  Everything else a profile sets
 * changes what upstream would install or boot (packages, files, users,
 * groups, systemd, kernel, locale, timezone, prune, generalize, bootloader,
 * immutable, and any key added later): setting it is a deviation, even to
 * slipway's default value. */
static const char *const strict_descriptive[] = {
        "image", "distribution", "hostname", "disk", "outputs", "qcow2", "budget", "verify", "report", "strict", NULL,
};
static const char *const strict_deviation_within_descriptive[] = { "distribution.repositories", NULL };

static bool path_under(const char *path, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(path, prefix, n) == 0 && (path[n] == 0 || path[n] == '.');
}

/* path: dotted, without list indexes ("packages.install", "files.path") */
static bool strict_is_deviation(const char *path) {
        for (size_t i = 0; strict_deviation_within_descriptive[i]; i++)
                if (path_under(path, strict_deviation_within_descriptive[i]))
                        return true;
        for (size_t i = 0; strict_descriptive[i]; i++)
                if (path_under(path, strict_descriptive[i]))
                        return false;
        return true;
}

static const char *strict_identity(const struct pnode *m) {
        static const char *const keys[] = { "path", "name", "label", "type" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const struct pnode *k = pnode_get(m, keys[i]);
                if (k && k->kind == PNODE_SCALAR && !pnode_is_null(k))
                        return k->value;
        }
        return NULL;
}

#define STRICT_HINT "(strict: every deviation from upstream needs a reason:)"

static void strict_item(const struct pnode *it, const char *path, bool removal, struct profile_errors *out) {
        char b[128];
        if (it->reason || pnode_is_null(it))
                return;
        if (it->kind == PNODE_SCALAR)
                profile_errors_add(out, it->origin, "%s: no reason for %s%s " STRICT_HINT, path, removal ? "removing " : "",
                                   got(it, b, sizeof(b)));
        else if (it->kind == PNODE_MAP) {
                const char *id = strict_identity(it);
                if (id)
                        snprintf(b, sizeof(b), " '%.60s%s'", id, strlen(id) > 60 ? "…" : "");
                else
                        b[0] = 0;
                profile_errors_add(out, it->origin, "%s: no reason for %sthe entry%s " STRICT_HINT, path,
                                   removal ? "removing " : "", b);
        }
}

static void strict_node(const struct pnode *n, const char *path, bool removal, struct profile_errors *out);

/* `remove:` in the map at path: its entries are deviations of the lists they name */
static void strict_remove(const struct pnode *rm, const char *path, struct profile_errors *out) {
        if (rm->reason)
                return;
        if (rm->kind == PNODE_SEQ && strcmp(path, "packages") == 0)
                strict_node(rm, "packages.install", true, out);
        else if (rm->kind == PNODE_MAP)
                for (size_t i = 0; i < rm->n_items; i++) {
                        _cleanup_free_ char *cp = *path ? xasprintf("%s.%s", path, rm->items[i]->key) : xstrdup(rm->items[i]->key);
                        strict_node(rm->items[i], cp, true, out);
                }
}

static void strict_map_children(const struct pnode *m, const char *path, struct profile_errors *out) {
        for (size_t i = 0; i < m->n_items; i++) {
                const struct pnode *c = m->items[i];
                if (!c->key || (!*path && strcmp(c->key, "include") == 0))
                        continue;
                if (strcmp(c->key, "remove") == 0) {
                        strict_remove(c, path, out);
                        continue;
                }
                _cleanup_free_ char *cp = *path ? xasprintf("%s.%s", path, c->key) : xstrdup(c->key);
                strict_node(c, cp, false, out);
        }
}

static void strict_node(const struct pnode *n, const char *path, bool removal, struct profile_errors *out) {
        if (n->reason)
                return;
        if (!strict_is_deviation(path)) {
                /* descriptive, but it may hold a deviation (distribution.repositories) */
                for (size_t i = 0; strict_deviation_within_descriptive[i]; i++)
                        if (n->kind == PNODE_MAP && path_under(strict_deviation_within_descriptive[i], path)) {
                                strict_map_children(n, path, out);
                                break;
                        }
                return;
        }
        switch (n->kind) {
        case PNODE_SCALAR:
                strict_item(n, path, removal, out);
                break;
        case PNODE_SEQ:
                for (size_t i = 0; i < n->n_items; i++)
                        strict_item(n->items[i], path, removal, out);
                break;
        case PNODE_MAP:
                strict_map_children(n, path, out);
                break;
        }
}

void profile_strict_scan(const struct pnode *file_tree, struct profile_errors *out) {
        /* a reason at the top of a file does not cover the whole file */
        if (file_tree && file_tree->kind == PNODE_MAP)
                strict_map_children(file_tree, "", out);
}

/* ---- semantic checks beyond types ---- */

static char *dirname_of(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t)(slash - path));
}

bool profile_account_name_ok(const char *s) {
        /* Debian's default NAME_REGEX, roughly: ^[a-z_][-a-z0-9_]*$ (plus '$' at the end for machine accounts). */
        if (!s || !*s || strlen(s) > 32 || !((*s >= 'a' && *s <= 'z') || *s == '_'))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || (*p == '$' && !p[1])))
                        return false;
        return true;
}

bool profile_passwd_field_ok(const char *s) {
        return !s || (!strchr(s, ':') && !strchr(s, '\n'));
}

bool profile_password_locks(const char *s) {
        return !s || strcmp(s, "locked") == 0 || strcmp(s, "!") == 0 || strcmp(s, "*") == 0;
}

/* The hashes crypt(3) of Debian's libxcrypt makes by default or on
 * request, with the length of their last field (the hash proper). */
static const struct {
        const char *prefix;
        size_t hash_len;
} crypt_methods[] = {
        { "$y$", 43 }, { "$gy$", 43 }, { "$7$", 43 }, { "$2b$", 53 }, { "$2y$", 53 }, { "$2a$", 53 },
        { "$6$", 86 }, { "$5$", 43 },
};

const char *profile_password_problem(const char *s) {
        if (profile_password_locks(s))
                return NULL;
        const char *h = s[0] == '!' ? s + 1 : s;       /* "!$y$...": a hash, locked */
        if (!*s)
                return "an empty password field lets anyone log in without a password; write \"locked\" "
                       "(or leave password out) or a crypt(3) hash";
        if (startswith(h, "$1$") || startswith(h, "$md5"))
                return "MD5-crypt is too weak to be accepted; make a yescrypt hash with `mkpasswd -m yescrypt` "
                       "(Debian package whois) or a SHA-512 one with `openssl passwd -6`";
        size_t m = 0;
        while (m < ELEMENTSOF(crypt_methods) && !startswith(h, crypt_methods[m].prefix))
                m++;
        if (m == ELEMENTSOF(crypt_methods))
                return h[0] == '$' ? "an unknown crypt(3) method; expected $y$ (yescrypt), $gy$, $7$, $2b$, $6$ or $5$ "
                                     "(make one with `mkpasswd -m yescrypt` or `openssl passwd -6`)"
                                   : "this looks like a plain-text password: the profile takes only a crypt(3) hash "
                                     "(make one with `mkpasswd -m yescrypt` or `openssl passwd -6`, and paste its output), "
                                     "or \"locked\"";
        for (const char *p = h; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                      *p == '/' || *p == '$' || *p == '=' || *p == ','))
                        return "not a crypt(3) hash: it has characters no hash has (copy the whole output of "
                               "`mkpasswd -m yescrypt` or `openssl passwd -6`)";
        const char *last = strrchr(h, '$');
        size_t fields = 0;
        for (const char *p = h; *p; p++)
                fields += *p == '$';
        if (fields < 3 || strlen(last + 1) != crypt_methods[m].hash_len)
                return "a truncated or malformed crypt(3) hash (copy the whole output of `mkpasswd -m yescrypt` "
                       "or `openssl passwd -6`)";
        return NULL;
}

bool profile_unit_name_ok(const char *u) {
        /* the unit types systemd has; configure_systemd.c uses this too */
        static const char *const suffixes[] = { ".service", ".socket", ".target", ".timer", ".path", ".mount",
                                                ".automount", ".swap", ".slice", ".scope", ".device" };
        if (!u || !*u || strchr(u, '/') || strlen(u) > 255 || u[0] == '.')
                return false;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (endswith(u, suffixes[i]) && strlen(u) > strlen(suffixes[i]))
                        return true;
        return false;
}

static bool scalar_ok(const struct pnode *n) {
        return n && n->kind == PNODE_SCALAR && !pnode_is_null(n);
}

static void check_image_path(struct validator *v, const struct pnode *n, const char *what) {
        const char *s = n->value;
        if (s[0] != '/') {
                profile_errors_add(v->errs, n->origin, "%s: expected an absolute path inside the image, got '%s'", what, s);
                return;
        }
        for (const char *p = s; *p;) {
                while (*p == '/')
                        p++;
                size_t len = strcspn(p, "/");
                if (len == 2 && p[0] == '.' && p[1] == '.') {
                        profile_errors_add(v->errs, n->origin, "%s: '..' is not allowed in a path inside the image, got '%s'",
                                           what, s);
                        return;
                }
                p += len;
        }
        if (strcmp(s, "/") == 0 || s[strlen(s) - 1] == '/')
                profile_errors_add(v->errs, n->origin, "%s: expected a file path, got the directory '%s'", what, s);
        else if (!root_path_is_clean(s))
                /* the build refuses "/etc/./a" and "/etc//a"; so does validate */
                profile_errors_add(v->errs, n->origin, "%s: expected a clean path (no '.' or empty components), got '%s'", what, s);
}

/* Where the booted system mounts the kernel's filesystems (and a tmpfs):
 * a file written there is hidden at boot, and /dev is emptied by the
 * rootfs stage anyway, so the build would log it as written and the image
 * would not have it. */
static const char *hidden_at_boot(const char *path) {
        static const char *const dirs[] = { "/dev", "/proc", "/sys", "/run" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                size_t n = strlen(dirs[i]);
                if (strncmp(path, dirs[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
                        return dirs[i];
        }
        return NULL;
}

/* Names handed to tools as arguments (package names go into mmdebstrap's
 * comma-separated --include, units to systemctl): no whitespace, no commas,
 * no leading '-' that a tool could take for an option. */
static bool is_token(const char *s) {
        if (!*s || *s == '-')
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || *s == ',' || *s == 0x7f)
                        return false;
        return true;
}

static bool is_hostname(const char *s) {
        size_t total = strlen(s), label = 0;
        if (total == 0 || total > 253)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0 || p[-1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
                if (!alnum && (*p != '-' || label == 0))
                        return false;
                if (++label > 63)
                        return false;
        }
        return label > 0 && s[total - 1] != '-';
}

static void check_tokens(struct validator *v, const struct pnode *root, const char *dotted, const char *what) {
        const struct pnode *l = pnode_lookup(root, dotted);
        for (size_t i = 0; l && l->kind == PNODE_SEQ && i < l->n_items; i++) {
                const struct pnode *e = l->items[i];
                if (scalar_ok(e) && !is_token(e->value))
                        profile_errors_add(v->errs, e->origin, "%s[%zu]: expected %s without spaces or commas, not starting with '-', got '%s'",
                                           dotted, i, what, e->value);
        }
}

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* True when every character of s is an ASCII letter or digit or one of extra. */
static bool alnum_or(const char *s, const char *extra) {
        for (; *s; s++)
                if (!ascii_alnum(*s) && !strchr(extra, *s))
                        return false;
        return true;
}

/* Versions of an immutable image are parts of partition and file names
 * (NAME_VERSION, NAME_VERSION+3-0.conf): no '_' (separates the name), no '+'
 * (starts a boot counter), no '/' or spaces. */
static bool is_slot_version(const char *s) {
        return *s && alnum_or(s, ".~^-");
}

/* image.name names the artifacts in the output directory (NAME.raw,
 * NAME.vhd, ...) and goes into partition and file names inside the image:
 * one file name, never a path (no '/', not "." or "..") and nothing a
 * terminal or fstab would read as more than a name. */
#define IMAGE_NAME_MAX 64
static bool is_image_name(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= IMAGE_NAME_MAX && ascii_alnum(s[0]) && alnum_or(s, "._+-");
}

static bool in_list(const char *const *l, const char *s) {
        for (; *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

/* Packages and units that install or upgrade packages on the running
 * system: they cannot work on a read-only root, and an immutable image is
 * updated as a whole (systemd-sysupdate) instead. */
static const char *const runtime_installer_packages[] = { "unattended-upgrades", "packagekit", "dnf-automatic", "apt-config-auto-update", NULL };
static const char *const runtime_installer_units[] = {
        "apt-daily-upgrade.timer", "apt-daily-upgrade.service", "unattended-upgrades.service", "packagekit.service",
        "dnf-automatic.timer", "dnf-automatic-install.timer", "dnf-automatic.service", "dnf-makecache.timer", NULL };
/* Kernel command line words slipway writes itself for the verity root. */
static const char *const verity_cmdline_prefixes[] = { "root=", "roothash=", "rootfstype=", "rootflags=", "systemd.verity", "usrhash=", "mount.usr", "systemd.volatile", NULL };

static void check_immutable(struct validator *v, const struct pnode *root) {
        const struct pnode *im = pnode_get(root, "immutable");
        const struct pnode *en = pnode_get(im, "enabled");
        if (!scalar_ok(en) || strcmp(en->value, "true") != 0)
                return;
        const struct pnode *image = pnode_get(root, "image");
        const struct pnode *name = pnode_get(image, "name"), *ver = pnode_get(image, "version");
        if (!scalar_ok(ver))
                profile_errors_add(v->errs, en->origin, "immutable.enabled: an immutable image needs image.version (its A/B slots, "
                                   "update artifacts and systemd-sysupdate tell versions apart by it)");
        else if (!is_slot_version(ver->value))
                profile_errors_add(v->errs, ver->origin, "image.version: an immutable image's version goes into partition and file names: "
                                   "letters, digits and . ~ ^ - only ('_' separates the name, '+' starts a boot counter), got '%s'",
                                   ver->value);
        else if (scalar_ok(name) && strlen(name->value) + 1 + strlen(ver->value) + strlen("_verity") > 36)
                profile_errors_add(v->errs, name->origin, "image.name: '%s_%s_verity' names the verity partition and is longer than "
                                   "the 36 characters of a GPT partition name", name->value, ver->value);

        const struct pnode *disk = pnode_get(root, "disk");
        const struct pnode *parts = pnode_get(disk, "partitions"), *headroom = pnode_get(disk, "root-headroom");
        if (parts && !pnode_is_null(parts))
                profile_errors_add(v->errs, parts->origin, "disk.partitions: contradicts immutable.enabled: true, which makes its own "
                                   "layout (ESP, root-A, verity-A, root-B, verity-B, /var); a root partition of the profile's would be writable");
        if (headroom)
                profile_errors_add(v->errs, headroom->origin, "disk.root-headroom: an immutable image sizes its root slots with "
                                   "immutable.slot-size");
        const struct pnode *bl = pnode_get(root, "bootloader");
        const struct pnode *bios = pnode_get(bl, "bios"), *uefi = pnode_get(bl, "uefi"), *sb = pnode_get(bl, "secure-boot");
        if (scalar_ok(bios) && strcmp(bios->value, "true") == 0)
                profile_errors_add(v->errs, bios->origin, "bootloader.bios: an immutable image boots with systemd-boot, which is UEFI "
                                   "only (boot counting and A/B fallback need it); set bootloader.bios: false");
        if (scalar_ok(uefi) && strcmp(uefi->value, "false") == 0)
                profile_errors_add(v->errs, uefi->origin, "bootloader.uefi: an immutable image needs UEFI (systemd-boot)");
        if (scalar_ok(sb) && strcmp(sb->value, "true") == 0)
                for (size_t i = 0; i < 2; i++) {
                        const char *key = i == 0 ? "secure-boot-key" : "secure-boot-certificate";
                        if (!pnode_get(bl, key))
                                profile_errors_add(v->errs, sb->origin, "bootloader.secure-boot: an immutable image with Secure "
                                                   "Boot boots a unified kernel image signed with the profile's key: set "
                                                   "bootloader.%s (a PEM file, relative to the profile)", key);
                }

        const struct pnode *fs = pnode_get(im, "filesystem");
        const char *fsname = scalar_ok(fs) ? fs->value : "erofs";
        const struct pnode *rw = pnode_lookup(root, "kernel.cmdline");
        for (size_t i = 0; rw && rw->kind == PNODE_SEQ && i < rw->n_items; i++) {
                const struct pnode *e = rw->items[i];
                if (!scalar_ok(e))
                        continue;
                if (strcmp(e->value, "rw") == 0)
                        profile_errors_add(v->errs, e->origin, "kernel.cmdline[%zu]: 'rw' asks for a writable root, which contradicts "
                                           "immutable.enabled: true (the root is a read-only %s checked by dm-verity)", i, fsname);
                for (const char *const *pre = verity_cmdline_prefixes; *pre; pre++)
                        if (startswith(e->value, *pre))
                                profile_errors_add(v->errs, e->origin, "kernel.cmdline[%zu]: '%s' is set by slipway for an immutable "
                                                   "image (the verity root, its root hash, and immutable.etc for systemd.volatile)", i, e->value);
        }
        const struct pnode *inst = pnode_lookup(root, "packages.install");
        for (size_t i = 0; inst && inst->kind == PNODE_SEQ && i < inst->n_items; i++)
                if (scalar_ok(inst->items[i]) && in_list(runtime_installer_packages, inst->items[i]->value))
                        profile_errors_add(v->errs, inst->items[i]->origin, "packages.install[%zu]: '%s' installs packages on the "
                                           "running system, which contradicts immutable.enabled: true (the root is read-only; "
                                           "an immutable image is updated whole, by systemd-sysupdate)", i, inst->items[i]->value);
        const struct pnode *units = pnode_lookup(root, "systemd.enable");
        for (size_t i = 0; units && units->kind == PNODE_SEQ && i < units->n_items; i++)
                if (scalar_ok(units->items[i]) && in_list(runtime_installer_units, units->items[i]->value))
                        profile_errors_add(v->errs, units->items[i]->origin, "systemd.enable[%zu]: '%s' installs packages at "
                                           "run time, which contradicts immutable.enabled: true (the root is read-only; an "
                                           "immutable image is updated whole, by systemd-sysupdate)", i, units->items[i]->value);

        const struct pnode *src = pnode_get(im, "update-source");
        if (scalar_ok(src)) {
                bool url = startswith(src->value, "http://") || startswith(src->value, "https://") ||
                           startswith(src->value, "file:///");
                bool bad = false;
                for (const char *c = src->value; *c; c++)
                        bad |= (unsigned char)*c <= ' ' || *c == 0x7f;
                if (bad || (!url && src->value[0] != '/'))
                        profile_errors_add(v->errs, src->origin, "immutable.update-source: expected an absolute directory or an "
                                           "http(s) or file:/// URL without spaces, got '%s'", src->value);
                const struct pnode *sums = pnode_lookup(root, "report.checksums");
                if (url && scalar_ok(sums) && strcmp(sums->value, "false") == 0)
                        profile_errors_add(v->errs, sums->origin, "report.checksums: false leaves out SHA256SUMS, which "
                                           "systemd-sysupdate needs to update from immutable.update-source '%s' (a URL "
                                           "source)", src->value);
        }
        const struct pnode *key = pnode_get(im, "signing-key");
        if (scalar_ok(key)) {
                _cleanup_free_ char *dir = dirname_of(key->origin.file);
                _cleanup_free_ char *host = key->value[0] == '/' ? xstrdup(key->value) : path_join(dir, key->value);
                struct stat st;
                if (key->origin.line > 0 && (stat(host, &st) < 0 || !S_ISREG(st.st_mode)))
                        profile_errors_add(v->errs, key->origin, "immutable.signing-key: no such file '%s' (an OpenPGP "
                                           "secret key without a passphrase)", host);
                const struct pnode *sums = pnode_lookup(root, "report.checksums");
                if (scalar_ok(sums) && strcmp(sums->value, "false") == 0)
                        profile_errors_add(v->errs, sums->origin, "report.checksums: false leaves out SHA256SUMS, which "
                                           "immutable.signing-key is there to sign");
        }
        /* The /var partition is made from the tree's /var, so a file the
         * profile puts under the overlay's directory would be an upper-layer
         * entry: it would hide that /etc path of this and of every later
         * version, which is what the read-only lower /etc is there to give. */
        const struct pnode *etc = pnode_get(im, "etc"), *files = pnode_get(root, "files");
        bool etc_overlay = scalar_ok(etc) && strcmp(etc->value, "overlay") == 0;
        size_t n = strlen(SLW_ETC_OVERLAY_DIR);
        for (size_t i = 0; etc_overlay && files && files->kind == PNODE_SEQ && i < files->n_items; i++) {
                const struct pnode *path = files->items[i]->kind == PNODE_MAP ? pnode_get(files->items[i], "path") : NULL;
                if (scalar_ok(path) && strncmp(path->value, SLW_ETC_OVERLAY_DIR, n) == 0 &&
                    (path->value[n] == '\0' || path->value[n] == '/'))
                        profile_errors_add(v->errs, path->origin, "files[%zu].path: %s holds the /etc overlay's upper layer "
                                           "(immutable.etc: overlay) and is written by the running system; put the file at "
                                           "its /etc path, in the image's read-only /etc", i, SLW_ETC_OVERLAY_DIR);
        }
        const struct pnode *comp = pnode_get(im, "compression");
        if (scalar_ok(comp)) {
                static const char *const erofs_ok[] = { "none", "lz4", "lz4hc", NULL };
                static const char *const squashfs_ok[] = { "none", "gzip", "xz", "lz4", "zstd", NULL };
                bool erofs = strcmp(fsname, "erofs") == 0;
                if (!in_list(erofs ? erofs_ok : squashfs_ok, comp->value))
                        profile_errors_add(v->errs, comp->origin, "immutable.compression: %s takes %s, got '%s'", fsname,
                                           erofs ? "none, lz4 or lz4hc" : "none, gzip, xz, lz4 or zstd", comp->value);
        }
}

/* bootloader.secure-boot and its key, certificate and enrollment.  The
 * key and certificate sign the immutable image's unified kernel image and
 * systemd-boot; the GRUB chain (not immutable) uses the distribution's
 * Microsoft-signed shim and signs nothing, so they mean nothing there. */
static void check_secure_boot(struct validator *v, const struct pnode *root) {
        const struct pnode *bl = pnode_get(root, "bootloader");
        const struct pnode *sb = pnode_get(bl, "secure-boot"), *uefi = pnode_get(bl, "uefi");
        bool secure = scalar_ok(sb) && strcmp(sb->value, "true") == 0;
        const struct pnode *en = pnode_lookup(root, "immutable.enabled");
        bool immutable = scalar_ok(en) && strcmp(en->value, "true") == 0;
        if (secure && scalar_ok(uefi) && strcmp(uefi->value, "false") == 0 && !immutable)
                profile_errors_add(v->errs, uefi->origin, "bootloader.uefi: false contradicts bootloader.secure-boot: true "
                                   "(Secure Boot is a UEFI feature)");
        /* GRUB's loaders are made from the image's own module directories
         * (grub-mkimage): BIOS always, UEFI unless the signed GRUB is used.
         * An exclusion that removes what that needs fails the bootloader
         * stage after the whole install; say so here, at the exclusion. */
        const struct pnode *bios = pnode_get(bl, "bios");
        bool want_bios = !(scalar_ok(bios) && strcmp(bios->value, "false") == 0);
        bool want_efi_modules = !(scalar_ok(uefi) && strcmp(uefi->value, "false") == 0) && !secure && !immutable;
        const struct pnode *ex = pnode_lookup(root, "packages.exclude-paths");
        for (size_t i = 0; ex && ex->kind == PNODE_SEQ && i < ex->n_items; i++) {
                const struct pnode *e = ex->items[i];
                if (!scalar_ok(e))
                        continue;
                if (want_efi_modules && (fnmatch(e->value, "/usr/lib/grub/x86_64-efi/kernel.img", 0) == 0 ||
                                         fnmatch(e->value, "/usr/lib/grub/x86_64-efi/moddep.lst", 0) == 0))
                        profile_errors_add(v->errs, e->origin, "packages.exclude-paths[%zu]: '%s' removes GRUB's x86_64-efi modules, "
                                           "which an unsigned UEFI loader is made from (bootloader.secure-boot is false); "
                                           "keep them (packages: {remove: {exclude-paths: ['%s']}}) or set secure-boot: true",
                                           i, e->value, e->value);
                if (want_bios && !immutable && (fnmatch(e->value, "/usr/lib/grub/i386-pc/boot.img", 0) == 0 ||
                                                fnmatch(e->value, "/usr/lib/grub/i386-pc/kernel.img", 0) == 0))
                        profile_errors_add(v->errs, e->origin, "packages.exclude-paths[%zu]: '%s' removes GRUB's i386-pc files, "
                                           "which the BIOS boot code is made from (bootloader.bios is true)", i, e->value);
        }
        static const char *const keys[] = { "secure-boot-key", "secure-boot-certificate", "secure-boot-enroll" };
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const struct pnode *n = pnode_get(bl, keys[i]);
                if (!n)
                        continue;
                if (!secure || !immutable) {
                        profile_errors_add(v->errs, n->origin, "bootloader.%s: only used with bootloader.secure-boot: true and "
                                           "immutable.enabled: true (for the unified kernel image slipway signs; the GRUB "
                                           "chain boots the distribution's Microsoft-signed shim and signs nothing)", keys[i]);
                        continue;
                }
                if (i == 2 || !scalar_ok(n))
                        continue;
                /* relative to the file that names it, like files[].source */
                _cleanup_free_ char *dir = dirname_of(n->origin.file);
                _cleanup_free_ char *host = n->value[0] == '/' || n->origin.line == 0 ? xstrdup(n->value) : path_join(dir, n->value);
                struct stat st;
                if (stat(host, &st) < 0 || !S_ISREG(st.st_mode))
                        profile_errors_add(v->errs, n->origin, "bootloader.%s: no such file '%s'", keys[i], host);
        }
}

/* A partition's mountpoint becomes a line of /etc/fstab and a directory in
 * the tree, its label the GPT partition name and the filesystem's label:
 * one clean absolute path without blanks (fstab splits on them), used once;
 * a label of printable ASCII that fits where it goes (GPT 36 characters,
 * ext4 16 bytes, FAT 11) instead of being cut. */
static void check_partition_names(struct validator *v, const struct pnode *parts, size_t i, struct str_index *mountpoints) {
        const struct pnode *pt = parts->items[i];
        const struct pnode *type = pnode_get(pt, "type"), *mp = pnode_get(pt, "mountpoint"), *label = pnode_get(pt, "label"),
                           *fs = pnode_get(pt, "fs");
        bool is_root = scalar_ok(type) && strcmp(type->value, "root") == 0;
        if (scalar_ok(mp)) {
                bool blank = false;
                for (const char *c = mp->value; *c; c++)
                        blank |= (unsigned char)*c <= 0x20 || *c == 0x7f || *c == '\\';
                if (!root_path_is_clean(mp->value) || blank || (strlen(mp->value) > 1 && mp->value[strlen(mp->value) - 1] == '/'))
                        profile_errors_add(v->errs, mp->origin, "disk.partitions[%zu].mountpoint: expected a clean absolute path "
                                           "without blanks, control characters or backslashes (it becomes a line of /etc/fstab)", i);
                else if (strcmp(mp->value, "/") == 0 && !is_root)
                        profile_errors_add(v->errs, mp->origin, "disk.partitions[%zu].mountpoint: / is the root partition's", i);
                else if (is_root && strcmp(mp->value, "/") != 0)
                        profile_errors_add(v->errs, mp->origin, "disk.partitions[%zu].mountpoint: the root partition is mounted at /, "
                                           "not %s", i, mp->value);
                else {
                        size_t j;
                        if (str_index_get(mountpoints, mp->value, &j))
                                profile_errors_add(v->errs, mp->origin, "disk.partitions[%zu].mountpoint: %s is partition %zu's "
                                                   "mountpoint already", i, mp->value, j);
                }
                str_index_add(mountpoints, mp->value, i);
        }
        if (scalar_ok(label)) {
                bool printable = *label->value != '\0';
                for (const char *c = label->value; *c; c++)
                        printable &= (unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f;
                const char *f = scalar_ok(fs) ? fs->value : scalar_ok(type) && strcmp(type->value, "esp") == 0 ? "vfat"
                                : scalar_ok(type) && (is_root || strcmp(type->value, "linux") == 0) ? "ext4" : "none";
                size_t max = strcmp(f, "ext4") == 0 ? 16 : strcmp(f, "vfat") == 0 ? 11 : 36;
                if (!printable)
                        profile_errors_add(v->errs, label->origin, "disk.partitions[%zu].label: expected printable ASCII", i);
                else if (strlen(label->value) > max)
                        profile_errors_add(v->errs, label->origin, "disk.partitions[%zu].label: '%s' is %zu characters; a label "
                                           "on %s may have %zu", i, label->value, strlen(label->value),
                                           strcmp(f, "none") == 0 ? "a GPT partition" : f, max);
        }
}

/* Scalar entries of the list at dotted, for the checks below. */
#define FOR_EACH_ENTRY(root, dotted, i, e)                                                                 \
        for (const struct pnode *l_ = pnode_lookup(root, dotted), *e = NULL; l_ && l_->kind == PNODE_SEQ; l_ = NULL) \
                for (size_t i = 0; i < l_->n_items; i++)                                                    \
                        if (scalar_ok(e = l_->items[i]))

/* What the configure stage refuses of a value without looking at the tree
 * (configure_*.c), refused here first: a build would fail on it only after
 * the rootfs was installed. */
static void check_configure_values(struct validator *v, const struct pnode *root) {
        /* configure_files.c: a kernel argument, one line of the boot entry */
        FOR_EACH_ENTRY(root, "kernel.cmdline", i, e)
                if (!*e->value || strchr(e->value, '\n'))
                        profile_errors_add(v->errs, e->origin, "kernel.cmdline[%zu]: a kernel argument may not be empty or hold "
                                           "a newline", i);
        /* configure_kernel.c: module names (check_tokens has the blanks) */
        FOR_EACH_ENTRY(root, "kernel.initramfs-modules", i, e)
                if (is_token(e->value) && strchr(e->value, '/'))
                        profile_errors_add(v->errs, e->origin, "kernel.initramfs-modules[%zu]: expected a module name like "
                                           "hv_vmbus, not a path, got '%s'", i, e->value);
        /* configure_prune.c */
        FOR_EACH_ENTRY(root, "prune.keep-locales", i, e)
                if (strchr(e->value, '/'))
                        profile_errors_add(v->errs, e->origin, "prune.keep-locales[%zu]: expected a locale name or pattern like "
                                           "en_US*, got '%s'", i, e->value);
        FOR_EACH_ENTRY(root, "prune.kernel-modules", i, e)
                if (e->value[0] == '/' || strstr(e->value, ".."))
                        profile_errors_add(v->errs, e->origin, "prune.kernel-modules[%zu]: expected a glob relative to "
                                           "lib/modules/<version>/kernel (no leading '/', no '..'), got '%s'", i, e->value);
        /* configure_files.c: locale-gen takes a name, not a path */
        const struct pnode *loc = pnode_get(root, "locale");
        if (scalar_ok(loc) && strpbrk(loc->value, "/\n "))
                profile_errors_add(v->errs, loc->origin, "locale: expected a locale name like en_US.UTF-8, got '%s'", loc->value);
        /* configure_systemd.c: unit names, and no unit both enabled and masked or disabled */
        static const char *const unit_lists[] = { "systemd.enable", "systemd.disable", "systemd.mask" };
        _cleanup_(str_index_clear) struct str_index enabled = { 0 };
        for (size_t l = 0; l < ELEMENTSOF(unit_lists); l++)
                FOR_EACH_ENTRY(root, unit_lists[l], i, e) {
                        if (!is_token(e->value))
                                continue;   /* check_tokens said so */
                        size_t at;
                        if (!profile_unit_name_ok(e->value))
                                profile_errors_add(v->errs, e->origin, "%s[%zu]: expected a unit name like ssh.service, got '%s'",
                                                   unit_lists[l], i, e->value);
                        else if (l == 0)
                                str_index_add(&enabled, e->value, i);
                        else if (str_index_get(&enabled, e->value, &at))
                                profile_errors_add(v->errs, e->origin, "%s[%zu]: '%s' is in systemd.enable too (entry %zu)",
                                                   unit_lists[l], i, e->value, at);
                }
        const struct pnode *dt = pnode_lookup(root, "systemd.default-target");
        if (scalar_ok(dt) && (!profile_unit_name_ok(dt->value) || !endswith(dt->value, ".target")))
                profile_errors_add(v->errs, dt->origin, "systemd.default-target: expected a target unit like "
                                   "multi-user.target, got '%s'", dt->value);
        /* configure_accounts.c and configure_prune.c */
        const struct pnode *gen = pnode_get(root, "generalize");
        bool generalize = scalar_ok(gen) && strcmp(gen->value, "true") == 0;
        const struct pnode *users = pnode_get(root, "users"), *autologin = NULL;
        size_t autologin_i = 0;
        for (size_t i = 0; users && users->kind == PNODE_SEQ && i < users->n_items; i++) {
                const struct pnode *u = users->items[i];
                if (u->kind != PNODE_MAP)
                        continue;
                const struct pnode *home = pnode_get(u, "home"), *pw = pnode_get(u, "password");
                if (scalar_ok(home) && profile_passwd_field_ok(home->value) && !root_path_is_clean(home->value))
                        profile_errors_add(v->errs, home->origin, "users[%zu].home: expected a clean absolute path, got '%s'",
                                           i, home->value);
                const struct pnode *keys = pnode_get(u, "ssh-authorized-keys");
                for (size_t k = 0; keys && keys->kind == PNODE_SEQ && k < keys->n_items; k++)
                        if (scalar_ok(keys->items[k]) && strstr(keys->items[k]->value, "PRIVATE KEY"))
                                profile_errors_add(v->errs, keys->items[k]->origin, "users[%zu].ssh-authorized-keys[%zu]: this "
                                                   "is a private key; authorized_keys takes the public one (the .pub file, "
                                                   "or what `ssh-keygen -y -f KEY` prints)", i, k);
                        else if (scalar_ok(keys->items[k]) && strchr(keys->items[k]->value, '\n'))
                                profile_errors_add(v->errs, keys->items[k]->origin, "users[%zu].ssh-authorized-keys[%zu]: an "
                                                   "SSH key is one line of authorized_keys", i, k);
                const char *problem = scalar_ok(pw) && profile_passwd_field_ok(pw->value) ? profile_password_problem(pw->value) : NULL;
                if (problem)    /* the value itself is never repeated: it may be a secret */
                        profile_errors_add(v->errs, pw->origin, "users[%zu].password: %s", i, problem);
                else if (generalize && scalar_ok(pw) && !profile_password_locks(pw->value))
                        profile_errors_add(v->errs, pw->origin, "users[%zu].password: generalize: true asks for an image "
                                           "without passwords (%s:%u); set \"locked\" or leave it out", i,
                                           gen->origin.file ? gen->origin.file : "?", gen->origin.line);
                /* configure_accounts.c writes getty drop-ins for one user */
                const struct pnode *al = pnode_get(u, "autologin");
                if (scalar_ok(al) && strcmp(al->value, "true") == 0) {
                        if (generalize)
                                profile_errors_add(v->errs, al->origin, "users[%zu].autologin: generalize: true asks for an "
                                                   "image for many machines (%s:%u), and autologin gives a shell on its "
                                                   "console to anyone who reaches it; use autologin in development "
                                                   "profiles only", i, gen->origin.file ? gen->origin.file : "?", gen->origin.line);
                        else if (autologin)
                                profile_errors_add(v->errs, al->origin, "users[%zu].autologin: only one user can be logged in "
                                                   "on the console automatically; users[%zu] (%s:%u) is already", i,
                                                   autologin_i, autologin->origin.file ? autologin->origin.file : "?",
                                                   autologin->origin.line);
                        else
                                autologin = al, autologin_i = i;
                }
        }
}

static void check_semantics(struct validator *v, const struct pnode *root) {
        check_tokens(v, root, "packages.install", "a package name");
        check_tokens(v, root, "systemd.enable", "a unit name");
        check_tokens(v, root, "systemd.disable", "a unit name");
        check_tokens(v, root, "systemd.mask", "a unit name");
        check_tokens(v, root, "kernel.initramfs-modules", "a module name");
        const struct pnode *hn = pnode_get(root, "hostname");
        if (scalar_ok(hn) && !is_hostname(hn->value))
                profile_errors_add(v->errs, hn->origin,
                                   "hostname: expected letters, digits and '-' in labels of at most 63 characters, got '%s'", hn->value);

        const struct pnode *files = pnode_get(root, "files");
        for (size_t i = 0; files && files->kind == PNODE_SEQ && i < files->n_items; i++) {
                const struct pnode *f = files->items[i];
                if (f->kind != PNODE_MAP)
                        continue;
                _cleanup_free_ char *fp = xasprintf("files[%zu]", i);
                const struct pnode *path = pnode_get(f, "path"), *content = pnode_get(f, "content"),
                                   *source = pnode_get(f, "source");
                if (!scalar_ok(path))
                        profile_errors_add(v->errs, f->origin, "%s: missing path", fp);
                else {
                        _cleanup_free_ char *w = xasprintf("%s.path", fp);
                        check_image_path(v, path, w);
                        const char *mnt = hidden_at_boot(path->value);
                        if (mnt)
                                profile_errors_add(v->errs, path->origin, "%s: %s is under %s, which the booted system mounts over "
                                                   "(the image would not have it)", w, path->value, mnt);
                }
                bool has_content = content && content->kind == PNODE_SCALAR, has_source = scalar_ok(source);
                if (has_content == has_source)
                        profile_errors_add(v->errs, f->origin, "%s: expected exactly one of content or source, got %s", fp,
                                           has_content ? "both" : "neither");
                else if (has_source) {
                        _cleanup_free_ char *dir = dirname_of(source->origin.file);
                        _cleanup_free_ char *host = source->value[0] == '/' ? xstrdup(source->value) : path_join(dir, source->value);
                        struct stat st;
                        if (source->origin.line > 0 && (stat(host, &st) < 0 || !S_ISREG(st.st_mode)))
                                profile_errors_add(v->errs, source->origin, "%s.source: no such file '%s'", fp, host);
                }
        }
        static const char *const named[] = { "users", "groups" };
        for (size_t t = 0; t < ELEMENTSOF(named); t++) {
                const struct pnode *l = pnode_get(root, named[t]);
                for (size_t i = 0; l && l->kind == PNODE_SEQ && i < l->n_items; i++) {
                        const struct pnode *it = l->items[i], *name = pnode_get(it, "name");
                        if (it->kind != PNODE_MAP)
                                continue;
                        if (!scalar_ok(name)) {
                                profile_errors_add(v->errs, it->origin, "%s[%zu]: missing name", named[t], i);
                                continue;
                        }
                        /* what the configure stage would refuse, refused here (validate = build) */
                        if (!profile_account_name_ok(name->value))
                                profile_errors_add(v->errs, name->origin, "%s[%zu].name: expected a name like ^[a-z_][-a-z0-9_]*$ "
                                                   "of at most 32 characters (it becomes a line of /etc/passwd or /etc/group)",
                                                   named[t], i);
                        static const char *const fields[] = { "shell", "home", "comment", "password" };
                        for (size_t f = 0; t == 0 && f < ELEMENTSOF(fields); f++) {
                                const struct pnode *fv = pnode_get(it, fields[f]);
                                if (scalar_ok(fv) && !profile_passwd_field_ok(fv->value))
                                        profile_errors_add(v->errs, fv->origin, "users[%zu].%s: ':' and newlines are not allowed "
                                                           "(it becomes a field of /etc/passwd or /etc/shadow)", i, fields[f]);
                        }
                }
        }
        {
                /* the configure stage links /etc/localtime to /usr/share/zoneinfo/NAME */
                const struct pnode *tz = pnode_get(root, "timezone");
                if (scalar_ok(tz)) {
                        _cleanup_free_ char *rel = xasprintf("/usr/share/zoneinfo/%s", tz->value);
                        if (tz->value[0] == '/' || !*tz->value || !root_path_is_clean(rel))
                                profile_errors_add(v->errs, tz->origin, "timezone: '%s' is not a time zone name like Europe/Paris",
                                                   tz->value);
                }
        }

        const struct pnode *dist = pnode_get(root, "distribution");
        const struct pnode *backend = pnode_get(dist, "backend");
        const char *be = scalar_ok(backend) ? backend->value : "apt";
        if (strcmp(be, "import") == 0) {
                if (!scalar_ok(pnode_get(dist, "source")))
                        profile_errors_add(v->errs, dist ? dist->origin : root->origin,
                                           "distribution.source: the import backend needs a directory or tarball");
        } else if (!scalar_ok(pnode_get(dist, "release")))
                profile_errors_add(v->errs, dist ? dist->origin : root->origin,
                                   "distribution.release: missing (a suite like trixie for apt, a release like 43 for dnf)");
        /* the package sources written into the image (configure_files.c) */
        const struct pnode *imirror = pnode_get(dist, "image-mirror");
        if (scalar_ok(imirror)) {
                bool url = startswith(imirror->value, "http://") || startswith(imirror->value, "https://") ||
                           startswith(imirror->value, "file:///");
                bool bad = false;
                for (const char *c = imirror->value; *c; c++)
                        bad |= (unsigned char)*c <= ' ' || *c == 0x7f;
                if (strcmp(be, "apt") != 0)
                        profile_errors_add(v->errs, imirror->origin, "distribution.image-mirror: only the apt backend writes the "
                                           "image's package sources (a %s image keeps its own; replace them with files:)", be);
                else if (bad || !url)
                        profile_errors_add(v->errs, imirror->origin, "distribution.image-mirror: expected an http(s) or file:/// "
                                           "URL of a Debian archive without spaces, got '%s'", imirror->value);
        }
        const struct pnode *repos = pnode_get(dist, "repositories");
        for (size_t i = 0; repos && repos->kind == PNODE_SEQ && i < repos->n_items; i++) {
                const struct pnode *r = repos->items[i];
                if (r->kind == PNODE_MAP && (!scalar_ok(pnode_get(r, "name")) || !scalar_ok(pnode_get(r, "baseurl"))))
                        profile_errors_add(v->errs, r->origin, "distribution.repositories[%zu]: needs a name and a baseurl", i);
        }
        const struct pnode *image = pnode_get(root, "image");
        const struct pnode *iname = pnode_get(image, "name");
        if (!scalar_ok(iname))
                profile_errors_add(v->errs, image ? image->origin : root->origin, "image.name: missing");
        else if (!is_image_name(iname->value)) {
                /* shown with anything unprintable as '?': the name may hold a newline or an escape */
                char shown[IMAGE_NAME_MAX + 2];
                size_t k = 0;
                for (const char *c = iname->value; *c && k < IMAGE_NAME_MAX; c++)
                        shown[k++] = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
                shown[k] = '\0';
                profile_errors_add(v->errs, iname->origin, "image.name: '%s%s' is not a file name: 1 to %d letters, digits and . _ + -, "
                                   "starting with a letter or digit (it names the artifacts in the output directory)",
                                   shown, strlen(iname->value) > IMAGE_NAME_MAX ? "…" : "", IMAGE_NAME_MAX);
        }

        const struct pnode *parts = pnode_get(pnode_get(root, "disk"), "partitions");
        unsigned roots = 0;
        _cleanup_(str_index_clear) struct str_index mountpoints = { 0 };
        for (size_t i = 0; parts && parts->kind == PNODE_SEQ && i < parts->n_items; i++) {
                const struct pnode *pt = parts->items[i];
                if (pt->kind != PNODE_MAP)
                        continue;
                check_partition_names(v, parts, i, &mountpoints);
                const struct pnode *type = pnode_get(pt, "type"), *size = pnode_get(pt, "size");
                if (!scalar_ok(type)) {
                        profile_errors_add(v->errs, pt->origin, "disk.partitions[%zu]: missing type", i);
                        continue;
                }
                bool is_root = strcmp(type->value, "root") == 0;
                roots += is_root;
                /* The tree goes into the root partition as ext4 (mke2fs -d),
                 * the boot files into the ESP as FAT: another fs there
                 * would build an image without its root or its loader. */
                const struct pnode *fs = pnode_get(pt, "fs");
                if (scalar_ok(fs) && is_root && strcmp(fs->value, "ext4") != 0)
                        profile_errors_add(v->errs, fs->origin, "disk.partitions[%zu].fs: the root partition holds the image's tree, "
                                           "which is written as ext4; '%s' would leave the image without its root", i, fs->value);
                else if (scalar_ok(fs) && strcmp(type->value, "esp") == 0 && strcmp(fs->value, "vfat") != 0)
                        profile_errors_add(v->errs, fs->origin, "disk.partitions[%zu].fs: the ESP is FAT (vfat) for the firmware "
                                           "to read, not '%s'", i, fs->value);
                else if (scalar_ok(fs) && strcmp(type->value, "bios-boot") == 0 && strcmp(fs->value, "none") != 0)
                        profile_errors_add(v->errs, fs->origin, "disk.partitions[%zu].fs: the BIOS boot partition holds GRUB's "
                                           "core.img, no filesystem ('%s')", i, fs->value);
                if (scalar_ok(size) && strcmp(size->value, "auto") == 0 && !is_root)
                        profile_errors_add(v->errs, size->origin, "disk.partitions[%zu].size: only the root partition can be auto", i);
                if (!size && !is_root)
                        profile_errors_add(v->errs, pt->origin, "disk.partitions[%zu]: missing size", i);
        }
        if (parts && parts->kind == PNODE_SEQ && roots != 1)
                profile_errors_add(v->errs, parts->origin, "disk.partitions: expected exactly one root partition, got %u", roots);
        check_secure_boot(v, root);
        check_immutable(v, root);
        check_configure_values(v, root);
}

/* ---- typed model ---- */

static char *str_at(const struct pnode *m, const char *key) {
        const struct pnode *n = pnode_get(m, key);
        return scalar_ok(n) ? xstrdup(n->value) : NULL;
}

static bool bool_at(const struct pnode *m, const char *key, bool def) {
        const struct pnode *n = pnode_get(m, key);
        return scalar_ok(n) ? strcmp(n->value, "true") == 0 : def;
}

static int64_t int_at(const struct pnode *m, const char *key, int64_t def) {
        const struct pnode *n = pnode_get(m, key);
        int64_t v;
        return scalar_ok(n) && parse_int64(n->value, &v) == 0 ? v : def;
}

static uint64_t size_at(const struct pnode *m, const char *key, uint64_t def, bool *is_auto) {
        const struct pnode *n = pnode_get(m, key);
        uint64_t v;
        if (is_auto)
                *is_auto = false;
        if (!scalar_ok(n))
                return def;
        return size_of(n, &v, is_auto) == 0 ? v : def;
}

/* NULL when absent; an empty (non-NULL) vector for `[]` or null. */
static char **strv_at(const struct pnode *m, const char *key) {
        const struct pnode *n = pnode_get(m, key);
        if (!n)
                return NULL;
        size_t k = 0;
        char **l = xcalloc((n->kind == PNODE_SEQ ? n->n_items : 0) + 1, sizeof(char *));
        for (size_t i = 0; n->kind == PNODE_SEQ && i < n->n_items; i++)
                if (scalar_ok(n->items[i]))
                        l[k++] = xstrdup(n->items[i]->value);
        return l;
}

static int enum_index(const char *const *e, const char *s) {
        for (int i = 0; e[i]; i++)
                if (s && strcmp(e[i], s) == 0)
                        return i;
        return -1;
}

static void add_partition(struct slw_profile *p, enum slw_part_type type, uint64_t size, bool size_auto, enum slw_fs fs,
                          char *origin_path) {
        size_t n = p->disk.n_partitions;
        if ((n & (n - 1)) == 0)   /* doubling: 0, 1, 2, 4, ... */
                p->disk.partitions = xrealloc(p->disk.partitions, (n ? 2 * n : 1) * sizeof(*p->disk.partitions));
        p->disk.partitions[p->disk.n_partitions++] = (struct slw_partition){
                .type = type, .size = size, .size_auto = size_auto, .fs = fs, .origin_path = origin_path, .slot = -1 };
}

static void build_model(struct slw_profile *p) {
        const struct pnode *root = p->root;
        const struct pnode *image = pnode_get(root, "image");
        p->name = str_at(image, "name");
        p->version = str_at(image, "version");

        const struct pnode *dist = pnode_get(root, "distribution");
        int be = enum_index(backends, scalar_ok(pnode_get(dist, "backend")) ? pnode_get(dist, "backend")->value : "apt");
        p->distribution.backend = be == 1 ? BACKEND_DNF : be == 2 ? BACKEND_IMPORT : BACKEND_APT;
        p->distribution.release = str_at(dist, "release");
        p->distribution.components = strv_at(dist, "components");
        if (!p->distribution.components && p->distribution.backend == BACKEND_APT)
                strv_push(&p->distribution.components, "main");
        p->distribution.variant = str_at(dist, "variant");
        if (!p->distribution.variant)
                p->distribution.variant = xstrdup("minbase");
        p->distribution.mirror = str_at(dist, "mirror");
        p->distribution.image_mirror = str_at(dist, "image-mirror");
        p->distribution.architecture = str_at(dist, "architecture");
        if (!p->distribution.architecture)
                p->distribution.architecture = xstrdup(p->distribution.backend == BACKEND_DNF ? "x86_64" : "amd64");
        p->distribution.source = str_at(dist, "source");
        {
                /* relative to the profile file that says it, like every
                 * other path in a profile (a --set value: to the current
                 * directory) */
                const struct pnode *src = pnode_get(dist, "source");
                if (p->distribution.source && p->distribution.source[0] != '/' && scalar_ok(src) && src->origin.line > 0 &&
                    src->origin.file) {
                        _cleanup_free_ char *dir = dirname_of(src->origin.file);
                        char *abs = path_join(dir, p->distribution.source);
                        free(p->distribution.source);
                        p->distribution.source = abs;
                }
        }
        const struct pnode *repos = pnode_get(dist, "repositories");
        if (repos && repos->kind == PNODE_SEQ)
                p->distribution.repos = xcalloc(repos->n_items, sizeof(struct slw_repo));
        for (size_t i = 0; repos && repos->kind == PNODE_SEQ && i < repos->n_items; i++) {
                const struct pnode *r = repos->items[i];
                p->distribution.repos[p->distribution.n_repos++] = (struct slw_repo){
                        .name = str_at(r, "name"), .baseurl = str_at(r, "baseurl"),
                        .gpgcheck = bool_at(r, "gpgcheck", true), .gpgkey = str_at(r, "gpgkey"),
                        .suite = str_at(r, "suite"), .components = strv_at(r, "components") };
        }

        const struct pnode *pk = pnode_get(root, "packages");
        p->packages.install = strv_at(pk, "install");
        p->packages.exclude_paths = strv_at(pk, "exclude-paths");
        p->packages.include_paths = strv_at(pk, "include-paths");
        p->packages.recommends = bool_at(pk, "recommends", false);

        const struct pnode *sd = pnode_get(root, "systemd");
        p->systemd.enable = strv_at(sd, "enable");
        p->systemd.disable = strv_at(sd, "disable");
        p->systemd.mask = strv_at(sd, "mask");
        p->systemd.default_target = str_at(sd, "default-target");

        const struct pnode *k = pnode_get(root, "kernel");
        p->kernel.cmdline = strv_at(k, "cmdline");
        p->kernel.initramfs_modules = strv_at(k, "initramfs-modules");

        const struct pnode *files = pnode_get(root, "files");
        if (files && files->kind == PNODE_SEQ)
                p->files = xcalloc(files->n_items, sizeof(*p->files));
        for (size_t i = 0; files && files->kind == PNODE_SEQ && i < files->n_items; i++) {
                const struct pnode *f = files->items[i];
                struct slw_file sf = { .path = str_at(f, "path"), .mode = 0644 };
                const struct pnode *content = pnode_get(f, "content"), *source = pnode_get(f, "source"),
                                   *mode = pnode_get(f, "mode");
                if (content && content->kind == PNODE_SCALAR)
                        sf.content = xstrdup(content->value ? content->value : "");
                if (scalar_ok(source)) {
                        _cleanup_free_ char *dir = dirname_of(source->origin.file);
                        sf.source = source->value[0] == '/' || source->origin.line == 0 ? xstrdup(source->value)
                                                                                         : path_join(dir, source->value);
                }
                if (scalar_ok(mode))
                        (void)parse_mode(mode, &sf.mode);
                sf.owner = str_at(f, "owner");
                sf.group = str_at(f, "group");
                if (!sf.owner)
                        sf.owner = xstrdup("root");
                if (!sf.group)
                        sf.group = xstrdup("root");
                sf.reason = f->reason ? xstrdup(f->reason) : NULL;
                sf.origin_path = xasprintf("files[%zu]", i);
                p->files[p->n_files++] = sf;
        }

        const struct pnode *users = pnode_get(root, "users");
        if (users && users->kind == PNODE_SEQ)
                p->users = xcalloc(users->n_items, sizeof(*p->users));
        for (size_t i = 0; users && users->kind == PNODE_SEQ && i < users->n_items; i++) {
                const struct pnode *u = users->items[i];
                struct slw_user su = {
                        .name = str_at(u, "name"), .uid = int_at(u, "uid", -1), .gid = int_at(u, "gid", -1),
                        .system = bool_at(u, "system", false), .shell = str_at(u, "shell"), .home = str_at(u, "home"),
                        .comment = str_at(u, "comment"), .password = str_at(u, "password"),
                        .ssh_authorized_keys = strv_at(u, "ssh-authorized-keys"), .groups = strv_at(u, "groups"),
                        .autologin = bool_at(u, "autologin", false), .origin_path = xasprintf("users[%zu]", i),
                };
                p->users[p->n_users++] = su;
        }
        const struct pnode *groups = pnode_get(root, "groups");
        if (groups && groups->kind == PNODE_SEQ)
                p->groups = xcalloc(groups->n_items, sizeof(*p->groups));
        for (size_t i = 0; groups && groups->kind == PNODE_SEQ && i < groups->n_items; i++) {
                const struct pnode *g = groups->items[i];
                p->groups[p->n_groups++] = (struct slw_group){ .name = str_at(g, "name"), .gid = int_at(g, "gid", -1),
                                                               .system = bool_at(g, "system", false),
                                                               .origin_path = xasprintf("groups[%zu]", i) };
        }

        p->hostname = str_at(root, "hostname");
        p->locale = str_at(root, "locale");
        p->timezone = str_at(root, "timezone");

        const struct pnode *pr = pnode_get(root, "prune");
        p->prune.docs = bool_at(pr, "docs", false);
        p->prune.keep_locales = strv_at(pr, "keep-locales");
        p->prune.kernel_modules = strv_at(pr, "kernel-modules");
        p->prune.caches = bool_at(pr, "caches", false);
        p->generalize = bool_at(root, "generalize", false);

        const struct pnode *im = pnode_get(root, "immutable");
        p->immutable.enabled = bool_at(im, "enabled", false);
        const struct pnode *imfs = pnode_get(im, "filesystem");
        p->immutable.filesystem = scalar_ok(imfs) && strcmp(imfs->value, "squashfs") == 0 ? FS_SQUASHFS : FS_EROFS;
        const struct pnode *imc = pnode_get(im, "compression");
        int ci = scalar_ok(imc) ? enum_index(ro_compressions, imc->value) : -1;
        p->immutable.compression = ci >= 0 ? (enum slw_ro_compression)ci
                                   : p->immutable.filesystem == FS_EROFS ? ROC_LZ4HC : ROC_ZSTD;
        p->immutable.slot_size = size_at(im, "slot-size", 0, NULL);
        p->immutable.var_size = size_at(im, "var-size", 256 * MiB, NULL);
        p->immutable.esp_size = size_at(im, "esp-size", 256 * MiB, NULL);
        const struct pnode *key = pnode_get(im, "signing-key");
        if (scalar_ok(key)) {
                _cleanup_free_ char *dir = dirname_of(key->origin.file);
                p->immutable.signing_key = key->value[0] == '/' || key->origin.line == 0 ? xstrdup(key->value)
                                                                                       : path_join(dir, key->value);
        }
        p->immutable.update_source = str_at(im, "update-source");
        if (!p->immutable.update_source)
                p->immutable.update_source = xstrdup("/var/lib/slipway/updates");
        p->immutable.tries = (unsigned)int_at(im, "tries", 3);
        const struct pnode *etc = pnode_get(im, "etc");
        int ei = scalar_ok(etc) ? enum_index(etc_modes, etc->value) : -1;
        p->immutable.etc = ei >= 0 ? (enum slw_etc_mode)ei : ETC_READ_ONLY;

        const struct pnode *bl = pnode_get(root, "bootloader");
        /* an immutable image boots with systemd-boot: UEFI only */
        p->bootloader.bios = bool_at(bl, "bios", !p->immutable.enabled);
        p->bootloader.uefi = bool_at(bl, "uefi", true);
        p->bootloader.secure_boot = bool_at(bl, "secure-boot", false);
        p->bootloader.secure_boot_enroll = bool_at(bl, "secure-boot-enroll", false);
        static const char *const pem_keys[] = { "secure-boot-key", "secure-boot-certificate" };
        char **pem[] = { &p->bootloader.secure_boot_key, &p->bootloader.secure_boot_certificate };
        for (size_t i = 0; i < ELEMENTSOF(pem_keys); i++) {
                const struct pnode *n = pnode_get(bl, pem_keys[i]);
                if (!scalar_ok(n))
                        continue;
                _cleanup_free_ char *dir = dirname_of(n->origin.file);
                *pem[i] = n->value[0] == '/' || n->origin.line == 0 ? xstrdup(n->value) : path_join(dir, n->value);
        }
        p->bootloader.timeout = (unsigned)int_at(bl, "timeout", 1);
        p->bootloader.serial = bool_at(bl, "serial", true);

        const struct pnode *disk = pnode_get(root, "disk");
        p->disk.size = size_at(disk, "size", 0, NULL);
        p->disk.root_headroom = size_at(disk, "root-headroom", 0, NULL);
        const struct pnode *parts = pnode_get(disk, "partitions");
        if (p->immutable.enabled) {
                /* The immutable layout: slot A holds the image, slot B is
                 * empty for systemd-sysupdate ("_empty" is the name it looks
                 * for); sizes of the slots are fixed by the disk stage. */
                _cleanup_free_ char *nv = xasprintf("%s_%s", p->name ? p->name : "image", p->version ? p->version : "0");
                add_partition(p, PART_ESP, p->immutable.esp_size, false, FS_VFAT, xstrdup("immutable.esp-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xstrdup("ESP");
                add_partition(p, PART_ROOT, 0, true, p->immutable.filesystem, xstrdup("immutable.slot-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xstrdup(nv);
                p->disk.partitions[p->disk.n_partitions - 1].slot = 0;
                add_partition(p, PART_ROOT_VERITY, 0, true, FS_NONE, xstrdup("immutable.slot-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xasprintf("%s_verity", nv);
                p->disk.partitions[p->disk.n_partitions - 1].slot = 0;
                add_partition(p, PART_ROOT, 0, true, FS_NONE, xstrdup("immutable.slot-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xstrdup("_empty");
                p->disk.partitions[p->disk.n_partitions - 1].slot = 1;
                add_partition(p, PART_ROOT_VERITY, 0, true, FS_NONE, xstrdup("immutable.slot-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xstrdup("_empty");
                p->disk.partitions[p->disk.n_partitions - 1].slot = 1;
                add_partition(p, PART_VAR, p->immutable.var_size, false, FS_EXT4, xstrdup("immutable.var-size"));
                p->disk.partitions[p->disk.n_partitions - 1].label = xstrdup("var");
                p->disk.partitions[p->disk.n_partitions - 1].mountpoint = xstrdup("/var");
        } else if (parts && parts->kind == PNODE_SEQ && parts->n_items > 0) {
                for (size_t i = 0; i < parts->n_items; i++) {
                        const struct pnode *pt = parts->items[i];
                        const struct pnode *tn = pnode_get(pt, "type");
                        int t = enum_index(part_types, scalar_ok(tn) ? tn->value : NULL);
                        enum slw_part_type type = t < 0 ? PART_LINUX : (enum slw_part_type)t;
                        bool is_auto;
                        uint64_t size = size_at(pt, "size", 0, &is_auto);
                        if (type == PART_ROOT && !pnode_get(pt, "size"))
                                is_auto = true;
                        const struct pnode *fsn = pnode_get(pt, "fs");
                        int fs = scalar_ok(fsn) ? enum_index(fs_names, fsn->value) : -1;
                        enum slw_fs f = fs == 1 ? FS_EXT4 : fs == 2 ? FS_VFAT : fs == 0 ? FS_NONE
                                        : type == PART_ESP ? FS_VFAT
                                        : type == PART_ROOT || type == PART_LINUX ? FS_EXT4 : FS_NONE;
                        add_partition(p, type, size, is_auto, f, xasprintf("disk.partitions[%zu]", i));
                        p->disk.partitions[p->disk.n_partitions - 1].label = str_at(pt, "label");
                        p->disk.partitions[p->disk.n_partitions - 1].mountpoint = str_at(pt, "mountpoint");
                }
        } else {
                /* the default layout; a boot partition only for the firmware the image boots with */
                if (p->bootloader.bios)
                        add_partition(p, PART_BIOS_BOOT, 1 * MiB, false, FS_NONE, xstrdup("disk.partitions"));
                if (p->bootloader.uefi)
                        add_partition(p, PART_ESP, 64 * MiB, false, FS_VFAT, xstrdup("disk.partitions"));
                add_partition(p, PART_ROOT, 0, true, FS_EXT4, xstrdup("disk.partitions"));
        }

        const struct pnode *outs = pnode_get(root, "outputs");
        bool any = false;
        for (size_t i = 0; outs && outs->kind == PNODE_SEQ && i < outs->n_items; i++) {
                int o = enum_index(output_names, outs->items[i]->value);
                if (o >= 0)
                        p->outputs[o] = any = true;
        }
        if (!any)
                p->outputs[OUT_RAW] = true;
        const struct pnode *q = pnode_get(root, "qcow2");
        int c = scalar_ok(pnode_get(q, "compression")) ? enum_index(compressions, pnode_get(q, "compression")->value) : 0;
        p->qcow2_compression = c == 1 ? COMP_ZLIB : c == 2 ? COMP_ZSTD : COMP_NONE;

        const struct pnode *budget = pnode_get(root, "budget");
        p->budget.root_used = size_at(budget, "root-used", 0, NULL);
        const struct pnode *ab = pnode_get(budget, "artifacts");
        for (int o = 0; o < _OUT_MAX; o++)
                p->budget.artifact[o] = size_at(ab, output_names[o], 0, NULL);
        p->verify_azure = bool_at(pnode_get(root, "verify"), "azure", false);
        p->report.checksums = bool_at(pnode_get(root, "report"), "checksums", true);
}

/* ---- the disk layout: what the disk stage would refuse, without the tree ---- */

/* The smallest root ext4 the disk stage asks for: an empty tree and the
 * grub.cfg it adds (stage_disk.c).  Any real tree needs at least this, so a
 * layout without room for it fails the build whatever the tree. */
static uint64_t root_minimum(void) {
        struct tree_usage u = { .data_bytes = 2 * 4096, .n_inodes = 2 };
        return ext4_required_bytes(&u);
}

/* The least an immutable root slot of `size: auto` is: the root image (more
 * than 0 bytes) plus max(25 %, 64 MiB), in whole MiB (stage_disk.c). */
#define IMMUTABLE_AUTO_SLOT_MIN (GPT_ROOT_HEADROOM_MIN + GPT_ALIGN)

/* The layout sizes the profile sets, each checked at its key: a disk of
 * whole MiB, nothing beyond what the layout handles, and a plan (lib/
 * gpt_layout.c, the disk stage's own) with the smallest possible root. */
static void check_layout(struct validator *v, const struct slw_profile *p) {
        const uint64_t limit = UINT64_C(1) << 56;
        struct { const char *key; uint64_t value; } sizes[] = {
                { "disk.size", p->disk.size }, { "disk.root-headroom", p->disk.root_headroom },
                { "immutable.slot-size", p->immutable.slot_size }, { "immutable.var-size", p->immutable.var_size },
                { "immutable.esp-size", p->immutable.esp_size },
        };
        bool beyond = false;
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++)
                if (sizes[i].value > limit) {
                        profile_errors_add(v->errs, profile_origin(p, sizes[i].key), "%s: %" PRIu64 " bytes is beyond the "
                                           "64 PiB a disk layout may have", sizes[i].key, sizes[i].value);
                        beyond = true;
                }
        for (size_t i = 0; !p->immutable.enabled && i < p->disk.n_partitions; i++)
                if (p->disk.partitions[i].size > limit) {
                        _cleanup_free_ char *key = xasprintf("%s.size", p->disk.partitions[i].origin_path);
                        profile_errors_add(v->errs, profile_origin(p, key), "%s: %" PRIu64 " bytes is beyond the 64 PiB a "
                                           "disk layout may have", key, p->disk.partitions[i].size);
                        beyond = true;
                }
        if (beyond)
                return;
        if (p->disk.size % GPT_ALIGN != 0) {
                profile_errors_add(v->errs, profile_origin(p, "disk.size"), "disk.size: %" PRIu64 " bytes is not a whole number "
                                   "of MiB (partitions sit on 1 MiB boundaries and Azure takes only disks of whole MiB): "
                                   "%" PRIu64 "MiB or %" PRIu64 "MiB?", p->disk.size, p->disk.size / GPT_ALIGN,
                                   p->disk.size / GPT_ALIGN + 1);
                return;
        }
        struct gpt_layout_input in = {
                .disk_size = p->disk.size,
                .root_headroom = p->disk.root_headroom,
                .root_required = root_minimum(),
                .root_minimum = true,
                .parts = p->disk.partitions,
                .n_parts = p->disk.n_partitions,
        };
        struct disk_plan plan;
        /* the immutable layout's slots: as disk_immutable() sizes them */
        struct slw_partition sized[ELEMENTSOF(plan.parts)];
        if (p->immutable.enabled && p->disk.n_partitions <= ELEMENTSOF(sized)) {
                uint64_t slot = p->immutable.slot_size ? ALIGN_UP(p->immutable.slot_size, GPT_ALIGN) : IMMUTABLE_AUTO_SLOT_MIN;
                uint64_t vslot = ALIGN_UP(verity_hash_bytes(slot), GPT_ALIGN);
                for (size_t i = 0; i < p->disk.n_partitions; i++) {
                        sized[i] = p->disk.partitions[i];
                        if (sized[i].type == PART_ROOT || sized[i].type == PART_ROOT_VERITY) {
                                sized[i].size = sized[i].type == PART_ROOT ? slot : vslot;
                                sized[i].size_auto = false;
                        }
                }
                in.parts = sized;
                in.root_required = 0;
                in.root_headroom = 0;
        }
        struct gpt_layout_error err;
        if (gpt_layout_plan(&in, &plan, &err) < 0) {
                _cleanup_free_ char *key = err.part_index < 0 ? xstrdup(err.key ? err.key : "disk.size")
                                           : p->immutable.enabled || !err.key
                                                   ? xstrdup(p->disk.partitions[err.part_index].origin_path)
                                                   : xasprintf("%s.%s", p->disk.partitions[err.part_index].origin_path, err.key);
                profile_errors_add(v->errs, gpt_layout_error_origin(p, &err), "%s: %s", key, err.message);
        }
}

static bool wants_disk(const bool outputs[_OUT_MAX]) {
        return outputs[OUT_RAW] || outputs[OUT_VHD] || outputs[OUT_VHD_DYNAMIC] || outputs[OUT_QCOW2];
}

int profile_check_outputs(const struct slw_profile *p, const bool outputs[_OUT_MAX], struct profile_errors *errs) {
        size_t before = errs->n;
        bool root = false, esp = false, bios = false;
        for (size_t i = 0; i < p->disk.n_partitions; i++) {
                root |= p->disk.partitions[i].type == PART_ROOT;
                esp |= p->disk.partitions[i].type == PART_ESP;
                bios |= p->disk.partitions[i].type == PART_BIOS_BOOT;
        }
        struct slw_origin parts = profile_origin(p, "disk.partitions");
        if (wants_disk(outputs)) {
                /* the default layout has what the bootloader needs: these are
                 * about a disk.partitions of the profile's */
                if (!root)
                        profile_errors_add(errs, parts, "disk.partitions: a disk image needs a partition of type root");
                if (p->bootloader.bios && !bios)
                        profile_errors_add(errs, parts, "disk.partitions: bootloader.bios (%s) needs a partition of type "
                                           "bios-boot for GRUB's core.img", pnode_lookup(p->root, "bootloader.bios") ? "true" : "true by default");
                if (p->bootloader.uefi && !esp)
                        profile_errors_add(errs, parts, "disk.partitions: bootloader.uefi (%s) needs a partition of type esp",
                                           pnode_lookup(p->root, "bootloader.uefi") ? "true" : "true by default");
        } else if (p->budget.root_used && memcmp(outputs, p->outputs, sizeof(p->outputs)) == 0) {
                /* the report stage measures the root filesystem of the disk;
                 * a profile whose own outputs have none contradicts itself.
                 * A build whose --output has no disk skips the budget, as it
                 * skips the budgets of artifacts it does not make. */
                char names[64] = "";
                for (int o = 0; o < _OUT_MAX; o++)
                        if (outputs[o])
                                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", *names ? ", " : "", output_name(o));
                profile_errors_add(errs, profile_origin(p, "budget.root-used"), "budget.root-used: the outputs (%s) have no "
                                   "disk image, so no root filesystem to measure", names);
        }
        return errs->n > before ? -EINVAL : 0;
}

int profile_load(const char *path, char *const *sets, struct slw_profile **ret, struct profile_errors *errs) {
        return profile_load_flags(path, sets, 0, ret, errs);
}

int profile_load_flags(const char *path, char *const *sets, unsigned flags, struct slw_profile **ret,
                       struct profile_errors *errs) {
        struct profile_errors local = { 0 };
        if (!errs) {
                /* a caller that only wants yes/no still gets a clean error list freed */
                int r = profile_load_flags(path, sets, flags, ret, &local);
                profile_errors_free(&local);
                return r;
        }
        struct slw_profile *p = xcalloc(1, sizeof(*p));
        p->path = xstrdup(path);
        struct profile_errors unreasoned = { 0 };
        int r = profile_load_tree_ex(path, sets, &p->root, &p->files_loaded, &p->includes, &p->n_includes, &unreasoned,
                                     errs);
        /* the schema check runs even after load errors (all errors at once);
         * the semantic checks only on a complete tree, where "missing" means missing */
        struct validator v = { .errs = errs };
        bool clean = r >= 0 && errs->n == 0;
        validate_map(&v, p->root, top_keys, "");
        if (clean)
                check_semantics(&v, p->root);   /* written to cope with mistyped values */
        if (clean)
                profile_scripts_check(p->root, errs);
        const struct pnode *strict = pnode_get(p->root, "strict");
        if ((flags & PROFILE_LOAD_STRICT) || (strict && strict->kind == PNODE_SCALAR && strcmp(strict->value, "true") == 0))
                for (size_t i = 0; i < unreasoned.n; i++)
                        profile_errors_add(errs, unreasoned.items[i].origin, "%s", unreasoned.items[i].message);
        profile_errors_free(&unreasoned);
        if (errs->n > 0 && r >= 0)
                r = -EINVAL;
        if (r < 0) {
                profile_free(p);
                return r;
        }
        build_model(p);
        profile_scripts_model(p, p->root);
        /* what the build would refuse before it writes anything, from the
         * typed model: the disk layout, and what the outputs need */
        check_layout(&v, p);
        (void)profile_check_outputs(p, p->outputs, errs);
        if (errs->n > 0) {
                profile_free(p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

void profile_free(struct slw_profile *p) {
        if (!p)
                return;
        pnode_free(p->root);
        free(p->path);
        strv_free(p->files_loaded);
        profile_includes_free(p->includes, p->n_includes);
        free(p->name);
        free(p->version);
        free(p->distribution.release);
        strv_free(p->distribution.components);
        free(p->distribution.variant);
        free(p->distribution.mirror);
        free(p->distribution.image_mirror);
        free(p->distribution.architecture);
        free(p->distribution.source);
        for (size_t i = 0; i < p->distribution.n_repos; i++) {
                free(p->distribution.repos[i].name);
                free(p->distribution.repos[i].baseurl);
                free(p->distribution.repos[i].gpgkey);
                free(p->distribution.repos[i].suite);
                strv_free(p->distribution.repos[i].components);
        }
        free(p->distribution.repos);
        strv_free(p->packages.install);
        strv_free(p->packages.exclude_paths);
        strv_free(p->packages.include_paths);
        strv_free(p->systemd.enable);
        strv_free(p->systemd.disable);
        strv_free(p->systemd.mask);
        free(p->systemd.default_target);
        strv_free(p->kernel.cmdline);
        strv_free(p->kernel.initramfs_modules);
        for (size_t i = 0; i < p->n_files; i++) {
                struct slw_file *f = &p->files[i];
                free(f->path), free(f->content), free(f->source), free(f->owner), free(f->group);
                free(f->reason), free(f->origin_path);
        }
        free(p->files);
        for (size_t i = 0; i < p->n_users; i++) {
                struct slw_user *u = &p->users[i];
                free(u->name), free(u->shell), free(u->home), free(u->comment), free(u->password);
                strv_free(u->ssh_authorized_keys), strv_free(u->groups), free(u->origin_path);
        }
        free(p->users);
        for (size_t i = 0; i < p->n_groups; i++)
                free(p->groups[i].name), free(p->groups[i].origin_path);
        free(p->groups);
        free(p->hostname);
        free(p->locale);
        free(p->timezone);
        strv_free(p->prune.keep_locales);
        strv_free(p->prune.kernel_modules);
        for (size_t i = 0; i < p->disk.n_partitions; i++) {
                free(p->disk.partitions[i].label);
                free(p->disk.partitions[i].mountpoint);
                free(p->disk.partitions[i].origin_path);
        }
        free(p->disk.partitions);
        free(p->immutable.update_source);
        free(p->immutable.signing_key);
        free(p->bootloader.secure_boot_key);
        free(p->bootloader.secure_boot_certificate);
        profile_scripts_free(p);
        free(p);
}

const char *output_name(enum slw_output o) {
        return o >= 0 && o < _OUT_MAX ? output_names[o] : "unknown";
}

const char *output_extension(enum slw_output o) {
        static const char *const ext[_OUT_MAX] = { "raw", "vhd", "vhd", "qcow2", "iso", "tar.zst" };
        return o >= 0 && o < _OUT_MAX ? ext[o] : "bin";
}

const char *part_type_name(enum slw_part_type t) {
        if (t == PART_ROOT_VERITY)
                return "root-verity";
        if (t == PART_VAR)
                return "var";
        return t >= 0 && t <= PART_SWAP ? part_types[t] : "unknown";
}
