/* SPDX-License-Identifier: MIT */
#include "size_diff.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What size diff reads of a report, and of what type: a report edited by
 * hand, truncated or from something else must be an error that names the
 * field, never an assertion in json-c or a size of 0 B made up from junk.
 * Per array: the member naming an entry, the byte counts it may carry
 * (null where the report says "unknown", as without dpkg), and whether at
 * least one of them must be a number. */
struct report_array {
        const char *array, *key;
        const char *sizes[3];
        bool need_size;
};
static const struct report_array report_arrays[] = {
        { "packages", "name", { "installed_size", "disk_bytes", NULL }, true },
        { "directories", "path", { "disk_bytes", NULL }, true },
        { "artifacts", "name", { "allocated_bytes", "apparent_bytes", NULL }, true },
        { "filesystems", "type", { "used_bytes", "df_used_bytes", NULL }, false },
};

static int check_report(struct json_object *o, const char *file) {
        for (size_t a = 0; a < ELEMENTSOF(report_arrays); a++) {
                const struct report_array *ra = &report_arrays[a];
                struct json_object *arr = NULL;
                if (!json_object_object_get_ex(o, ra->array, &arr))
                        continue;
                if (!json_object_is_type(arr, json_type_array))
                        return log_error_errno(-EINVAL, "%s: \"%s\" is %s, not an array", file, ra->array,
                                               json_type_to_name(json_object_get_type(arr)));
                /* size diff adds each byte count up over the array: a sum
                 * past INT64_MAX would overflow (found by fuzz_size_diff) */
                int64_t sums[ELEMENTSOF(ra->sizes)] = { 0 };
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        struct json_object *x = json_object_array_get_idx(arr, i), *v = NULL;
                        if (!json_object_is_type(x, json_type_object))
                                return log_error_errno(-EINVAL, "%s: %s[%zu] is %s, not an object", file, ra->array, i,
                                                       json_type_to_name(json_object_get_type(x)));
                        if (!json_object_object_get_ex(x, ra->key, &v) || !json_object_is_type(v, json_type_string))
                                return log_error_errno(-EINVAL, "%s: %s[%zu].%s is missing or not a string", file, ra->array, i, ra->key);
                        bool sized = false;
                        for (size_t k = 0; ra->sizes[k]; k++) {
                                if (!json_object_object_get_ex(x, ra->sizes[k], &v) || json_object_is_type(v, json_type_null))
                                        continue;
                                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                                        return log_error_errno(-EINVAL, "%s: %s[%zu].%s is not a byte count (a whole number >= 0)",
                                                               file, ra->array, i, ra->sizes[k]);
                                if (__builtin_add_overflow(sums[k], json_object_get_int64(v), &sums[k]))
                                        return log_error_errno(-EINVAL, "%s: %s[%zu].%s: the %s' %s add up to more than %" PRId64 " bytes",
                                                               file, ra->array, i, ra->sizes[k], ra->array, ra->sizes[k], INT64_MAX);
                                sized = true;
                        }
                        if (ra->need_size && !sized)
                                return log_error_errno(-EINVAL, "%s: %s[%zu] has no size (%s)", file, ra->array, i, ra->sizes[0]);
                }
        }
        struct json_object *tree = NULL;
        if (json_object_object_get_ex(o, "tree", &tree) && !json_object_is_type(tree, json_type_null) &&
            !json_object_is_type(tree, json_type_object))
                return log_error_errno(-EINVAL, "%s: \"tree\" is %s, not an object", file, json_type_to_name(json_object_get_type(tree)));
        return 0;
}

int size_diff_load(const char *path, struct json_object **ret) {
        struct stat st;
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "%s", path);
        _cleanup_free_ char *file = S_ISDIR(st.st_mode) ? path_join(path, "size.json") : xstrdup(path);
        if (access(file, R_OK) < 0)
                return log_error_errno(-errno, "%s: no size report (size.json) there", file);
        struct json_object *o = json_object_from_file(file);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return log_error_errno(-EINVAL, "%s: not a JSON object (%s)", file, json_util_get_last_err());
        }
        struct json_object *fmt;
        if (!json_object_object_get_ex(o, "format", &fmt) || json_object_get_int(fmt) != 1) {
                json_object_put(o);
                return log_error_errno(-EINVAL, "%s: not a slipway size report of format 1", file);
        }
        int r = check_report(o, file);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        *ret = o;
        return 0;
}

static struct json_object *member(struct json_object *o, const char *key) {
        struct json_object *v = NULL;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

static const char *str_member(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* -1 when absent or null */
static int64_t int_member(struct json_object *o, const char *key) {
        struct json_object *v = member(o, key);
        return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

struct entry {
        const char *name;
        struct json_object *old, *new;
};

static int entry_name_cmp(const void *a, const void *b) {
        return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Pairs the entries of two arrays by a key. */
static struct entry *pair(struct json_object *oa, struct json_object *na, const char *key, size_t *ret_n) {
        size_t no = oa ? json_object_array_length(oa) : 0, nn = na ? json_object_array_length(na) : 0;
        struct entry *e = xcalloc(no + nn + 1, sizeof(*e));
        size_t n = 0;
        for (size_t i = 0; i < no; i++) {
                struct json_object *x = json_object_array_get_idx(oa, i);
                const char *name = str_member(x, key);
                if (name)
                        e[n++] = (struct entry) { .name = name, .old = x };
        }
        qsort(e, n, sizeof(*e), entry_name_cmp);
        size_t n_old = n;
        for (size_t i = 0; i < nn; i++) {
                struct json_object *x = json_object_array_get_idx(na, i);
                const char *name = str_member(x, key);
                if (!name)
                        continue;
                struct entry probe = { .name = name };
                struct entry *hit = n_old ? bsearch(&probe, e, n_old, sizeof(*e), entry_name_cmp) : NULL;
                if (hit)
                        hit->new = x;
                else
                        e[n++] = (struct entry) { .name = name, .new = x };
        }
        *ret_n = n;
        return e;
}

static bool all_have(struct json_object *arr, const char *key) {
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                if (int_member(json_object_array_get_idx(arr, i), key) < 0)
                        return false;
        return true;
}

static int change_cmp(const void *a, const void *b) {
        struct json_object *x = *(struct json_object *const *)a, *y = *(struct json_object *const *)b;
        int64_t dx = llabs(int_member(x, "delta")), dy = llabs(int_member(y, "delta"));
        if (dx != dy)
                return dx < dy ? 1 : -1;
        return strcmp(str_member(x, "name"), str_member(y, "name"));
}

static struct json_object *diff_arrays(struct json_object *oa, struct json_object *na, const char *key, const char *size_key,
                                       bool versions, int64_t *ret_old_total, int64_t *ret_new_total) {
        size_t n;
        _cleanup_free_ struct entry *e = pair(oa, na, key, &n);
        struct json_object **items = xcalloc(n + 1, sizeof(*items));
        size_t m = 0;
        int64_t ot = 0, nt = 0;
        for (size_t i = 0; i < n; i++) {
                int64_t o = e[i].old ? int_member(e[i].old, size_key) : 0, w = e[i].new ? int_member(e[i].new, size_key) : 0;
                o = o < 0 ? 0 : o;
                w = w < 0 ? 0 : w;
                ot += o;
                nt += w;
                const char *ov = versions && e[i].old ? str_member(e[i].old, "version") : NULL;
                const char *nv = versions && e[i].new ? str_member(e[i].new, "version") : NULL;
                bool vchanged = ov && nv && strcmp(ov, nv) != 0;
                const char *status = !e[i].old ? "added" : !e[i].new ? "removed" : w > o ? "grew" : w < o ? "shrank" : vchanged ? "changed" : NULL;
                if (!status)
                        continue;
                struct json_object *x = json_object_new_object();
                json_object_object_add(x, "name", json_object_new_string(e[i].name));
                json_object_object_add(x, "status", json_object_new_string(status));
                json_object_object_add(x, "old", e[i].old ? json_object_new_int64(o) : NULL);
                json_object_object_add(x, "new", e[i].new ? json_object_new_int64(w) : NULL);
                json_object_object_add(x, "delta", json_object_new_int64(w - o));
                if (versions) {
                        json_object_object_add(x, "old_version", ov ? json_object_new_string(ov) : NULL);
                        json_object_object_add(x, "new_version", nv ? json_object_new_string(nv) : NULL);
                }
                if (!versions) {
                        int64_t depth = int_member(e[i].new ? e[i].new : e[i].old, "depth");
                        if (depth >= 0)
                                json_object_object_add(x, "depth", json_object_new_int64(depth));
                }
                items[m++] = x;
        }
        qsort(items, m, sizeof(*items), change_cmp);
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < m; i++)
                json_object_array_add(arr, items[i]);
        free(items);
        *ret_old_total = ot;
        *ret_new_total = nt;
        return arr;
}

static struct json_object *total3(int64_t o, int64_t n) {
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "old", o >= 0 ? json_object_new_int64(o) : NULL);
        json_object_object_add(t, "new", n >= 0 ? json_object_new_int64(n) : NULL);
        json_object_object_add(t, "delta", o >= 0 && n >= 0 ? json_object_new_int64(n - o) : NULL);
        return t;
}

static int64_t root_used(struct json_object *report) {
        struct json_object *fss = member(report, "filesystems");
        for (size_t i = 0; fss && i < json_object_array_length(fss); i++) {
                struct json_object *f = json_object_array_get_idx(fss, i);
                const char *t = str_member(f, "type");
                if (t && strcmp(t, "root") == 0) {
                        int64_t v = int_member(f, "df_used_bytes");
                        return v >= 0 ? v : int_member(f, "used_bytes");
                }
        }
        return -1;
}

int size_diff_compute(struct json_object *old, struct json_object *new, struct json_object **ret) {
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "format", json_object_new_int(1));
        struct json_object *totals = json_object_new_object();
        json_object_object_add(totals, "root_used", total3(root_used(old), root_used(new)));
        json_object_object_add(totals, "tree_disk_bytes", total3(int_member(member(old, "tree"), "disk_bytes"), int_member(member(new, "tree"), "disk_bytes")));

        struct json_object *op = member(old, "packages"), *np = member(new, "packages");
        const char *pkey = all_have(op, "disk_bytes") && all_have(np, "disk_bytes") ? "disk_bytes" : "installed_size";
        int64_t ot, nt;
        struct json_object *pk = diff_arrays(op, np, "name", pkey, true, &ot, &nt);
        json_object_object_add(totals, "packages", total3(ot, nt));
        struct json_object *dirs = diff_arrays(member(old, "directories"), member(new, "directories"), "path", "disk_bytes", false, &ot, &nt);
        struct json_object *arts = diff_arrays(member(old, "artifacts"), member(new, "artifacts"), "name", "allocated_bytes", false, &ot, &nt);
        json_object_object_add(d, "totals", totals);
        json_object_object_add(d, "package_measure", json_object_new_string(pkey));
        json_object_object_add(d, "packages", pk);
        json_object_object_add(d, "directories", dirs);
        json_object_object_add(d, "artifacts", arts);
        *ret = d;
        return 0;
}

int64_t size_diff_growth(struct json_object *diff) {
        struct json_object *t = member(diff, "totals");
        struct json_object *ru = member(member(t, "root_used"), "delta");
        if (ru)
                return json_object_get_int64(ru);
        struct json_object *td = member(member(t, "tree_disk_bytes"), "delta");
        return td ? json_object_get_int64(td) : 0;
}

static const char *signed_bytes(int64_t v, char buf[static 40]) {
        char b[32];
        format_bytes((uint64_t)(v < 0 ? -v : v), b);
        snprintf(buf, 40, "%c%s", v < 0 ? '-' : v > 0 ? '+' : ' ', b);
        return buf;
}

static void print_total(FILE *f, const char *label, struct json_object *t) {
        if (!member(t, "delta"))
                return;
        char a[32], b[32], c[40];
        fprintf(f, "  %-28s %12s -> %-12s %13s\n", label, format_bytes((uint64_t)int_member(t, "old"), a),
                format_bytes((uint64_t)int_member(t, "new"), b), signed_bytes(int_member(t, "delta"), c));
}

static void print_section(FILE *f, const char *title, struct json_object *arr, size_t top) {
        size_t n = arr ? json_object_array_length(arr) : 0;
        fprintf(f, "\n%s: %zu changed\n", title, n);
        for (size_t i = 0; i < n && (top == 0 || i < top); i++) {
                struct json_object *x = json_object_array_get_idx(arr, i);
                char a[32], b[32], c[40];
                int64_t o = int_member(x, "old"), w = int_member(x, "new");
                fprintf(f, "  %13s  %-8s %s", signed_bytes(int_member(x, "delta"), c), str_member(x, "status"), str_member(x, "name"));
                const char *ov = str_member(x, "old_version"), *nv = str_member(x, "new_version");
                if (ov && nv && strcmp(ov, nv) != 0)
                        fprintf(f, " (%s -> %s)", ov, nv);
                else if (nv && !ov)
                        fprintf(f, " (%s)", nv);
                fprintf(f, "  [%s -> %s]\n", o >= 0 ? format_bytes((uint64_t)o, a) : "-", w >= 0 ? format_bytes((uint64_t)w, b) : "-");
        }
        if (top && n > top)
                fprintf(f, "  ... %zu more (--top 0 shows all)\n", n - top);
}

void size_diff_print(struct json_object *diff, FILE *f, size_t top) {
        struct json_object *t = member(diff, "totals");
        fprintf(f, "totals:\n");
        print_total(f, "root filesystem used", member(t, "root_used"));
        print_total(f, "files in the tree", member(t, "tree_disk_bytes"));
        print_total(f, "packages", member(t, "packages"));
        print_section(f, "packages", member(diff, "packages"), top);
        print_section(f, "directories", member(diff, "directories"), top);
        print_section(f, "artifacts (on disk)", member(diff, "artifacts"), top);
}
