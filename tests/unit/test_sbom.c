/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* sbom.spdx.json: SPDX 2.3 required fields, ids, purls, licences, and the
 * same bytes for the same inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "sbom.h"
#include "util.h"

static struct json_object *get(struct json_object *o, const char *k) {
        struct json_object *v = NULL;
        assert_true(json_object_object_get_ex(o, k, &v));
        assert_non_null(v);
        return v;
}

static const char *gets(struct json_object *o, const char *k) {
        struct json_object *v = get(o, k);
        assert_true(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static bool valid_spdxid(const char *s) {
        if (strncmp(s, "SPDXRef-", 8) != 0 || !s[8])
                return false;
        for (const char *c = s + 8; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-')
                        return false;
        return true;
}

static struct pkg_list pkgs(void) {
        struct pkg_list l = { 0 };
        l.items = xcalloc(3, sizeof(*l.items));
        l.items[l.n++] = (struct pkg_entry) { .name = xstrdup("libstdc++6"), .version = xstrdup("14.2.0-19"), .architecture = xstrdup("amd64"),
                                              .source = xstrdup("gcc-14"), .license = xstrdup("GPL-3+ and GPL-3+ with GCC-exception") };
        l.items[l.n++] = (struct pkg_entry) { .name = xstrdup("zlib1g"), .version = xstrdup("1:1.3.dfsg+really1.3.1-1+b1"),
                                              .architecture = xstrdup("amd64"), .source = xstrdup("zlib"), .license = xstrdup("Zlib") };
        l.items[l.n++] = (struct pkg_entry) { .name = xstrdup("adduser"), .version = xstrdup("3.152"), .architecture = xstrdup("all"),
                                              .license = NULL };
        return l;
}

static void test_document(void **state) {
        struct pkg_list l = pkgs();
        struct sbom_input in = { .image_name = "azure-base", .image_version = "1.0", .backend = "apt", .tool_version = "0.1.0",
                                 .namespace_uuid = "dcde5328-e95a-4a0d-b652-b6ba728361ed", .epoch = 1767225600, .packages = &l };
        struct json_object *d = NULL, *d2 = NULL;
        assert_int_equal(sbom_build(&in, &d), 0);
        assert_string_equal(gets(d, "spdxVersion"), "SPDX-2.3");
        assert_string_equal(gets(d, "dataLicense"), "CC0-1.0");
        assert_string_equal(gets(d, "SPDXID"), "SPDXRef-DOCUMENT");
        assert_string_equal(gets(d, "name"), "azure-base-1.0");
        assert_string_equal(gets(d, "documentNamespace"),
                            "https://spdx.org/spdxdocs/slipway/azure-base-1.0-dcde5328-e95a-4a0d-b652-b6ba728361ed");
        struct json_object *ci = get(d, "creationInfo");
        assert_string_equal(gets(ci, "created"), "2026-01-01T00:00:00Z");
        assert_string_equal(json_object_get_string(json_object_array_get_idx(get(ci, "creators"), 0)), "Tool: slipway-0.1.0");

        struct json_object *p = get(d, "packages");
        assert_int_equal(json_object_array_length(p), 4);
        for (size_t i = 0; i < 4; i++) {
                struct json_object *e = json_object_array_get_idx(p, i);
                assert_true(valid_spdxid(gets(e, "SPDXID")));
                gets(e, "name");
                assert_string_equal(gets(e, "downloadLocation"), "NOASSERTION");
                assert_string_equal(gets(e, "supplier"), "NOASSERTION");
                assert_string_equal(gets(e, "licenseConcluded"), "NOASSERTION");
                gets(e, "licenseDeclared");
                gets(e, "copyrightText");
                for (size_t j = 0; j < i; j++)   /* ids unique */
                        assert_string_not_equal(gets(e, "SPDXID"), gets(json_object_array_get_idx(p, j), "SPDXID"));
        }
        struct json_object *cxx = json_object_array_get_idx(p, 1), *z = json_object_array_get_idx(p, 2), *a = json_object_array_get_idx(p, 3);
        assert_string_equal(gets(cxx, "SPDXID"), "SPDXRef-Package-1-libstdc--6");
        assert_string_equal(gets(cxx, "licenseDeclared"), "NOASSERTION");    /* "with GCC-exception" is not mapped */
        assert_non_null(strstr(gets(cxx, "licenseComments"), "GCC-exception"));
        assert_string_equal(gets(json_object_array_get_idx(get(cxx, "externalRefs"), 0), "referenceLocator"),
                            "pkg:deb/debian/libstdc%2B%2B6@14.2.0-19?arch=amd64");
        assert_string_equal(gets(z, "licenseDeclared"), "Zlib");
        assert_string_equal(gets(json_object_array_get_idx(get(z, "externalRefs"), 0), "referenceLocator"),
                            "pkg:deb/debian/zlib1g@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=amd64");
        assert_string_equal(gets(z, "sourceInfo"), "source package: zlib");
        assert_string_equal(gets(a, "licenseDeclared"), "NOASSERTION");

        struct json_object *rels = get(d, "relationships");
        assert_int_equal(json_object_array_length(rels), 4);
        struct json_object *r0 = json_object_array_get_idx(rels, 0);
        assert_string_equal(gets(r0, "spdxElementId"), "SPDXRef-DOCUMENT");
        assert_string_equal(gets(r0, "relationshipType"), "DESCRIBES");
        assert_string_equal(gets(r0, "relatedSpdxElement"), gets(json_object_array_get_idx(p, 0), "SPDXID"));
        for (size_t i = 1; i < 4; i++) {
                struct json_object *r = json_object_array_get_idx(rels, i);
                assert_string_equal(gets(r, "relationshipType"), "CONTAINS");
                assert_string_equal(gets(r, "relatedSpdxElement"), gets(json_object_array_get_idx(p, i), "SPDXID"));
        }

        assert_int_equal(sbom_build(&in, &d2), 0);
        assert_string_equal(json_object_to_json_string(d), json_object_to_json_string(d2));
        json_object_put(d);
        json_object_put(d2);

        /* rpm */
        in.backend = "dnf";
        in.distro = "azurelinux";
        assert_int_equal(sbom_build(&in, &d), 0);
        assert_string_equal(gets(json_object_array_get_idx(get(json_object_array_get_idx(get(d, "packages"), 2), "externalRefs"), 0),
                                 "referenceLocator"),
                            "pkg:rpm/azurelinux/zlib1g@1%3A1.3.dfsg%2Breally1.3.1-1%2Bb1?arch=amd64");
        json_object_put(d);
        pkg_list_free(&l);
}

static void test_licenses(void **state) {
        static const struct { const char *in, *out; } cases[] = {
                { "GPL-2+", "GPL-2.0-or-later" },
                { "GPL-2+ AND GPL-2+ and curl AND BSD-3-clause AND Expat AND GPL-2 AND curl",
                  "GPL-2.0-or-later AND curl AND BSD-3-Clause AND MIT AND GPL-2.0-only" },
                { "LGPL-2.1+ or GPL-2+", "LGPL-2.1-or-later OR GPL-2.0-or-later" },
                { "MIT, ISC", "MIT AND ISC" },
                { "GPL-2+ AND MIT OR ISC", NULL },
                { "public-domain", NULL },
                { "BSD-3-clause AND some-custom", NULL },
                { "", NULL },
                { "AND", NULL },
                { "MIT AND", NULL },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *r = sbom_spdx_license(cases[i].in);
                if (cases[i].out)
                        assert_string_equal(r, cases[i].out);
                else
                        assert_null(r);
        }
        assert_null(sbom_spdx_license(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_document),
                cmocka_unit_test(test_licenses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
