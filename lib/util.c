/* SPDX-License-Identifier: MIT */
#include "util.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void oom(void) {
        fputs("slipway: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) oom(); return p; }
void *xcalloc(size_t n, size_t m) { void *p = calloc(n ? n : 1, m ? m : 1); if (!p) oom(); return p; }
void *xrealloc(void *p, size_t n) { p = realloc(p, n ? n : 1); if (!p) oom(); return p; }
char *xstrdup(const char *s) { char *p = strdup(s); if (!p) oom(); return p; }
char *xstrndup(const char *s, size_t n) { char *p = strndup(s, n); if (!p) oom(); return p; }

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                oom();
        va_end(ap);
        return s;
}

void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

void strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        *l = xrealloc(*l, (n + 2) * sizeof(char *));
        (*l)[n] = xstrdup(s);
        (*l)[n + 1] = NULL;
}

bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (strcmp(l[i], s) == 0)
                        return true;
        return false;
}

char **strv_copy(char *const *l) {
        char **r = xcalloc(strv_length(l) + 1, sizeof(char *));
        for (size_t i = 0; l && l[i]; i++)
                r[i] = xstrdup(l[i]);
        return r;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(char **l) {
        if (!l) /* qsort() must not get NULL, even for zero elements */
                return;
        qsort(l, strv_length(l), sizeof(char *), cmp_str);
}

char *path_join(const char *a, const char *b) {
        size_t la = strlen(a);
        while (la > 1 && a[la - 1] == '/')
                la--;
        while (*b == '/')
                b++;
        return xasprintf("%.*s/%s", (int)la, a, b);
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void)st;
        (void)ftw;
        if (flag == FTW_DP)
                return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
        return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int dir_entries_sorted(const char *path, char ***ret) {
        DIR *d = opendir(path);
        if (!d)
                return -errno;
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        strv_push(&names, de->d_name);
        closedir(d);
        strv_sort(names);
        *ret = names;
        return 0;
}

int rm_rf(const char *path) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlink(path) < 0 ? -errno : 0;
        if (nftw(path, rm_rf_one, 64, FTW_DEPTH | FTW_PHYS) < 0)
                return -errno;
        return 0;
}

int write_file(const char *path, const void *data, size_t len, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        const char *p = data;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        if (fchmod(fd, mode) < 0)
                return -errno;
        return 0;
}

int read_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (len + 1 >= cap)
                        buf = xrealloc(buf, cap *= 2);
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct { const char *suffix; uint64_t factor; } units[] = {
                { "", 1 }, { "B", 1 },
                { "K", 1024 }, { "KiB", 1024 }, { "KB", 1000 }, { "k", 1024 }, { "kB", 1000 },
                { "M", 1024 * 1024 }, { "MiB", 1024 * 1024 }, { "MB", 1000 * 1000 },
                { "G", UINT64_C(1) << 30 }, { "GiB", UINT64_C(1) << 30 }, { "GB", UINT64_C(1000000000) },
                { "T", UINT64_C(1) << 40 }, { "TiB", UINT64_C(1) << 40 }, { "TB", UINT64_C(1000000000000) },
        };
        if (!s || !*s)
                return -EINVAL;
        const char *p = s;
        uint64_t v = 0;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (strcmp(p, units[i].suffix) != 0)
                        continue;
                if (units[i].factor && v > UINT64_MAX / units[i].factor)
                        return -ERANGE;
                *ret = v * units[i].factor;
                return 0;
        }
        return -EINVAL;
}

const char *format_bytes(uint64_t n, char buf[static 32]) {
        static const char *const suffix[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double d = (double)n;
        size_t i = 0;
        while (d >= 1024.0 && i + 1 < ELEMENTSOF(suffix)) {
                d /= 1024.0;
                i++;
        }
        if (i == 0)
                snprintf(buf, 32, "%" PRIu64 " B", n);
        else
                snprintf(buf, 32, "%.1f %s", d, suffix[i]);
        return buf;
}

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0 (invalid,
 * overlong, a surrogate, beyond U+10FFFF); *cp gets the code point. */
static size_t utf8_sequence(const unsigned char *s, uint32_t *cp) {
        if (s[0] < 0x80) {
                *cp = s[0];
                return 1;
        }
        size_t n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
        if (n == 0)
                return 0;
        uint32_t c = s[0] & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (n == 4 && (c < 0x10000 || c > 0x10ffff)))
                return 0;
        *cp = c;
        return n;
}

/* One pass for term_escaped() and utf8_sanitized(): valid UTF-8 is copied,
 * an invalid byte becomes \xNN for a terminal or U+FFFD for JSON, and for a
 * terminal the control characters (C0, DEL, C1) are escaped too. */
static char *utf8_rewritten(const char *s, bool terminal) {
        if (!s)
                return NULL;
        char *out = xmalloc(strlen(s) * 6 + 1), *o = out;
        const unsigned char *p = (const unsigned char *)s;
        while (*p) {
                uint32_t cp = 0;
                size_t n = utf8_sequence(p, &cp);
                if (n == 0 && !terminal) {
                        memcpy(o, "\xef\xbf\xbd", 3);   /* U+FFFD */
                        o += 3;
                        p++;
                } else if (n == 0 || (terminal && (cp < 0x20 || cp == 0x7f))) {
                        o += sprintf(o, "\\x%02x", *p);
                        p++;
                } else if (terminal && cp >= 0x80 && cp <= 0x9f) {
                        o += sprintf(o, "\\u%04x", (unsigned)cp);
                        p += n;
                } else {
                        memcpy(o, p, n);
                        o += n;
                        p += n;
                }
        }
        *o = '\0';
        return out;
}

char *term_escaped(const char *s) { return utf8_rewritten(s, true); }
char *utf8_sanitized(const char *s) { return utf8_rewritten(s, false); }
