/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal sink: the message with PRIORITY= and the structured fields (INTERFACE=, IFNAME=,
 * MAC=, ENI=) the caller attached. log.c calls it when log_set_journal(true) was set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "log.h"

#define LOG_JOURNAL_FIELDS_MAX 16

int log_journal_send(int level, const char *const *fields, const char *msg);

/* A program that logs to the journal calls this: the call is what makes the linker take this file
 * out of the static library (log.c's weak reference to log_journal_send() takes nothing). */
bool log_journal_from_env(void)
{
	bool on = getenv("JOURNAL_STREAM") != NULL;

	log_set_journal(on);
	return on;
}

int log_journal_send(int level, const char *const *fields, const char *msg)
{
	struct iovec iov[LOG_JOURNAL_FIELDS_MAX + 3];
	char priority[sizeof("PRIORITY=") + 4];
	char message[2048 + sizeof("MESSAGE=")];
	size_t n = 0;

	snprintf(priority, sizeof(priority), "PRIORITY=%d", level & LOG_PRIMASK);
	snprintf(message, sizeof(message), "MESSAGE=%s", msg);
	iov[n++] = (struct iovec){.iov_base = message, .iov_len = strlen(message)};
	iov[n++] = (struct iovec){.iov_base = priority, .iov_len = strlen(priority)};
	iov[n++] = (struct iovec){.iov_base = (char *)"SYSLOG_IDENTIFIER=ec2netd",
				  .iov_len = strlen("SYSLOG_IDENTIFIER=ec2netd")};
	for (size_t i = 0; fields && fields[i] && i < LOG_JOURNAL_FIELDS_MAX; i++)
		iov[n++] = (struct iovec){.iov_base = (char *)fields[i],
					  .iov_len = strlen(fields[i])};
	return sd_journal_sendv(iov, (int)n);
}
