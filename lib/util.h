/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Cleanup attributes in the style of systemd's src/basic: a variable
 * declared _cleanup_free_ is freed when it goes out of scope. */
static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
void strv_free(char **l);
static inline void strv_freep(char ***l) { strv_free(*l); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) ((((x) + (a) - 1) / (a)) * (a))

#define KiB UINT64_C(1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)

/* Take ownership: returns *p and sets *p to NULL. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* Allocation failure is not something slipway recovers from. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* NULL-terminated string vectors. */
size_t strv_length(char *const *l);
void strv_push(char ***l, const char *s);   /* appends a copy */
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
void strv_sort(char **l);

char *path_join(const char *a, const char *b);
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);
/* The names in directory PATH but "." and "..", sorted by strcmp (an
 * order that does not depend on the filesystem); NULL when there are none.
 * 0, or -errno of opendir(). */
int dir_entries_sorted(const char *path, char ***ret);
int write_file(const char *path, const void *data, size_t len, mode_t mode);
int read_file(const char *path, char **ret, size_t *ret_len);
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* Parses sizes as profiles write them: "512", "64MiB", "30GiB", "300MB",
 * "1.5GiB" is refused (integers only).  Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);
/* Formats a byte count as "12.3 MiB". buf must hold 32 bytes. */
const char *format_bytes(uint64_t n, char buf[static 32]);

/* Monotonic time in microseconds, for stage timings. */
uint64_t now_usec(void);

/* A copy of S that is safe to print on a terminal: text from an image or a
 * cache (a GPT partition name, os-release's PRETTY_NAME) may carry escape
 * sequences that retitle, clear or rewrite the screen.  Control characters
 * (C0, DEL, and C1 written as UTF-8) become \xNN or \u00NN, and bytes that
 * are not valid UTF-8 \xNN; a backslash stays as it is.  NULL gives NULL. */
char *term_escaped(const char *s);
/* A copy of S in which every byte that is not part of valid UTF-8 is
 * U+FFFD: JSON must be UTF-8, and an image's names need not be. */
char *utf8_sanitized(const char *s);
