/* SPDX-License-Identifier: MIT */
/* Origins of values and the `slipway summary` output (text and JSON). */
#include "profile-internal.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

struct slw_origin profile_origin(const struct slw_profile *p, const char *dotted_path) {
        const struct pnode *n = p ? pnode_lookup(p->root, dotted_path) : NULL;
        return n ? n->origin : origin_default;
}

const char *origin_format(struct slw_origin o, char *buf, size_t n) {
        if (!o.file)
                snprintf(buf, n, "(unknown)");
        else if (o.line == 0)
                snprintf(buf, n, "%s", o.file);
        else
                snprintf(buf, n, "%s:%u:%u", o.file, o.line, o.col);
        return buf;
}

/* A scalar as YAML would need it: plain when safe, else double-quoted. */
static void print_scalar(FILE *f, const struct pnode *n) {
        const char *s = n->value ? n->value : "";
        bool plain = *s && !n->quoted && !strchr(" -?:,[]{}#&*!|>'\"%@`", s[0]) && !strstr(s, ": ") && !strstr(s, " #") &&
                     s[strlen(s) - 1] != ' ' && s[strlen(s) - 1] != ':';
        for (const char *p = s; plain && *p; p++)
                if ((unsigned char)*p < 0x20)
                        plain = false;
        if (plain) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c == '\n')
                        fputs("\\n", f);
                else if (c == '\t')
                        fputs("\\t", f);
                else if (c < 0x20)
                        fprintf(f, "\\x%02x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

static void print_comment(FILE *f, const struct pnode *n) {
        if (n->origin.line > 0)
                fprintf(f, "  # %s:%u", n->origin.file, n->origin.line);
        else
                fprintf(f, "  # %s", n->origin.file ? n->origin.file : "default");
        if (n->reason) {
                fputs(" (", f);
                for (const char *p = n->reason; *p; p++)
                        fputc(*p == '\n' ? ' ' : *p, f);
                fputc(')', f);
        }
        fputc('\n', f);
}

static void print_node(FILE *f, const struct pnode *n, unsigned indent, bool list_item);

static void print_children(FILE *f, const struct pnode *n, unsigned indent) {
        for (size_t i = 0; i < n->n_items; i++)
                print_node(f, n->items[i], indent, false);
}

static void print_node(FILE *f, const struct pnode *n, unsigned indent, bool list_item) {
        fprintf(f, "%*s", (int)indent, "");
        if (list_item)
                fputs("- ", f);
        else if (n->key)
                fprintf(f, "%s:", n->key);
        switch (n->kind) {
        case PNODE_SCALAR:
                if (!list_item)
                        fputc(' ', f);
                print_scalar(f, n);
                print_comment(f, n);
                break;
        case PNODE_SEQ:
                if (n->n_items == 0) {
                        fputs(" []", f);
                        print_comment(f, n);
                        break;
                }
                if (n->reason)
                        print_comment(f, n);
                else
                        fputc('\n', f);
                for (size_t i = 0; i < n->n_items; i++) {
                        const struct pnode *it = n->items[i];
                        if (it->kind == PNODE_MAP) {
                                /* "- " then the map's entries indented under it */
                                fprintf(f, "%*s-", (int)indent + 2, "");
                                print_comment(f, it);
                                print_children(f, it, indent + 4);
                        } else
                                print_node(f, it, indent + 2, true);
                }
                break;
        case PNODE_MAP:
                if (n->n_items == 0) {
                        fputs(" {}", f);
                        print_comment(f, n);
                        break;
                }
                if (n->reason)
                        print_comment(f, n);
                else
                        fputc('\n', f);
                print_children(f, n, indent + 2);
                break;
        }
}

int profile_print_summary(const struct slw_profile *p, FILE *f) {
        fprintf(f, "# slipway profile %s\n", p->path);
        fprintf(f, "# merged from:");
        for (size_t i = 0; p->files_loaded && p->files_loaded[i]; i++)
                fprintf(f, " %s", p->files_loaded[i]);
        fputc('\n', f);
        /* what each include: entry resolved to, and where it was found */
        if (p->n_includes > 0)
                fprintf(f, "# includes:\n");
        for (size_t i = 0; i < p->n_includes; i++) {
                char buf[PATH_MAX + 64];
                const struct slw_include *inc = &p->includes[i];
                fprintf(f, "#   %s: %s -> %s (%s)\n", origin_format(inc->site, buf, sizeof(buf)), inc->name, inc->resolved,
                        profile_include_place_name(inc->place));
        }
        for (size_t i = 0; i < p->root->n_items; i++)
                print_node(f, p->root->items[i], 0, false);
        /* values that come from defaults, so the summary shows what a build will do */
        fprintf(f, "# defaults in effect:\n");
        fprintf(f, "#   outputs:");
        for (int o = 0; o < _OUT_MAX; o++)
                if (p->outputs[o])
                        fprintf(f, " %s", output_name(o));
        fprintf(f, "\n#   bootloader: bios=%s uefi=%s secure-boot=%s timeout=%u serial=%s\n",
                p->bootloader.bios ? "true" : "false", p->bootloader.uefi ? "true" : "false",
                p->bootloader.secure_boot ? "true" : "false", p->bootloader.timeout, p->bootloader.serial ? "true" : "false");
        fprintf(f, "#   disk.partitions:");
        for (size_t i = 0; i < p->disk.n_partitions; i++) {
                char b[32];
                fprintf(f, " %s(%s)", part_type_name(p->disk.partitions[i].type),
                        p->disk.partitions[i].size_auto ? "auto" : format_bytes(p->disk.partitions[i].size, b));
        }
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}

static struct json_object *origin_json(struct slw_origin o) {
        char buf[4096];
        return json_object_new_string(origin_format(o, buf, sizeof(buf)));
}

static struct json_object *node_json(const struct pnode *n) {
        struct json_object *j;
        switch (n->kind) {
        case PNODE_SCALAR:
                j = json_object_new_object();
                json_object_object_add(j, "value", pnode_is_null(n) ? NULL : json_object_new_string(n->value));
                json_object_object_add(j, "origin", origin_json(n->origin));
                json_object_object_add(j, "reason", n->reason ? json_object_new_string(n->reason) : NULL);
                return j;
        case PNODE_SEQ:
                j = json_object_new_array();
                for (size_t i = 0; i < n->n_items; i++)
                        json_object_array_add(j, node_json(n->items[i]));
                return j;
        case PNODE_MAP:
        default:
                j = json_object_new_object();
                for (size_t i = 0; i < n->n_items; i++)
                        json_object_object_add(j, n->items[i]->key, node_json(n->items[i]));
                /* `reason` is never a profile key, so it cannot collide */
                if (n->reason)
                        json_object_object_add(j, "reason", json_object_new_string(n->reason));
                return j;
        }
}

int profile_print_summary_json(const struct slw_profile *p, FILE *f) {
        struct json_object *top = json_object_new_object();
        json_object_object_add(top, "profile", json_object_new_string(p->path));
        struct json_object *files = json_object_new_array();
        for (size_t i = 0; p->files_loaded && p->files_loaded[i]; i++)
                json_object_array_add(files, json_object_new_string(p->files_loaded[i]));
        json_object_object_add(top, "files", files);
        struct json_object *incs = json_object_new_array();
        for (size_t i = 0; i < p->n_includes; i++) {
                const struct slw_include *inc = &p->includes[i];
                struct json_object *j = json_object_new_object();
                json_object_object_add(j, "include", json_object_new_string(inc->name));
                json_object_object_add(j, "origin", origin_json(inc->site));
                json_object_object_add(j, "resolved", json_object_new_string(inc->resolved));
                json_object_object_add(j, "found", json_object_new_string(profile_include_place_name(inc->place)));
                json_object_array_add(incs, j);
        }
        json_object_object_add(top, "includes", incs);
        json_object_object_add(top, "merged", node_json(p->root));
        struct json_object *outs = json_object_new_array();
        for (int o = 0; o < _OUT_MAX; o++)
                if (p->outputs[o])
                        json_object_array_add(outs, json_object_new_string(output_name(o)));
        json_object_object_add(top, "outputs", outs);
        fprintf(f, "%s\n", json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(top);
        return ferror(f) ? -EIO : 0;
}
