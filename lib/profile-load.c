/* SPDX-License-Identifier: MIT */
/* Profile loading: YAML (libfyaml event API, so every node keeps its mark),
 * include chains, merging, `remove:`, `reason:` and --set overrides.
 * The schema and the typed model live in profile.c. */
#include "profile-internal.h"
#include "datadir.h"
#include "strindex.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <unistd.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

const struct slw_origin origin_command_line = { "command line", 0, 0 };
const struct slw_origin origin_default = { "default", 0, 0 };

/* ---- pnode basics ---- */

struct pnode *pnode_new(enum pnode_kind kind, struct slw_origin origin) {
        struct pnode *n = xcalloc(1, sizeof(*n));
        n->kind = kind;
        n->origin = origin;
        n->key_origin = origin;
        return n;
}

void pnode_free(struct pnode *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n_items; i++)
                pnode_free(n->items[i]);
        free(n->items);
        free(n->key);
        free(n->value);
        free(n->reason);
        free(n);
}

/* items has room for at least the next power of two of n_items: it grows
 * by doubling, so a list of n entries costs n, not n^2/2, copies. */
void pnode_append(struct pnode *parent, struct pnode *child) {
        size_t n = parent->n_items;
        if (n == 0 || (n & (n - 1)) == 0)
                parent->items = xrealloc(parent->items, (n ? 2 * n : 1) * sizeof(*parent->items));
        parent->items[parent->n_items++] = child;
}

struct pnode *pnode_take(struct pnode *parent, size_t i) {
        struct pnode *c = parent->items[i];
        memmove(parent->items + i, parent->items + i + 1, (parent->n_items - i - 1) * sizeof(*parent->items));
        parent->n_items--;
        return c;
}

bool pnode_is_null(const struct pnode *n) {
        return n && n->kind == PNODE_SCALAR && !n->quoted &&
               (!n->value || !n->value[0] || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0);
}

struct pnode *pnode_get(const struct pnode *map, const char *key) {
        if (!map || map->kind != PNODE_MAP)
                return NULL;
        for (size_t i = 0; i < map->n_items; i++)
                if (map->items[i]->key && strcmp(map->items[i]->key, key) == 0)
                        return map->items[i];
        return NULL;
}

struct pnode *pnode_lookup(const struct pnode *root, const char *dotted_path) {
        const struct pnode *n = root;
        const char *p = dotted_path;
        while (n && *p) {
                size_t len = strcspn(p, ".[");
                if (len > 0) {
                        _cleanup_free_ char *key = xstrndup(p, len);
                        n = pnode_get(n, key);
                        p += len;
                }
                while (n && *p == '[') {
                        char *end;
                        errno = 0;
                        unsigned long idx = strtoul(p + 1, &end, 10);
                        if (errno || *end != ']' || n->kind != PNODE_SEQ || idx >= n->n_items)
                                return NULL;
                        n = n->items[idx];
                        p = end + 1;
                }
                if (*p == '.')
                        p++;
                else if (*p)
                        return NULL;
        }
        return (struct pnode *)n;
}

static struct pnode *pnode_copy(const struct pnode *n) {
        struct pnode *c = pnode_new(n->kind, n->origin);
        c->key_origin = n->key_origin;
        c->key = n->key ? xstrdup(n->key) : NULL;
        c->value = n->value ? xstrdup(n->value) : NULL;
        c->reason = n->reason ? xstrdup(n->reason) : NULL;
        c->quoted = n->quoted;
        for (size_t i = 0; i < n->n_items; i++)
                pnode_append(c, pnode_copy(n->items[i]));
        return c;
}

/* ---- errors ---- */

void profile_errors_add(struct profile_errors *errs, struct slw_origin o, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                abort();
        if (o.file) {
                /* errors outlive the profile: keep our own copy of the name,
                 * one per file (a profile of 100k unknown keys must not copy
                 * its name 100k times); there are as many names as files
                 * loaded, at most PROFILE_MAX_FILES and two more */
                size_t k = 0;
                while (k < errs->n_strings && strcmp(errs->strings[k], o.file) != 0)
                        k++;
                if (k == errs->n_strings) {
                        errs->strings = xrealloc(errs->strings, (errs->n_strings + 2) * sizeof(char *));
                        errs->strings[errs->n_strings++] = xstrdup(o.file);
                        errs->strings[errs->n_strings] = NULL;
                }
                o.file = errs->strings[k];
        }
        if (errs->n == 0 || (errs->n & (errs->n - 1)) == 0)
                errs->items = xrealloc(errs->items, (errs->n ? 2 * errs->n : 1) * sizeof(*errs->items));
        errs->items[errs->n++] = (struct profile_error){ .origin = o, .message = msg };
}

void profile_errors_free(struct profile_errors *errs) {
        if (!errs)
                return;
        for (size_t i = 0; i < errs->n; i++)
                free(errs->items[i].message);
        free(errs->items);
        strv_free(errs->strings);
        *errs = (struct profile_errors){ 0 };
}

void profile_errors_print(const struct profile_errors *errs, FILE *f) {
        for (size_t i = 0; i < errs->n; i++) {
                char buf[PATH_MAX + 64];
                fprintf(f, "%s: %s\n", origin_format(errs->items[i].origin, buf, sizeof(buf)), errs->items[i].message);
        }
}

size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return SIZE_MAX;
        size_t d[65][65];
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                        d[i][j] = MIN(MIN(d[i - 1][j] + 1, d[i][j - 1] + 1), sub);
                }
        return d[la][lb];
}

/* ---- loader state ---- */

struct loader {
        struct profile_errors *errs;
        char **files_loaded;       /* owned names, in merge order; origins point here */
        char **loaded_real;        /* realpaths already merged: a diamond merges once */
        char *chain_given[PROFILE_MAX_INCLUDE_DEPTH + 1];
        char *chain_real[PROFILE_MAX_INCLUDE_DEPTH + 1];
        size_t chain_len;
        struct pnode *root;        /* the accumulated merge */
        size_t n_files;            /* files read so far, and their bytes */
        uint64_t total_bytes;
        struct slw_include *includes;   /* every include entry, as resolved */
        size_t n_includes;
        struct profile_errors *unreasoned;  /* strict's findings, per file (profile_strict_scan) */
};

static void take_name(struct loader *ld, char *name) {
        size_t n = strv_length(ld->files_loaded);
        ld->files_loaded = xrealloc(ld->files_loaded, (n + 2) * sizeof(char *));
        ld->files_loaded[n] = name;
        ld->files_loaded[n + 1] = NULL;
}

static struct slw_origin at(const char *file, unsigned line, unsigned col) {
        return (struct slw_origin){ file, line, col };
}

/* Where byte `off` of buf is, 1-based. */
static struct slw_origin offset_origin(const char *file, const char *buf, size_t off) {
        unsigned line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
                if (buf[i] == '\n') {
                        line++;
                        col = 1;
                } else if (((unsigned char)buf[i] & 0xC0) != 0x80)
                        col++;
        }
        return at(file, line, col);
}

/* Returns the offset of the first invalid UTF-8 sequence, or SIZE_MAX. */
static size_t utf8_invalid_offset(const unsigned char *s, size_t n) {
        size_t i = 0;
        while (i < n) {
                unsigned char c = s[i];
                size_t len;
                uint32_t cp;
                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xE0) == 0xC0) {
                        len = 2;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        len = 3;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        len = 4;
                        cp = c & 0x07;
                } else
                        return i;
                if (i + len > n)
                        return i;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return i;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return i;
                i += len;
        }
        return SIZE_MAX;
}

/* ---- YAML -> pnode ---- */

struct frame {
        struct pnode *node;
        char *pending_key;
        struct slw_origin pending_key_origin;
        struct str_index keys;      /* a map's keys so far, for duplicates */
};

static const char *kind_name(enum pnode_kind k) {
        return k == PNODE_MAP ? "a mapping" : k == PNODE_SEQ ? "a list" : "a scalar";
}

static struct slw_origin mark_origin(const char *file, const struct fy_mark *m, struct slw_origin fallback) {
        if (!m || m->line < 0 || m->column < 0)
                return fallback;
        return at(file, (unsigned)m->line + 1, (unsigned)m->column + 1);
}

/* Builds the tree of one file.  Returns 0 and *ret (a map), or -EINVAL. */
static int parse_yaml(struct loader *ld, const char *file, const char *buf, size_t len, struct pnode **ret) {
        struct profile_errors *errs = ld->errs;
        size_t errs_before = errs->n;
        struct frame stack[PROFILE_MAX_DEPTH + 1];
        size_t depth = 0;
        struct pnode *root = NULL;
        unsigned documents = 0;
        bool failed = false;

        _cleanup_fclose_ FILE *devnull = fopen("/dev/null", "we");
        struct fy_diag_cfg dcfg;
        fy_diag_cfg_default(&dcfg);
        dcfg.fp = devnull;            /* collected below with their marks, not printed */
        dcfg.colorize = false;
        struct fy_diag *diag = fy_diag_create(&dcfg);
        if (!diag)
                abort();
        fy_diag_set_collect_errors(diag, true);
        struct fy_parse_cfg pcfg = {
                .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE,
                .diag = diag,
        };
        struct fy_parser *fyp = fy_parser_create(&pcfg);
        if (!fyp)
                abort();
        if (fy_parser_set_string(fyp, buf, len) < 0)
                abort();

        struct fy_event *ev;
        while (!failed && (ev = fy_parser_parse(fyp))) {
                struct slw_origin o = mark_origin(file, fy_event_start_mark(ev),
                                                  depth > 0 ? stack[depth - 1].pending_key_origin : at(file, 1, 1));
                struct pnode *node = NULL;
                switch (ev->type) {
                case FYET_DOCUMENT_START:
                        if (++documents > 1) {
                                profile_errors_add(errs, o, "only one YAML document per profile file");
                                failed = true;
                        }
                        break;
                case FYET_ALIAS:
                        profile_errors_add(errs, o, "YAML aliases are not supported in profiles; use include: and merging");
                        failed = true;
                        break;
                case FYET_SCALAR: {
                        if (ev->scalar.anchor) {
                                profile_errors_add(errs, o, "YAML anchors are not supported in profiles");
                                failed = true;
                                break;
                        }
                        size_t tl = 0;
                        const char *text = ev->scalar.value ? fy_token_get_text(ev->scalar.value, &tl) : "";
                        if (!text)
                                text = "";
                        if (memchr(text, 0, tl)) {
                                profile_errors_add(errs, o, "a value may not contain a NUL character");
                                failed = true;
                                break;
                        }
                        node = pnode_new(PNODE_SCALAR, o);
                        node->value = xstrndup(text, tl);
                        node->quoted = ev->scalar.value && fy_token_scalar_style(ev->scalar.value) != FYSS_PLAIN;
                        break;
                }
                case FYET_MAPPING_START:
                case FYET_SEQUENCE_START:
                        if ((ev->type == FYET_MAPPING_START && ev->mapping_start.anchor) ||
                            (ev->type == FYET_SEQUENCE_START && ev->sequence_start.anchor)) {
                                profile_errors_add(errs, o, "YAML anchors are not supported in profiles");
                                failed = true;
                                break;
                        }
                        if (depth >= PROFILE_MAX_DEPTH) {
                                profile_errors_add(errs, o, "nesting deeper than %d levels", PROFILE_MAX_DEPTH);
                                failed = true;
                                break;
                        }
                        node = pnode_new(ev->type == FYET_MAPPING_START ? PNODE_MAP : PNODE_SEQ, o);
                        break;
                case FYET_MAPPING_END:
                case FYET_SEQUENCE_END:
                        if (depth > 0) {
                                depth--;
                                free(stack[depth].pending_key);
                                str_index_clear(&stack[depth].keys);
                        }
                        break;
                default:
                        break;
                }
                fy_parser_event_free(fyp, ev);
                if (!node)
                        continue;

                /* attach */
                if (depth == 0) {
                        pnode_free(root);
                        root = node;
                } else {
                        struct frame *top = &stack[depth - 1];
                        if (top->node->kind == PNODE_SEQ)
                                pnode_append(top->node, node);
                        else if (!top->pending_key) {
                                if (node->kind != PNODE_SCALAR) {
                                        profile_errors_add(errs, o, "a key must be a plain string, not %s", kind_name(node->kind));
                                        pnode_free(node);
                                        failed = true;
                                        break;
                                }
                                top->pending_key = TAKE_PTR(node->value);
                                top->pending_key_origin = node->origin;
                                pnode_free(node);
                                continue;
                        } else {
                                node->key = TAKE_PTR(top->pending_key);
                                node->key_origin = top->pending_key_origin;
                                size_t di;
                                if (str_index_get(&top->keys, node->key, &di)) {
                                        profile_errors_add(errs, node->key_origin, "duplicate key '%s' (first at line %u)",
                                                           node->key, top->node->items[di]->key_origin.line);
                                        pnode_free(node);
                                        node = NULL;
                                } else {
                                        pnode_append(top->node, node);
                                        str_index_add(&top->keys, node->key, top->node->n_items - 1);
                                }
                        }
                }
                if (node && node->kind != PNODE_SCALAR) {
                        stack[depth++] = (struct frame){ .node = node };
                }
        }
        for (size_t i = 0; i < depth; i++) {
                free(stack[i].pending_key);
                str_index_clear(&stack[i].keys);
        }

        /* libfyaml's own errors, with their positions (1-based already) */
        void *it = NULL;
        struct fy_diag_error *de;
        bool fy_failed = false;
        while ((de = fy_diag_errors_iterate(diag, &it))) {
                if (de->type < FYET_ERROR)
                        continue;
                if (!fy_failed && !failed)
                        profile_errors_add(errs, at(file, de->line > 0 ? (unsigned)de->line : 1,
                                                    de->column > 0 ? (unsigned)de->column : 1),
                                           "YAML syntax error: %s", de->msg ? de->msg : "invalid YAML");
                fy_failed = true;
        }
        if (!fy_failed && fy_parser_get_stream_error(fyp) && errs->n == errs_before) {
                profile_errors_add(errs, at(file, 1, 1), "YAML syntax error");
                fy_failed = true;
        }
        fy_parser_destroy(fyp);
        fy_diag_destroy(diag);

        if (failed || fy_failed || errs->n > errs_before) {
                pnode_free(root);
                return -EINVAL;
        }
        if (!root || pnode_is_null(root)) {
                pnode_free(root);
                profile_errors_add(errs, at(file, 1, 1), "profile is empty: expected a mapping of profile keys");
                return -EINVAL;
        }
        if (root->kind != PNODE_MAP) {
                profile_errors_add(errs, root->origin, "expected a mapping of profile keys at the top, got %s",
                                   kind_name(root->kind));
                pnode_free(root);
                return -EINVAL;
        }
        *ret = root;
        return 0;
}

/* `reason:` on maps and `{value: V, reason: R}` on scalars become node reasons.
 * `top`: n is a file's top mapping, which stays a mapping of profile keys
 * (a top-level `value:` is an unknown key, not the whole file's value: as a
 * list its keyless items crashed the include and merge code; found by
 * fuzz_profile). */
static void extract_reasons(struct loader *ld, struct pnode *n, bool top) {
        if (n->kind == PNODE_MAP) {
                struct pnode *value = pnode_get(n, "value");
                for (size_t i = 0; i < n->n_items; i++)
                        if (strcmp(n->items[i]->key, "reason") == 0) {
                                struct pnode *r = n->items[i];
                                if (r->kind != PNODE_SCALAR || pnode_is_null(r)) {
                                        profile_errors_add(ld->errs, r->origin, "expected a reason text, got %s",
                                                           r->kind == PNODE_SCALAR ? "nothing" : kind_name(r->kind));
                                        continue;
                                }
                                free(n->reason);
                                n->reason = xstrdup(r->value);
                                pnode_free(pnode_take(n, i));
                                i--;
                        }
                /* {value: V, reason: R}: only `value` is left once the reason is
                 * taken; n becomes V (a scalar, or a list), keeping n's key */
                if (!top && value && n->n_items == 1 && value->kind != PNODE_MAP) {
                        struct pnode *v = pnode_take(n, 0);
                        free(n->items);
                        n->kind = v->kind;
                        n->items = TAKE_PTR(v->items);
                        n->n_items = v->n_items;
                        v->n_items = 0;
                        n->value = TAKE_PTR(v->value);
                        n->quoted = v->quoted;
                        n->origin = v->origin;
                        if (v->reason && !n->reason)
                                n->reason = TAKE_PTR(v->reason);
                        pnode_free(v);
                }
        }
        for (size_t i = 0; i < n->n_items; i++)
                extract_reasons(ld, n->items[i], false);
}

/* ---- merge ---- */

/* What identifies an entry of a list of maps: files by path, users, groups
 * and repositories by name, partitions by label (else by type), scripts
 * and extra-trees by source (as written). */
static const char *identity_of(const struct pnode *item) {
        static const char *const keys[] = { "path", "name", "label", "type", "source" };
        if (!item || item->kind != PNODE_MAP)
                return item && item->kind == PNODE_SCALAR ? item->value : NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                struct pnode *k = pnode_get(item, keys[i]);
                if (k && k->kind == PNODE_SCALAR)
                        return k->value;
        }
        return NULL;
}

static ssize_t seq_find(const struct pnode *seq, const struct pnode *what) {
        for (size_t i = 0; i < seq->n_items; i++) {
                const struct pnode *it = seq->items[i];
                if (what->kind == PNODE_SCALAR && it->kind == PNODE_SCALAR) {
                        if (strcmp(it->value, what->value) == 0)
                                return (ssize_t)i;
                } else if (it->kind == PNODE_MAP) {
                        const char *a = identity_of(it), *b = identity_of(what);
                        if (a && b && strcmp(a, b) == 0)
                                return (ssize_t)i;
                }
        }
        return -1;
}

/* Where a list's entries are, by what seq_find() compares: scalars by
 * value, maps by identity.  A merge or a remove: looks up each entry
 * of the other side once (a list of 135k entries is not scanned 135k times). */
struct seq_index {
        struct str_index scalars, maps;
};

static void seq_index_add(struct seq_index *x, const struct pnode *it, size_t i) {
        if (it->kind == PNODE_SCALAR)
                str_index_add(&x->scalars, it->value, i);
        else if (it->kind == PNODE_MAP) {
                const char *id = identity_of(it);
                if (id)
                        str_index_add(&x->maps, id, i);
        }
}

static void seq_index_init(struct seq_index *x, const struct pnode *seq) {
        *x = (struct seq_index){ 0 };
        for (size_t i = 0; i < seq->n_items; i++)
                seq_index_add(x, seq->items[i], i);
}

static void seq_index_clear(struct seq_index *x) {
        str_index_clear(&x->scalars);
        str_index_clear(&x->maps);
}

/* The first entry of seq under key that is still there (not NULLed), or -1. */
static ssize_t first_live(const struct str_index *idx, const char *key, const struct pnode *seq) {
        size_t cursor = 0, v;
        ssize_t best = -1;
        while (str_index_next(idx, key, &cursor, &v))
                if (seq->items[v] && (best < 0 || (ssize_t)v < best))
                        best = (ssize_t)v;
        return best;
}

/* seq_find(seq, what) through the index of seq. */
static ssize_t seq_index_find(const struct seq_index *x, const struct pnode *seq, const struct pnode *what) {
        ssize_t a = -1, b = -1;
        if (what->kind == PNODE_SCALAR) {
                a = first_live(&x->scalars, what->value, seq);
                b = first_live(&x->maps, what->value, seq);
        } else if (what->kind == PNODE_MAP) {
                const char *id = identity_of(what);
                if (id)
                        b = first_live(&x->maps, id, seq);
        }
        return a < 0 ? b : b < 0 ? a : MIN(a, b);
}

static void merge_map(struct loader *ld, struct pnode *dst, struct pnode *src, const char *path);

static void merge_seq(struct loader *ld, struct pnode *dst, struct pnode *src, const char *path) {
        size_t n_before = dst->n_items;   /* entries from earlier files */
        struct seq_index x;
        seq_index_init(&x, dst);
        /* replaced entries are freed at the end: the index points into them */
        struct pnode grave = { .kind = PNODE_SEQ };
        for (size_t k = 0; k < src->n_items; k++) {
                struct pnode *item = TAKE_PTR(src->items[k]);
                ssize_t i = pnode_is_null(item) ? -2 : seq_index_find(&x, dst, item);
                if (i == -2)
                        pnode_free(item);
                else if (i < 0) {
                        pnode_append(dst, item);
                        seq_index_add(&x, item, dst->n_items - 1);
                } else if (item->kind == PNODE_SCALAR)
                        pnode_free(item);          /* identical scalar: keep the first origin */
                else if ((size_t)i >= n_before) {
                        /* the same identity twice in one file is a mistake, not an override */
                        profile_errors_add(ld->errs, item->origin, "duplicate entry '%s' in %s (first at line %u)",
                                           identity_of(item), path, dst->items[i]->origin.line);
                        pnode_free(item);
                } else {
                        pnode_append(&grave, dst->items[i]); /* same identity: the later entry replaces */
                        dst->items[i] = item;
                }
        }
        src->n_items = 0;
        seq_index_clear(&x);
        for (size_t k = 0; k < grave.n_items; k++)
                pnode_free(grave.items[k]);
        free(grave.items);
}

static char *child_path(const char *path, const char *key) {
        return path && *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

/* keys: where dst's keys are (dst->items by key). */
static void apply_remove(struct loader *ld, struct pnode *dst, const struct str_index *keys, struct pnode *rm,
                         const char *path) {
        /* packages: {remove: [names]} is short for remove: {install: [names]} */
        if (rm->kind == PNODE_SEQ && dst->key && strcmp(path, "packages") == 0) {
                struct pnode *m = pnode_new(PNODE_MAP, rm->origin);
                struct pnode *seq = pnode_copy(rm);
                free(seq->key);
                seq->key = xstrdup("install");
                pnode_append(m, seq);
                apply_remove(ld, dst, keys, m, path);
                pnode_free(m);
                return;
        }
        if (rm->kind != PNODE_MAP) {
                profile_errors_add(ld->errs, rm->origin,
                                   "expected a mapping from a list key to the entries to remove, like remove: {enable: [foo.service]}, got %s",
                                   pnode_is_null(rm) ? "nothing" : kind_name(rm->kind));
                return;
        }
        for (size_t i = 0; i < rm->n_items; i++) {
                struct pnode *what = rm->items[i];
                _cleanup_free_ char *list_path = child_path(path, what->key);
                size_t li;
                struct pnode *list = str_index_get(keys, what->key, &li) ? dst->items[li] : NULL;
                struct pnode single = { 0 };
                struct pnode *one[1] = { what };
                if (what->kind == PNODE_SCALAR) {
                        single = (struct pnode){ .kind = PNODE_SEQ, .items = one, .n_items = 1 };
                        what = &single;
                } else if (what->kind != PNODE_SEQ) {
                        profile_errors_add(ld->errs, what->origin, "expected a list of entries to remove from %s, got %s",
                                           list_path, kind_name(what->kind));
                        continue;
                }
                if (list && list->kind != PNODE_SEQ)
                        list = NULL;
                /* removed entries become NULL (the index points into them)
                 * and are freed, and the list closed up, at the end */
                struct seq_index x = { 0 };
                if (list)
                        seq_index_init(&x, list);
                struct pnode grave = { .kind = PNODE_SEQ };
                for (size_t j = 0; j < what->n_items; j++) {
                        struct pnode *e = what->items[j];
                        const char *id = identity_of(e);
                        if (!id) {
                                profile_errors_add(ld->errs, e->origin, "expected an entry to remove from %s, got %s",
                                                   list_path, kind_name(e->kind));
                                continue;
                        }
                        /* a name removes the scalar of that value or the entry of that identity */
                        ssize_t k = list ? seq_index_find(&x, list, e) : -1;
                        if (k < 0) {
                                profile_errors_add(ld->errs, e->origin, "cannot remove '%s' from %s: it was never added",
                                                   id, list_path);
                                continue;
                        }
                        pnode_append(&grave, TAKE_PTR(list->items[k]));
                }
                if (list) {
                        size_t kept = 0;
                        for (size_t k = 0; k < list->n_items; k++)
                                if (list->items[k])
                                        list->items[kept++] = list->items[k];
                        list->n_items = kept;
                        seq_index_clear(&x);
                }
                for (size_t k = 0; k < grave.n_items; k++)
                        pnode_free(grave.items[k]);
                free(grave.items);
        }
}

static void merge_map(struct loader *ld, struct pnode *dst, struct pnode *src, const char *path) {
        if (src->reason) {
                free(dst->reason);
                dst->reason = TAKE_PTR(src->reason);
        }
        struct pnode *rm = NULL;
        /* dst's keys (unique), and the entries replaced here, freed at the
         * end because the index points into them */
        struct str_index keys = { 0 };
        for (size_t i = 0; i < dst->n_items; i++)
                str_index_add(&keys, dst->items[i]->key, i);
        struct pnode grave = { .kind = PNODE_SEQ };
        for (size_t k = 0; k < src->n_items; k++) {
                struct pnode *s = TAKE_PTR(src->items[k]);
                if (strcmp(s->key, "remove") == 0) {
                        pnode_free(rm);
                        rm = s;
                        continue;
                }
                size_t di_found;
                ssize_t di = str_index_get(&keys, s->key, &di_found) ? (ssize_t)di_found : -1;
                struct pnode *d = di >= 0 ? dst->items[di] : NULL;
                if (s->kind == PNODE_SCALAR) {
                        /* A later scalar wins.  But an empty key over a list or a
                         * map would silently throw away what the includes said;
                         * removal is explicit (remove:), so that is an error. */
                        if (d && d->kind != PNODE_SCALAR && pnode_is_null(s)) {
                                _cleanup_free_ char *cp = child_path(path, s->key);
                                profile_errors_add(ld->errs, s->origin,
                                                   "%s is empty here but has values from %s:%u; "
                                                   "use remove: to take entries out", cp,
                                                   d->origin.file ? d->origin.file : "?", d->origin.line);
                                pnode_free(s);
                                continue;
                        }
                        if (d)
                                pnode_append(&grave, d), dst->items[di] = s;
                        else {
                                pnode_append(dst, s);
                                str_index_add(&keys, s->key, dst->n_items - 1);
                        }
                        continue;
                }
                if (!d || d->kind != s->kind) {
                        struct pnode *fresh = pnode_new(s->kind, s->origin);
                        fresh->key = xstrdup(s->key);
                        fresh->key_origin = s->key_origin;
                        if (d)
                                pnode_append(&grave, d), dst->items[di] = fresh;
                        else {
                                pnode_append(dst, fresh);
                                str_index_add(&keys, fresh->key, dst->n_items - 1);
                        }
                        d = fresh;
                }
                if (s->kind == PNODE_MAP) {
                        _cleanup_free_ char *cp = child_path(path, s->key);
                        merge_map(ld, d, s, cp);
                } else {
                        if (s->reason) {
                                free(d->reason);
                                d->reason = TAKE_PTR(s->reason);
                        }
                        _cleanup_free_ char *cp = child_path(path, s->key);
                        merge_seq(ld, d, s, cp);
                }
                pnode_free(s);
        }
        src->n_items = 0;
        if (rm) {
                apply_remove(ld, dst, &keys, rm, path);
                pnode_free(rm);
        }
        str_index_clear(&keys);
        for (size_t k = 0; k < grave.n_items; k++)
                pnode_free(grave.items[k]);
        free(grave.items);
}

/* ---- files and includes ---- */

static int read_profile_file(struct loader *ld, const char *given, struct slw_origin include_site, char **ret,
                             size_t *ret_len) {
        struct slw_origin o = include_site.file ? include_site : at(given, 0, 0);
        const char *what = include_site.file ? "cannot include" : "cannot read profile";
        /* An include names a profile file, never just any file: errors
         * quote what they parse, so "include: /etc/shadow" would print the
         * hashes as unknown keys. */
        if (include_site.file && !endswith(given, ".yaml") && !endswith(given, ".yml")) {
                profile_errors_add(ld->errs, o, "%s '%s': not a profile (an include is a .yaml or .yml file)", what, given);
                return -EINVAL;
        }
        /* O_NONBLOCK: opening a FIFO (or a device) must not wait for a
         * writer forever; anything but a regular file is refused below. */
        int fd = open(given, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                profile_errors_add(ld->errs, o, "%s '%s': %s", what, given, strerror(errno));
                return -errno;
        }
        _cleanup_fclose_ FILE *f = fdopen(fd, "re");
        if (!f) {
                int e = errno;
                close(fd);
                profile_errors_add(ld->errs, o, "%s '%s': %s", what, given, strerror(e));
                return -e;
        }
        struct stat st;
        if (fstat(fileno(f), &st) < 0) {
                profile_errors_add(ld->errs, o, "%s '%s': %s", what, given, strerror(errno));
                return -errno;
        }
        if (!S_ISREG(st.st_mode)) {
                profile_errors_add(ld->errs, o, "%s '%s': not a regular file", what, given);
                return -EINVAL;
        }
        if (st.st_size > PROFILE_MAX_FILE_SIZE) {
                profile_errors_add(ld->errs, at(given, 1, 1), "file is too large (%lld bytes; a profile may have at most %d)",
                                   (long long)st.st_size, PROFILE_MAX_FILE_SIZE);
                return -EFBIG;
        }
        if (ld->total_bytes + (uint64_t)st.st_size > PROFILE_MAX_TOTAL_SIZE) {
                profile_errors_add(ld->errs, o, "%s '%s': the profile and its includes would have %llu bytes; "
                                   "together they may have at most %d", what, given,
                                   (unsigned long long)(ld->total_bytes + (uint64_t)st.st_size), PROFILE_MAX_TOTAL_SIZE);
                return -EFBIG;
        }
        char *buf = xmalloc((size_t)st.st_size + 1);
        size_t n = fread(buf, 1, (size_t)st.st_size + 1, f);
        if (ferror(f) || n > (size_t)st.st_size) {
                free(buf);
                profile_errors_add(ld->errs, at(given, 1, 1), "%s '%s': read error or file grew while reading", what, given);
                return -EIO;
        }
        buf[n] = 0;
        const char *nul = memchr(buf, 0, n);
        if (nul) {
                profile_errors_add(ld->errs, offset_origin(given, buf, (size_t)(nul - buf)),
                                   "binary data (a NUL byte): expected a YAML text file");
                free(buf);
                return -EINVAL;
        }
        size_t bad = utf8_invalid_offset((const unsigned char *)buf, n);
        if (bad != SIZE_MAX) {
                profile_errors_add(ld->errs, offset_origin(given, buf, bad), "invalid UTF-8 (byte 0x%02x)",
                                   (unsigned char)buf[bad]);
                free(buf);
                return -EINVAL;
        }
        ld->total_bytes += n;
        *ret = buf;
        *ret_len = n;
        return 0;
}

static char *dirname_of(const char *path) {
        const char *slash = strrchr(path, '/');
        if (!slash)
                return xstrdup(".");
        if (slash == path)
                return xstrdup("/");
        return xstrndup(path, (size_t)(slash - path));
}

/* ---- the include search path ---- */

void profile_includes_free(struct slw_include *inc, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(inc[i].name);
                free(inc[i].resolved);
        }
        free(inc);
}

static bool entry_exists(const char *path) {
        struct stat st;
        /* lstat: a dangling symlink is there (and fails to load, named),
         * it does not fall through to the next place; any error but "no
         * such file" (EACCES, ELOOP) also stops the search, to be reported */
        return lstat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

const char *profile_include_place_name(enum profile_include_place place) {
        switch (place) {
        case INCLUDE_ABSOLUTE:
                return "absolute path";
        case INCLUDE_NEXT_TO_FILE:
                return "next to the including file";
        case INCLUDE_PROFILE_PATH:
                return "SLIPWAY_PROFILE_PATH";
        case INCLUDE_INSTALLED:
        default:
                return "slipway's own profiles";
        }
}

void profile_include_search_free(struct profile_include_search *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->candidates[i].path);
        free(s->candidates);
        *s = (struct profile_include_search){ 0 };
}

static void search_add(struct profile_include_search *s, char *path, enum profile_include_place place) {
        s->candidates = xrealloc(s->candidates, (s->n + 1) * sizeof(*s->candidates));
        s->candidates[s->n++] = (struct profile_include_candidate){ path, place };
}

static char *join_dir(const char *dir, const char *name) {
        return strcmp(dir, ".") == 0 ? xstrdup(name) : path_join(dir, name);
}

int profile_include_resolve(const char *including_dir, const char *name, struct profile_include_search *s) {
        *s = (struct profile_include_search){ .found = -1 };
        if (name[0] == '/') {
                search_add(s, xstrdup(name), INCLUDE_ABSOLUTE);
                s->found = 0;   /* as given; loading says what is wrong with it */
                return 0;
        }
        /* ./x and ../x name the file next to the including one, only */
        bool here_only = startswith(name, "./") || startswith(name, "../");
        const char *rel = name;
        while (startswith(rel, "./"))
                rel += 2;
        search_add(s, join_dir(including_dir, rel), INCLUDE_NEXT_TO_FILE);
        if (!here_only) {
                const char *env = getenv("SLIPWAY_PROFILE_PATH");
                for (const char *p = env ? env : ""; *p;) {
                        size_t len = strcspn(p, ":");
                        if (len > 0) {
                                _cleanup_free_ char *dir = xstrndup(p, len);
                                search_add(s, join_dir(dir, rel), INCLUDE_PROFILE_PATH);
                        }
                        p += len;
                        if (*p == ':')
                                p++;
                }
                _cleanup_free_ char *installed = path_join(slipway_datadir(), "profiles");
                search_add(s, path_join(installed, rel), INCLUDE_INSTALLED);
        }
        for (size_t i = 0; i < s->n; i++)
                if (entry_exists(s->candidates[i].path)) {
                        s->found = (ssize_t)i;
                        return 0;
                }
        return -ENOENT;
}

/* "no such file next to the including file (A), in SLIPWAY_PROFILE_PATH (B, C)
 * or in slipway's own profiles (D)" */
static char *not_found_message(const char *name, const struct profile_include_search *s) {
        _cleanup_free_ char *msg = xasprintf("cannot include '%s': no such file", name);
        static const enum profile_include_place order[] = { INCLUDE_NEXT_TO_FILE, INCLUDE_PROFILE_PATH, INCLUDE_INSTALLED };
        if (s->n == 1) {        /* ./ or ../: only next to the file (an absolute path is never "not found" here) */
                char *m = xasprintf("%s (%s; a path that starts with ./ or ../ is looked for only next to the including file)",
                                    msg, s->candidates[0].path);
                return m;
        }
        for (size_t k = 0; k < ELEMENTSOF(order); k++) {
                const char *what = order[k] == INCLUDE_NEXT_TO_FILE ? " next to the including file"
                                   : order[k] == INCLUDE_PROFILE_PATH ? ", in SLIPWAY_PROFILE_PATH"
                                                                      : " or in slipway's own profiles";
                _cleanup_free_ char *list = NULL;
                for (size_t i = 0; i < s->n; i++) {
                        if (s->candidates[i].place != order[k])
                                continue;
                        char *l = list ? xasprintf("%s, %s", list, s->candidates[i].path) : xstrdup(s->candidates[i].path);
                        free(list);
                        list = l;
                }
                const char *env = getenv("SLIPWAY_PROFILE_PATH");
                char *m = xasprintf("%s%s (%s)", msg, what,
                                    list                ? list
                                    : env && *env       ? "no directory in it"
                                                        : "not set");
                free(msg);
                msg = m;
        }
        return TAKE_PTR(msg);
}

static void record_include(struct loader *ld, const char *name, struct slw_origin site, const char *resolved,
                           enum profile_include_place place) {
        ld->includes = xrealloc(ld->includes, (ld->n_includes + 1) * sizeof(*ld->includes));
        ld->includes[ld->n_includes++] = (struct slw_include){
                .name = xstrdup(name), .site = site, .resolved = xstrdup(resolved), .place = place,
        };
}

static int load_file(struct loader *ld, const char *given, struct slw_origin include_site) {
        char real[PATH_MAX];
        if (!realpath(given, real)) {
                struct slw_origin o = include_site.file ? include_site : at(given, 0, 0);
                if (errno == ELOOP)
                        profile_errors_add(ld->errs, o, "%s '%s': symbolic link loop",
                                           include_site.file ? "cannot include" : "cannot read profile", given);
                else
                        profile_errors_add(ld->errs, o, "%s '%s': %s", include_site.file ? "cannot include" : "cannot read profile",
                                           given, strerror(errno));
                return -errno;
        }
        for (size_t i = 0; i < ld->chain_len; i++)
                if (strcmp(ld->chain_real[i], real) == 0) {
                        size_t sz = 0;
                        for (size_t k = i; k < ld->chain_len; k++)
                                sz += strlen(ld->chain_given[k]) + 4;
                        sz += strlen(given) + 1;
                        _cleanup_free_ char *chain = xcalloc(1, sz);
                        for (size_t k = i; k < ld->chain_len; k++) {
                                strcat(chain, ld->chain_given[k]);
                                strcat(chain, " -> ");
                        }
                        strcat(chain, given);
                        profile_errors_add(ld->errs, include_site, "include cycle: %s", chain);
                        return -ELOOP;
                }
        if (strv_contains(ld->loaded_real, real))
                return 0;   /* already merged through another include */
        if (ld->chain_len >= PROFILE_MAX_INCLUDE_DEPTH) {
                profile_errors_add(ld->errs, include_site, "includes nested deeper than %d files", PROFILE_MAX_INCLUDE_DEPTH);
                return -ELOOP;
        }
        if (ld->n_files >= PROFILE_MAX_FILES) {
                profile_errors_add(ld->errs, include_site, "cannot include '%s': a profile and its includes may be at most %d files",
                                   given, PROFILE_MAX_FILES);
                return -E2BIG;
        }
        ld->n_files++;

        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_profile_file(ld, given, include_site, &buf, &len);
        if (r < 0)
                return r;
        char *name = xstrdup(given);
        struct pnode *tree = NULL;
        r = parse_yaml(ld, name, buf, len, &tree);
        if (r < 0) {
                free(name);
                return r;
        }
        /* the tree's origins point at name: from here the loader owns it */
        take_name(ld, name);
        extract_reasons(ld, tree, true);
        if (ld->unreasoned)
                profile_strict_scan(tree, ld->unreasoned);   /* per file: a reason covers its own file's values */

        ld->chain_given[ld->chain_len] = name;
        ld->chain_real[ld->chain_len] = real;
        ld->chain_len++;

        int ret = 0;
        struct pnode *inc = NULL;
        for (size_t i = 0; i < tree->n_items; i++)
                if (strcmp(tree->items[i]->key, "include") == 0) {
                        inc = pnode_take(tree, i);
                        break;
                }
        if (inc) {
                struct pnode one_seq = { 0 };
                struct pnode *one[1] = { inc };
                struct pnode *list = inc;
                if (inc->kind == PNODE_SCALAR && !pnode_is_null(inc)) {
                        one_seq = (struct pnode){ .kind = PNODE_SEQ, .items = one, .n_items = 1 };
                        list = &one_seq;
                }
                if (list->kind != PNODE_SEQ) {
                        profile_errors_add(ld->errs, inc->origin, "expected a list of profile paths for include, got %s",
                                           pnode_is_null(inc) ? "nothing" : kind_name(inc->kind));
                        ret = -EINVAL;
                } else {
                        _cleanup_free_ char *dir = dirname_of(name);
                        for (size_t i = 0; i < list->n_items; i++) {
                                struct pnode *e = list->items[i];
                                if (e->kind != PNODE_SCALAR || pnode_is_null(e)) {
                                        profile_errors_add(ld->errs, e->origin, "expected a profile path to include, got %s",
                                                           e->kind == PNODE_SCALAR ? "nothing" : kind_name(e->kind));
                                        ret = -EINVAL;
                                        continue;
                                }
                                /* not a profile: said before the search, about the name written */
                                if (!endswith(e->value, ".yaml") && !endswith(e->value, ".yml")) {
                                        profile_errors_add(ld->errs, e->origin, "cannot include '%s': not a profile "
                                                           "(an include is a .yaml or .yml file)", e->value);
                                        ret = -EINVAL;
                                        continue;
                                }
                                struct profile_include_search s;
                                r = profile_include_resolve(dir, e->value, &s);
                                if (r < 0) {
                                        _cleanup_free_ char *m = not_found_message(e->value, &s);
                                        profile_errors_add(ld->errs, e->origin, "%s", m);
                                        profile_include_search_free(&s);
                                        ret = r;
                                        continue;
                                }
                                const struct profile_include_candidate *c = &s.candidates[s.found];
                                record_include(ld, e->value, e->origin, c->path, c->place);
                                r = load_file(ld, c->path, e->origin);
                                profile_include_search_free(&s);
                                if (r < 0)
                                        ret = r;
                        }
                }
                pnode_free(inc);
        }
        merge_map(ld, ld->root, tree, "");
        pnode_free(tree);
        ld->chain_len--;
        strv_push(&ld->loaded_real, real);
        return ret;
}

/* ---- --set ---- */

static bool valid_key_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void apply_set(struct loader *ld, const char *set) {
        const char *eq = strchr(set, '=');
        if (!eq || eq == set) {
                profile_errors_add(ld->errs, origin_command_line, "invalid --set '%s': expected KEY=VALUE, like hostname=foo", set);
                return;
        }
        _cleanup_free_ char *key = xstrndup(set, (size_t)(eq - set));
        const char *value = eq + 1;
        /* syntax: seg(.seg)* where seg = name([N])* */
        for (const char *p = key; *p;) {
                const char *s = p;
                while (valid_key_char(*p))
                        p++;
                if (p == s)
                        goto bad;
                while (*p == '[') {
                        p++;
                        const char *d = p;
                        while (*p >= '0' && *p <= '9')
                                p++;
                        if (p == d || *p != ']' || p - d > 6)
                                goto bad;
                        p++;
                }
                if (*p == '.') {
                        p++;
                        if (!*p)
                                goto bad;
                } else if (*p)
                        goto bad;
        }

        struct pnode *n = ld->root;
        for (char *p = key; *p;) {
                size_t len = strcspn(p, ".[");
                _cleanup_free_ char *seg = xstrndup(p, len);
                p += len;
                bool last = !*p;
                struct pnode *c = pnode_get(n, seg);
                if (last) {
                        _cleanup_free_ char *dotted = xstrndup(key, (size_t)(p - key));
                        struct pnode *v = pnode_new(PNODE_SCALAR, origin_command_line);
                        v->value = xstrdup(value);
                        if ((c && c->kind == PNODE_SEQ) || (!c && profile_schema_is_scalar_list(dotted))) {
                                if (!c) {
                                        c = pnode_new(PNODE_SEQ, origin_command_line);
                                        c->key = xstrdup(seg);
                                        pnode_append(n, c);
                                }
                                if (seq_find(c, v) >= 0)
                                        pnode_free(v);
                                else
                                        pnode_append(c, v);
                        } else {
                                v->key = xstrdup(seg);
                                if (c) {
                                        for (size_t i = 0; i < n->n_items; i++)
                                                if (n->items[i] == c)
                                                        n->items[i] = v;
                                        pnode_free(c);
                                } else
                                        pnode_append(n, v);
                        }
                        return;
                }
                if (!c) {
                        if (*p == '[') {
                                profile_errors_add(ld->errs, origin_command_line, "invalid --set '%s': %s has no entries", set, seg);
                                return;
                        }
                        c = pnode_new(PNODE_MAP, origin_command_line);
                        c->key = xstrdup(seg);
                        pnode_append(n, c);
                }
                while (*p == '[') {
                        unsigned long idx = strtoul(p + 1, &p, 10);
                        p++;
                        if (c->kind != PNODE_SEQ || idx >= c->n_items) {
                                profile_errors_add(ld->errs, origin_command_line, "invalid --set '%s': no entry %lu in %s", set, idx, seg);
                                return;
                        }
                        c = c->items[idx];
                }
                if (!*p) {
                        profile_errors_add(ld->errs, origin_command_line,
                                           "invalid --set '%s': set a key of the entry, like files[0].mode=0600", set);
                        return;
                }
                if (*p == '.')
                        p++;
                if (c->kind != PNODE_MAP) {
                        profile_errors_add(ld->errs, origin_command_line, "invalid --set '%s': %s is not a mapping", set, seg);
                        return;
                }
                n = c;
        }
        return;
bad:
        profile_errors_add(ld->errs, origin_command_line,
                           "invalid --set '%s': expected a dotted key like disk.size or files[0].mode before '='", set);
}

int profile_load_tree(const char *path, char *const *sets, struct pnode **ret_root, char ***files_loaded,
                      struct profile_errors *errs) {
        return profile_load_tree_ex(path, sets, ret_root, files_loaded, NULL, NULL, NULL, errs);
}

int profile_load_tree_ex(const char *path, char *const *sets, struct pnode **ret_root, char ***files_loaded,
                         struct slw_include **includes, size_t *n_includes, struct profile_errors *unreasoned,
                         struct profile_errors *errs) {
        struct loader ld = { .errs = errs, .unreasoned = unreasoned };
        ld.root = pnode_new(PNODE_MAP, at(path, 1, 1));
        int r = load_file(&ld, path, (struct slw_origin){ 0 });
        for (size_t i = 0; sets && sets[i]; i++)
                apply_set(&ld, sets[i]);
        strv_free(ld.loaded_real);
        /* the root's origin must not point at the caller's string */
        ld.root->origin = ld.root->key_origin =
                ld.files_loaded ? at(ld.files_loaded[0], 1, 1) : origin_command_line;
        *ret_root = ld.root;
        *files_loaded = ld.files_loaded;
        if (includes) {
                *includes = ld.includes;
                *n_includes = ld.n_includes;
        } else
                profile_includes_free(ld.includes, ld.n_includes);
        if (r < 0 || errs->n > 0)
                return r < 0 ? r : -EINVAL;
        return 0;
}
