/* SPDX-License-Identifier: MIT */
/* sbom.spdx.json (SPDX 2.3, JSON) from the package manifest. */
#include "sbom.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <time.h>

/* Debian DEP-5 short names (and common RPM spellings) -> SPDX ids.  A term
 * already spelled as an SPDX id passes through when it is in this table's
 * right-hand column. */
static const struct { const char *from, *to; } license_map[] = {
        { "GPL-1", "GPL-1.0-only" }, { "GPL-1+", "GPL-1.0-or-later" },
        { "GPL-2", "GPL-2.0-only" }, { "GPL-2+", "GPL-2.0-or-later" }, { "GPL-2.0", "GPL-2.0-only" }, { "GPL-2.0+", "GPL-2.0-or-later" },
        { "GPLv2", "GPL-2.0-only" }, { "GPLv2+", "GPL-2.0-or-later" },
        { "GPL-3", "GPL-3.0-only" }, { "GPL-3+", "GPL-3.0-or-later" }, { "GPL-3.0", "GPL-3.0-only" }, { "GPL-3.0+", "GPL-3.0-or-later" },
        { "GPLv3", "GPL-3.0-only" }, { "GPLv3+", "GPL-3.0-or-later" },
        { "LGPL-2", "LGPL-2.0-only" }, { "LGPL-2+", "LGPL-2.0-or-later" },
        { "LGPL-2.1", "LGPL-2.1-only" }, { "LGPL-2.1+", "LGPL-2.1-or-later" }, { "LGPLv2+", "LGPL-2.0-or-later" }, { "LGPLv2.1+", "LGPL-2.1-or-later" },
        { "LGPL-3", "LGPL-3.0-only" }, { "LGPL-3+", "LGPL-3.0-or-later" }, { "LGPL-3.0+", "LGPL-3.0-or-later" },
        { "AGPL-3", "AGPL-3.0-only" }, { "AGPL-3+", "AGPL-3.0-or-later" },
        { "Expat", "MIT" }, { "MIT", "MIT" }, { "X11", "X11" }, { "ISC", "ISC" }, { "Zlib", "Zlib" }, { "zlib", "Zlib" },
        { "BSD-2-clause", "BSD-2-Clause" }, { "BSD-2-Clause", "BSD-2-Clause" }, { "BSD-3-clause", "BSD-3-Clause" },
        { "BSD-3-Clause", "BSD-3-Clause" }, { "BSD-4-clause", "BSD-4-Clause" }, { "BSD-4-Clause", "BSD-4-Clause" },
        { "Apache-2.0", "Apache-2.0" }, { "Apache-2", "Apache-2.0" }, { "ASL 2.0", "Apache-2.0" },
        { "MPL-1.1", "MPL-1.1" }, { "MPL-2.0", "MPL-2.0" }, { "PSF-2", "PSF-2.0" }, { "Python", "Python-2.0" },
        { "Artistic", "Artistic-1.0-Perl" }, { "Artistic-2.0", "Artistic-2.0" }, { "OpenSSL", "OpenSSL" },
        { "CC0-1.0", "CC0-1.0" }, { "CC0", "CC0-1.0" }, { "public-domain", NULL }, { "BSL-1.0", "BSL-1.0" },
        { "curl", "curl" }, { "Unicode-DFS-2016", "Unicode-DFS-2016" }, { "0BSD", "0BSD" }, { "Unlicense", "Unlicense" },
        { "FSFAP", "FSFAP" }, { "FSFUL", "FSFUL" }, { "FSFULLR", "FSFULLR" }, { "OFL-1.1", "OFL-1.1" },
        { "EPL-1.0", "EPL-1.0" }, { "EPL-2.0", "EPL-2.0" }, { "CDDL-1.0", "CDDL-1.0" }, { "WTFPL", "WTFPL" },
};

static const char *map_term(const char *t) {
        for (size_t i = 0; i < ELEMENTSOF(license_map); i++)
                if (strcmp(license_map[i].from, t) == 0)
                        return license_map[i].to;
        return NULL;
}

char *sbom_spdx_license(const char *license) {
        if (!license || !*license)
                return NULL;
        /* Terms joined by AND / OR (either case) or ", "; each term must map.
         * Repeated terms are dropped; AND and OR mixed without parentheses
         * are ambiguous, and anything else (parentheses, "with" exceptions,
         * free text) is not mapped: NULL. */
        _cleanup_free_ char *copy = xstrdup(license);
        _cleanup_strv_free_ char **terms = NULL;
        bool and = false, or = false, want_term = true;
        for (char *save = NULL, *tok = strtok_r(copy, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
                if (strcasecmp(tok, "and") == 0 || strcasecmp(tok, "or") == 0) {
                        if (want_term)
                                return NULL;
                        *(strcasecmp(tok, "and") == 0 ? &and : &or) = true;
                        want_term = true;
                        continue;
                }
                const char *m = map_term(tok);
                if (!m)
                        return NULL;
                if (!want_term)
                        and = true;   /* "A, B" */
                want_term = false;
                if (!strv_contains(terms, m))
                        strv_push(&terms, m);
        }
        if (!terms || want_term || (and && or))
                return NULL;
        size_t len = 0;
        for (char **t = terms; *t; t++)
                len += strlen(*t) + 4;
        char *r = xmalloc(len + 1), *w = r;
        *w = '\0';
        for (char **t = terms; *t; t++) {
                if (t != terms)
                        w = stpcpy(w, or ? " OR " : " AND ");
                w = stpcpy(w, *t);
        }
        return r;
}

char *purl_escape(const char *s) {
        size_t n = strlen(s);
        char *out = xmalloc(n * 3 + 1), *w = out;
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~')
                        *w++ = (char)*c;
                else
                        w += sprintf(w, "%%%02X", *c);
        }
        *w = '\0';
        return out;
}

/* SPDXRef-<idstring>: letters, digits, '.' and '-' only. */
static char *spdx_id(const char *prefix, size_t index, const char *name) {
        char *id = xasprintf("SPDXRef-%s-%zu-%s", prefix, index, name);
        for (char *c = id + 8; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
                        *c = '-';
        return id;
}

static void add_rel(struct json_object *rels, const char *a, const char *type, const char *b) {
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "spdxElementId", json_object_new_string(a));
        json_object_object_add(r, "relationshipType", json_object_new_string(type));
        json_object_object_add(r, "relatedSpdxElement", json_object_new_string(b));
        json_object_array_add(rels, r);
}

int sbom_build(const struct sbom_input *in, struct json_object **ret) {
        if (!in->image_name || !in->namespace_uuid)
                return -EINVAL;
        const char *version = in->image_version ? in->image_version : "0";
        bool rpm = in->backend && strcmp(in->backend, "dnf") == 0;
        const char *distro = in->distro ? in->distro : rpm ? "fedora" : "debian";

        time_t t = (time_t)in->epoch;
        struct tm tm;
        char created[32];
        if (!gmtime_r(&t, &tm) || strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -ERANGE;

        struct json_object *doc = json_object_new_object();
        json_object_object_add(doc, "spdxVersion", json_object_new_string("SPDX-2.3"));
        json_object_object_add(doc, "dataLicense", json_object_new_string("CC0-1.0"));
        json_object_object_add(doc, "SPDXID", json_object_new_string("SPDXRef-DOCUMENT"));
        _cleanup_free_ char *docname = xasprintf("%s-%s", in->image_name, version);
        json_object_object_add(doc, "name", json_object_new_string(docname));
        _cleanup_free_ char *ename = purl_escape(in->image_name), *ever = purl_escape(version);
        _cleanup_free_ char *ns = xasprintf("https://spdx.org/spdxdocs/slipway/%s-%s-%s", ename, ever, in->namespace_uuid);
        json_object_object_add(doc, "documentNamespace", json_object_new_string(ns));
        struct json_object *ci = json_object_new_object();
        json_object_object_add(ci, "created", json_object_new_string(created));
        struct json_object *creators = json_object_new_array();
        _cleanup_free_ char *tool = xasprintf("Tool: slipway-%s", in->tool_version ? in->tool_version : "unknown");
        json_object_array_add(creators, json_object_new_string(tool));
        json_object_object_add(ci, "creators", creators);
        json_object_object_add(doc, "creationInfo", ci);

        struct json_object *pkgs = json_object_new_array(), *rels = json_object_new_array();
        /* The image itself. */
        const char *image_id = "SPDXRef-Image";
        struct json_object *ip = json_object_new_object();
        json_object_object_add(ip, "SPDXID", json_object_new_string(image_id));
        json_object_object_add(ip, "name", json_object_new_string(in->image_name));
        json_object_object_add(ip, "versionInfo", json_object_new_string(version));
        json_object_object_add(ip, "supplier", json_object_new_string("NOASSERTION"));
        json_object_object_add(ip, "downloadLocation", json_object_new_string("NOASSERTION"));
        json_object_object_add(ip, "filesAnalyzed", json_object_new_boolean(false));
        json_object_object_add(ip, "licenseConcluded", json_object_new_string("NOASSERTION"));
        json_object_object_add(ip, "licenseDeclared", json_object_new_string("NOASSERTION"));
        json_object_object_add(ip, "copyrightText", json_object_new_string("NOASSERTION"));
        json_object_object_add(ip, "primaryPackagePurpose", json_object_new_string("OPERATING_SYSTEM"));
        json_object_array_add(pkgs, ip);
        add_rel(rels, "SPDXRef-DOCUMENT", "DESCRIBES", image_id);

        for (size_t i = 0; in->packages && i < in->packages->n; i++) {
                const struct pkg_entry *e = &in->packages->items[i];
                _cleanup_free_ char *id = spdx_id("Package", i + 1, e->name);
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "SPDXID", json_object_new_string(id));
                json_object_object_add(p, "name", json_object_new_string(e->name));
                if (e->version && *e->version)
                        json_object_object_add(p, "versionInfo", json_object_new_string(e->version));
                json_object_object_add(p, "supplier", json_object_new_string("NOASSERTION"));
                json_object_object_add(p, "downloadLocation", json_object_new_string("NOASSERTION"));
                json_object_object_add(p, "filesAnalyzed", json_object_new_boolean(false));
                json_object_object_add(p, "licenseConcluded", json_object_new_string("NOASSERTION"));
                _cleanup_free_ char *lic = sbom_spdx_license(e->license);
                json_object_object_add(p, "licenseDeclared", json_object_new_string(lic ? lic : "NOASSERTION"));
                if (!lic && e->license && *e->license) {
                        _cleanup_free_ char *c = xasprintf("as the package states it: %s", e->license);
                        json_object_object_add(p, "licenseComments", json_object_new_string(c));
                }
                json_object_object_add(p, "copyrightText", json_object_new_string("NOASSERTION"));
                if (e->source && strcmp(e->source, e->name) != 0) {
                        _cleanup_free_ char *c = xasprintf("source package: %s", e->source);
                        json_object_object_add(p, "sourceInfo", json_object_new_string(c));
                }
                _cleanup_free_ char *n = purl_escape(e->name), *v = e->version ? purl_escape(e->version) : NULL,
                                    *a = e->architecture ? purl_escape(e->architecture) : NULL;
                _cleanup_free_ char *purl = xasprintf("pkg:%s/%s/%s%s%s%s%s", rpm ? "rpm" : "deb", distro, n, v ? "@" : "", v ? v : "",
                                                      a ? "?arch=" : "", a ? a : "");
                struct json_object *refs = json_object_new_array(), *ref = json_object_new_object();
                json_object_object_add(ref, "referenceCategory", json_object_new_string("PACKAGE-MANAGER"));
                json_object_object_add(ref, "referenceType", json_object_new_string("purl"));
                json_object_object_add(ref, "referenceLocator", json_object_new_string(purl));
                json_object_array_add(refs, ref);
                json_object_object_add(p, "externalRefs", refs);
                json_object_array_add(pkgs, p);
                add_rel(rels, image_id, "CONTAINS", id);
        }
        json_object_object_add(doc, "packages", pkgs);
        json_object_object_add(doc, "relationships", rels);
        *ret = doc;
        return 0;
}
