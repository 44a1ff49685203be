/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The build cache.
 *
 *   <cache>/apt/archives/       downloaded .deb files, shared by all apt builds
 *   <cache>/dnf/                dnf's cachedir (metadata and packages)
 *   <cache>/rootfs/<key>/       one installed tree per key:
 *        tree/                  the root filesystem as the backend left it
 *        packages.json          its package manifest
 *        entry.json             backend, release and the key's inputs (for `cache list`)
 *   <cache>/rootfs/.tmp-<key>-<pid>/   an install in progress; never trusted
 *
 * An entry appears only by rename() of a complete .tmp-* directory, so a
 * killed build leaves at most a .tmp-* directory, which the next build (when
 * its pid is gone) or `cache clean` removes. */

/* 2: trees have an empty /dev (assembler/stage_rootfs.c)
 * 3: trees hold nothing of the build host: apt's no copied resolv.conf or
 *    hostname, no build sources.list or 99mmdebstrap (rootfs_apt.c); dnf's
 *    no logs or history naming the build's repositories (rootfs_dnf.c) */
#define CACHE_FORMAT_VERSION "3"

/* $SLIPWAY_CACHE, else /var/cache/slipway as root, else
 * $XDG_CACHE_HOME/slipway, else ~/.cache/slipway.  Never NULL. */
char *cache_default_dir(void);

/* The inputs of a content-addressed key, as "name=value" lines: the key is
 * the SHA-256 of the text, and the text itself is kept in entry.json so a
 * human can see why two keys differ. */
struct cache_key {
        char *text;
        size_t len, cap;
};

void cache_key_add(struct cache_key *k, const char *name, const char *value);   /* value may be NULL */
void cache_key_add_strv(struct cache_key *k, const char *name, char *const *values);
void cache_key_add_u64(struct cache_key *k, const char *name, uint64_t value);
/* 64 hex chars + NUL. */
void cache_key_hex(const struct cache_key *k, char out[65]);
void cache_key_done(struct cache_key *k);

/* Removes <rootfs_dir>/.tmp-* directories whose owning process is gone
 * (all of them when `all`).  Returns the number removed or negative errno. */
int cache_remove_stale_tmp(const char *rootfs_dir, bool all);

/* Copies a directory tree preserving owners, modes, xattrs, hardlinks and
 * timestamps (cp -a --reflink=auto); dst must not exist. */
int copy_tree(const char *src, const char *dst);

/* Mounts an overlay at target: lower read-only underneath, every change
 * in scratch/upper.  What a cache hit uses instead of copy_tree: nothing is
 * copied and the cached tree is never written.  Only in a private mount
 * namespace (the mount goes away with the build, however it ends), with
 * lower and scratch on one filesystem.  0 or negative errno, not logged:
 * the caller falls back to copy_tree. */
int tree_overlay_mount(const char *lower, const char *scratch, const char *target);

/* Disk usage of a tree in bytes: allocated blocks of every entry (a file
 * with several hard links is counted for each; good enough for a listing). */
int tree_disk_usage(const char *path, uint64_t *ret);

/* rm -rf that refuses (-EBUSY, logged) when anything is mounted at or below
 * path: an install tree a killed mmdebstrap left with /proc, /sys or a bind
 * mount of /dev in it must never be walked into. */
int rm_rf_unmounted(const char *path);

/* `slipway cache list` and `clean`. */
int cache_list(const char *cache_dir, FILE *out);
int cache_clean(const char *cache_dir);
