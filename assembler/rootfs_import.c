/* SPDX-License-Identifier: MIT */
/* The import backend: an existing root tree, as a directory or a tarball. */
#include "rootfs.h"
#include "derive.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "userns.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *import_source(const struct build_ctx *ctx) {
        return ctx->profile->distribution.source;
}

int import_source_kind(const char *source) {
        struct stat st;
        if (stat(source, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return 0;
        if (S_ISREG(st.st_mode))
                return 1;
        return -EINVAL;
}

/* The metadata of every entry below a directory import, in name order:
 * path, type, mode, owner, size, mtime and ctime (ctime moves whenever a
 * file is written, chmod'ed or chown'ed, even when mtime is put back), and
 * a symlink's target.  Its SHA-256 is the cache key's "source_tree": a file
 * edited anywhere in the tree is a new key, not a stale hit.  Reading
 * metadata only: a walk, no file contents. */
struct tree_digest {
        char *text;
        size_t len, cap;
};

static void digest_add(struct tree_digest *d, const char *line) {
        size_t n = strlen(line);
        if (d->len + n + 1 > d->cap) {
                d->cap = (d->len + n + 1) * 2;
                d->text = xrealloc(d->text, d->cap);
        }
        memcpy(d->text + d->len, line, n + 1);
        d->len += n;
}

/* Walks the source through its root fd (lib/tree.h): each directory is
 * opened inside the source without following a symlink, each entry is
 * looked at with fstatat/readlinkat in it, so a symlink in the source is
 * read as a link and never followed, out of the source or within it. */
static int digest_tree(int root_fd, const char *root, const char *rel, struct tree_digest *d, unsigned depth) {
        if (depth > 256)
                return log_error_errno(-ELOOP, "rootfs: import source %s: directories nested more than 256 deep", root);
        _cleanup_close_ int dir_fd = tree_open(root_fd, *rel ? rel : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (dir_fd < 0)
                return log_error_errno(dir_fd, "rootfs: import source: cannot open %s/%s", root, rel);
        _cleanup_strv_free_ char **names = NULL;
        int r = tree_dir_entries_sorted(dir_fd, ".", &names);
        if (r < 0)
                return log_error_errno(r, "rootfs: import source: cannot list %s/%s", root, rel);
        for (size_t i = 0; names && names[i] && r >= 0; i++) {
                _cleanup_free_ char *sub = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
                struct stat st;
                if (fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = log_error_errno(-errno, "rootfs: import source: %s/%s", root, sub);
                        break;
                }
                char target[PATH_MAX] = "";
                if (S_ISLNK(st.st_mode)) {
                        ssize_t k = readlinkat(dir_fd, names[i], target, sizeof target - 1);
                        target[k > 0 ? k : 0] = '\0';
                }
                _cleanup_free_ char *line = xasprintf("%s\t%o\t%u:%u\t%" PRIu64 "\t%lld.%09ld\t%lld.%09ld\t%s\n", sub,
                                                      (unsigned)st.st_mode, (unsigned)st.st_uid, (unsigned)st.st_gid,
                                                      (uint64_t)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                                      (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, target);
                digest_add(d, line);
                if (S_ISDIR(st.st_mode))
                        r = digest_tree(root_fd, root, sub, d, depth + 1);
        }
        return r < 0 ? r : 0;
}

static int import_key_inputs(const struct build_ctx *ctx, struct cache_key *key) {
        const char *source = import_source(ctx);
        if (!source || !*source)
                return log_error_errno(-EINVAL, "rootfs: the import backend needs distribution.source "
                                                "(a directory or a .tar, .tar.gz, .tar.zst)");
        char real[PATH_MAX];
        if (!realpath(source, real))
                return log_error_errno(-errno, "rootfs: import source %s", source);
        struct stat st;
        if (stat(real, &st) < 0)
                return log_error_errno(-errno, "rootfs: import source %s", real);
        cache_key_add(key, "source", real);
        cache_key_add(key, "source_type", S_ISDIR(st.st_mode) ? "directory" : "tarball");
        cache_key_add_u64(key, "source_size", (uint64_t)st.st_size);
        cache_key_add_u64(key, "source_mtime_ns", (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec);
        if (S_ISDIR(st.st_mode) && ctx->outdir) {
                /* Artifacts written inside the tree would be imported by the
                 * next build, and the image grow with each one. */
                char out[PATH_MAX];
                size_t n = strlen(real);
                if (realpath(ctx->outdir, out) &&
                    (strcmp(real, "/") == 0 || (strncmp(out, real, n) == 0 && (out[n] == '/' || out[n] == '\0'))))
                        return log_error_errno(-EINVAL, "rootfs: the output directory %s is inside the import source %s: "
                                                        "its artifacts would be imported into the next image", out, real);
        }
        if (S_ISDIR(st.st_mode)) {
                struct tree_digest d = {};
                _cleanup_close_ int root_fd = tree_root_open(real);
                if (root_fd < 0)
                        return log_error_errno(root_fd, "rootfs: import source %s", real);
                int r = digest_tree(root_fd, real, "", &d, 0);
                if (r < 0) {
                        free(d.text);
                        return r;
                }
                char hex[65];
                sha256_hex(d.text ? d.text : "", d.len, hex);
                free(d.text);
                cache_key_add(key, "source_tree", hex);
        }
        /* The owners a tree can hold depend on the ids mapped (lib/userns.c). */
        _cleanup_free_ char *ids = userns_describe();
        cache_key_add(key, "ids", ids);
        return 0;
}

static int copy_archive_data(struct archive *in, struct archive *out) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(in, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return ARCHIVE_OK;
                if (r < ARCHIVE_OK)
                        return r;
                r = (int)archive_write_data_block(out, buf, size, offset);
                if (r < ARCHIVE_OK)
                        return r;
        }
}

/* Rejects what libarchive's SECURE flags also reject, but first and with a
 * clear message naming the entry. */
static bool entry_path_escapes(const char *p) {
        if (p[0] == '/')
                return true;
        const char *s = p;
        while (*s) {
                size_t n = strcspn(s, "/");
                if (n == 2 && s[0] == '.' && s[1] == '.')
                        return true;
                s += n;
                while (*s == '/')
                        s++;
        }
        return false;
}

/* Runs in a child whose cwd is the destination: the entries' relative
 * paths (and libarchive's SECURE checks) then resolve against it. */
static int extract_here(const char *tarball) {
        int r;

        struct archive *in = archive_read_new();
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        struct archive *out = archive_write_disk_new();
        int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
                    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
        /* Owners are kept by root, and by root of a user namespace with the
         * builder's subordinate ids; with one id mapped every chown would
         * fail, so the tree is the extracting user's. */
        if (geteuid() == 0 && userns_current() != USERNS_SINGLE)
                flags |= ARCHIVE_EXTRACT_OWNER;
        archive_write_disk_set_options(out, flags);
        archive_write_disk_set_standard_lookup(out);

        r = 0;
        if (archive_read_open_filename(in, tarball, 1 << 16) != ARCHIVE_OK) {
                r = log_error_errno(-EIO, "rootfs: could not open %s: %s", tarball, archive_error_string(in));
                goto done;
        }
        size_t n = 0;
        for (;;) {
                if (spawn_interrupted()) {
                        r = -EINTR;
                        break;
                }
                struct archive_entry *e;
                int k = archive_read_next_header(in, &e);
                if (k == ARCHIVE_EOF)
                        break;
                if (k < ARCHIVE_WARN) {
                        r = log_error_errno(-EIO, "rootfs: %s: %s", tarball, archive_error_string(in));
                        break;
                }
                const char *name = archive_entry_pathname(e);
                const char *link = archive_entry_hardlink(e);
                if (!name || entry_path_escapes(name) || (link && entry_path_escapes(link))) {
                        r = log_error_errno(-EPERM, "rootfs: refusing %s: entry '%s'%s%s would be written outside "
                                                    "the root (absolute path or '..')",
                                            tarball, name ? name : "(null)", link ? " -> " : "", link ? link : "");
                        break;
                }
                /* /dev stays empty (stage_rootfs.c); its device nodes could
                 * not be made without privilege anyway. */
                const char *rel = name;
                while (startswith(rel, "./"))
                        rel += 2;
                if (startswith(rel, "dev/") && rel[4] != '\0') {
                        (void)archive_read_data_skip(in);
                        continue;
                }
                k = archive_write_header(out, e);
                if (k < ARCHIVE_WARN) {
                        r = log_error_errno(-EIO, "rootfs: refusing %s: entry '%s': %s", tarball, name,
                                            archive_error_string(out));
                        break;
                }
                if (archive_entry_size(e) > 0) {
                        k = copy_archive_data(in, out);
                        if (k < ARCHIVE_WARN) {
                                r = log_error_errno(-EIO, "rootfs: %s: entry '%s': %s", tarball, name,
                                                    archive_error_string(out) ? archive_error_string(out)
                                                                              : archive_error_string(in));
                                break;
                        }
                }
                k = archive_write_finish_entry(out);
                if (k < ARCHIVE_WARN) {
                        r = log_error_errno(-EIO, "rootfs: %s: entry '%s': %s", tarball, name, archive_error_string(out));
                        break;
                }
                n++;
        }
        if (r == 0 && archive_write_close(out) != ARCHIVE_OK)
                r = log_error_errno(-EIO, "rootfs: %s: %s", tarball, archive_error_string(out));
        if (r == 0)
                log_info("rootfs: extracted %zu entries from %s", n, tarball);
done:
        archive_read_free(in);
        archive_write_free(out);
        return r;
}

int import_extract_tarball(const char *tarball, const char *dest) {
        char real[PATH_MAX];
        if (!realpath(tarball, real))
                return log_error_errno(-errno, "rootfs: %s", tarball);
        int r = mkdir_p(dest, 0755);
        if (r < 0)
                return log_error_errno(r, "rootfs: could not create %s", dest);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "fork");
        if (pid == 0) {
                if (chdir(dest) < 0) {
                        log_error_errno(-errno, "rootfs: %s", dest);
                        _exit(EXIT_FAILURE);
                }
                r = extract_here(real);
                _exit(r == 0 ? 0 : r == -EPERM ? 3 : r == -EINTR ? 4 : 1);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "waitpid");
        if (spawn_interrupted())
                return -EINTR;
        if (!WIFEXITED(status))
                return log_error_errno(-EIO, "rootfs: extracting %s: killed by signal %d", tarball, WTERMSIG(status));
        switch (WEXITSTATUS(status)) {
        case 0: return 0;
        case 3: return -EPERM;
        case 4: return -EINTR;
        default: return -EIO;
        }
}

static int import_install(const struct build_ctx *ctx, const char *dest) {
        const char *source = import_source(ctx);
        int kind = import_source_kind(source);
        if (kind < 0)
                return log_error_errno(kind, "rootfs: import source %s is neither a directory nor a tarball", source);
        if (kind == 0) {
                log_info("rootfs: importing directory %s", source);
                int r = copy_tree(source, dest);
                return r < 0 ? log_error_errno(r, "rootfs: could not copy %s", source) : 0;
        }
        log_info("rootfs: importing tarball %s", source);
        return import_extract_tarball(source, dest);
}

const struct rootfs_backend rootfs_backend_import = {
        .name = "import",
        .key_inputs = import_key_inputs,
        .install = import_install,
        .manifest = manifest_from_tree,
};
