/* SPDX-License-Identifier: MIT */
/* extra-trees (host directories copied into the image) and scripts
 * (post-install, finalize: programs run inside the image tree).
 *
 * Order in the configure stage (stage_configure.c): extra-trees right
 * after the accounts (so their owners may be the profile's users) and
 * before files: (a files: entry wins over a tree's file); post-install
 * after every declarative step but before prune, the initramfs and
 * generalize (so what a script adds is pruned, lands in the initramfs and
 * leaves no machine-id or logs behind); finalize last of all. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chroot_run.h"
#include "configure.h"
#include "derive.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

/* ---- owners ---- */

static bool all_digits(const char *s) {
        if (!s || !*s || strlen(s) > 10)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* A user name of the image (after the profile's users), "root", or a number. */
static int owner_uid(struct cfg *c, const char *name, uid_t *ret) {
        if (!name || strcmp(name, "root") == 0) {
                *ret = 0;
                return 0;
        }
        if (all_digits(name)) {
                *ret = (uid_t)strtoul(name, NULL, 10);
                return 0;
        }
        return accounts_user_id(c, name, ret, NULL);
}

static int owner_gid(struct cfg *c, const char *name, gid_t *ret) {
        if (!name || strcmp(name, "root") == 0) {
                *ret = 0;
                return 0;
        }
        if (all_digits(name)) {
                *ret = (gid_t)strtoul(name, NULL, 10);
                return 0;
        }
        return accounts_group_id(c, name, ret);
}

/* ---- extra-trees ---- */

int extra_trees_validate(struct cfg *c) {
        for (size_t i = 0; i < c->p->n_extra_trees; i++) {
                const struct slw_extra_tree *t = &c->p->extra_trees[i];
                int r = cfg_resolve(c, t->target, TREE_NONEXISTENT | TREE_REFUSE_ESCAPE, NULL);
                if (r < 0) {
                        cfg_error(c, t->origin_path, "target '%s' does not resolve inside the image: %s", t->target,
                                  r == -EXDEV ? "a symlink climbs above the root" : strerror(-r));
                        continue;
                }
                struct stat st;
                if (tree_stat(c->tree_fd, t->target, &st) == 0 && !S_ISDIR(st.st_mode))
                        cfg_error(c, t->origin_path, "target '%s' is not a directory in the image", t->target);
                uid_t u;
                gid_t g;
                if (owner_uid(c, t->owner, &u) < 0)
                        cfg_error(c, t->origin_path, "owner '%s' is not a user of the image", t->owner);
                if (owner_gid(c, t->group, &g) < 0)
                        cfg_error(c, t->origin_path, "group '%s' is not a group of the image", t->group);
                for (size_t j = 0; j < t->n_paths; j++) {
                        const struct slw_tree_path *tp = &t->paths[j];
                        if (tp->owner && owner_uid(c, tp->owner, &u) < 0)
                                cfg_error(c, tp->origin_path, "owner '%s' is not a user of the image", tp->owner);
                        if (tp->group && owner_gid(c, tp->group, &g) < 0)
                                cfg_error(c, tp->origin_path, "group '%s' is not a group of the image", tp->group);
                }
        }
        return 0;
}

struct tree_copy {
        struct cfg *c;
        const struct slw_extra_tree *t;
        uid_t uid;
        gid_t gid;
        struct timespec times[2];
        unsigned n_files, n_dirs, n_links, tmp_seq;
        char *digest;           /* "path type mode uid gid content\n" lines: the tree's part of the initramfs inputs */
        size_t digest_len;
};

static void digest_add(struct tree_copy *tc, const char *path, char type, mode_t mode, uid_t uid, gid_t gid, const char *content) {
        _cleanup_free_ char *line = xasprintf("%s %c %o %u %u %s\n", path, type, (unsigned)(mode & 07777), (unsigned)uid,
                                              (unsigned)gid, content ? content : "");
        size_t l = strlen(line);
        tc->digest = xrealloc(tc->digest, tc->digest_len + l + 1);
        memcpy(tc->digest + tc->digest_len, line, l + 1);
        tc->digest_len += l;
}

/* The owner and mode of image path PATH: paths[] overrides, else the
 * tree's owner and *MODE as given (the source's bits). */
static void path_attrs(struct tree_copy *tc, const char *path, uid_t *uid, gid_t *gid, mode_t *mode, bool *named) {
        *uid = tc->uid;
        *gid = tc->gid;
        *named = false;
        for (size_t j = 0; j < tc->t->n_paths; j++) {
                const struct slw_tree_path *tp = &tc->t->paths[j];
                if (strcmp(tp->path, path) != 0)
                        continue;
                *named = true;
                if (tp->owner)
                        (void)owner_uid(tc->c, tp->owner, uid);
                if (tp->group)
                        (void)owner_gid(tc->c, tp->group, gid);
                if (tp->has_mode)
                        *mode = tp->mode;
        }
}

static char *tmp_name(struct tree_copy *tc) {
        return xasprintf(".slipway-tree-%d-%u", (int)getpid(), tc->tmp_seq++);
}

static int copy_data(int in, int out) {
        char buf[65536];
        for (;;) {
                ssize_t k = read(in, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return 0;
                for (ssize_t off = 0; off < k;) {
                        ssize_t w = write(out, buf + off, (size_t)(k - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
}

/* A regular file or a symlink NAME of source directory SFD into image
 * directory DFD (opened inside the tree) as PATH: made under a temporary
 * name, owned, timed, then renamed over whatever is there (a symlink
 * there is replaced, not followed). */
static int copy_leaf(struct tree_copy *tc, int sfd, int dfd, const char *name, const char *path, const struct stat *sst) {
        _cleanup_free_ char *tmp = tmp_name(tc);
        uid_t uid;
        gid_t gid;
        mode_t mode = sst->st_mode & 07777;
        bool named;
        path_attrs(tc, path, &uid, &gid, &mode, &named);
        struct stat dst;
        if (fstatat(dfd, name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst.st_mode))
                return log_error_errno(-EISDIR, "extra tree %s: %s is a directory in the image, the tree has a %s there",
                                       tc->t->source, path, S_ISLNK(sst->st_mode) ? "symlink" : "file");
        int r = 0;
        if (S_ISLNK(sst->st_mode)) {
                _cleanup_free_ char *target = NULL;
                size_t cap = 256;
                for (;;) {
                        target = xrealloc(target, cap);
                        ssize_t k = readlinkat(sfd, name, target, cap);
                        if (k < 0)
                                return log_error_errno(-errno, "extra tree %s: reading the symlink %s", tc->t->source, path);
                        if ((size_t)k < cap) {
                                target[k] = '\0';
                                break;
                        }
                        cap *= 2;
                }
                if (symlinkat(target, dfd, tmp) < 0)
                        return log_error_errno(-errno, "extra tree: symlink %s in the image", path);
                if (fchownat(dfd, tmp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
                    utimensat(dfd, tmp, tc->times, AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
                digest_add(tc, path, 'l', 0777, uid, gid, target);
                tc->n_links++;
        } else {
                _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (in < 0)
                        return log_error_errno(-errno, "extra tree %s: opening %s", tc->t->source, path);
                _cleanup_close_ int out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return log_error_errno(-errno, "extra tree: creating %s in the image", path);
                char sum[65] = "";
                if ((r = copy_data(in, out)) < 0 || fchown(out, uid, gid) < 0 || fchmod(out, mode) < 0 ||
                    futimens(out, tc->times) < 0)
                        r = r < 0 ? r : -errno;
                if (r == 0 && (lseek(in, 0, SEEK_SET) < 0 || sha256_fd_hex(in, sum) < 0))
                        r = -EIO;
                digest_add(tc, path, 'f', mode, uid, gid, sum);
                tc->n_files++;
        }
        if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void)unlinkat(dfd, tmp, 0);
                return log_error_errno(r, "extra tree %s: writing %s in the image (owner %u:%u)", tc->t->source, path,
                                       (unsigned)uid, (unsigned)gid);
        }
        return 0;
}

/* Copies the contents of source directory SFD into the image directory
 * PATH (which exists); DFD is PATH opened inside the tree. */
static int copy_dir(struct tree_copy *tc, int sfd, int dfd, const char *path, unsigned depth) {
        if (depth > 256)
                return log_error_errno(-ELOOP, "extra tree %s: nested too deep at %s", tc->t->source, path);
        _cleanup_strv_free_ char **names = NULL;
        int r = tree_dir_entries_sorted(sfd, ".", &names);
        if (r < 0)
                return log_error_errno(r, "extra tree %s: reading %s", tc->t->source, path);
        for (char **n = names; n && *n; n++) {
                if (spawn_interrupted())
                        return -EINTR;
                _cleanup_free_ char *sub = xasprintf("%s/%s", strcmp(path, "/") == 0 ? "" : path, *n);
                struct stat st;
                if (fstatat(sfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(-errno, "extra tree %s: %s", tc->t->source, sub);
                if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
                        if ((r = copy_leaf(tc, sfd, dfd, *n, sub, &st)) < 0)
                                return r;
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(-EINVAL, "extra tree %s: %s is a special file (a tree holds directories, "
                                               "regular files and symlinks)", tc->t->source, sub);
                _cleanup_close_ int s2 = openat(sfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (s2 < 0)
                        return log_error_errno(-errno, "extra tree %s: opening %s", tc->t->source, sub);
                uid_t uid;
                gid_t gid;
                mode_t mode = st.st_mode & 07777;
                bool named;
                path_attrs(tc, sub, &uid, &gid, &mode, &named);
                /* a directory of the image on the way is kept as it is
                 * (a symlink to one, such as /lib on a merged-/usr image,
                 * is followed inside the tree); a new one gets the
                 * source's mode and the tree's owner */
                bool created = false;
                _cleanup_close_ int d2 = tree_open(tc->c->tree_fd, sub, O_RDONLY | O_DIRECTORY, 0);
                if (d2 == -ENOENT) {
                        if (mkdirat(dfd, *n, 0700) < 0)
                                return log_error_errno(-errno, "extra tree: creating %s in the image", sub);
                        d2 = openat(dfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (d2 < 0)
                                d2 = -errno;
                        created = true;
                }
                if (d2 == -ENOTDIR || d2 == -ELOOP)
                        return log_error_errno(-ENOTDIR, "extra tree %s: %s is not a directory in the image", tc->t->source, sub);
                if (d2 < 0)
                        return log_error_errno(d2, "extra tree: opening %s in the image", sub);
                if ((created || named) && (fchown(d2, uid, gid) < 0 || fchmod(d2, mode) < 0))
                        return log_error_errno(-errno, "extra tree: owner or mode of %s in the image", sub);
                digest_add(tc, sub, 'd', created || named ? mode : 0, uid, gid, created || named ? "set" : "kept");
                tc->n_dirs++;
                if ((r = copy_dir(tc, s2, d2, sub, depth + 1)) < 0)
                        return r;
                if (created && futimens(d2, tc->times) < 0)
                        return log_error_errno(-errno, "extra tree: times of %s in the image", sub);
        }
        return 0;
}

int extra_trees_apply(struct cfg *c) {
        for (size_t i = 0; i < c->p->n_extra_trees; i++) {
                const struct slw_extra_tree *t = &c->p->extra_trees[i];
                struct tree_copy tc = { .c = c, .t = t };
                tc.times[0].tv_sec = tc.times[1].tv_sec = (time_t)c->ctx->epoch;
                int r;
                if (owner_uid(c, t->owner, &tc.uid) < 0 || owner_gid(c, t->group, &tc.gid) < 0)
                        return cfg_error(c, t->origin_path, "owner %s:%s is not in the image", t->owner, t->group);
                if (strcmp(t->target, "/") != 0 && (r = cfg_mkdir(c, t->target, 0755)) < 0)
                        return r;
                _cleanup_close_ int sfd = open(t->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sfd < 0)
                        return log_error_errno(-errno, "extra tree %s", t->source);
                _cleanup_close_ int dfd = tree_open(c->tree_fd, t->target, O_RDONLY | O_DIRECTORY, 0);
                if (dfd < 0)
                        return log_error_errno(dfd, "extra tree %s: opening the target %s in the image", t->source, t->target);
                /* paths[] may name the target itself */
                uid_t uid;
                gid_t gid;
                mode_t mode = 0755;
                bool named;
                path_attrs(&tc, t->target, &uid, &gid, &mode, &named);
                if (named && (fchown(dfd, uid, gid) < 0 || fchmod(dfd, mode) < 0))
                        return log_error_errno(-errno, "extra tree: owner or mode of %s in the image", t->target);
                r = copy_dir(&tc, sfd, dfd, t->target, 0);
                if (r < 0) {
                        free(tc.digest);
                        return r;
                }
                char sum[65];
                sha256_hex(tc.digest ? tc.digest : "", tc.digest_len, sum);
                cfg_inputs_add(c, t->origin_path, sum);
                free(tc.digest);
                _cleanup_free_ char *what = xasprintf("copied extra tree %s (%u files, %u symlinks, %u directories; sha256 %.12s)",
                                                      t->source, tc.n_files, tc.n_links, tc.n_dirs, sum);
                log_info("configure: %s into %s", what, t->target);
                cfg_change(c, what, t->target, t->origin_path);
        }
        return 0;
}

/* ---- scripts ---- */

static const char *base_name(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

/* The #! interpreter of a script, or NULL (an executable of another kind). */
static char *interpreter_of(const char *data, size_t len) {
        if (len < 3 || data[0] != '#' || data[1] != '!')
                return NULL;
        size_t i = 2;
        while (i < len && (data[i] == ' ' || data[i] == '\t'))
                i++;
        size_t start = i;
        while (i < len && data[i] != ' ' && data[i] != '\t' && data[i] != '\n')
                i++;
        return i > start ? xstrndup(data + start, i - start) : NULL;
}

/* A script's file is at most this big (it is read whole). */
#define SCRIPT_MAX (16 * MiB)

static int read_script(const struct slw_script *s, char **ret, size_t *ret_len) {
        struct stat st;
        if (stat(s->source, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((uint64_t)st.st_size > SCRIPT_MAX)
                return -EFBIG;
        return read_file(s->source, ret, ret_len);
}

static void validate_list(struct cfg *c, const struct slw_script *v, size_t n) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *data = NULL, *interp = NULL;
                size_t len;
                int r = read_script(&v[i], &data, &len);
                if (r < 0) {
                        cfg_error(c, v[i].origin_path, "cannot read the script %s: %s", v[i].source, strerror(-r));
                        continue;
                }
                interp = interpreter_of(data, len);
                if (interp && (interp[0] != '/' || !tree_exists(c->tree_fd, interp)))
                        cfg_error(c, v[i].origin_path, "%s: its interpreter %s is not in the image (the script runs inside it)",
                                  base_name(v[i].source), interp);
                if (geteuid() != 0)
                        cfg_error(c, v[i].origin_path, "%s: running a script inside the image needs root or a rootless "
                                  "build's user namespace", base_name(v[i].source));
        }
}

int scripts_validate(struct cfg *c) {
        validate_list(c, c->p->post_install, c->p->n_post_install);
        validate_list(c, c->p->finalize, c->p->n_finalize);
        /* What a post-install script does is part of what the initramfs is
         * made from: its content and settings go into the initramfs inputs
         * (configure_kernel.c).  Finalize runs after the initramfs. */
        for (size_t i = 0; i < c->p->n_post_install; i++) {
                const struct slw_script *s = &c->p->post_install[i];
                _cleanup_free_ char *data = NULL;
                size_t len;
                if (read_script(s, &data, &len) < 0)
                        continue;
                char sum[65];
                sha256_hex(data, len, sum);
                _cleanup_free_ char *v = xasprintf("%s network=%d", sum, s->network);
                cfg_inputs_add(c, s->origin_path, v);
        }
        return 0;
}

struct script_log {
        const char *prefix;
        unsigned lines;
};

static void script_line(const char *line, void *userdata) {
        struct script_log *sl = userdata;
        sl->lines++;
        log_info("%s: %s", sl->prefix, line);
}

/* Where the script is put in the image while it runs; removed after. */
#define SCRIPT_DIR "/.slipway-scripts"

static int run_one(struct cfg *c, const struct slw_script *s, const char *stage) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_script(s, &data, &len);
        if (r < 0)
                return log_error_errno(r, "%s: reading the script %s", s->origin_path, s->source);
        const char *name = base_name(s->source);
        _cleanup_free_ char *in_image = xasprintf(SCRIPT_DIR "/%s", name);
        if ((r = cfg_remove(c, SCRIPT_DIR, true)) < 0 || (r = cfg_mkdir(c, SCRIPT_DIR, 0700)) < 0 ||
            (r = cfg_write_file(c, in_image, data, len, 0755, 0, 0)) < 0)
                return r;

        const struct slw_profile *p = c->p;
        _cleanup_free_ char *sde = xasprintf("SOURCE_DATE_EPOCH=%llu", (unsigned long long)c->ctx->epoch),
                            *n1 = xasprintf("SLIPWAY_IMAGE_NAME=%s", p->name ? p->name : ""),
                            *v1 = xasprintf("SLIPWAY_IMAGE_VERSION=%s", p->version ? p->version : ""),
                            *n2 = xasprintf("IMAGE_ID=%s", p->name ? p->name : ""),
                            *v2 = xasprintf("IMAGE_VERSION=%s", p->version ? p->version : ""),
                            *st = xasprintf("SLIPWAY_SCRIPT=%s", stage),
                            *prefix = xasprintf("%s (%s)", s->origin_path, name);
        char *env[] = { sde, n1, v1, n2, v2, st, NULL };
        char *argv[] = { in_image, NULL };
        struct script_log sl = { .prefix = prefix };
        int status = -1;
        char sum[65];
        sha256_hex(data, len, sum);
        log_info("configure: running %s %s inside the image (%s)", stage, name,
                 s->network ? "with the host's network" : "no network");
        uint64_t t0 = now_usec();
        r = chroot_run(c->tree, argv, &(struct chroot_run_opts){
                .env = env, .private_network = !s->network, .output_line = script_line, .userdata = &sl, .ret_status = &status });
        int k = cfg_remove(c, SCRIPT_DIR, true);
        if (r == -EINTR)
                return r;
        if (r < 0)
                return log_error_errno(r, "%s: could not run %s inside the image", prefix, name);
        if (status != 0) {
                char buf[512];
                log_error("%s: %s exited with status %d%s", origin_format(profile_origin(p, s->origin_path), buf, sizeof(buf)),
                          prefix, status, sl.lines ? " (its output is above)" : " (no output)");
                return -EIO;
        }
        if (k < 0)
                return k;
        log_info("configure: %s %s done in %.1f s", stage, name, (double)(now_usec() - t0) / 1e6);
        _cleanup_free_ char *what = xasprintf("ran %s script %s (sha256 %.12s%s)", stage, name, sum,
                                              s->network ? ", host network" : "");
        cfg_change(c, what, "/", s->origin_path);
        return 0;
}

int scripts_run(struct cfg *c, bool finalize) {
        const struct slw_script *v = finalize ? c->p->finalize : c->p->post_install;
        size_t n = finalize ? c->p->n_finalize : c->p->n_post_install;
        for (size_t i = 0; i < n; i++) {
                int r = run_one(c, &v[i], finalize ? "finalize" : "post-install");
                if (r < 0)
                        return r;
        }
        return 0;
}
