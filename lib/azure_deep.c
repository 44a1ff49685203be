/* SPDX-License-Identifier: MIT */
#include "azure_deep.h"
#include "azure_rules.h"

int azure_verify_image_deep(const char *path, bool json, FILE *out) {
        return azure_verify_image(path, json, out);
}
