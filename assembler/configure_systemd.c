/* SPDX-License-Identifier: MIT */
/* systemd enable/disable/mask/default-target as the file operations
 * `systemctl --root=TREE` performs, without running systemctl: the
 * [Install] section's WantedBy=/RequiredBy= become symlinks in
 * /etc/systemd/system/<target>.wants|.requires/, Alias= a symlink to the
 * unit file, Also= enables more units, mask is a symlink to /dev/null.
 *
 * Presets (/usr/lib/systemd/system-preset) are NOT applied: Debian enables
 * units from maintainer scripts (deb-systemd-helper) at install time and
 * its 90-systemd.preset would switch on systemd-networkd, homed,
 * timesyncd… which a Debian image does not run by default.  The profile
 * lists deviations explicitly instead. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"
#include "tree.h"
#include "util.h"

static const char *const unit_dirs[] = { "/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system" };

/* One rule for validate and configure (lib/profile.c). */
static bool valid_unit_name(const char *u) {
        return profile_unit_name_ok(u);
}

/* "getty@ttyS0.service" -> "getty@.service"; NULL when not an instance. */
static char *unit_template(const char *u) {
        const char *at = strchr(u, '@'), *dot = strrchr(u, '.');
        if (!at || !dot || dot == at + 1)
                return NULL;
        return xasprintf("%.*s%s", (int)(at - u + 1), u, dot);
}

/* Finds the unit file; *ret_path is its path inside the image (what the
 * symlinks point to), following systemctl's order.  A unit that is masked
 * in /etc (a link to /dev/null) is skipped in favour of the vendor file. */
static int unit_find(struct cfg *c, const char *unit, char **ret_path) {
        _cleanup_free_ char *tmpl = unit_template(unit);
        for (int pass = 0; pass < 2; pass++) {
                const char *name = pass == 0 ? unit : tmpl;
                if (!name)
                        break;
                for (size_t i = 0; i < ELEMENTSOF(unit_dirs); i++) {
                        _cleanup_free_ char *rel = xasprintf("%s/%s", unit_dirs[i], name), *canon = NULL;
                        if (cfg_resolve(c, rel, 0, &canon) < 0)
                                continue;
                        if (strcmp(canon, "/dev/null") == 0)
                                continue;
                        struct stat st;
                        if (tree_stat(c->tree_fd, canon, &st) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        /* A link in /etc to a vendor file: point at the vendor path, as systemctl does. */
                        if (ret_path)
                                *ret_path = i == 0 && strcmp(canon, rel) != 0 ? TAKE_PTR(canon) : TAKE_PTR(rel);
                        return 0;
                }
        }
        return -ENOENT;
}

bool systemd_unit_exists(struct cfg *c, const char *unit) {
        return unit_find(c, unit, NULL) == 0;
}

/* Validation runs before anything is written, so a unit that the profile
 * itself installs with `files:` is not in the tree yet: it counts. */
static bool profile_provides_unit(const struct slw_profile *p, const char *unit) {
        for (size_t i = 0; i < p->n_files; i++)
                for (size_t d = 0; d < ELEMENTSOF(unit_dirs); d++) {
                        _cleanup_free_ char *path = xasprintf("%s/%s", unit_dirs[d], unit);
                        if (p->files[i].path && strcmp(p->files[i].path, path) == 0)
                                return true;
                }
        return false;
}

/* Values of Key= lines in [Install] (space-separated lists split). */
static char **install_values(const char *data, const char *key) {
        char **out = NULL;
        bool in_install = false;
        size_t kl = strlen(key);
        _cleanup_free_ char *copy = xstrdup(data);
        for (char *line = copy, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = '\0';
                line += strspn(line, " \t");
                if (*line == '[') {
                        in_install = startswith(line, "[Install]");
                        continue;
                }
                if (!in_install || strncmp(line, key, kl) != 0)
                        continue;
                char *v = line + kl;
                v += strspn(v, " \t");
                if (*v != '=')
                        continue;
                v++;
                for (char *tok = strtok(v, " \t"); tok; tok = strtok(NULL, " \t"))
                        strv_push(&out, tok);
        }
        return out;
}

static int enable_one(struct cfg *c, const char *unit, const char *origin_path, char ***visited) {
        if (strv_contains(*visited, unit))
                return 0;
        strv_push(visited, unit);
        _cleanup_free_ char *path = NULL, *data = NULL;
        int r = unit_find(c, unit, &path);
        if (r < 0)
                return log_error_errno(r, "unit %s not found in the image", unit);
        if ((r = cfg_read_file(c, path, &data, NULL)) < 0)
                return log_error_errno(r, "reading %s in the tree", path);

        /* For a template enabled by an instance name the links carry the
         * instance name and point at the template file. */
        _cleanup_strv_free_ char **wanted = install_values(data, "WantedBy"), **required = install_values(data, "RequiredBy"),
                                 **alias = install_values(data, "Alias"), **also = install_values(data, "Also"),
                                 **definst = install_values(data, "DefaultInstance");
        _cleanup_free_ char *link_name = NULL;
        if (strchr(unit, '@') && unit[strcspn(unit, "@") + 1] == '.') {
                /* A bare template: enable DefaultInstance=, like systemctl. */
                if (definst && definst[0]) {
                        const char *at = strchr(unit, '@');
                        link_name = xasprintf("%.*s%s%s", (int)(at - unit + 1), unit, definst[0], at + 1);
                }
        } else
                link_name = xstrdup(unit);

        bool any = false;
        for (int kind = 0; kind < 2 && link_name; kind++) {
                char **targets = kind == 0 ? wanted : required;
                for (char **t = targets; t && *t; t++) {
                        _cleanup_free_ char *link = xasprintf("/etc/systemd/system/%s.%s/%s", *t, kind == 0 ? "wants" : "requires", link_name);
                        if ((r = cfg_symlink(c, path, link)) < 0)
                                return r;
                        cfg_change(c, "enabled unit", link, origin_path);
                        any = true;
                }
        }
        for (char **a = alias; a && *a; a++) {
                if (!valid_unit_name(*a))
                        continue;
                _cleanup_free_ char *link = xasprintf("/etc/systemd/system/%s", *a);
                if ((r = cfg_symlink(c, path, link)) < 0)
                        return r;
                cfg_change(c, "unit alias", link, origin_path);
                any = true;
        }
        for (char **a = also; a && *a; a++) {
                if ((r = enable_one(c, *a, origin_path, visited)) < 0)
                        return r;
                any = true;
        }
        if (!any)
                log_warning("configure: %s has no [Install] section to enable it by (static or template unit)", unit);
        return 0;
}

int systemd_enable_unit(struct cfg *c, const char *unit, const char *origin_path) {
        _cleanup_strv_free_ char **visited = NULL;
        return enable_one(c, unit, origin_path, &visited);
}

/* Removes every symlink named `unit` in /etc/systemd/system/<x>.wants|.requires
 * and aliases pointing at the unit, like systemctl disable. */
static int disable_one(struct cfg *c, const char *unit, const char *origin_path) {
        _cleanup_free_ char *path = NULL, *data = NULL;
        DIR *d = NULL;
        if (tree_opendir(c->tree_fd, "/etc/systemd/system", &d) < 0)
                return 0;
        int etc = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!endswith(de->d_name, ".wants") && !endswith(de->d_name, ".requires"))
                        continue;
                /* The .wants directory itself is not followed if it is a link. */
                _cleanup_free_ char *rel = xasprintf("/etc/systemd/system/%s/%s", de->d_name, unit);
                _cleanup_close_ int wants = openat(etc, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat st;
                if (wants >= 0 && fstatat(wants, unit, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                        if (unlinkat(wants, unit, 0) < 0) {
                                int r = -errno;
                                closedir(d);
                                return log_error_errno(r, "removing %s in the tree", rel);
                        }
                        cfg_change(c, "disabled unit", rel, origin_path);
                }
        }
        if (unit_find(c, unit, &path) == 0 && cfg_read_file(c, path, &data, NULL) == 0) {
                _cleanup_strv_free_ char **alias = install_values(data, "Alias");
                for (char **a = alias; a && *a; a++) {
                        struct stat st;
                        if (valid_unit_name(*a) && fstatat(etc, *a, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
                            unlinkat(etc, *a, 0) == 0)
                                cfg_change(c, "removed unit alias", *a, origin_path);
                }
        }
        closedir(d);
        return 0;
}

int systemd_validate(struct cfg *c) {
        const struct slw_profile *p = c->p;
        struct { char **list; const char *origin; } lists[] = {
                { p->systemd.enable, "systemd.enable" },
                { p->systemd.disable, "systemd.disable" },
                { p->systemd.mask, "systemd.mask" },
        };
        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; lists[l].list && lists[l].list[i]; i++) {
                        const char *u = lists[l].list[i];
                        /* The item's own line: "systemd.enable[2]". */
                        _cleanup_free_ char *origin = xasprintf("%s[%zu]", lists[l].origin, i);
                        if (!valid_unit_name(u))
                                cfg_error(c, origin, "'%s' is not a unit name (like ssh.service)", u);
                        else if (!systemd_unit_exists(c, u) && !profile_provides_unit(p, u))
                                cfg_error(c, origin, "unit '%s' is not in the image", u);
                }
        for (char **u = p->systemd.enable; u && *u; u++) {
                if (strv_contains(p->systemd.mask, *u))
                        cfg_error(c, "systemd.mask", "unit '%s' is both enabled and masked", *u);
                if (strv_contains(p->systemd.disable, *u))
                        cfg_error(c, "systemd.disable", "unit '%s' is both enabled and disabled", *u);
        }
        for (char **u = p->systemd.mask; u && *u; u++) {
                /* systemctl refuses to mask over a real file in /etc. */
                _cleanup_free_ char *rel = xasprintf("/etc/systemd/system/%s", *u);
                struct stat st;
                if (valid_unit_name(*u) && tree_lstat(c->tree_fd, rel, &st) == 0 && !S_ISLNK(st.st_mode))
                        cfg_error(c, "systemd.mask", "cannot mask '%s': %s is a real file", *u, rel);
        }
        const char *dt = p->systemd.default_target;
        if (dt && (!valid_unit_name(dt) || !endswith(dt, ".target") || !systemd_unit_exists(c, dt)))
                cfg_error(c, "systemd.default-target", "'%s' is not a target unit of the image", dt);
        return 0;
}

int systemd_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        int r;
        /* Each change names its own item's line: lists append across
         * included files, so the list's line may be in another file. */
        for (size_t i = 0; p->systemd.disable && p->systemd.disable[i]; i++) {
                _cleanup_free_ char *origin = xasprintf("systemd.disable[%zu]", i);
                if ((r = disable_one(c, p->systemd.disable[i], origin)) < 0)
                        return r;
        }
        for (size_t i = 0; p->systemd.enable && p->systemd.enable[i]; i++) {
                _cleanup_free_ char *origin = xasprintf("systemd.enable[%zu]", i);
                if ((r = systemd_enable_unit(c, p->systemd.enable[i], origin)) < 0)
                        return r;
        }
        for (size_t i = 0; p->systemd.mask && p->systemd.mask[i]; i++) {
                _cleanup_free_ char *origin = xasprintf("systemd.mask[%zu]", i);
                _cleanup_free_ char *link = xasprintf("/etc/systemd/system/%s", p->systemd.mask[i]);
                if ((r = disable_one(c, p->systemd.mask[i], origin)) < 0 || (r = cfg_symlink(c, "/dev/null", link)) < 0)
                        return r;
                cfg_change(c, "masked unit", link, origin);
        }
        if (p->systemd.default_target) {
                _cleanup_free_ char *path = NULL;
                if ((r = unit_find(c, p->systemd.default_target, &path)) < 0)
                        return log_error_errno(r, "default target %s", p->systemd.default_target);
                if ((r = cfg_symlink(c, path, "/etc/systemd/system/default.target")) < 0)
                        return r;
                cfg_change(c, "default target", "/etc/systemd/system/default.target", "systemd.default-target");
        }
        return 0;
}
