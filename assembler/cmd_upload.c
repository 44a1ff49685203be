/* SPDX-License-Identifier: MIT */
/* slipway upload azure IMAGE.vhd (--sas-url URL | [--connection-string S] --container C [--name B])
 *                     [--overwrite | --resume] [--jobs N] [--retries N] [--limit-rate BYTES]
 *                     [--merge-gap BYTES] [--zero-budget PERCENT] [--profile PROFILE] [--json]
 *
 * Uploads a fixed VHD to a page blob (lib/azure_upload.c) and prints the
 * `az sig` commands that make a gallery image of it (lib/azure_gallery.c).
 * Exit codes: 0 uploaded, 1 the upload failed (the image is not what
 * Azure takes, the service refused, the network failed after the retries),
 * 2 usage errors (options, a connection string or SAS URL that does not
 * parse, a profile error), 130 interrupted (--resume continues). */
#include "azure_blob.h"
#include "azure_gallery.h"
#include "azure_upload.h"
#include "commands.h"
#include "log.h"
#include "profile.h"
#include "spawn.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "slipway upload: ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nUsage: slipway %s\n", command_find("upload")->synopsis);
        return EXIT_USAGE;
}

/* The storage account's name for `az sig image-version create`: Shared
 * Key's, the host's first label (NAME.blob.core.windows.net), or the
 * first path segment of a path-style URL (the emulator's). */
static char *account_name(const struct azure_blob *b) {
        if (b->account)
                return xstrdup(b->account);
        const char *host = strstr(b->url, "://");
        if (!host)
                return NULL;
        host += 3;
        size_t hn = strcspn(host, "/:");
        const char *dot = memchr(host, '.', hn);
        if (dot && strncmp(dot, ".blob.", 6) == 0)
                return xstrndup(host, (size_t)(dot - host));
        const char *path = host + strcspn(host, "/");
        if (*path == '/' && path[1])
                return xstrndup(path + 1, strcspn(path + 1, "/"));
        return NULL;
}

static bool valid_container(const char *s) {
        /* 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit
         * ("Naming and referencing containers, blobs, and metadata") */
        size_t n = strlen(s);
        if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-') ||
                    (s[i] == '-' && s[i + 1] == '-'))
                        return false;
        return true;
}

static void print_summary(const char *image, const struct azure_blob *b, const struct azure_upload_result *res) {
        char sent[32], zsent[32], skipped[32], holes[32], zeros[32], present[32], rate[32];
        uint64_t skip = res->size - res->sent;
        printf("uploaded %s to %s: %s sent (%" PRIu64 " bytes, of which %s zeros to save requests), "
               "%s skipped (%s holes, %s zero sectors%s%s)%s; "
               "MD5 %s; %.1f s (Put Page %.1f s, %s/s",
               image, b->url, format_bytes(res->sent, sent), res->sent, format_bytes(res->zeros_sent, zsent),
               format_bytes(skip, skipped),
               format_bytes(res->holes, holes), format_bytes(res->zeros, zeros), res->present ? ", already in the blob " : "",
               res->present ? format_bytes(res->present, present) : "", res->resumed ? ", resumed" : "", res->md5,
               res->seconds, res->put_seconds,
               format_bytes(res->put_seconds > 0 ? (uint64_t)((double)res->sent / res->put_seconds) : res->sent, rate));
        /* hashing a large disk's zeros can outlast sending its data */
        if (res->md5_wait_seconds >= 0.1)
                printf("; then %.1f s for the MD5 of all %s", res->md5_wait_seconds, format_bytes(res->size, skipped));
        printf(")\n");
}

static void print_gallery(const struct azure_image_features *f, const char *url, const char *account) {
        _cleanup_strv_free_ char **def = azure_gallery_definition_argv(f);
        _cleanup_strv_free_ char **ver = azure_gallery_version_argv(f, url, account);
        _cleanup_free_ char *d = argv_to_string(def), *v = argv_to_string(ver);
        printf("\nAn Azure Compute Gallery image of it (%s generation %s%s%s, from the %s; put in your "
               "RESOURCE_GROUP, GALLERY, PUBLISHER, OFFER and SKU):\n  %s\n  %s\n",
               f->uefi ? "UEFI," : "BIOS,", azure_hyperv_generation(f), f->uefi && f->secure_boot ? ", Secure Boot (Microsoft-signed shim)" : "",
               f->uefi && f->nvme ? ", NVMe" : "", f->source, d, v);
}

static json_object *result_json(const char *image, const struct azure_blob *b, const struct azure_upload_result *res) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "image", json_object_new_string(image));
        json_object_object_add(o, "blob", json_object_new_string(b->url));
        json_object_object_add(o, "container", json_object_new_string(b->container));
        json_object_object_add(o, "name", json_object_new_string(b->name));
        json_object_object_add(o, "size", json_object_new_int64((int64_t)res->size));
        json_object_object_add(o, "nonzero_bytes", json_object_new_int64((int64_t)res->nonzero));
        json_object_object_add(o, "sent_bytes", json_object_new_int64((int64_t)res->sent));
        json_object_object_add(o, "skipped_bytes", json_object_new_int64((int64_t)(res->size - res->sent)));
        json_object_object_add(o, "hole_bytes", json_object_new_int64((int64_t)res->holes));
        json_object_object_add(o, "zero_bytes", json_object_new_int64((int64_t)res->zeros));
        json_object_object_add(o, "zero_bytes_sent", json_object_new_int64((int64_t)res->zeros_sent));
        json_object_object_add(o, "present_bytes", json_object_new_int64((int64_t)res->present));
        json_object_object_add(o, "requests", json_object_new_int64((int64_t)res->requests));
        json_object_object_add(o, "retried", json_object_new_int64((int64_t)res->retried));
        json_object_object_add(o, "resumed", json_object_new_boolean(res->resumed));
        json_object_object_add(o, "md5", json_object_new_string(res->md5));
        json_object_object_add(o, "seconds", json_object_new_double(res->seconds));
        json_object_object_add(o, "put_seconds", json_object_new_double(res->put_seconds));
        json_object_object_add(o, "md5_wait_seconds", json_object_new_double(res->md5_wait_seconds));
        return o;
}

static int upload_azure(int argc, char **argv) {
        static const struct option options[] = {
                { "sas-url", required_argument, NULL, 's' },
                { "connection-string", required_argument, NULL, 'c' },
                { "container", required_argument, NULL, 'C' },
                { "name", required_argument, NULL, 'n' },
                { "overwrite", no_argument, NULL, 'o' },
                { "resume", no_argument, NULL, 'r' },
                { "jobs", required_argument, NULL, 'j' },
                { "retries", required_argument, NULL, 'R' },
                { "limit-rate", required_argument, NULL, 'l' },
                { "merge-gap", required_argument, NULL, 'g' },
                { "zero-budget", required_argument, NULL, 'z' },
                { "profile", required_argument, NULL, 'p' },
                { "json", no_argument, NULL, 'J' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *sas_url = NULL, *conn = NULL, *container = NULL, *name = NULL, *profile_path = NULL;
        struct azure_upload_opts o = { .jobs = 8, .retries = 5, .merge_gap = AZURE_UPLOAD_MERGE_GAP,
                                       .zero_budget = AZURE_UPLOAD_ZERO_BUDGET,
                                       .trace_path = getenv("SLIPWAY_UPLOAD_TRACE") };
        bool json = false;
        uint64_t v;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "hj:", options, NULL)) != -1) {
                switch (c) {
                case 's': sas_url = optarg; break;
                case 'c': conn = optarg; break;
                case 'C': container = optarg; break;
                case 'n': name = optarg; break;
                case 'o': o.overwrite = true; break;
                case 'r': o.resume = true; break;
                case 'j':
                        if (parse_size(optarg, &v) < 0 || v < 1 || v > 64)
                                return usage("--jobs wants a number from 1 to 64");
                        o.jobs = (unsigned)v;
                        break;
                case 'R':
                        if (parse_size(optarg, &v) < 0 || v > 20)
                                return usage("--retries wants a number from 0 to 20");
                        o.retries = (unsigned)v;
                        break;
                case 'l':
                        if (parse_size(optarg, &v) < 0 || v < 1)
                                return usage("--limit-rate wants bytes per second, like 50MiB");
                        o.rate = v;
                        break;
                case 'g':
                        if (parse_size(optarg, &v) < 0 || v > 4 * MiB)
                                return usage("--merge-gap wants bytes from 0 to 4MiB");
                        o.merge_gap = v;
                        break;
                case 'z': {
                        /* a plain integer: parse_size would take "5K" */
                        char *end;
                        errno = 0;
                        unsigned long pct = strtoul(optarg, &end, 10);
                        if (errno || end == optarg || *end || optarg[0] == '-' || pct > 100)
                                return usage("--zero-budget wants a percentage from 0 to 100");
                        o.zero_budget = (unsigned)pct;
                        break;
                }
                case 'p': profile_path = optarg; break;
                case 'J': json = true; break;
                case 'h':
                        printf("Usage: slipway %s\n\n%s", command_find("upload")->synopsis, command_find("upload")->help);
                        return EXIT_OK;
                default: return usage("bad option");
                }
        }
        if (argc - optind != 1)
                return usage("upload azure wants one image, a fixed VHD");
        const char *image = argv[optind];
        if (o.overwrite && o.resume)
                return usage("--overwrite and --resume exclude each other");
        if (sas_url && (conn || container))
                return usage("--sas-url names the blob; --connection-string and --container are for Shared Key");
        if (!sas_url && !conn)
                conn = getenv("AZURE_STORAGE_CONNECTION_STRING");
        if (!sas_url && !conn)
                return usage("where to? --sas-url URL, or --connection-string (or $AZURE_STORAGE_CONNECTION_STRING) with --container");
        if (!sas_url && !container)
                return usage("--container is needed with a connection string");
        if (container && !valid_container(container))
                return usage("--container %s: a container name is 3-63 lowercase letters, digits and single hyphens", container);
        _cleanup_free_ char *default_name = NULL;
        if (!sas_url && !name) {
                const char *base = strrchr(image, '/');
                default_name = xstrdup(base ? base + 1 : image);
                name = default_name;
        }
        if (name && (!*name || strlen(name) > 1024))
                return usage("--name: a blob name is 1 to 1024 characters");

        struct azure_blob blob = { 0 };
        _cleanup_free_ char *err = NULL;
        if (sas_url) {
                if (azure_blob_from_sas_url(sas_url, name, &blob, &err) < 0) {
                        _cleanup_free_ char *m = azure_mask(err, NULL);
                        return usage("%s", m);
                }
        } else {
                struct azure_connection cs = { 0 };
                if (azure_connection_parse(conn, &cs, &err) < 0)
                        return usage("%s", err);
                int k = azure_blob_from_connection(&cs, container, name, &blob, &err);
                azure_connection_done(&cs);
                if (k < 0)
                        return usage("%s", err);
        }

        struct slw_profile *profile = NULL;
        int code = EXIT_FAILURE_BUILD;
        if (profile_path) {
                struct profile_errors errs = { 0 };
                int k = profile_load(profile_path, NULL, &profile, &errs);
                if (k < 0)
                        profile_errors_print(&errs, stderr);
                profile_errors_free(&errs);
                if (k < 0) {
                        code = EXIT_USAGE;
                        goto out;
                }
        }
        if (blob.sas_expiry && blob.sas_expiry <= time(NULL)) {
                char when[32];
                struct tm tm;
                gmtime_r(&blob.sas_expiry, &tm);
                strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
                log_error("the SAS token for %s expired at %s (its se=); make a new one", blob.url, when);
                goto out;
        }

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                log_error("curl_global_init failed");
                goto out;
        }
        /* a connection the server closed must be an error, not SIGPIPE */
        signal(SIGPIPE, SIG_IGN);
        struct azure_upload_result res;
        int r = azure_upload(&blob, image, &o, &res);
        if (r == -EINTR) {
                char sent[32], total[32];
                if (res.to_send == 0 && res.sent == 0)
                        log_error("interrupted before any page was sent");
                else
                        log_error("interrupted: %s of %s sent, the blob's MD5 not set; the same command with --resume sends the rest",
                                  format_bytes(res.sent, sent), format_bytes(res.to_send, total));
                code = EXIT_INTERRUPTED;
        } else if (r < 0) {
                if (res.sent > 0) {
                        char sent[32];
                        log_error("%s of the pages were written; the same command with --resume sends the rest",
                                  format_bytes(res.sent, sent));
                }
        } else {
                struct azure_image_features f = { 0 };
                if (profile)
                        azure_features_from_profile(profile, &f);
                else if (azure_features_from_image(image, &f) < 0) {
                        log_warning("%s cannot be inspected: the az commands assume a Generation 2 image without Secure Boot",
                                    image);
                        azure_image_features_done(&f);
                        f = (struct azure_image_features){ .source = "defaults", .uefi = true };
                        f.name = xstrdup("IMAGE_DEFINITION");
                }
                if (!f.name)
                        f.name = xstrdup("IMAGE_DEFINITION");
                _cleanup_free_ char *account = account_name(&blob);
                if (json) {
                        json_object *j = result_json(image, &blob, &res);
                        json_object_object_add(j, "gallery", azure_gallery_to_json(&f, blob.url, account));
                        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                        json_object_put(j);
                } else {
                        print_summary(image, &blob, &res);
                        print_gallery(&f, blob.url, account);
                }
                azure_image_features_done(&f);
                code = EXIT_OK;
        }
        curl_global_cleanup();
out:
        profile_free(profile);
        azure_blob_done(&blob);
        return code;
}

int cmd_upload(int argc, char **argv) {
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                if (argc < 2)
                        return usage("upload wants a target: azure");
                printf("Usage: slipway %s\n\n%s", command_find("upload")->synopsis, command_find("upload")->help);
                return EXIT_OK;
        }
        if (strcmp(argv[1], "azure") == 0)
                return upload_azure(argc - 1, argv + 1);
        return usage("unknown target '%s' (there is: azure)", argv[1]);
}
