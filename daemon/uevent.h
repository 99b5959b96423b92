/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network device add/remove events: udev's monitor ("udev", after renaming) or the kernel's
 * uevent netlink socket (containers and test namespaces, where no udevd runs). The watcher
 * records facts through the handler; it decides nothing. */
#pragma once

#include <stdbool.h>

#include <systemd/sd-event.h>

enum uevent_source {
	UEVENT_SOURCE_AUTO,
	UEVENT_SOURCE_UDEV,
	UEVENT_SOURCE_KERNEL,
	_UEVENT_SOURCE_MAX,
	_UEVENT_SOURCE_INVALID = -22,
};

enum uevent_source uevent_source_from_string(const char *s);
const char *uevent_source_to_string(enum uevent_source s);

/* add: true for "add", false for "remove"; other actions are not reported. */
typedef void (*uevent_handler_t)(void *userdata, bool add, int ifindex, const char *ifname);

struct uevent_watch;

/* AUTO picks udev when /run/udev/control exists, else the kernel. Returns 0 or a negative
 * errno. */
int uevent_watch_new(sd_event *e, enum uevent_source source, uevent_handler_t handler,
		     void *userdata, struct uevent_watch **ret);
struct uevent_watch *uevent_watch_free(struct uevent_watch *w);
/* The source actually in use. */
enum uevent_source uevent_watch_source(const struct uevent_watch *w);
/* Whether a link may be touched: with the udev source, only once udev has processed it (its
 * database entry says initialized, so renames are done); always with the kernel source. */
bool uevent_watch_link_ready(struct uevent_watch *w, int ifindex);
