/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's state: what is dirty, each interface's retry and drift state, and the one place
 * that runs passes (a defer source, at most one pass per loop iteration). Event handlers only
 * record facts here. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "config.h"
#include "uevent.h"

struct manager_options {
	const char *config_file;   /* NULL: the default files */
	const char *imds_endpoint; /* NULL: from config or the environment */
	const char *state_dir;
	enum uevent_source uevent_source;
	int64_t refresh_usec;	   /* < 0: from the config */
};

struct manager;

/* Takes ownership of *config (zeroed on return). */
int manager_new(sd_event *e, const struct manager_options *o, struct config *config,
		struct manager **ret);
struct manager *manager_free(struct manager *m);
/* Opens the watchers, schedules the startup pass. */
int manager_start(struct manager *m);

/* Facts. ifindex 0: every interface. */
void manager_link_added(struct manager *m, int ifindex, const char *ifname);
void manager_link_removed(struct manager *m, int ifindex, const char *ifname);
void manager_mark_dirty(struct manager *m, int ifindex, bool fetch);
/* SIGHUP: reload the config (kept when it has errors) and rescan. */
void manager_reload(struct manager *m);
