/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

void notify_ready(void)
{
	(void)sd_notify(false, "READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;

	/* MONOTONIC_USEC= lets systemd 253+ tell this reload from an earlier one. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu",
			 (unsigned long long)ts.tv_sec * 1000000ULL +
				 (unsigned long long)ts.tv_nsec / 1000ULL);
}

void notify_stopping(void)
{
	(void)sd_notify(false, "STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)sd_notifyf(false, "STATUS=%s", buf);
}
