/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Telling the service manager (sd_notify): READY, STATUS, RELOADING, STOPPING. WATCHDOG=1 is
 * sent by the event loop itself (sd_event_set_watchdog). Harmless without NOTIFY_SOCKET. */
#pragma once

#include "macro.h"

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) _printf_(1, 2);
