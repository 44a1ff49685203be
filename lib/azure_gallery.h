/* SPDX-License-Identifier: MIT */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>

/* What an Azure Compute Gallery image definition should say about an
 * image, and the `az sig` commands that make one from an uploaded VHD.
 *
 * References (Microsoft Learn): "Support for generation 2 VMs on Azure"
 * (V1: BIOS, V2: UEFI), "Trusted Launch for Azure VMs" (image definitions
 * of Gen2 images that boot under Secure Boot with Microsoft's keys carry
 * SecurityType=TrustedLaunchSupported), "NVMe overview" (images for VM
 * sizes with NVMe disks carry DiskControllerTypes=SCSI,NVMe; Gen2 only),
 * and the Azure CLI's `az sig image-definition create` / `az sig
 * image-version create`. */

struct slw_profile;

struct azure_image_features {
        const char *source;     /* "image" (inspected) or "profile" */
        bool bios, uefi;        /* boots with BIOS (Gen1) / UEFI (Gen2) */
        bool secure_boot;       /* a boot loader signed for Microsoft's UEFI CA (shim) */
        bool nvme;              /* the NVMe driver and Azure's NVMe disk naming */
        char *name;             /* the image definition's name */
        char *version;          /* the image version, MAJOR.MINOR.PATCH */
};
void azure_image_features_done(struct azure_image_features *f);

/* From the image itself, read-only, by the rules of verify --azure:
 * boot.gen1-bios and boot.gen2-uefi (the boot code and loaders it has),
 * boot.secure-boot-signed (\EFI\BOOT\BOOTX64.EFI signed in a chain to
 * Microsoft's UEFI CA: shim), initramfs.nvme and nvme.disk-naming (the
 * NVMe driver and Azure's udev rules).  0, or a negative errno (logged)
 * when the image cannot be read. */
int azure_features_from_image(const char *path, struct azure_image_features *ret);
/* From the profile that built it: bootloader.bios/uefi/secure-boot (with
 * shim: not an immutable image's self-signed UKI), kernel.initramfs-modules
 * naming nvme and packages.install naming azure-vm-utils. */
void azure_features_from_profile(const struct slw_profile *p, struct azure_image_features *ret);

/* "V2" when the image boots with UEFI, else "V1". */
const char *azure_hyperv_generation(const struct azure_image_features *f);
/* The --features values: SecurityType=TrustedLaunchSupported (Gen2 with a
 * Secure Boot chain), DiskControllerTypes=SCSI,NVMe (Gen2 with NVMe).
 * NULL-terminated; NULL when none. */
char **azure_gallery_features(const struct azure_image_features *f);

/* The two commands as argv arrays (NULL-terminated), with placeholders
 * RESOURCE_GROUP, GALLERY, PUBLISHER, OFFER and SKU; `account` (the
 * storage account's name, or NULL for a placeholder) and `blob_url`. */
char **azure_gallery_definition_argv(const struct azure_image_features *f);
char **azure_gallery_version_argv(const struct azure_image_features *f, const char *blob_url, const char *account);

/* {"hyper_v_generation", "features": [...], "source", "name", "version",
 *  "commands": [[argv], [argv]]} */
json_object *azure_gallery_to_json(const struct azure_image_features *f, const char *blob_url, const char *account);
