/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* How this process's ids relate to the host's. */
enum userns_kind {
        USERNS_HOST,    /* real root, or an unprivileged process that did not enter one */
        USERNS_SUBID,   /* the caller is root inside, its /etc/subuid range is 1..N */
        USERNS_SINGLE,  /* the caller is root inside and no other id exists */
        USERNS_FOREIGN, /* entered by someone else (e.g. unshare --map-root-user) */
};

struct subid_range {
        unsigned long start, count;
};

/* The first /etc/subuid (or subgid) line naming USER or its numeric ID.
 * Returns 0 and fills RET, -ENOENT when there is none. */
int subid_lookup(const char *file, const char *user, unsigned long id, struct subid_range *ret);

/* Makes the calling (single-threaded) process root of a new user namespace,
 * the way podman and mkosi do for rootless builds: the caller's uid/gid are
 * 0 inside, and its subordinate ids from /etc/subuid and /etc/subgid, mapped
 * with the setuid helpers newuidmap/newgidmap, are 1..N, so an image tree
 * can hold every owner a distribution uses.  Without subordinate ids (or
 * without newuidmap) it maps the caller alone (USERNS_SINGLE) and says so.
 * Files the process creates belong to the caller on the host.  Must run
 * before any thread is started.  Returns 0 and the kind, or a negative
 * errno (logged) when user namespaces are not allowed. */
int userns_become_root(enum userns_kind *ret);

/* What kind of namespace the process is in now (read from /proc/self/uid_map). */
enum userns_kind userns_current(void);

/* A stable description of the id mapping, for cache keys: "host", or the
 * uid_map/gid_map contents with whitespace collapsed.  Trees made under
 * different mappings have different owners on disk. */
char *userns_describe(void);
