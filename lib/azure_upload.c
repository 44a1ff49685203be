/* SPDX-License-Identifier: MIT */
/* The order of an upload, and why:
 *   1. the VHD is checked (nothing goes over the network for a file Azure
 *      would refuse), and the pages that hold data are planned;
 *   2. Get Blob Properties: an existing blob is refused, replaced
 *      (--overwrite) or continued (--resume: only when slipway started it
 *      from this very file, per its slipwaysource metadata);
 *   3. Put Blob creates the empty page blob; with --resume, Get Page Ranges
 *      says which pages are there already;
 *   4. Put Page for every range still missing, several at once;
 *   5. Set Blob Properties sets the blob's MD5 (x-ms-blob-content-md5) to
 *      the MD5 of the whole VHD, as the Azure CLI does, computed meanwhile
 *      on a thread of its own.  Only after every page is written: a blob
 *      without its MD5 is an unfinished upload. */
#include "azure_upload.h"
#include "azure_http.h"
#include "log.h"
#include "spawn.h"
#include "upload_plan.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int azure_vhd_check(int fd, const char *path, uint64_t *ret_size, uint8_t footer[VHD_FOOTER_SIZE]) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "stat %s", path);
        if (!S_ISREG(st.st_mode)) {
                log_error("%s: not a regular file", path);
                return -EINVAL;
        }
        uint64_t size = (uint64_t)st.st_size;
        if (size < VHD_FOOTER_SIZE || pread(fd, footer, VHD_FOOTER_SIZE, (off_t)(size - VHD_FOOTER_SIZE)) != VHD_FOOTER_SIZE) {
                log_error("%s: not a VHD (%" PRIu64 " bytes, too short for a footer)", path, size);
                return -EMEDIUMTYPE;
        }
        struct vhd_footer_info fi;
        int k = vhd_footer_parse(footer, &fi);
        if (k == -EBADMSG) {
                /* a dynamic VHD whose end is damaged still has its copy at 0 */
                uint8_t head[VHD_FOOTER_SIZE];
                struct vhd_footer_info hi;
                if (pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head && vhd_footer_parse(head, &hi) == 0 &&
                    hi.disk_type == VHD_TYPE_DYNAMIC)
                        log_error("%s: a dynamic VHD (with a damaged end); Azure takes only fixed VHDs: "
                                  "qemu-img convert -O vpc -o subformat=fixed,force_size", path);
                else
                        log_error("%s: not a VHD (no \"conectix\" footer in its last 512 bytes); "
                                  "Azure takes fixed VHDs: build with --output vhd, or qemu-img convert -O vpc -o subformat=fixed,force_size",
                                  path);
                return -EMEDIUMTYPE;
        }
        if (k == -EPROTO) {
                log_error("%s: the VHD footer's checksum is wrong (stored %08" PRIx32 ", computed %08" PRIx32
                          "); Azure refuses such a VHD", path, fi.checksum_stored, fi.checksum_computed);
                return -EBADMSG;
        }
        if (k == -EINVAL) {
                log_error("%s: invalid VHD footer: %s", path, fi.problem);
                return -EBADMSG;
        }
        if (fi.disk_type != VHD_TYPE_FIXED) {
                log_error("%s: a %s VHD; Azure takes only fixed VHDs: qemu-img convert -O vpc -o subformat=fixed,force_size %s OUT.vhd",
                          path, fi.disk_type == VHD_TYPE_DYNAMIC ? "dynamic" : "differencing", path);
                return -EMEDIUMTYPE;
        }
        /* Azure ("Information for creating and uploading a generic Linux
         * VHD"): the virtual size must be a whole number of MiB. */
        if (fi.current_size == 0 || fi.current_size % MiB != 0) {
                log_error("%s: virtual size %" PRIu64 " bytes is not a multiple of 1 MiB, which Azure requires "
                          "(qemu-img resize, or a disk size in whole MiB)", path, fi.current_size);
                return -EINVAL;
        }
        if (fi.current_size + VHD_FOOTER_SIZE != size) {
                log_error("%s: %" PRIu64 " bytes, but its footer says %" PRIu64 " plus the 512-byte footer (truncated or padded?)",
                          path, size, fi.current_size);
                return -EBADMSG;
        }
        *ret_size = size;
        return 0;
}

/* ---- the MD5 of the whole file, on a thread ---- */

struct md5_job {
        int fd;
        uint64_t size;
        atomic_bool stop;
        int r;
        unsigned char md[16];
        pthread_t thread;
        bool started;
};

static void *md5_run(void *arg) {
        struct md5_job *j = arg;
        static const uint8_t zeros[1 << 20];
        const size_t chunk = 4 * MiB;
        uint8_t *buf = xmalloc(chunk);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
                abort();
        uint64_t pos = 0;
        j->r = 0;
        while (pos < j->size && j->r == 0) {
                off_t d = lseek(j->fd, (off_t)pos, SEEK_DATA);
                uint64_t data, hole;
                if (d < 0 && errno == ENXIO)
                        data = hole = j->size;
                else if (d < 0)
                        data = pos, hole = j->size;
                else {
                        data = MIN((uint64_t)d, j->size);
                        off_t h = lseek(j->fd, (off_t)data, SEEK_HOLE);
                        hole = h < 0 ? j->size : MIN((uint64_t)h, j->size);
                }
                for (; pos < data; ) {
                        if (atomic_load(&j->stop) || spawn_interrupted()) {
                                j->r = -EINTR;
                                break;
                        }
                        size_t n = (size_t)MIN(data - pos, (uint64_t)sizeof zeros);
                        EVP_DigestUpdate(ctx, zeros, n);
                        pos += n;
                }
                while (j->r == 0 && pos < hole) {
                        if (atomic_load(&j->stop) || spawn_interrupted()) {
                                j->r = -EINTR;
                                break;
                        }
                        ssize_t n = pread(j->fd, buf, (size_t)MIN(hole - pos, (uint64_t)chunk), (off_t)pos);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                j->r = n < 0 ? -errno : -EIO;
                                break;
                        }
                        EVP_DigestUpdate(ctx, buf, (size_t)n);
                        pos += (uint64_t)n;
                }
        }
        unsigned int n = 0;
        EVP_DigestFinal_ex(ctx, j->md, &n);
        EVP_MD_CTX_free(ctx);
        free(buf);
        return NULL;
}

static int md5_start(struct md5_job *j, int fd, uint64_t size) {
        memset(j, 0, sizeof *j);
        j->fd = fd;
        j->size = size;
        atomic_init(&j->stop, false);
        int k = pthread_create(&j->thread, NULL, md5_run, j);
        if (k != 0)
                return log_error_errno(-k, "start the MD5 thread");
        j->started = true;
        return 0;
}

static int md5_finish(struct md5_job *j, bool cancel) {
        if (!j->started)
                return -ECANCELED;
        if (cancel)
                atomic_store(&j->stop, true);
        pthread_join(j->thread, NULL);
        j->started = false;
        return j->r;
}

/* ---- the upload ---- */

/* What slipway records in the blob's metadata to know, on --resume, that
 * the blob is this file's: its size, the footer's unique id and the file's
 * modification time. */
static char *source_id(int fd, uint64_t size, const uint8_t footer[VHD_FOOTER_SIZE]) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                memset(&st, 0, sizeof st);
        char id[33];
        for (int i = 0; i < 16; i++)
                snprintf(id + 2 * i, 3, "%02x", footer[68 + i]);
        return xasprintf("%" PRIu64 "-%s-%lld.%09ld", size, id, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* Info lines only on a terminal: on a pipe an upload prints its summary alone. */
static enum log_level chatty(void) {
        return isatty(STDERR_FILENO) ? LOG_INFO : LOG_DEBUG;
}

int azure_upload(const struct azure_blob *b, const char *path, const struct azure_upload_opts *o,
                 struct azure_upload_result *ret) {
        memset(ret, 0, sizeof *ret);
        uint64_t t0 = now_usec();
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "open %s", path);
        uint8_t footer[VHD_FOOTER_SIZE];
        uint64_t size;
        int r = azure_vhd_check(fd, path, &size, footer);
        if (r < 0)
                return r;
        ret->size = size;

        struct upload_plan plan = { 0 };
        r = upload_plan_build(fd, path, size, UPLOAD_MAX_REQUEST, o->merge_gap, o->zero_budget, &plan);
        if (r < 0)
                return r;
        ret->nonzero = plan.nonzero_bytes;
        ret->holes = plan.hole_bytes;
        ret->zeros = plan.zero_bytes;
        ret->zeros_sent = plan.merged_zero_bytes;

        struct md5_job md5 = { 0 };
        struct azure_client c = { 0 };
        _cleanup_free_ char *source = source_id(fd, size, footer);
        _cleanup_fclose_ FILE *tracef = NULL;
        struct azure_blob_props props = { 0 };
        struct upload_range *have = NULL;
        size_t n_have = 0;
        r = md5_start(&md5, fd, size);
        if (r < 0)
                goto out;
        r = azure_client_init(&c, b, o->retries);
        if (r < 0)
                goto out;
        if (o->trace_path) {
                tracef = fopen(o->trace_path, "ae");
                if (!tracef) {
                        r = log_error_errno(-errno, "open the trace file %s", o->trace_path);
                        goto out;
                }
                c.trace = tracef;
        }

        r = azure_get_properties(&c, &props);
        if (r < 0)
                goto out;
        bool create = true;
        if (props.exists) {
                if (o->resume) {
                        if (!props.page_blob || props.length != size) {
                                log_error("%s exists but is not a page blob of %" PRIu64 " bytes (%s, %" PRIu64
                                          " bytes): not an upload of %s to continue; --overwrite replaces it",
                                          b->url, size, props.page_blob ? "a page blob" : "another blob type", props.length, path);
                                r = -EEXIST;
                                goto out;
                        }
                        if (!props.source || strcmp(props.source, source) != 0) {
                                log_error("%s was %s; --resume continues only an upload of this very file "
                                          "(same size, VHD unique id and modification time); --overwrite starts over",
                                          b->url, props.source ? "started from another file (or this file changed since)"
                                                               : "not started by slipway");
                                r = -EEXIST;
                                goto out;
                        }
                        create = false;
                        ret->resumed = true;
                } else if (!o->overwrite) {
                        log_error("%s already exists%s; --overwrite replaces it, --resume continues an interrupted upload of this VHD",
                                  b->url, props.content_md5 ? " (with its MD5 set: a finished upload)" : "");
                        r = -EEXIST;
                        goto out;
                }
        } else if (o->resume)
                log_msg(chatty(), "%s does not exist yet: nothing to resume, uploading all of %s", b->url, path);

        if (create) {
                r = azure_create_page_blob(&c, size, source, o->overwrite);
                if (r == -EEXIST)
                        log_error("%s already exists (created meanwhile?); --overwrite replaces it", b->url);
                if (r < 0)
                        goto out;
        } else {
                r = azure_get_page_ranges(&c, &have, &n_have);
                if (r < 0)
                        goto out;
                upload_plan_subtract(&plan, have, n_have);
                ret->present = plan.present_bytes;
        }
        ret->to_send = plan.send_bytes;

        char b1[32], b2[32], b3[32];
        log_msg(chatty(), "uploading %s to %s: %s of data to send in %zu requests (%s holes, %s zeros%s%s skipped)", path, b->url,
                format_bytes(plan.send_bytes, b1), plan.n, format_bytes(plan.hole_bytes, b2), format_bytes(plan.zero_bytes, b3),
                ret->resumed ? ", already there: " : "", ret->resumed ? format_bytes(plan.present_bytes, (char[32]){ 0 }) : "");
        progress_stage("upload");
        progress_bytes_total(plan.send_bytes);
        struct azure_put_stats ps = { 0 };
        uint64_t t_put = now_usec();
        r = azure_put_pages(&c, fd, path, &plan, o->jobs, o->rate, &ps);
        ret->sent = ps.sent;
        ret->put_seconds = (double)(now_usec() - t_put) / 1e6;
        if (r < 0)
                goto out;

        /* every page is written: now the MD5 */
        progress_stage("md5");
        uint64_t t_md5 = now_usec();
        r = md5_finish(&md5, false);
        ret->md5_wait_seconds = (double)(now_usec() - t_md5) / 1e6;
        if (r == -EINTR)
                goto out;
        if (r < 0) {
                r = log_error_errno(r, "read %s for its MD5", path);
                goto out;
        }
        EVP_EncodeBlock((unsigned char *)ret->md5, md5.md, 16);
        progress_stage("properties");
        r = azure_set_content_md5(&c, ret->md5);
        if (r < 0)
                goto out;
        ret->md5_set = true;
out:
        progress_stage(NULL);
        if (md5.started)
                md5_finish(&md5, true);
        ret->requests = c.requests;
        ret->retried = c.retried;
        ret->seconds = (double)(now_usec() - t0) / 1e6;
        free(have);
        azure_blob_props_done(&props);
        azure_client_done(&c);
        upload_plan_done(&plan);
        if (r < 0 && spawn_interrupted())
                r = -EINTR;
        return r;
}
