/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* The configure stage on small synthetic trees in a temp directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "build.h"
#include "configure.h"
#include "log.h"
#include "util.h"

static unsigned n_changes;
__attribute__((weak)) void build_record_change(struct build_ctx *ctx, const char *what, const char *where, const char *origin_path) {
        n_changes++;
}

/* Weak stand-ins until the profile engine and cmd_build.c are linked in
 * (the real ones win then): every value is on line 7. */
__attribute__((weak)) struct slw_origin profile_origin(const struct slw_profile *p, const char *dotted_path) {
        return (struct slw_origin){ .file = "test.yaml", .line = 7, .col = 3 };
}
__attribute__((weak)) const char *origin_format(struct slw_origin o, char *buf, size_t n) {
        snprintf(buf, n, "%s:%u:%u", o.file, o.line, o.col);
        return buf;
}

struct fx {
        char dir[64];
        struct slw_profile p;
        struct build_ctx ctx;
};

static void put(struct fx *f, const char *rel, const char *content, mode_t mode) {
        char *p = path_join(f->dir, rel), *d = xstrdup(p);
        *strrchr(d, '/') = '\0';
        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(write_file(p, content, strlen(content), mode), 0);
        free(p);
        free(d);
}

static void link_(struct fx *f, const char *target, const char *rel) {
        char *p = path_join(f->dir, rel), *d = xstrdup(p);
        *strrchr(d, '/') = '\0';
        assert_int_equal(mkdir_p(d, 0755), 0);
        assert_int_equal(symlink(target, p), 0);
        free(p);
        free(d);
}

static char *get(struct fx *f, const char *rel) {
        char *p = path_join(f->dir, rel), *data = NULL;
        if (read_file(p, &data, NULL) < 0)
                data = NULL;
        free(p);
        return data;
}

static bool exists(struct fx *f, const char *rel) {
        char *p = path_join(f->dir, rel);
        struct stat st;
        bool r = lstat(p, &st) == 0;
        free(p);
        return r;
}

static char *linkval(struct fx *f, const char *rel) {
        char *p = path_join(f->dir, rel), buf[4096];
        ssize_t k = readlink(p, buf, sizeof(buf) - 1);
        free(p);
        if (k < 0)
                return NULL;
        buf[k] = '\0';
        return xstrdup(buf);
}

#define PASSWD "root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\n" \
               "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
#define SHADOW "root:$6$abc$hash:20000:0:99999:7:::\nsystemd-network:!*:20000::::::\n_apt:*:20000:0:99999:7:::\nnobody:*:20000:0:99999:7:::\n"
#define GROUP "root:x:0:\nsudo:x:27:\nadm:x:4:\nsystemd-network:x:998:\nnogroup:x:65534:\n"
#define GSHADOW "root:*::\nsudo:*::\nadm:*::\nsystemd-network:!*::\nnogroup:*::\n"

static int setup(void **state) {
        struct fx *f = xcalloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/test-configure.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        put(f, "etc/passwd", PASSWD, 0644);
        put(f, "etc/shadow", SHADOW, 0640);
        put(f, "etc/group", GROUP, 0644);
        put(f, "etc/gshadow", GSHADOW, 0640);
        put(f, "etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\told-name\n::1\tlocalhost ip6-localhost\n", 0644);
        put(f, "etc/skel/.bashrc", "# bashrc\n", 0644);
        put(f, "etc/machine-id", "0123456789abcdef0123456789abcdef\n", 0444);
        put(f, "usr/bin/bash", "", 0755);
        link_(f, "usr/bin", "bin");
        put(f, "usr/share/zoneinfo/Etc/UTC", "TZif", 0644);
        put(f, "usr/share/doc/foo/copyright", "GPL", 0644);
        put(f, "usr/share/doc/foo/changelog.gz", "x", 0644);
        put(f, "usr/share/doc/foo/examples/a", "x", 0644);
        put(f, "usr/share/man/man1/foo.1.gz", "x", 0644);
        put(f, "usr/share/locale/de/LC_MESSAGES/foo.mo", "x", 0644);
        put(f, "usr/share/locale/fr/LC_MESSAGES/foo.mo", "x", 0644);
        put(f, "usr/lib/locale/C.utf8/LC_CTYPE", "x", 0644);
        put(f, "var/cache/apt/pkgcache.bin", "x", 0644);
        put(f, "var/lib/apt/lists/deb_dists_trixie_InRelease", "x", 0644);
        char *partial = path_join(f->dir, "var/lib/apt/lists/partial");
        assert_int_equal(mkdir_p(partial, 0755), 0);
        free(partial);
        put(f, "var/log/apt/history.log", "lots", 0644);
        put(f, "var/log/dpkg.log.1", "old", 0644);
        put(f, "var/lib/systemd/random-seed", "seed", 0600);
        put(f, "var/lib/dhcp/dhclient.eth0.leases", "lease", 0644);
        put(f, "root/.bash_history", "ls", 0600);
        put(f, "tmp/junk", "x", 0644);
        put(f, "etc/ssh/ssh_host_ed25519_key", "k", 0600);
        put(f, "etc/ssh/ssh_host_ed25519_key.pub", "k", 0644);
        put(f, "etc/ssh/sshd_config", "# config", 0644);
        put(f, "usr/sbin/sshd", "", 0755);
        put(f, "usr/lib/systemd/system/ssh.service", "[Unit]\nDescription=ssh\n[Service]\nExecStart=/usr/sbin/sshd\n"
            "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\nAlso=ssh-extra.socket\n", 0644);
        put(f, "usr/lib/systemd/system/ssh-extra.socket", "[Socket]\n[Install]\nWantedBy=sockets.target\n", 0644);
        put(f, "usr/lib/systemd/system/serial-getty@.service", "[Service]\n[Install]\nWantedBy=getty.target\n", 0644);
        put(f, "usr/lib/systemd/system/multi-user.target", "[Unit]\n", 0644);
        put(f, "usr/lib/systemd/system/rescue.target", "[Unit]\n", 0644);
        put(f, "usr/lib/systemd/system/apt-daily.timer", "[Timer]\n[Install]\nWantedBy=timers.target\n", 0644);
        link_(f, "/usr/lib/systemd/system/apt-daily.timer", "etc/systemd/system/timers.target.wants/apt-daily.timer");
        put(f, "usr/lib/modules/6.1.0-test/modules.dep",
            "kernel/drivers/hv/hv_vmbus.ko.xz:\nkernel/drivers/scsi/hv_storvsc.ko.xz: kernel/drivers/scsi/scsi_mod.ko.xz kernel/drivers/hv/hv_vmbus.ko.xz\n"
            "kernel/drivers/scsi/scsi_mod.ko.xz:\nkernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\nkernel/lib/crc-itu-t.ko.xz:\n"
            "kernel/sound/snd.ko.xz:\n", 0644);
        put(f, "usr/lib/modules/6.1.0-test/modules.builtin", "kernel/drivers/nvme/host/nvme.ko\n", 0644);
        link_(f, "usr/lib", "lib");
        link_(f, "../../../..", "etc/escape");   /* climbs above the root */

        f->p.name = (char *)"t";
        f->ctx.profile = &f->p;
        f->ctx.tree = f->dir;
        f->ctx.epoch = 1767225600;   /* 2026-01-01: day 20454 */
        f->ctx.plan.root_index = f->ctx.plan.esp_index = f->ctx.plan.bios_index = -1;
        n_changes = 0;
        log_set_level(LOG_WARN);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        rm_rf(f->dir);
        free(f);
        return 0;
}

static void test_errors_before_any_write(void **state) {
        struct fx *f = *state;
        struct slw_file files[] = {
                { .path = (char *)"/etc/escape/host-file", .content = (char *)"x", .origin_path = (char *)"files[0]" },
                { .path = (char *)"/etc/ok.conf", .content = (char *)"x", .origin_path = (char *)"files[1]" },
                { .path = (char *)"/etc/../x", .content = (char *)"x", .origin_path = (char *)"files[2]" },
                { .path = (char *)"/etc/owned", .content = (char *)"x", .owner = (char *)"nosuchuser", .origin_path = (char *)"files[3]" },
        };
        struct slw_user users[] = {
                { .name = (char *)"alice", .uid = 1500, .gid = -1, .origin_path = (char *)"users[0]" },
                { .name = (char *)"alice", .uid = 1501, .gid = -1, .origin_path = (char *)"users[1]" },
        };
        char *enable[] = { (char *)"nosuch.service", NULL };
        char *mods[] = { (char *)"hv_vmbus", (char *)"not_a_module", NULL };
        f->p.files = files;
        f->p.n_files = ELEMENTSOF(files);
        f->p.users = users;
        f->p.n_users = 2;
        f->p.systemd.enable = enable;
        f->p.kernel.initramfs_modules = mods;
        f->p.hostname = (char *)"bad_host!";
        f->p.timezone = (char *)"Mars/Olympus";
        f->p.generalize = true;

        log_set_level(getenv("TEST_VERBOSE") ? LOG_INFO : LOG_QUIET);
        assert_int_equal(stage_configure(&f->ctx), -EINVAL);
        assert_int_equal(n_changes, 0);
        assert_false(exists(f, "etc/ok.conf"));
        char *pw = get(f, "etc/passwd");
        assert_string_equal(pw, PASSWD);
        free(pw);
        char *mid = get(f, "etc/machine-id");
        assert_string_equal(mid, "0123456789abcdef0123456789abcdef\n");
        free(mid);
        assert_true(exists(f, "etc/ssh/ssh_host_ed25519_key"));
        /* The escaping symlink was never followed out of the root. */
        assert_false(exists(f, "../host-file"));

        /* Each problem counted once. */
        struct cfg c;
        assert_int_equal(cfg_open(&c, &f->ctx), 0);
        assert_int_equal(accounts_load(&c), 0);
        kernel_find_version(&c);
        accounts_validate(&c);
        files_validate(&c);
        system_settings_validate(&c);
        systemd_validate(&c);
        kernel_validate(&c);
        /* user twice, escape, "..", owner, hostname, timezone, unit, module,
         * and no initramfs-tools or dracut to build the module list into */
        assert_int_equal(c.n_errors, 9);
        cfg_close(&c);
}

#define BOB_HASH "$6$abcdefgh$3rj1vTLX64btReFsM4MQ22otcD40l7vbtw7qCyr0dxc4kxNmgx53xVM8gWiLYbCqTHTbXFaVFU7ZT28pnvdyu0"

static void test_accounts(void **state) {
        struct fx *f = *state;
        put(f, "usr/sbin/agetty", "", 0755);
        char *keys[] = { (char *)"ssh-ed25519 AAAA test@x", NULL };
        char *supp[] = { (char *)"sudo", (char *)"builders", NULL };
        struct slw_group groups[] = {
                { .name = (char *)"builders", .gid = -1, .system = true, .origin_path = (char *)"groups[0]" },
                { .name = (char *)"sudo", .gid = 27, .origin_path = (char *)"groups[1]" },
        };
        struct slw_user users[] = {
                { .name = (char *)"alice", .uid = -1, .gid = -1, .ssh_authorized_keys = keys, .groups = supp, .autologin = true,
                  .origin_path = (char *)"users[0]" },
                { .name = (char *)"svc", .uid = -1, .gid = -1, .system = true, .origin_path = (char *)"users[1]" },
                { .name = (char *)"bob", .uid = 2000, .gid = -1, .password = (char *)BOB_HASH, .origin_path = (char *)"users[2]" },
                { .name = (char *)"alice", .uid = -1, .gid = -1, .origin_path = (char *)"users[3]" },   /* same again: fine */
        };
        f->p.groups = groups;
        f->p.n_groups = 2;
        f->p.users = users;
        f->p.n_users = 4;
        assert_int_equal(stage_configure(&f->ctx), 0);

        char *pw = get(f, "etc/passwd"), *sh = get(f, "etc/shadow"), *gr = get(f, "etc/group"), *gs = get(f, "etc/gshadow");
        assert_true(startswith(pw, PASSWD));
        assert_non_null(strstr(pw, "alice:x:1000:1000::/home/alice:/bin/bash\n"));
        assert_non_null(strstr(pw, "svc:x:101:101::/nonexistent:/usr/sbin/nologin\n"));
        assert_non_null(strstr(pw, "bob:x:2000:2000::/home/bob:/bin/bash\n"));
        assert_non_null(strstr(gr, "sudo:x:27:alice\n"));
        /* IDs free as both UID and GID, so a user's group matches the user. */
        assert_non_null(strstr(gr, "builders:x:100:alice\n"));
        assert_non_null(strstr(gr, "svc:x:101:\n"));
        assert_non_null(strstr(gr, "alice:x:1000:\n"));
        assert_non_null(strstr(gs, "sudo:*::alice\n"));
        assert_non_null(strstr(sh, "alice:!:20454:0:99999:7:::\n"));
        assert_non_null(strstr(sh, "svc:*:20454:"));
        assert_non_null(strstr(sh, "bob:" BOB_HASH ":20454:"));
        free(pw); free(sh); free(gr); free(gs);
        /* autologin: alice on tty1 and ttyS0, agetty with -f through -o */
        static const char *const dropins[] = { "etc/systemd/system/getty@tty1.service.d/slipway-autologin.conf",
                                               "etc/systemd/system/serial-getty@ttyS0.service.d/slipway-autologin.conf" };
        for (size_t i = 0; i < ELEMENTSOF(dropins); i++) {
                char *d = get(f, dropins[i]);
                assert_non_null(d);
                assert_non_null(strstr(d, "[Service]\nExecStart=\nExecStart=-/usr/sbin/agetty -o '-p -f -- \\\\u' --noreset --noclear "));
                assert_non_null(strstr(d, " --autologin alice - ${TERM}\n"));
                free(d);
        }

        struct stat st;
        char *p = path_join(f->dir, "home/alice/.ssh/authorized_keys");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(st.st_uid, 1000);
        free(p);
        p = path_join(f->dir, "home/alice");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        free(p);
        char *rc = get(f, "home/alice/.bashrc");
        assert_string_equal(rc, "# bashrc\n");
        free(rc);
        p = path_join(f->dir, "etc/shadow");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        free(p);
}

/* Refused before anything is written: autologin without agetty, two
 * users logged in automatically, a password that is not a hash. */
static void test_autologin_and_password_errors(void **state) {
        struct fx *f = *state;
        struct slw_user users[] = {
                { .name = (char *)"root", .uid = -1, .gid = -1, .autologin = true, .origin_path = (char *)"users[0]" },
                { .name = (char *)"dev", .uid = -1, .gid = -1, .autologin = true, .password = (char *)"hunter2",
                  .origin_path = (char *)"users[1]" },
        };
        f->p.users = users;
        f->p.n_users = 2;
        assert_int_equal(stage_configure(&f->ctx), -EINVAL);
        assert_false(exists(f, "etc/systemd/system/getty@tty1.service.d"));
        char *sh = get(f, "etc/shadow");
        assert_string_equal(sh, SHADOW);
        free(sh);
}

static void test_files_and_settings(void **state) {
        struct fx *f = *state;
        struct slw_file files[] = {
                { .path = (char *)"/etc/ssh/sshd_config.d/50-azure.conf", .content = (char *)"ClientAliveInterval 180\n",
                  .mode = 0600, .origin_path = (char *)"files[0]" },
                { .path = (char *)"/usr/local/new/dir/file", .content = (char *)"", .group = (char *)"adm", .origin_path = (char *)"files[1]" },
        };
        char *cmdline[] = { (char *)"console=ttyS0", (char *)"earlyprintk=ttyS0", NULL };
        f->p.files = files;
        f->p.n_files = 2;
        f->p.hostname = (char *)"azure-base";
        f->p.locale = (char *)"C.UTF-8";
        f->p.timezone = (char *)"Etc/UTC";
        f->p.kernel.cmdline = cmdline;
        struct slw_partition parts[] = { { .type = PART_ESP, .fs = FS_VFAT }, { .type = PART_ROOT, .fs = FS_EXT4 },
                                         { .type = PART_LINUX, .fs = FS_EXT4, .mountpoint = (char *)"/srv/data" },
                                         { .type = PART_SWAP } };
        f->ctx.enabled_outputs[OUT_RAW] = true;   /* fstab is written for images with a disk */
        f->ctx.plan.n_parts = 4;
        f->ctx.plan.esp_index = 0;
        f->ctx.plan.root_index = 1;
        for (int i = 0; i < 4; i++)
                f->ctx.plan.parts[i].spec = &parts[i];
        strcpy(f->ctx.plan.parts[0].fs_uuid, "ABCD-1234");
        strcpy(f->ctx.plan.parts[1].fs_uuid, "11111111-2222-4333-8444-555555555555");
        strcpy(f->ctx.plan.parts[2].fs_uuid, "66666666-2222-4333-8444-555555555555");
        strcpy(f->ctx.plan.parts[3].fs_uuid, "77777777-2222-4333-8444-555555555555");
        assert_int_equal(stage_configure(&f->ctx), 0);

        char *s = get(f, "etc/ssh/sshd_config.d/50-azure.conf");
        assert_string_equal(s, "ClientAliveInterval 180\n");
        free(s);
        struct stat st;
        char *p = path_join(f->dir, "usr/local/new/dir/file");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_gid, 4);
        assert_int_equal(st.st_mode & 0777, 0644);
        free(p);
        p = path_join(f->dir, "usr/local/new");
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        free(p);

        s = get(f, "etc/hostname");
        assert_string_equal(s, "azure-base\n");
        free(s);
        s = get(f, "etc/hosts");
        assert_string_equal(s, "127.0.0.1\tlocalhost\n127.0.1.1\tazure-base\n::1\tlocalhost ip6-localhost\n");
        free(s);
        s = get(f, "etc/default/locale");
        assert_string_equal(s, "LANG=C.UTF-8\n");
        free(s);
        s = linkval(f, "etc/localtime");
        assert_string_equal(s, "../usr/share/zoneinfo/Etc/UTC");
        free(s);
        s = get(f, "etc/timezone");
        assert_string_equal(s, "Etc/UTC\n");
        free(s);
        s = get(f, "etc/kernel/cmdline");
        assert_string_equal(s, "console=ttyS0 earlyprintk=ttyS0\n");
        free(s);
        s = get(f, "etc/fstab");
        assert_non_null(strstr(s, "UUID=11111111-2222-4333-8444-555555555555 / ext4 defaults,errors=remount-ro 0 1\n"));
        assert_non_null(strstr(s, "UUID=ABCD-1234 /boot/efi vfat umask=0077 0 2\n"));
        assert_non_null(strstr(s, "UUID=66666666-2222-4333-8444-555555555555 /srv/data ext4 defaults 0 2\n"));
        assert_null(strstr(s, "swap"));
        free(s);
        assert_true(exists(f, "boot/efi"));
        assert_true(exists(f, "srv/data"));
}

static void test_systemd(void **state) {
        struct fx *f = *state;
        char *enable[] = { (char *)"ssh.service", (char *)"serial-getty@ttyS0.service", NULL };
        char *disable[] = { (char *)"apt-daily.timer", NULL };
        char *mask[] = { (char *)"rescue.target", NULL };
        f->p.systemd.enable = enable;
        f->p.systemd.disable = disable;
        f->p.systemd.mask = mask;
        f->p.systemd.default_target = (char *)"multi-user.target";
        assert_int_equal(stage_configure(&f->ctx), 0);
        char *s;
#define LINK_IS(rel, want) do { s = linkval(f, rel); assert_non_null(s); assert_string_equal(s, want); free(s); } while (0)
        LINK_IS("etc/systemd/system/multi-user.target.wants/ssh.service", "/usr/lib/systemd/system/ssh.service");
        LINK_IS("etc/systemd/system/sshd.service", "/usr/lib/systemd/system/ssh.service");
        LINK_IS("etc/systemd/system/sockets.target.wants/ssh-extra.socket", "/usr/lib/systemd/system/ssh-extra.socket");
        LINK_IS("etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service", "/usr/lib/systemd/system/serial-getty@.service");
        LINK_IS("etc/systemd/system/rescue.target", "/dev/null");
        LINK_IS("etc/systemd/system/default.target", "/usr/lib/systemd/system/multi-user.target");
        assert_false(exists(f, "etc/systemd/system/timers.target.wants/apt-daily.timer"));
}

static void test_kernel_modules(void **state) {
        struct fx *f = *state;
        struct cfg c;
        assert_int_equal(cfg_open(&c, &f->ctx), 0);
        assert_int_equal(kernel_find_version(&c), 0);
        assert_string_equal(c.kver, "6.1.0-test");
        assert_int_equal(kernel_module_state(&c, "hv_vmbus"), 1);
        assert_int_equal(kernel_module_state(&c, "crc_itu_t"), 1);
        assert_int_equal(kernel_module_state(&c, "crc-itu-t"), 1);
        assert_int_equal(kernel_module_state(&c, "nvme"), 2);
        assert_int_equal(kernel_module_state(&c, "e1000"), 0);
        cfg_close(&c);
}

static void test_prune_kernel_modules(void **state) {
        struct fx *f = *state;
        const char *mods[] = { "drivers/hv/hv_vmbus.ko.xz", "drivers/scsi/hv_storvsc.ko.xz", "drivers/scsi/scsi_mod.ko.xz",
                               "fs/udf/udf.ko.xz", "lib/crc-itu-t.ko.xz", "sound/snd.ko.xz" };
        for (size_t i = 0; i < ELEMENTSOF(mods); i++) {
                char *rel = xasprintf("usr/lib/modules/6.1.0-test/kernel/%s", mods[i]);
                put(f, rel, "ko", 0644);
                free(rel);
        }
        put(f, "usr/lib/modules/6.1.0-test/modules.softdep", "# comment\nsoftdep hv_storvsc pre: crc-ccitt-alias post: nothing\n", 0644);
        put(f, "usr/lib/modules/6.1.0-test/modules.alias", "# Aliases\nalias crc-ccitt-alias crc_itu_t\n", 0644);
        char *allow[] = { (char *)"drivers/hv/*", NULL };
        char *initramfs[] = { (char *)"hv_storvsc", NULL };
        f->p.prune.kernel_modules = allow;
        f->p.kernel.initramfs_modules = initramfs;
        struct cfg c;
        assert_int_equal(cfg_open(&c, &f->ctx), 0);
        assert_int_equal(kernel_find_version(&c), 0);
        assert_int_equal(kernel_prune_modules(&c), 0);
        const char *k = "usr/lib/modules/6.1.0-test/kernel/";
        char *p;
#define KEPT(m, want) do { p = xasprintf("%s%s", k, m); assert_int_equal(exists(f, p), want); free(p); } while (0)
        KEPT("drivers/hv/hv_vmbus.ko.xz", true);        /* allow-list */
        KEPT("drivers/scsi/hv_storvsc.ko.xz", true);    /* initramfs-modules */
        KEPT("drivers/scsi/scsi_mod.ko.xz", true);      /* modules.dep of a kept one */
        KEPT("lib/crc-itu-t.ko.xz", true);              /* softdep through an alias */
        KEPT("fs/udf/udf.ko.xz", false);
        KEPT("sound/snd.ko.xz", false);
        assert_false(exists(f, "usr/lib/modules/6.1.0-test/kernel/sound"));   /* empty directories go too */
        cfg_close(&c);
}

/* Pruning modules regenerates the initramfs only when the image has one,
 * and an image that has one but cannot rebuild it (no initramfs-tools, no
 * dracut) is refused before anything is written, not after the modules
 * are gone. */
static void test_prune_needs_initramfs_generator(void **state) {
        struct fx *f = *state;
        put(f, "usr/lib/modules/6.1.0-test/kernel/drivers/hv/hv_vmbus.ko.xz", "ko", 0644);
        put(f, "usr/lib/modules/6.1.0-test/kernel/sound/snd.ko.xz", "ko", 0644);
        put(f, "boot/initrd.img-6.1.0-test", "initrd", 0644);
        char *allow[] = { (char *)"drivers/hv/*", NULL };
        f->p.prune.kernel_modules = allow;
        f->p.hostname = (char *)"pruned";
        log_set_level(getenv("TEST_VERBOSE") ? LOG_INFO : LOG_QUIET);
        assert_int_equal(stage_configure(&f->ctx), -EINVAL);
        assert_int_equal(n_changes, 0);
        assert_true(exists(f, "usr/lib/modules/6.1.0-test/kernel/sound/snd.ko.xz"));
        assert_false(exists(f, "etc/hostname"));

        /* Without an initramfs there is nothing to rebuild: pruning goes ahead. */
        char *initrd = path_join(f->dir, "boot/initrd.img-6.1.0-test");
        assert_int_equal(unlink(initrd), 0);
        free(initrd);
        assert_int_equal(stage_configure(&f->ctx), 0);
        assert_false(exists(f, "usr/lib/modules/6.1.0-test/kernel/sound/snd.ko.xz"));
        assert_true(exists(f, "usr/lib/modules/6.1.0-test/kernel/drivers/hv/hv_vmbus.ko.xz"));
        assert_false(exists(f, "boot/initrd.img-6.1.0-test"));
        assert_true(exists(f, "etc/hostname"));
}

static void test_prune_and_generalize(void **state) {
        struct fx *f = *state;
        char *keep[] = { (char *)"de_DE.UTF-8", NULL };
        f->p.prune.docs = true;
        f->p.prune.keep_locales = keep;
        f->p.prune.caches = true;
        f->p.generalize = true;
        assert_int_equal(stage_configure(&f->ctx), 0);
        assert_true(exists(f, "usr/share/doc/foo/copyright"));
        assert_false(exists(f, "usr/share/doc/foo/changelog.gz"));
        assert_false(exists(f, "usr/share/doc/foo/examples"));
        assert_false(exists(f, "usr/share/man/man1"));
        assert_true(exists(f, "usr/share/locale/de"));
        assert_false(exists(f, "usr/share/locale/fr"));
        assert_true(exists(f, "usr/lib/locale/C.utf8/LC_CTYPE"));
        assert_false(exists(f, "var/cache/apt/pkgcache.bin"));
        assert_false(exists(f, "var/lib/apt/lists/deb_dists_trixie_InRelease"));
        assert_true(exists(f, "var/lib/apt/lists/partial"));

        char *s = get(f, "etc/machine-id");
        assert_string_equal(s, "");
        free(s);
        assert_false(exists(f, "etc/ssh/ssh_host_ed25519_key"));
        assert_false(exists(f, "etc/ssh/ssh_host_ed25519_key.pub"));
        assert_true(exists(f, "etc/ssh/sshd_config"));
        /* No sshd-keygen.service in this tree: slipway's own unit regenerates keys. */
        assert_true(exists(f, "etc/systemd/system/slipway-ssh-keygen.service"));
        assert_true(exists(f, "etc/systemd/system/multi-user.target.wants/slipway-ssh-keygen.service"));
        s = get(f, "var/log/apt/history.log");
        assert_string_equal(s, "");
        free(s);
        assert_false(exists(f, "var/log/dpkg.log.1"));
        assert_false(exists(f, "var/lib/systemd/random-seed"));
        assert_false(exists(f, "var/lib/dhcp/dhclient.eth0.leases"));
        assert_false(exists(f, "root/.bash_history"));
        assert_false(exists(f, "tmp/junk"));
        assert_true(exists(f, "tmp"));
        s = get(f, "etc/shadow");
        /* locked, and the install's day (20000) is the build's epoch's */
        assert_true(startswith(s, "root:*:20454:"));
        free(s);
}

/* Issue 19: the image's apt sources are the distribution's (not the build
 * mirror's), fstab only with a disk, and the days shadow's tools took from
 * the epoch of the install that filled the cache become this build's. */
static void test_sources_fstab_epoch(void **state) {
        struct fx *f = *state;
        char *comps[] = { (char *)"main", (char *)"contrib", NULL };
        f->p.distribution.release = (char *)"trixie";
        f->p.distribution.components = comps;
        put(f, "etc/apt/apt.conf.d/01autoremove", "", 0644);
        put(f, "usr/share/keyrings/debian-archive-keyring.gpg", "key", 0644);
        put(f, "etc/shadow", "root:*:19675:0:99999:7:::\nnoaging:*::0:99999:7:::\nmust:*:0:0:99999:7:::\nshort:*\n", 0640);
        put(f, "etc/shadow-", "root:*:19675:0:99999:7:::\n", 0600);
        struct slw_partition parts[] = { { .type = PART_ROOT, .fs = FS_EXT4 } };
        f->ctx.plan.n_parts = 1;
        f->ctx.plan.root_index = 0;
        f->ctx.plan.parts[0].spec = &parts[0];
        strcpy(f->ctx.plan.parts[0].fs_uuid, "11111111-2222-4333-8444-555555555555");
        f->ctx.enabled_outputs[OUT_TAR] = true;   /* a tar only: no disk */
        assert_int_equal(stage_configure(&f->ctx), 0);

        assert_false(exists(f, "etc/fstab"));
        char *s = get(f, "etc/apt/sources.list.d/debian.sources");
        assert_string_equal(s, "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie trixie-updates\n"
                               "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                               "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: trixie-security\n"
                               "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
        free(s);
        s = get(f, "etc/shadow");
        assert_string_equal(s, "root:*:20454:0:99999:7:::\nnoaging:*::0:99999:7:::\nmust:*:0:0:99999:7:::\nshort:*\n");
        free(s);
        s = get(f, "etc/shadow-");
        assert_string_equal(s, "root:*:20454:0:99999:7:::\n");
        free(s);

        /* image-mirror, an unstable release (no -updates, no -security),
         * and a disk: fstab by UUID */
        f->p.distribution.release = (char *)"sid";
        f->p.distribution.image_mirror = (char *)"https://archive.example.org/debian";
        f->ctx.enabled_outputs[OUT_QCOW2] = true;
        assert_int_equal(stage_configure(&f->ctx), 0);
        s = get(f, "etc/apt/sources.list.d/debian.sources");
        assert_string_equal(s, "Types: deb\nURIs: https://archive.example.org/debian\nSuites: sid\nComponents: main contrib\n"
                               "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
        free(s);
        s = get(f, "etc/fstab");
        assert_non_null(strstr(s, "UUID=11111111-2222-4333-8444-555555555555 / ext4 defaults,errors=remount-ro 0 1\n"));
        free(s);
}

/* An imported tree's days and sources are its own. */
static void test_import_keeps_its_own(void **state) {
        struct fx *f = *state;
        f->p.distribution.backend = BACKEND_IMPORT;
        put(f, "etc/apt/sources.list", "deb http://example.org/debian trixie main\n", 0644);
        assert_int_equal(stage_configure(&f->ctx), 0);
        char *s = get(f, "etc/shadow");
        assert_string_equal(s, SHADOW);
        free(s);
        assert_false(exists(f, "etc/apt/sources.list.d/debian.sources"));
        s = get(f, "etc/apt/sources.list");
        assert_string_equal(s, "deb http://example.org/debian trixie main\n");
        free(s);
}


/* Nothing the tree names can make configure remove a file outside it: a
 * modules.dep entry that climbs with "..", one below a symlink to a host
 * directory, and history files below symlinked homes.  Old code joined
 * modules.dep paths to the host path of the module directory, so the
 * kernel resolved them, ".." and symlinks included, on the host. */
static void test_removal_stays_in_tree(void **state) {
        struct fx *f = *state;
        char *outside = xasprintf("%s.outside", f->dir), *p;
        assert_int_equal(mkdir_p(outside, 0755), 0);
        const char *canaries[] = { "a.ko.xz", "sub/b.ko.xz", ".bash_history" };
        for (size_t i = 0; i < ELEMENTSOF(canaries); i++) {
                p = path_join(outside, canaries[i]);
                char *dir = xstrdup(p);
                *strrchr(dir, '/') = '\0';
                assert_int_equal(mkdir_p(dir, 0755), 0);
                assert_int_equal(write_file(p, "canary", 6, 0644), 0);
                free(dir);
                free(p);
        }
        char *climb = xasprintf("kernel/../../../../../../../../../../../..%s/a.ko.xz", outside);
        char *dep = xasprintf("kernel/drivers/hv/hv_vmbus.ko.xz:\n%s:\nkernel/hostlink/b.ko.xz:\n", climb);
        put(f, "usr/lib/modules/6.1.0-test/modules.dep", dep, 0644);
        put(f, "usr/lib/modules/6.1.0-test/kernel/drivers/hv/hv_vmbus.ko.xz", "ko", 0644);
        char *sub = xasprintf("%s/sub", outside);
        link_(f, sub, "usr/lib/modules/6.1.0-test/kernel/hostlink");
        link_(f, outside, "home/abs");
        char *rel = xasprintf("../../../../../../../../../..%s", outside);
        link_(f, rel, "home/rel");
        char *allow[] = { (char *)"drivers/hv/*", NULL };
        f->p.prune.kernel_modules = allow;

        struct cfg c;
        assert_int_equal(cfg_open(&c, &f->ctx), 0);
        assert_int_equal(kernel_find_version(&c), 0);
        assert_int_equal(kernel_prune_modules(&c), 0);
        unsigned n = 0;
        assert_int_equal(cfg_remove_glob(&c, "/home/*/.bash_history", false, &n), 0);
        assert_int_equal(n, 0);
        cfg_close(&c);
        for (size_t i = 0; i < ELEMENTSOF(canaries); i++) {
                p = path_join(outside, canaries[i]);
                char *text = NULL;
                if (read_file(p, &text, NULL) < 0)
                        fail_msg("%s outside the tree was removed", p);
                assert_string_equal(text, "canary");
                free(text);
                free(p);
        }
        /* The links themselves are still there: nothing below them matched. */
        assert_true(exists(f, "home/abs"));
        rm_rf(outside);
        free(outside);
        free(climb);
        free(dep);
        free(sub);
        free(rel);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_errors_before_any_write, setup, teardown),
                cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_autologin_and_password_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_files_and_settings, setup, teardown),
                cmocka_unit_test_setup_teardown(test_systemd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kernel_modules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_kernel_modules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_removal_stays_in_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_needs_initramfs_generator, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_and_generalize, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sources_fstab_epoch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import_keeps_its_own, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
