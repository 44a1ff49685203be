/* SPDX-License-Identifier: MIT */
#pragma once
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

/* The only global mutable state of slipway besides the signal-cleanup
 * registry in spawn.c (which a signal handler needs): the log level. */
enum log_level { LOG_QUIET = 0, LOG_ERR = 1, LOG_WARN = 2, LOG_INFO = 3, LOG_DEBUG = 4 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs "message: strerror(-err)" and returns err (a negative errno) so a
 * caller can write `return log_error_errno(r, "...")`. */
int log_msg_errno(enum log_level level, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The progress line (issue 10): on a terminal at the default level, one line
 * under the log shows the current stage, its elapsed time and, when a stage
 * reports them, bytes done of a total; log lines print above it.  Off when
 * stderr is not a terminal, with --quiet or --verbose, or TERM=dumb.
 * progress_stage() starts it (a ticker thread: call it only after anything
 * that needs a single-threaded process, like entering a user namespace);
 * progress_stage(NULL) ends it and clears the line.  With a byte total the
 * line shows the percentage, the bytes (MiB, or GiB from 10 GiB on) and,
 * after a second, the rate since progress_bytes_total(). */
void progress_stage(const char *stage);
void progress_bytes_total(unsigned long long total);   /* 0: none; resets the count */
void progress_bytes_add(unsigned long long n);          /* any thread */
/* True while the line is shown (a stage may then ask a tool for the output
 * it counts). */
bool progress_active(void);
/* A count of the stage's units ("packages set up"), until the next stage;
 * LABEL must outlive it (a string literal). */
void progress_count_start(const char *label);
void progress_count_add(unsigned n);                    /* any thread */

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_error_errno(err, ...) log_msg_errno(LOG_ERR, (err), __VA_ARGS__)
#define log_warning_errno(err, ...) log_msg_errno(LOG_WARN, (err), __VA_ARGS__)
