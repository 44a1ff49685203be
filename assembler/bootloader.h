/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct build_ctx;

/* The part of the bootloader stage that must happen before the root
 * filesystem is made (stage_disk calls it before mke2fs): checks that the
 * tree has the GRUB modules the profile needs and writes
 * TREE/boot/grub/grub.cfg.  Writes nothing else. */
int bootloader_prepare_tree(struct build_ctx *ctx);

/* Newest /boot/vmlinuz-* of the tree (by version) and its initrd.img-*
 * (NULL when absent); paths relative to the tree, starting with "/boot/". */
int bootloader_find_kernel(const char *tree, char **ret_kernel, char **ret_initrd);

/* What the files staged for the ESP under DIR take on the vfat: file data
 * rounded up to 4 KiB each, plus 4 KiB per directory. */
uint64_t esp_staged_bytes(const char *dir);

/* Replaces each @KEY@ of `template` by its value from keys/values (n
 * pairs); an unknown @KEY@ is an error (-EINVAL, logged). */
int template_expand(const char *template, const char *const *keys, const char *const *values, size_t n, char **ret);

/* The grub-bios-setup patches, on buffers (unit-testable):
 *  boot.img (first 440 bytes used) merged into `mbr` (512 bytes, keeping
 *  its BPB area, disk signature and partition table), kernel sector =
 *  core_lba, boot drive 0xff, the 0x66 jump NOPed for hard disks;
 *  core.img's first sector (diskboot) blocklist = core_lba + 1, sectors - 1. */
int grub_patch_mbr(uint8_t mbr[512], const uint8_t *boot_img, size_t boot_img_size, uint64_t core_lba);
int grub_patch_core(uint8_t *core, size_t core_size, uint64_t core_lba);

/* argv prefix (strv) that runs the image's own grub-mkimage through the
 * image's dynamic loader (so the tool matches the image's modules), or
 * the host's when the image's cannot run here; *ret_which says which.
 * The tool, the loader and the library path are canonical paths inside
 * TREE (tree_host_path). */
char **grub_mkimage_command(const char *tree, const char **ret_which);

/* Copies the regular files of the tree's /usr/lib/grub/PLATFORM (modules,
 * kernel.img, moddep.lst, the boot images; a symlink resolved inside the
 * tree) into the host directory DEST (created), for grub-mkimage -d DEST:
 * a tool given the tree's directory would open every module by a host path
 * and follow any symlink in it out of the image.  Logs its errors. */
int grub_stage_modules(int root_fd, const char *platform, const char *dest);

/* Immutable images (bootloader_sdboot.c): systemd-boot, the kernel, the
 * initrd and a Type #1 entry whose options carry roothash=, staged into
 * esp_dir (copied onto the ESP by the caller). */
int bootloader_systemd_boot(struct build_ctx *ctx, const char *esp_dir);
/* The immutable image's kernel command line (allocated). */
char *bootloader_immutable_cmdline(const struct build_ctx *ctx);
