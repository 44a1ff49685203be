/* SPDX-License-Identifier: MIT */
#include "upload_plan.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void upload_plan_init(struct upload_plan *p, uint64_t size, uint64_t max_request, uint64_t merge_gap,
                      unsigned zero_percent) {
        memset(p, 0, sizeof *p);
        p->size = size;
        p->max_request = max_request ? max_request / UPLOAD_PAGE * UPLOAD_PAGE : UPLOAD_MAX_REQUEST;
        if (p->max_request == 0)
                p->max_request = UPLOAD_PAGE;
        p->merge_gap = merge_gap;
        p->zero_percent = MIN(zero_percent, 100u);
}

static void push(struct upload_plan *p, uint64_t offset, uint64_t length) {
        if (p->n == p->allocated) {
                p->allocated = p->allocated ? p->allocated * 2 : 64;
                p->ranges = xrealloc(p->ranges, p->allocated * sizeof *p->ranges);
        }
        p->ranges[p->n++] = (struct upload_range){ offset, length };
}

/* Appends [start, end) in pieces of at most max_request bytes. */
static void emit(struct upload_plan *p, uint64_t start, uint64_t end) {
        while (start < end) {
                uint64_t n = MIN(end - start, p->max_request);
                push(p, start, n);
                p->send_bytes += n;
                start += n;
        }
}

static bool sector_zero(const uint8_t *s) {
        return s[0] == 0 && memcmp(s, s + 1, UPLOAD_PAGE - 1) == 0;
}

void upload_plan_add_data(struct upload_plan *p, uint64_t offset, const uint8_t *buf, size_t len) {
        for (size_t i = 0; i + UPLOAD_PAGE <= len; i += UPLOAD_PAGE) {
                if (sector_zero(buf + i))
                        continue;
                uint64_t s = offset + i;
                p->nonzero_bytes += UPLOAD_PAGE;
                struct upload_run *last = p->n_runs ? &p->runs[p->n_runs - 1] : NULL;
                if (last && !p->hole_pending && last->end == s) {
                        last->end = s + UPLOAD_PAGE;
                        continue;
                }
                if (p->n_runs == p->allocated_runs) {
                        p->allocated_runs = p->allocated_runs ? p->allocated_runs * 2 : 256;
                        p->runs = xrealloc(p->runs, p->allocated_runs * sizeof *p->runs);
                }
                p->runs[p->n_runs++] = (struct upload_run){ s, s + UPLOAD_PAGE, p->hole_pending };
                p->hole_pending = false;
        }
}

void upload_plan_add_hole(struct upload_plan *p, uint64_t len) {
        /* zeros are sent along only inside data: a hole ends the request */
        p->hole_pending = true;
        p->hole_bytes += len;
}

struct gap {
        uint64_t length;
        size_t run;                 /* the run after the gap */
};

static int gap_cmp(const void *a, const void *b) {
        const struct gap *x = a, *y = b;
        if (x->length != y->length)
                return x->length < y->length ? -1 : 1;
        return x->run < y->run ? -1 : x->run > y->run;
}

void upload_plan_finish(struct upload_plan *p) {
        /* merge[i]: run i goes in one request with run i - 1 */
        _cleanup_free_ bool *merge = p->n_runs ? xcalloc(p->n_runs, sizeof *merge) : NULL;
        _cleanup_free_ struct gap *gaps = p->n_runs ? xmalloc(p->n_runs * sizeof *gaps) : NULL;
        size_t n_gaps = 0;
        for (size_t i = 1; i < p->n_runs; i++) {
                uint64_t g = p->runs[i].start - p->runs[i - 1].end;
                if (!p->runs[i].after_hole && g <= p->merge_gap)
                        gaps[n_gaps++] = (struct gap){ g, i };
        }
        if (n_gaps)
                qsort(gaps, n_gaps, sizeof *gaps, gap_cmp);
        /* the budget in bytes; nonzero_bytes < 2^64 / 100 for any disk Azure takes */
        uint64_t budget = p->nonzero_bytes / 100 * p->zero_percent + p->nonzero_bytes % 100 * p->zero_percent / 100;
        for (size_t k = 0; k < n_gaps && p->merged_zero_bytes + gaps[k].length <= budget; k++) {
                merge[gaps[k].run] = true;
                p->merged_zero_bytes += gaps[k].length;
        }
        for (size_t i = 0; i < p->n_runs;) {
                size_t j = i + 1;
                while (j < p->n_runs && merge[j])
                        j++;
                emit(p, p->runs[i].start, p->runs[j - 1].end);
                i = j;
        }
        free(p->runs);
        p->runs = NULL;
        p->n_runs = p->allocated_runs = 0;
        uint64_t data = p->size - p->hole_bytes;
        p->zero_bytes = data > p->send_bytes ? data - p->send_bytes : 0;
}

void upload_plan_done(struct upload_plan *p) {
        free(p->ranges);
        free(p->runs);
        memset(p, 0, sizeof *p);
}

int upload_plan_build(int fd, const char *name, uint64_t size, uint64_t max_request, uint64_t merge_gap,
                      unsigned zero_percent, struct upload_plan *ret) {
        struct upload_plan p;
        upload_plan_init(&p, size, max_request, merge_gap, zero_percent);
        const size_t chunk = 4 * MiB;
        _cleanup_free_ uint8_t *buf = xmalloc(chunk);
        uint64_t pos = 0;
        bool seek_works = true;
        int r = 0;
        while (pos < size) {
                uint64_t data = pos, hole = size;
                if (seek_works) {
                        off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
                        if (d < 0 && errno == ENXIO)
                                d = (off_t)size;     /* only a hole remains */
                        else if (d < 0)
                                seek_works = false;  /* no SEEK_DATA here: everything is data */
                        if (seek_works) {
                                /* extents start and end on filesystem blocks; sectors are finer */
                                data = MIN((uint64_t)d, size) / UPLOAD_PAGE * UPLOAD_PAGE;
                                data = MAX(data, pos);
                                if (data < size) {
                                        off_t h = lseek(fd, (off_t)data, SEEK_HOLE);
                                        hole = h < 0 ? size : MIN(ALIGN_UP((uint64_t)h, UPLOAD_PAGE), size);
                                }
                        }
                }
                if (data > pos)
                        upload_plan_add_hole(&p, data - pos);
                for (uint64_t at = data; at < hole;) {
                        if (spawn_interrupted()) {
                                r = -EINTR;
                                goto fail;
                        }
                        size_t want = (size_t)MIN(hole - at, (uint64_t)chunk);
                        ssize_t n = pread(fd, buf, want, (off_t)at);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                r = log_error_errno(-errno, "read %s", name);
                                goto fail;
                        }
                        if (n == 0 || (size_t)n % UPLOAD_PAGE) {
                                /* sizes are multiples of 512 and the file does not shrink */
                                if (n == 0) {
                                        log_error("%s: shorter than expected (%llu bytes) while reading it", name,
                                                  (unsigned long long)size);
                                        r = -EIO;
                                        goto fail;
                                }
                                n -= n % UPLOAD_PAGE;
                                if (n == 0)
                                        continue;
                        }
                        upload_plan_add_data(&p, at, buf, (size_t)n);
                        at += (uint64_t)n;
                }
                pos = hole;
        }
        upload_plan_finish(&p);
        *ret = p;
        return 0;
fail:
        upload_plan_done(&p);
        return r;
}

void upload_plan_subtract(struct upload_plan *p, const struct upload_range *have, size_t n_have) {
        struct upload_range *old = p->ranges;
        size_t n_old = p->n;
        p->ranges = NULL;
        p->n = p->allocated = 0;
        uint64_t before = p->send_bytes;
        p->send_bytes = 0;
        size_t h = 0;
        for (size_t i = 0; i < n_old; i++) {
                uint64_t start = old[i].offset, end = old[i].offset + old[i].length;
                /* skip what ends before this range */
                while (h < n_have && have[h].offset + have[h].length <= start)
                        h++;
                for (size_t j = h; j < n_have && have[j].offset < end && start < end; j++) {
                        uint64_t hs = have[j].offset, he = have[j].offset + have[j].length;
                        if (hs > start)
                                emit(p, start, MIN(hs, end));
                        start = MAX(start, he);
                }
                if (start < end)
                        emit(p, start, end);
        }
        free(old);
        p->present_bytes += before - p->send_bytes;
}
