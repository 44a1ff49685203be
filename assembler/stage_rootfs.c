/* SPDX-License-Identifier: MIT */
/* The rootfs stage: install (or take from the cache) the root filesystem
 * and write its package manifest.
 *
 * Cache entries are <cache>/rootfs/<key>/{tree,packages.json,entry.json};
 * see lib/cache.h.  The key is the SHA-256 of the backend's inputs (see each
 * backend's key_inputs) plus the backend name and the cache format version. */
#include "rootfs.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

const struct rootfs_backend *rootfs_backend_for(enum slw_backend b) {
        switch (b) {
        case BACKEND_APT:
                return &rootfs_backend_apt;
        case BACKEND_DNF:
                return &rootfs_backend_dnf;
        case BACKEND_IMPORT:
                return &rootfs_backend_import;
        }
        return NULL;
}

char *rootfs_cache_dir(const struct build_ctx *ctx) {
        return ctx->cache_dir && *ctx->cache_dir ? xstrdup(ctx->cache_dir) : cache_default_dir();
}

static bool entry_complete(const char *entry) {
        _cleanup_free_ char *tree = path_join(entry, "tree");
        _cleanup_free_ char *manifest = path_join(entry, "packages.json");
        struct stat st;
        return stat(tree, &st) == 0 && S_ISDIR(st.st_mode) && access(manifest, F_OK) == 0;
}

static int write_entry_json(const char *path, const struct build_ctx *ctx, const struct rootfs_backend *be,
                            const char *key_hex, const struct cache_key *key, size_t n_packages) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "key", json_object_new_string(key_hex));
        json_object_object_add(o, "backend", json_object_new_string(be->name));
        const char *release = ctx->profile->distribution.release;
        json_object_object_add(o, "release", release ? json_object_new_string(release) : NULL);
        json_object_object_add(o, "packages", json_object_new_int64((int64_t)n_packages));
        json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
        json_object_object_add(o, "inputs", json_object_new_string(key->text ? key->text : ""));
        int r = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        json_object_put(o);
        return r < 0 ? -EIO : 0;
}

/* The image's /dev is a mount point: the kernel's devtmpfs at boot (the
 * initramfs moves its own onto it), and container runtimes and WSL bring
 * theirs.  What a package manager left there (mmdebstrap's root mode makes
 * device nodes, no rootless mode can) would only make the tree depend on who
 * built it, so every backend's tree gets an empty /dev.
 *
 * Through the tree's resolver, never a host path: an imported tree's
 * "dev -> /some/host/dir" would otherwise have this empty the host's
 * directory.  The removal below never follows a symlink and never leaves
 * /dev's filesystem. */
static int empty_dev(const char *tree) {
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "rootfs: cannot open the tree %s", tree);
        _cleanup_close_ int fd = tree_open(root_fd, "/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd == -ELOOP || fd == -ENOTDIR) {
                /* A symlink or a file where the mount point must be: the
                 * image gets the empty directory instead. */
                struct stat st;
                bool link = tree_lstat(root_fd, "/dev", &st) == 0 && S_ISLNK(st.st_mode);
                log_warning("rootfs: the tree's /dev is %s, not a directory: replaced by an empty directory",
                            link ? "a symlink" : "a file");
                int r = tree_remove(root_fd, "/dev", 0);
                if (r >= 0)
                        r = tree_mkdir_p(root_fd, "/dev", 0755);
                if (r < 0)
                        return log_error_errno(r, "rootfs: could not replace %s/dev by a directory", tree);
                return 0;
        }
        if (fd < 0)
                return log_error_errno(fd, "rootfs: %s/dev", tree);
        /* Something mounted on it (a bind mount of the host's /dev that a
         * killed install left) is not the tree's to empty. */
        struct stat root_st, dev_st;
        if (fstat(root_fd, &root_st) < 0 || fstat(fd, &dev_st) < 0)
                return log_error_errno(-errno, "rootfs: %s/dev", tree);
        if (root_st.st_dev != dev_st.st_dev)
                return log_error_errno(-EBUSY, "rootfs: %s/dev is a mount point (umount it first)", tree);
        unsigned n = 0;
        int r = tree_remove_contents(fd, &n);
        if (r < 0)
                return log_error_errno(r, "rootfs: could not empty %s/dev", tree);
        if (n > 0)
                log_debug("rootfs: removed %u entr%s from /dev", n, n == 1 ? "y" : "ies");
        return 0;
}

/* Less free space than this after a failed install: the filesystem was
 * full (ENOSPC), whatever the tool said. */
#define CACHE_FULL_BYTES (UINT64_C(16) << 20)

/* Installs a new cache entry at <rootfs_dir>/<key> by way of a .tmp-* dir. */
static int populate_entry(const struct build_ctx *ctx, const struct rootfs_backend *be, const char *rootfs_dir,
                          const char *key_hex, const struct cache_key *key, const char *entry) {
        _cleanup_free_ char *tmp_name = xasprintf(".tmp-%s-%d", key_hex, (int)getpid());
        _cleanup_free_ char *tmp = path_join(rootfs_dir, tmp_name);
        _cleanup_free_ char *tree = path_join(tmp, "tree");
        _cleanup_free_ char *manifest = path_join(tmp, "packages.json");
        _cleanup_free_ char *meta = path_join(tmp, "entry.json");
        struct pkg_list pkgs = {};
        int r;

        (void)rm_rf_unmounted(tmp);
        if (mkdir(tmp, 0755) < 0)
                return log_error_errno(-errno, "rootfs: could not create %s", tmp);

        uint64_t t0 = now_usec();
        r = be->install(ctx, tree);
        if (r < 0)
                goto fail;
        if (spawn_interrupted()) {
                r = -EINTR;
                goto fail;
        }
        log_info("rootfs: %s install took %.1f s", be->name, (double)(now_usec() - t0) / 1e6);
        r = empty_dev(tree);
        if (r < 0)
                goto fail;

        r = be->manifest(tree, &pkgs);
        if (r < 0)
                goto fail;
        r = manifest_write_json(manifest, be->name, &pkgs);
        if (r < 0)
                goto fail;
        r = write_entry_json(meta, ctx, be, key_hex, key, pkgs.n);
        if (r < 0) {
                log_error_errno(r, "rootfs: could not write %s", meta);
                goto fail;
        }
        pkg_list_free(&pkgs);

        if (rename(tmp, entry) < 0) {
                r = -errno;
                /* Another build of the same inputs won the race: use its entry. */
                if ((r == -ENOTEMPTY || r == -EEXIST) && entry_complete(entry)) {
                        log_info("rootfs: a concurrent build created the same entry; using it");
                        (void)rm_rf_unmounted(tmp);
                        return 0;
                }
                log_error_errno(r, "rootfs: could not rename %s to %s", tmp, entry);
                goto fail;
        }
        return 0;

fail:
        pkg_list_free(&pkgs);
        /* A tool that ran out of space says so in its own words, if at
         * all; the filesystem tells for sure, before the partial tree is
         * removed. */
        struct statvfs sv;
        if (r != -EINTR && statvfs(tmp, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < CACHE_FULL_BYTES)
                r = -ENOSPC;
        int k = rm_rf_unmounted(tmp);
        if (k < 0)
                log_warning_errno(k, "rootfs: could not remove %s", tmp);
        return r;
}

/* Builds of the same inputs at once (parallel CI jobs, a test suite) install
 * the entry once: the first takes <cache>/locks/rootfs-KEY.lock, the others
 * wait for it here and then find the entry complete.  Without the lock both
 * would install and one rename would lose.  The lock dies with its holder;
 * a signal interrupts the wait (no SA_RESTART). */
static int lock_install(const char *cache, const char *key_hex, int *ret_fd) {
        _cleanup_free_ char *dir = path_join(cache, "locks");
        _cleanup_free_ char *name = xasprintf("rootfs-%s.lock", key_hex);
        _cleanup_free_ char *path = path_join(dir, name);
        int r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "rootfs: could not create %s", dir);
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "rootfs: could not open %s", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return log_error_errno(-errno, "rootfs: could not lock %s", path);
                log_info("rootfs: another build is installing %.12s; waiting for it", key_hex);
                uint64_t t0 = now_usec();
                while (flock(fd, LOCK_EX) < 0) {
                        if (errno != EINTR || spawn_interrupted())
                                return errno == EINTR ? log_error_errno(-EINTR, "rootfs: interrupted") :
                                                        log_error_errno(-errno, "rootfs: could not lock %s", path);
                }
                log_info("rootfs: waited %.1f s for the concurrent install", (double)(now_usec() - t0) / 1e6);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The entry installed into the work directory instead of the cache (which
 * cannot be written, or is full); *entry becomes its path. */
static int populate_uncached(const struct build_ctx *ctx, const struct rootfs_backend *be, const char *key_hex,
                             const struct cache_key *key, char **entry) {
        free(*entry);
        *entry = path_join(ctx->workdir, "rootfs-uncached");
        return populate_entry(ctx, be, ctx->workdir, key_hex, key, *entry);
}

static void record_cache(struct build_ctx *ctx, const char *backend, bool hit, const char *key_hex) {
        if (!ctx->build_json)
                return;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "backend", json_object_new_string(backend));
        json_object_object_add(o, "cache", json_object_new_string(hit ? "hit" : "miss"));
        json_object_object_add(o, "key", json_object_new_string(key_hex));
        json_object_object_add(ctx->build_json, "rootfs", o);
}

static int copy_file(const char *src, const char *dst) {
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        int r = read_file(src, &data, &len);
        if (r < 0)
                return log_error_errno(r, "could not read %s", src);
        r = write_file(dst, data, len, 0644);
        if (r < 0)
                return log_error_errno(r, "could not write %s", dst);
        return 0;
}

int stage_rootfs(struct build_ctx *ctx) {
        const struct rootfs_backend *be = rootfs_backend_for(ctx->profile->distribution.backend);
        if (!be)
                return log_error_errno(-EINVAL, "rootfs: unknown backend %d", (int)ctx->profile->distribution.backend);
        if (!ctx->workdir)
                return log_error_errno(-EINVAL, "rootfs: no work directory");

        _cleanup_free_ char *cache = rootfs_cache_dir(ctx);
        _cleanup_free_ char *rootfs_dir = path_join(cache, "rootfs");
        /* A cache that cannot be written (a read-only mount shared by CI
         * runners, say) still gives hits; a miss is then installed into the
         * work directory and the build says it runs uncached. */
        int r = mkdir_p(rootfs_dir, 0755);
        if (r == 0 && access(rootfs_dir, W_OK) < 0)
                r = -errno;
        bool writable = r == 0;
        int cache_err = r;
        if (r < 0 && r != -EROFS && r != -EACCES && r != -EPERM)
                return log_error_errno(r, "rootfs: could not create the cache directory %s", rootfs_dir);
        if (writable) {
                r = cache_remove_stale_tmp(rootfs_dir, false);
                if (r > 0)
                        log_info("rootfs: removed %d unfinished cache entr%s of interrupted builds", r, r == 1 ? "y" : "ies");
        }

        struct cache_key key = {};
        cache_key_add(&key, "format", CACHE_FORMAT_VERSION);
        cache_key_add(&key, "backend", be->name);
        r = be->key_inputs(ctx, &key);
        if (r < 0) {
                cache_key_done(&key);
                return r;
        }
        char key_hex[65];
        cache_key_hex(&key, key_hex);
        log_debug("rootfs: cache key inputs:\n%s", key.text);
        _cleanup_free_ char *entry = path_join(rootfs_dir, key_hex);

        bool hit = entry_complete(entry);
        _cleanup_close_ int install_lock = -1;
        if (hit)
                log_info("rootfs: cache hit %.12s", key_hex);
        else if (!writable) {
                log_warning("rootfs: cache miss %.12s, and %s cannot be written (%s): installing with %s uncached, "
                            "into the work directory", key_hex, rootfs_dir, strerror(-cache_err), be->name);
                r = populate_uncached(ctx, be, key_hex, &key, &entry);
        } else {
                r = lock_install(cache, key_hex, &install_lock);
                if (r < 0) {
                        cache_key_done(&key);
                        return r;
                }
                hit = entry_complete(entry);
        }
        if (hit && install_lock >= 0)
                log_info("rootfs: cache hit %.12s, installed by the concurrent build it waited for", key_hex);
        else if (writable && !hit) {
                log_info("rootfs: cache miss %.12s: installing with %s", key_hex, be->name);
                if (access(entry, F_OK) == 0) {
                        /* An incomplete entry cannot come from us (rename is
                         * atomic); do not trust it. */
                        log_warning("rootfs: removing incomplete cache entry %s", entry);
                        (void)rm_rf_unmounted(entry);
                }
                r = populate_entry(ctx, be, rootfs_dir, key_hex, &key, entry);
                if (r == -ENOSPC) {
                        /* Nothing of the attempt is left in the cache. */
                        log_warning("rootfs: the cache filesystem of %s is full: installing with %s again, uncached, "
                                    "into the work directory", rootfs_dir, be->name);
                        r = populate_uncached(ctx, be, key_hex, &key, &entry);
                        if (r == -ENOSPC)
                                log_error("rootfs: no space left in the work directory %s either", ctx->workdir);
                }
        }
        cache_key_done(&key);
        /* The entry is complete (or failed): builds waiting for it go on. */
        if (install_lock >= 0) {
                close(install_lock);
                install_lock = -1;
        }
        if (r < 0)
                return r;

        _cleanup_free_ char *src_tree = path_join(entry, "tree");
        _cleanup_free_ char *src_manifest = path_join(entry, "packages.json");
        _cleanup_free_ char *tree = path_join(ctx->workdir, "tree");
        _cleanup_free_ char *manifest = path_join(ctx->workdir, "packages.json");
        (void)rm_rf_unmounted(tree);
        uint64_t t0 = now_usec();
        /* The stages after this one change a few files of a tree of
         * thousands: an overlay on the cached tree spares copying it here
         * and removing it at the end (5 s of a 10 s warm build).  Without
         * a private mount namespace, or where overlayfs cannot be mounted,
         * the tree is copied. */
        r = -EPERM;
        if (ctx->private_mounts && !getenv("SLIPWAY_TREE_COPY")) {
                _cleanup_free_ char *scratch = path_join(ctx->workdir, "tree-upper");
                if (mkdir(scratch, 0755) < 0)
                        return log_error_errno(-errno, "rootfs: create %s", scratch);
                r = tree_overlay_mount(src_tree, scratch, tree);
                if (r < 0) {
                        log_debug("rootfs: no overlay on the cached tree (%s); copying it", strerror(-r));
                        (void)rmdir(tree);
                } else {
                        ctx->tree_is_overlay = true;
                        log_info("rootfs: the cached tree under an overlay, nothing copied");
                }
        }
        if (r < 0) {
                r = copy_tree(src_tree, tree);
                if (r < 0) {
                        (void)rm_rf_unmounted(tree);
                        return log_error_errno(r, "rootfs: could not copy the cached tree to %s", tree);
                }
                log_info("rootfs: copied the tree in %.1f s", (double)(now_usec() - t0) / 1e6);
        }
        r = copy_file(src_manifest, manifest);
        if (r < 0)
                return r;

        free(ctx->tree);
        ctx->tree = TAKE_PTR(tree);
        record_cache(ctx, be->name, hit, key_hex);
        return 0;
}
