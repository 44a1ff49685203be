/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdio.h>

/* azure_verify_image() plus a cross-check through libguestfs (guestfish
 * --ro, the appliance forced to TCG where KVM is unusable): machine-id,
 * SSH host keys, fstab swap entries, /swapfile and the kernel version must
 * agree with what the fast path read.  A disagreement is a failing rule
 * "deep.agrees".  Returns like azure_verify_image(). */
int azure_verify_image_deep(const char *path, bool json, FILE *out);
