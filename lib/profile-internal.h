/* SPDX-License-Identifier: MIT */
#pragma once
#include "profile.h"

#include <sys/types.h>

/* Shared between lib/profile-load.c (YAML, includes, merge, --set) and
 * lib/profile.c (schema, typed model, summary).  Not for stages. */

#define PROFILE_MAX_FILE_SIZE (1024 * 1024)
#define PROFILE_MAX_DEPTH 64
#define PROFILE_MAX_INCLUDE_DEPTH 32
/* A profile and all its includes together: how many files, how many bytes.
 * Loading is linear in the bytes, merging in the bytes times the files. */
#define PROFILE_MAX_FILES 256
#define PROFILE_MAX_TOTAL_SIZE (8 * 1024 * 1024)

extern const struct slw_origin origin_command_line;
extern const struct slw_origin origin_default;

/* Loads `path` and its include chain, merges them, applies `sets`.
 * *ret_root is the merged tree (an empty map at worst); *files_loaded owns the
 * file names the tree's origins point to.  Returns 0 or -EINVAL with errs filled. */
int profile_load_tree(const char *path, char *const *sets, struct pnode **ret_root, char ***files_loaded,
                      struct profile_errors *errs);
/* The same, also returning the include entries as resolved and, in
 * *unreasoned, every value of every file that `strict` would refuse. */
int profile_load_tree_ex(const char *path, char *const *sets, struct pnode **ret_root, char ***files_loaded,
                         struct slw_include **includes, size_t *n_includes, struct profile_errors *unreasoned,
                         struct profile_errors *errs);

/* The include search (see enum profile_include_place).  candidates are the
 * paths looked at, in order; found is the index of the first that exists
 * (an entry of any kind: what is wrong with it is for loading to say), or
 * -1.  Returns 0, or -ENOENT when none exists.  Free with
 * profile_include_search_free(), also after an error. */
struct profile_include_candidate {
        char *path;
        enum profile_include_place place;
};
struct profile_include_search {
        struct profile_include_candidate *candidates;
        size_t n;
        ssize_t found;
};
int profile_include_resolve(const char *including_dir, const char *name, struct profile_include_search *s);
void profile_include_search_free(struct profile_include_search *s);
void profile_includes_free(struct slw_include *inc, size_t n);

/* strict: adds to out an error for every value of one file's tree (reasons
 * extracted, before the merge) that is a deviation from upstream and has no
 * reason: neither its own nor one of an enclosing map or list of the same file. */
void profile_strict_scan(const struct pnode *file_tree, struct profile_errors *out);

/* Schema queries used by --set: is the value at this dotted path a list of scalars? */
bool profile_schema_is_scalar_list(const char *dotted_path);

struct pnode *pnode_new(enum pnode_kind kind, struct slw_origin origin);
void pnode_append(struct pnode *parent, struct pnode *child);
/* Removes items[i] from parent and returns it. */
struct pnode *pnode_take(struct pnode *parent, size_t i);

size_t edit_distance(const char *a, const char *b);

/* A T_MODE value ("0644" quoted, or 0o644). */
int profile_parse_mode(const struct pnode *n, uint32_t *ret);
/* scripts and extra-trees (lib/profile-scripts.c): the checks beyond types
 * (files exist, paths are clean), the typed model, and freeing it. */
void profile_scripts_check(const struct pnode *root, struct profile_errors *errs);
void profile_scripts_model(struct slw_profile *p, const struct pnode *root);
void profile_scripts_free(struct slw_profile *p);
