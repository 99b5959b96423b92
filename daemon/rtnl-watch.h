/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtnetlink multicast watcher: links, IPv4/IPv6 addresses, routes and rules. It only says
 * which interface may have drifted (0: any, as for rules) or that events were lost; the pass
 * decides. Notifications caused by our own request socket (its port id) are ignored. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

/* ifindex > 0: that interface; 0: anything (rules, or lost events when resync is true). */
typedef void (*rtnl_watch_handler_t)(void *userdata, int ifindex, bool resync);

struct rtnl_watch;

int rtnl_watch_new(sd_event *e, rtnl_watch_handler_t handler, void *userdata,
		   struct rtnl_watch **ret);
struct rtnl_watch *rtnl_watch_free(struct rtnl_watch *w);
/* Notifications carrying this netlink port id are our own doing. */
void rtnl_watch_ignore_port(struct rtnl_watch *w, uint32_t port);
