/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>

#include "manifest.h"

struct json_object;

/* An SPDX 2.3 JSON document from a package manifest:
 *  - documentNamespace and creationInfo.created are derived from the image
 *    and SOURCE_DATE_EPOCH (no random UUID, no clock): the same build gives
 *    the same bytes;
 *  - one package for the image, which the document DESCRIBES and which
 *    CONTAINS every installed package;
 *  - every installed package: name, versionInfo, supplier and download
 *    location NOASSERTION, a purl (pkg:deb/debian/... or pkg:rpm/...),
 *    licenseDeclared when the manifest's licence maps to an SPDX expression
 *    (Debian's DEP-5 short names are translated for the common licences),
 *    else NOASSERTION with the original text in licenseComments. */
struct sbom_input {
        const char *image_name, *image_version;
        const char *backend;          /* "apt", "dnf", "import" */
        const char *distro;           /* purl namespace: "debian", "fedora", "azurelinux" */
        const char *tool_version;     /* slipway's */
        const char *namespace_uuid;   /* derived (derive_uuid) */
        uint64_t epoch;
        const struct pkg_list *packages;
};

int sbom_build(const struct sbom_input *in, struct json_object **ret);

/* An SPDX licence expression for a Debian/RPM licence string, or NULL when
 * some term has no SPDX identifier.  Caller frees. */
char *sbom_spdx_license(const char *license);

/* Percent-encodes a purl component (RFC 3986 unreserved stay). Caller frees. */
char *purl_escape(const char *s);
