/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Logging: one API, levels as syslog's, a stderr sink and (daemon) a journal sink.
 * lib/ logs only at debug level; programs decide what a person sees. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);
/* Send to the journal (with structured fields) instead of stderr. */
void log_set_journal(bool on);
/* The journal when $JOURNAL_STREAM is set (under systemd), stderr otherwise. In the I/O library
 * (log-journal.c): a program must call it, not log_set_journal(true), to get the journal sink. */
bool log_journal_from_env(void);

/* Logs and returns error (a negative errno, or 0). fields: NULL or "KEY=value" strings,
 * NULL-terminated. */
int log_internal(int level, int error, const char *const *fields, const char *fmt, ...)
	_printf_(4, 5);

#define log_full_errno(level, error, ...) log_internal((level), (error), NULL, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_error(...) (void)log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) (void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) (void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) (void)log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) (void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
