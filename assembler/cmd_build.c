/* SPDX-License-Identifier: MIT */
/* slipway build: runs the stages over one profile.
 *
 * Everything a build writes goes into a work directory inside the output
 * directory (<outdir>/.slipway-<name>-XXXXXX): the tree, the raw disk, the
 * exports, the reports.  Only when every stage succeeded are the artifacts
 * rename()d to their final names (same filesystem, so atomic); on failure or
 * Ctrl-C the work directory is removed and no final name ever points at a
 * half-written file. */
#include "build.h"
#include "cache.h"
#include "commands.h"
#include "sshkey.h"
#include "log.h"
#include "spawn.h"
#include "userns.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <fcntl.h>
#include <time.h>

static int parse_outputs(const char *list, bool out[_OUT_MAX]) {
        _cleanup_free_ char *copy = xstrdup(list);
        char *save = NULL;
        memset(out, 0, sizeof(bool) * _OUT_MAX);
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                int found = -1;
                for (int o = 0; o < _OUT_MAX; o++)
                        if (strcmp(t, output_name(o)) == 0)
                                found = o;
                if (found < 0) {
                        log_error("--output: unknown format '%s' (expected raw, vhd, vhd-dynamic, qcow2, iso or tar)", t);
                        return -EINVAL;
                }
                out[found] = true;
        }
        /* "--output ''" or "--output ,": a build that makes no image is a
         * mistake, not a success */
        bool any = false;
        for (int o = 0; o < _OUT_MAX; o++)
                any |= out[o];
        if (!any) {
                log_error("--output: no format named (expected a list of raw, vhd, vhd-dynamic, qcow2, iso or tar)");
                return -EINVAL;
        }
        return 0;
}

static int parse_epoch(uint64_t *ret) {
        const char *s = getenv("SOURCE_DATE_EPOCH");
        if (!s || !*s) {
                *ret = (uint64_t)time(NULL);
                return 0;
        }
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || !end || *end || *s == '-') {
                log_error("SOURCE_DATE_EPOCH must be a number of seconds, got '%s'", s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* The artifacts of a build land together or not at all: images,
 * SHA256SUMS, build.json and the SBOM must describe one build.  Anything in
 * the way that a rename cannot replace (a directory) is found before the
 * first rename; the old artifacts are moved aside into the work directory
 * and come back if a rename fails half-way.  (The set is not atomic for a
 * reader who looks in between: rename(2) is per file.) */
static int finalize_artifacts(struct build_ctx *ctx) {
        size_t n = strv_length(ctx->artifacts);
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (lstat(ctx->artifact_finals[i], &st) == 0 && S_ISDIR(st.st_mode))
                        return log_error_errno(-EISDIR, "cannot replace %s, a directory: no artifact of this build was written",
                                               ctx->artifact_finals[i]);
        }
        /* aside[i]: where the previous artifact i went, NULL where there was none */
        char **aside = xcalloc(n + 1, sizeof(char *));
        size_t done = 0;
        int r = 0;
        for (; done < n; done++) {
                const char *tmp = ctx->artifacts[done], *final = ctx->artifact_finals[done];
                _cleanup_free_ char *name = xasprintf(".replaced-%zu", done);
                _cleanup_free_ char *old = path_join(ctx->workdir, name);
                if (rename(final, old) == 0)
                        aside[done] = TAKE_PTR(old);
                else if (errno != ENOENT) {
                        r = log_error_errno(-errno, "move the previous %s aside", final);
                        break;
                }
                if (rename(tmp, final) < 0) {
                        r = log_error_errno(-errno, "rename %s to %s", tmp, final);
                        if (aside[done] && rename(aside[done], final) < 0)
                                log_warning_errno(-errno, "could not put the previous %s back", final);
                        break;
                }
        }
        if (r < 0) {
                /* undo: this build's artifacts back into the work directory
                 * (removed with it), the previous ones back in place */
                while (done-- > 0) {
                        if (rename(ctx->artifact_finals[done], ctx->artifacts[done]) < 0)
                                log_warning_errno(-errno, "could not take back %s", ctx->artifact_finals[done]);
                        else if (aside[done] && rename(aside[done], ctx->artifact_finals[done]) < 0)
                                log_warning_errno(-errno, "could not put the previous %s back", ctx->artifact_finals[done]);
                }
                log_error("the build's artifacts were not written; the previous ones in %s are as they were", ctx->outdir);
        } else
                for (size_t i = 0; i < n; i++)
                        log_info("wrote %s", ctx->artifact_finals[i]);
        for (size_t i = 0; i < n; i++)
                free(aside[i]);
        free(aside);
        return r;
}

/* build.json, once every stage that ran has its time in it. */
static int write_build_json(struct build_ctx *ctx) {
        const char *json = json_object_to_json_string_ext(ctx->build_json, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        _cleanup_free_ char *text = xasprintf("%s\n", json);
        return build_add_report(ctx, "build.json", text);
}

static const struct {
        const char *name;
        int (*run)(struct build_ctx *ctx);
} stages[] = {
        { "resolve", stage_resolve },
        { "rootfs", stage_rootfs },
        { "configure", stage_configure },
        { "disk", stage_disk },
        { "bootloader", stage_bootloader },
        { "export", stage_export },
        { "report", stage_report },
        { "verify", stage_verify },
};

static int run_stages(struct build_ctx *ctx) {
        struct json_object *timings = json_object_new_object();
        json_object_object_add(ctx->build_json, "stages", timings);
        for (size_t i = 0; i < ELEMENTSOF(stages); i++) {
                if (spawn_interrupted())
                        return -EINTR;
                progress_stage(stages[i].name);
                uint64_t t0 = now_usec();
                int r = stages[i].run(ctx);
                double secs = (double)(now_usec() - t0) / 1e6;
                json_object_object_add(timings, stages[i].name, json_object_new_double(secs));
                if (r < 0) {
                        if (r == -EINTR || spawn_interrupted())
                                return -EINTR;
                        log_error("stage %s failed after %.1f s", stages[i].name, secs);
                        return r;
                }
                log_info("stage %-10s %6.1f s", stages[i].name, secs);
        }
        return 0;
}

/* --ssh-key FILE: one public key, for root's authorized_keys (after the
 * profile's own keys for root, if any): what `slipway qemu --ssh-port`
 * and `ssh root@` need.  Refused before anything runs: a private key, a
 * file that is not one OpenSSH public key. */
static int add_ssh_key(struct slw_profile *p, const char *file) {
        struct stat st;
        if (stat(file, &st) < 0)
                return log_error_errno(-errno, "--ssh-key %s", file);
        if (!S_ISREG(st.st_mode) || st.st_size > 64 * 1024)
                return log_error_errno(-EINVAL, "--ssh-key %s: expected a public key file (like ~/.ssh/id_ed25519.pub)", file);
        _cleanup_free_ char *text = NULL, *line = NULL;
        int r = read_file(file, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "--ssh-key %s", file);
        const char *problem = NULL;
        if (ssh_public_key_parse(text, &line, &problem) < 0) {
                log_error("--ssh-key %s: %s", file, problem);
                return -EINVAL;
        }
        struct slw_user *root = NULL;
        for (size_t i = 0; i < p->n_users && !root; i++)
                if (p->users[i].name && strcmp(p->users[i].name, "root") == 0)
                        root = &p->users[i];
        if (!root) {
                p->users = xrealloc(p->users, (p->n_users + 1) * sizeof(*p->users));
                root = &p->users[p->n_users++];
                *root = (struct slw_user){ .name = xstrdup("root"), .uid = -1, .gid = -1, .origin_path = xstrdup("--ssh-key") };
        }
        strv_push(&root->ssh_authorized_keys, line);
        log_info("--ssh-key: %.*s... for root", (int)MIN(strcspn(line, " "), (size_t)40), line);
        if (p->generalize)
                log_warning("--ssh-key: generalize is on, yet every machine made from this image lets this key in as root");
        return 0;
}

static void usage_error(const char *msg) {
        fprintf(stderr, "slipway build: %s\nUsage: slipway %s\n", msg, command_find("build")->synopsis);
}

int cmd_build(int argc, char **argv) {
        static const struct option options[] = {
                { "outdir", required_argument, NULL, 'o' },
                { "output", required_argument, NULL, 'O' },
                { "set", required_argument, NULL, 's' },
                { "cache", required_argument, NULL, 'c' },
                { "mirror", required_argument, NULL, 'm' },
                { "ssh-key", required_argument, NULL, 'k' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        _cleanup_strv_free_ char **sets = NULL;
        const char *outdir = "out", *outputs = NULL, *cache = NULL, *mirror = NULL, *ssh_key = NULL;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "o:vh", options, NULL)) != -1) {
                switch (c) {
                case 'o': outdir = optarg; break;
                case 'O': outputs = optarg; break;
                case 's': strv_push(&sets, optarg); break;
                case 'c': cache = optarg; break;
                case 'm': mirror = optarg; break;
                case 'k': ssh_key = optarg; break;
                case 'v': log_set_level(LOG_DEBUG); break;
                case 'h':
                        printf("Usage: slipway %s\n\n%s", command_find("build")->synopsis, command_find("build")->help);
                        return EXIT_OK;
                default: usage_error("bad option"); return EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                usage_error(optind >= argc ? "missing PROFILE" : "more than one PROFILE");
                return EXIT_USAGE;
        }

        struct profile_errors errs = {};
        struct slw_profile *profile = NULL;
        int r = profile_load(argv[optind], sets, &profile, &errs);
        if (r < 0) {
                profile_errors_print(&errs, stderr);
                profile_errors_free(&errs);
                return EXIT_USAGE;
        }

        if (ssh_key && add_ssh_key(profile, ssh_key) < 0) {
                profile_free(profile);
                return EXIT_USAGE;
        }

        struct build_ctx ctx = {
                .profile = profile,
                .outdir = outdir,
                .unprivileged = geteuid() != 0,
                .mirror_override = mirror ? xstrdup(mirror) : NULL,
                .cache_dir = cache ? xstrdup(cache) : cache_default_dir(),
        };
        memcpy(ctx.enabled_outputs, profile->outputs, sizeof(ctx.enabled_outputs));
        int exit_code = EXIT_FAILURE_BUILD;
        _cleanup_close_ int outdir_lock = -1;

        if (outputs && parse_outputs(outputs, ctx.enabled_outputs) < 0) {
                exit_code = EXIT_USAGE;
                goto finish;
        }
        /* profile_load() checked what the profile's outputs need; --output's
         * may need more (a disk's partitions), checked before anything is
         * written, like every other profile error */
        if (outputs && profile_check_outputs(profile, ctx.enabled_outputs, &errs) < 0) {
                profile_errors_print(&errs, stderr);
                profile_errors_free(&errs);
                exit_code = EXIT_USAGE;
                goto finish;
        }
        if (parse_epoch(&ctx.epoch) < 0) {
                exit_code = EXIT_USAGE;
                goto finish;
        }
        /* Rootless: everything from here on runs as root of a user namespace
         * (lib/userns.c), after the cache directory was chosen for the
         * caller.  What the build writes still belongs to the caller. */
        if (ctx.unprivileged) {
                r = userns_become_root(&ctx.userns);
                if (r < 0)
                        goto finish;
                _cleanup_free_ char *ids = userns_describe();
                log_info("rootless build in a user namespace (%s)", ids);
                ctx.private_mounts = true; /* userns_become_root made one */
        } else {
                ctx.userns = userns_current();
                /* A mount namespace of the build's own: the overlay on the
                 * cached tree (stage_rootfs.c) and the tools' mounts go away
                 * with the process, however it ends. */
                ctx.private_mounts = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
                if (!ctx.private_mounts)
                        log_debug("no private mount namespace (%s): the cached tree will be copied", strerror(errno));
        }
        r = mkdir_p(outdir, 0755);
        if (r < 0) {
                log_error_errno(r, "create output directory %s", outdir);
                goto finish;
        }
        /* One build at a time per output directory: two would rename their
         * artifacts over each other's and leave SHA256SUMS matching
         * neither.  flock on the directory itself: nothing is left in it. */
        outdir_lock = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (outdir_lock < 0) {
                log_error_errno(-errno, "open output directory %s", outdir);
                goto finish;
        }
        if (flock(outdir_lock, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        log_error("another slipway build is writing into %s: wait for it, or build into another directory (-o)", outdir);
                else
                        log_error_errno(-errno, "lock output directory %s", outdir);
                goto finish;
        }
        {
                /* Holding the lock, any work directory here is a killed
                 * build's (SIGKILL, power loss): hundreds of MB nothing
                 * else would remove. */
                _cleanup_strv_free_ char **names = NULL;
                if (dir_entries_sorted(outdir, &names) == 0)
                        for (size_t i = 0; names && names[i]; i++) {
                                if (!startswith(names[i], ".slipway-"))
                                        continue;
                                _cleanup_free_ char *stale = path_join(outdir, names[i]);
                                struct stat st;
                                if (lstat(stale, &st) < 0 || !S_ISDIR(st.st_mode))
                                        continue;
                                int k = rm_rf_unmounted(stale);
                                if (k < 0)
                                        log_warning_errno(k, "could not remove %s, left by an interrupted build", stale);
                                else
                                        log_info("removed %s, the work directory of an interrupted build", stale);
                        }
        }
        r = mkdir_p(ctx.cache_dir, 0755);
        if (r < 0) {
                log_error_errno(r, "create cache directory %s", ctx.cache_dir);
                goto finish;
        }
        {
                _cleanup_free_ char *tmpl = xasprintf("%s/.slipway-%s-XXXXXX", outdir, profile->name);
                if (!mkdtemp(tmpl)) {
                        log_error_errno(-errno, "create work directory in %s", outdir);
                        goto finish;
                }
                ctx.workdir = TAKE_PTR(tmpl);
        }

        ctx.build_json = json_object_new_object();
        ctx.changes = json_object_new_array();
        json_object_object_add(ctx.build_json, "slipway", json_object_new_string(SLIPWAY_VERSION));
        json_object_object_add(ctx.build_json, "profile", json_object_new_string(profile->name));
        json_object_object_add(ctx.build_json, "source_date_epoch", json_object_new_int64((int64_t)ctx.epoch));
        {
                _cleanup_free_ char *ids = userns_describe();
                json_object_object_add(ctx.build_json, "ids", json_object_new_string(ids));
        }
        json_object_object_add(ctx.build_json, "changes", json_object_get(ctx.changes));

        uint64_t t0 = now_usec();
        r = run_stages(&ctx);
        progress_stage(NULL);
        if (r == -EDQUOT) {
                /* Over budget: the report stage kept only its reports (see
                 * stage_report.c); they explain the failure, so they land. */
                if (write_build_json(&ctx) == 0)
                        (void)finalize_artifacts(&ctx);
                exit_code = EXIT_FAILURE_BUILD;
                goto finish;
        }
        if (r == 0)
                r = write_build_json(&ctx);
        if (r == 0)
                r = finalize_artifacts(&ctx);
        if (r == 0) {
                log_info("build of %s finished in %.1f s", profile->name, (double)(now_usec() - t0) / 1e6);
                exit_code = EXIT_OK;
        } else if (r == -EINTR || spawn_interrupted()) {
                log_error("interrupted; removing temporary files");
                exit_code = EXIT_INTERRUPTED;
        } else if (r == -EINVAL)
                exit_code = EXIT_USAGE;

finish:
        if (ctx.tree_is_overlay) {
                _cleanup_free_ char *tree = path_join(ctx.workdir, "tree");
                if (umount2(tree, MNT_DETACH) < 0)
                        log_warning_errno(-errno, "could not unmount the overlay at %s", tree);
        }
        if (ctx.workdir) {
                /* Artifacts not renamed are inside workdir and go with it. */
                int k = rm_rf_unmounted(ctx.workdir);
                if (k < 0)
                        log_warning_errno(k, "could not remove %s", ctx.workdir);
        }
        json_object_put(ctx.build_json);
        json_object_put(ctx.changes);
        strv_free(ctx.artifacts);
        strv_free(ctx.artifact_finals);
        free(ctx.workdir);
        free(ctx.cache_dir);
        free(ctx.tree);
        free(ctx.raw_tmp);
        free(ctx.fixed_vhd_tmp);
        free(ctx.mirror_override);
        profile_free(profile);
        return exit_code;
}
