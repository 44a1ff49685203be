/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The package manifest of an installed tree (packages.json):
 *
 *   { "format": 1, "backend": "apt", "packages": [
 *       { "name": "bash", "version": "5.2.37-2", "architecture": "amd64",
 *         "installed_size": 7340032, "source": "bash", "license": "GPL-3+" }, ... ] }
 *
 * Sorted by name (then architecture), pretty-printed, no timestamps: the same
 * tree gives the same bytes.  "license" is null when not known. */

struct pkg_entry {
        char *name, *version, *architecture, *source, *license;
        uint64_t installed_size;   /* bytes */
};

struct pkg_list {
        struct pkg_entry *items;
        size_t n;
};

void pkg_list_free(struct pkg_list *l);
void pkg_list_sort(struct pkg_list *l);

/* Parses a dpkg status file: only stanzas whose Status is
 * "install ok installed" (or any "... installed" / "half-configured"
 * state that has files) are kept.  Installed-Size KiB -> bytes; Source
 * defaults to Package and loses a " (version)" suffix. */
int dpkg_status_parse(const char *text, struct pkg_list *ret);

/* Licence of a machine-readable (DEP-5) debian/copyright: the distinct
 * short names of its License: fields, in order of appearance, joined with
 * " AND ".  NULL when the file is not DEP-5 or names no licence. */
char *copyright_license(const char *text);

/* Manifests of trees. */
int manifest_from_dpkg_tree(const char *tree, struct pkg_list *ret);
int manifest_from_rpm_tree(const char *tree, struct pkg_list *ret);
/* Whichever package database the tree has (dpkg, then rpm); an empty list
 * when it has none. */
int manifest_from_tree(const char *tree, struct pkg_list *ret);

/* Parses the output of `rpm -qa --queryformat` with RPM_MANIFEST_QUERYFORMAT. */
#define RPM_MANIFEST_QUERYFORMAT "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\t%{SIZE}\\t%{SOURCERPM}\\t%{LICENSE}\\n"
int rpm_query_parse(const char *text, struct pkg_list *ret);

int manifest_write_json(const char *path, const char *backend, const struct pkg_list *l);
