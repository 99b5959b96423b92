/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ec2net-defs.h"
#include "log.h"
#include "macro.h"
#include "rtnl-watch.h"

#ifndef IFA_PROTO
#define IFA_PROTO 11
#endif

#define RTNL_WATCH_RCVBUF (8 * 1024 * 1024)
#define RTNL_WATCH_BUFFER (64 * 1024)

struct rtnl_watch {
	rtnl_watch_handler_t handler;
	void *userdata;
	uint32_t ignore_port;
	int fd;
	sd_event_source *io;
};

static const unsigned groups[] = {
	RTNLGRP_LINK,	    RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
	RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE,	 RTNLGRP_IPV6_RULE,
};

void rtnl_watch_ignore_port(struct rtnl_watch *w, uint32_t port)
{
	w->ignore_port = port;
}

/* The u8/u32 value of attribute 'type' among the attributes at rta, or def. */
static uint32_t attr_u32(struct rtattr *rta, int len, unsigned short type, uint32_t def)
{
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type != type)
			continue;
		if (RTA_PAYLOAD(rta) >= sizeof(uint32_t))
			return *(uint32_t *)RTA_DATA(rta);
		if (RTA_PAYLOAD(rta) >= sizeof(uint8_t))
			return *(uint8_t *)RTA_DATA(rta);
	}
	return def;
}

/* Returns the ifindex that may have drifted, 0 for "anything", -1 for "not our business". */
static int classify(const struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
			return -1;
		if (ifi->ifi_flags & IFF_LOOPBACK)
			return -1;
		return ifi->ifi_index > 0 ? ifi->ifi_index : -1;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
			return -1;
		return ifa->ifa_index > 0 ? (int)ifa->ifa_index : -1;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		struct rtmsg *rtm = NLMSG_DATA(h);
		int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));

		if (len < 0 || rtm->rtm_protocol != EC2NET_PROTO)
			return -1;
		return (int)attr_u32(RTM_RTA(rtm), len, RTA_OIF, 0);
	}
	case RTM_NEWRULE:
	case RTM_DELRULE: {
		struct fib_rule_hdr *frh = NLMSG_DATA(h);
		int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*frh));

		if (len < 0)
			return -1;
		if (attr_u32((struct rtattr *)((char *)frh + NLMSG_ALIGN(sizeof(*frh))), len,
			     FRA_PROTOCOL, 0) != EC2NET_PROTO)
			return -1;
		return 0;
	}
	default:
		return -1;
	}
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct rtnl_watch *w = userdata;
	static char buf[RTNL_WATCH_BUFFER] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				log_debug("rtnetlink: events lost (ENOBUFS), resynchronising");
				w->handler(w->userdata, 0, true);
				continue;
			}
			return log_warning_errno(-errno, "Failed to read rtnetlink events: %s",
						 STRERROR(errno)),
			       0;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			int ifindex;

			if (w->ignore_port && h->nlmsg_pid == w->ignore_port)
				continue;
			ifindex = classify(h);
			if (ifindex < 0)
				continue;
			log_debug("rtnetlink: message type %u for ifindex %d", h->nlmsg_type,
				  ifindex);
			w->handler(w->userdata, ifindex, false);
		}
	}
}

int rtnl_watch_new(sd_event *e, rtnl_watch_handler_t handler, void *userdata,
		   struct rtnl_watch **ret)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct rtnl_watch *w = calloc(1, sizeof(*w));
	int rcvbuf = RTNL_WATCH_RCVBUF, r;

	if (!w)
		return -ENOMEM;
	w->handler = handler;
	w->userdata = userdata;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (w->fd < 0) {
		r = -errno;
		goto fail;
	}
	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	for (size_t i = 0; i < ELEMENTSOF(groups); i++)
		if (setsockopt(w->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i],
			       sizeof(groups[i])) < 0) {
			r = -errno;
			goto fail;
		}
	r = sd_event_add_io(e, &w->io, w->fd, EPOLLIN, on_readable, w);
	if (r < 0)
		goto fail;
	*ret = w;
	return 0;
fail:
	rtnl_watch_free(w);
	return r;
}

struct rtnl_watch *rtnl_watch_free(struct rtnl_watch *w)
{
	if (!w)
		return NULL;
	sd_event_source_disable_unref(w->io);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return NULL;
}
