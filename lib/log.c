/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level current_level = LOG_INFO;

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

/* The progress line's state.  It belongs to logging (the line and the log
 * share stderr and must not interleave), hence here and behind one lock. */
static struct {
        pthread_mutex_t lock;
        pthread_t ticker;
        bool running, shown, stop;
        char stage[32];
        struct timespec t0;
        atomic_ullong done, total;
        atomic_ullong bytes_t0_ns;  /* CLOCK_MONOTONIC when the byte count started */
        atomic_uint count;          /* things of the stage done, e.g. packages set up */
        const char *count_label;    /* NULL: no count shown; a static string */
} progress = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *level_prefix(enum log_level level) {
        switch (level) {
        case LOG_ERR: return "error: ";
        case LOG_WARN: return "warning: ";
        default: return "";
        }
}

static double elapsed_since(const struct timespec *t0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* With the lock held. */
static void progress_draw(void) {
        unsigned long long done = atomic_load(&progress.done), total = atomic_load(&progress.total);
        fprintf(stderr, "\r\033[K[%s] %.1f s", progress.stage, elapsed_since(&progress.t0));
        if (total > 0) {
                unsigned long long d = done > total ? total : done;
                /* MiB below 10 GiB: an upload of 40 MiB is not "0.0 of 0.0 GiB" */
                bool gib = total >= 10ull << 30;
                double unit = gib ? (double)(1 << 30) : (double)(1 << 20);
                fprintf(stderr, "  %3u%%  %.1f of %.1f %s", (unsigned)(d * 100 / total), (double)d / unit,
                        (double)total / unit, gib ? "GiB" : "MiB");
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                double secs = ((double)now.tv_sec * 1e9 + (double)now.tv_nsec - (double)atomic_load(&progress.bytes_t0_ns)) / 1e9;
                if (secs >= 1)
                        fprintf(stderr, "  %.1f MiB/s", (double)d / (1 << 20) / secs);
        }
        if (progress.count_label)
                fprintf(stderr, "  %u %s", atomic_load(&progress.count), progress.count_label);
        fflush(stderr);
        progress.shown = true;
}

static void progress_erase(void) {
        if (progress.shown) {
                fputs("\r\033[K", stderr);
                progress.shown = false;
        }
}

static void *progress_tick(void *arg) {
        (void)arg;
        const struct timespec quarter = { .tv_nsec = 250 * 1000 * 1000 };
        for (;;) {
                pthread_mutex_lock(&progress.lock);
                bool stop = progress.stop;
                if (!stop)
                        progress_draw();
                pthread_mutex_unlock(&progress.lock);
                if (stop)
                        return NULL;
                nanosleep(&quarter, NULL);
        }
}

/* A forked child (a tool about to exec, chroot_run's helper) must not wait
 * for a lock the ticker held at fork time, nor draw the line itself. */
static void progress_atfork_prepare(void) { pthread_mutex_lock(&progress.lock); }
static void progress_atfork_parent(void) { pthread_mutex_unlock(&progress.lock); }
static void progress_atfork_child(void) {
        pthread_mutex_unlock(&progress.lock);
        progress.running = false;
        progress.shown = false;
}

static bool progress_wanted(void) {
        const char *term = getenv("TERM");
        return current_level == LOG_INFO && isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
}

void progress_stage(const char *stage) {
        if (!stage) {
                if (!progress.running)
                        return;
                pthread_mutex_lock(&progress.lock);
                progress.stop = true;
                progress_erase();
                pthread_mutex_unlock(&progress.lock);
                pthread_join(progress.ticker, NULL);
                progress.running = false;
                return;
        }
        if (!progress.running) {
                if (!progress_wanted())
                        return;
                static bool atfork_done;
                if (!atfork_done) {
                        pthread_atfork(progress_atfork_prepare, progress_atfork_parent, progress_atfork_child);
                        atfork_done = true;
                }
                progress.stop = false;
                snprintf(progress.stage, sizeof(progress.stage), "%s", stage);
                clock_gettime(CLOCK_MONOTONIC, &progress.t0);
                atomic_store(&progress.total, 0);
                progress.count_label = NULL;
                if (pthread_create(&progress.ticker, NULL, progress_tick, NULL) == 0)
                        progress.running = true;
                return;
        }
        pthread_mutex_lock(&progress.lock);
        snprintf(progress.stage, sizeof(progress.stage), "%s", stage);
        clock_gettime(CLOCK_MONOTONIC, &progress.t0);
        atomic_store(&progress.total, 0);
        atomic_store(&progress.done, 0);
        progress.count_label = NULL;
        pthread_mutex_unlock(&progress.lock);
}

bool progress_active(void) { return progress.running; }

void progress_count_start(const char *label) {
        if (!progress.running)
                return;
        pthread_mutex_lock(&progress.lock);
        atomic_store(&progress.count, 0);
        progress.count_label = label;
        pthread_mutex_unlock(&progress.lock);
}

void progress_count_add(unsigned n) { atomic_fetch_add(&progress.count, n); }

void progress_bytes_total(unsigned long long total) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        atomic_store(&progress.bytes_t0_ns, (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
        atomic_store(&progress.done, 0);
        atomic_store(&progress.total, total);
}

void progress_bytes_add(unsigned long long n) { atomic_fetch_add(&progress.done, n); }

static void log_vmsg(enum log_level level, int err, const char *fmt, va_list ap) {
        if (level > current_level)
                return;
        bool locked = progress.running && pthread_mutex_lock(&progress.lock) == 0;
        if (locked)
                progress_erase();
        fprintf(stderr, "slipway: %s", level_prefix(level));
        vfprintf(stderr, fmt, ap);
        if (err != 0)
                fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
        fputc('\n', stderr);
        if (locked) {
                if (!progress.stop)
                        progress_draw();
                pthread_mutex_unlock(&progress.lock);
        }
}

void log_msg(enum log_level level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, 0, fmt, ap);
        va_end(ap);
}

int log_msg_errno(enum log_level level, int err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, err, fmt, ap);
        va_end(ap);
        return err < 0 ? err : -err;
}
