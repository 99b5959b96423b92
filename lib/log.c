/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stderr sink. The journal sink lives in log-journal.c so that the core needs no libsystemd. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool use_journal;

/* Provided by log-journal.c in the I/O library; weak so that the core links alone. */
int log_journal_send(int level, const char *const *fields, const char *msg) __attribute__((weak));

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

void log_set_journal(bool on)
{
	use_journal = on;
}

int log_level_from_string(const char *s)
{
	static const char *const names[] = {"emerg", "alert", "crit", "err",
					    "warning", "notice", "info", "debug"};
	for (int i = 0; i < (int)ELEMENTSOF(names); i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	return -EINVAL;
}

int log_internal(int level, int error, const char *const *fields, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved_errno = errno;

	if (level > max_level)
		return error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_journal && log_journal_send && log_journal_send(level, fields, msg) >= 0) {
		errno = saved_errno;
		return error;
	}
	fprintf(stderr, "%s\n", msg);
	errno = saved_errno;
	return error;
}
