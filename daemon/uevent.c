/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libudev.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "uevent.h"

#define UEVENT_BUFFER_SIZE 8192
#define UEVENT_RCVBUF (1024 * 1024)

struct uevent_watch {
	enum uevent_source source;
	uevent_handler_t handler;
	void *userdata;
	int fd; /* kernel source */
	struct udev *udev;
	struct udev_monitor *monitor;
	sd_event_source *io;
};

static const char *const source_names[_UEVENT_SOURCE_MAX] = {
	[UEVENT_SOURCE_AUTO] = "auto",
	[UEVENT_SOURCE_UDEV] = "udev",
	[UEVENT_SOURCE_KERNEL] = "kernel",
};

enum uevent_source uevent_source_from_string(const char *s)
{
	for (int i = 0; i < _UEVENT_SOURCE_MAX; i++)
		if (streq(s, source_names[i]))
			return (enum uevent_source)i;
	return _UEVENT_SOURCE_INVALID;
}

const char *uevent_source_to_string(enum uevent_source s)
{
	return s >= 0 && s < _UEVENT_SOURCE_MAX ? source_names[s] : NULL;
}

enum uevent_source uevent_watch_source(const struct uevent_watch *w)
{
	return w->source;
}

static int parse_ifindex(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT32_MAX)
		return 0;
	return (int)v;
}

/* "add@/devices/virtual/net/eth1\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=eth1\0IFINDEX=5\0..." */
static void kernel_message(struct uevent_watch *w, const char *buf, size_t len)
{
	const char *action = NULL, *subsystem = NULL, *ifname = NULL, *ifindex = NULL;
	const char *p = buf, *end = buf + len;

	/* The header line; libudev's own broadcasts start with "libudev" and are not ours. */
	if (!memchr(buf, '@', strnlen(buf, len)))
		return;
	p += strnlen(p, (size_t)(end - p)) + 1;
	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (n == (size_t)(end - p))
			break; /* unterminated: ignore the rest */
		if (strncmp(p, "ACTION=", 7) == 0)
			action = p + 7;
		else if (strncmp(p, "SUBSYSTEM=", 10) == 0)
			subsystem = p + 10;
		else if (strncmp(p, "INTERFACE=", 10) == 0)
			ifname = p + 10;
		else if (strncmp(p, "IFINDEX=", 8) == 0)
			ifindex = p + 8;
		p += n + 1;
	}
	if (!action || !subsystem || !streq(subsystem, "net"))
		return;
	if (!streq(action, "add") && !streq(action, "remove"))
		return;
	log_debug("uevent: %s %s ifindex %s", action, strna(ifname), strna(ifindex));
	w->handler(w->userdata, streq(action, "add"), parse_ifindex(ifindex), ifname);
}

static int on_kernel(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct uevent_watch *w = userdata;
	char buf[UEVENT_BUFFER_SIZE];

	for (;;) {
		struct sockaddr_nl sa = {0};
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
		struct msghdr mh = {.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
				    .msg_iovlen = 1};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				log_warning("Lost uevents (receive buffer overrun), rescanning");
				w->handler(w->userdata, true, 0, NULL);
				continue;
			}
			return log_warning_errno(-errno, "Failed to read uevent: %s",
						 STRERROR(errno)),
			       0;
		}
		/* Only the kernel (port 0) speaks on group 1; anyone else is an impostor. */
		if (sa.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
			continue;
		buf[n] = 0;
		kernel_message(w, buf, (size_t)n);
	}
}

static int on_udev(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct uevent_watch *w = userdata;
	struct udev_device *d;

	while ((d = udev_monitor_receive_device(w->monitor))) {
		const char *action = udev_device_get_action(d);

		if (action && (streq(action, "add") || streq(action, "remove"))) {
			const char *ifindex = udev_device_get_property_value(d, "IFINDEX");
			const char *ifname = udev_device_get_sysname(d);

			log_debug("udev: %s %s ifindex %s", action, strna(ifname), strna(ifindex));
			w->handler(w->userdata, streq(action, "add"), parse_ifindex(ifindex),
				   ifname);
		}
		udev_device_unref(d);
	}
	return 0;
}

static int open_kernel(sd_event *e, struct uevent_watch *w)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int rcvbuf = UEVENT_RCVBUF, r;

	w->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       NETLINK_KOBJECT_UEVENT);
	if (w->fd < 0)
		return -errno;
	(void)setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	r = sd_event_add_io(e, &w->io, w->fd, EPOLLIN, on_kernel, w);
	return r < 0 ? r : 0;
}

static int open_udev(sd_event *e, struct uevent_watch *w)
{
	int r;

	w->udev = udev_new();
	if (!w->udev)
		return -ENOMEM;
	w->monitor = udev_monitor_new_from_netlink(w->udev, "udev");
	if (!w->monitor)
		return -errno ? -errno : -ENOMEM;
	r = udev_monitor_filter_add_match_subsystem_devtype(w->monitor, "net", NULL);
	if (r < 0)
		return r;
	(void)udev_monitor_set_receive_buffer_size(w->monitor, UEVENT_RCVBUF);
	r = udev_monitor_enable_receiving(w->monitor);
	if (r < 0)
		return r;
	r = sd_event_add_io(e, &w->io, udev_monitor_get_fd(w->monitor), EPOLLIN, on_udev, w);
	return r < 0 ? r : 0;
}

bool uevent_watch_link_ready(struct uevent_watch *w, int ifindex)
{
	struct udev_device *d;
	char id[sizeof("n") + 11];
	bool ready;

	if (w->source != UEVENT_SOURCE_UDEV || ifindex <= 0)
		return true;
	snprintf(id, sizeof(id), "n%d", ifindex);
	d = udev_device_new_from_device_id(w->udev, id);
	if (!d)
		return false; /* gone already: its remove event follows */
	ready = udev_device_get_is_initialized(d) > 0;
	udev_device_unref(d);
	return ready;
}

int uevent_watch_new(sd_event *e, enum uevent_source source, uevent_handler_t handler,
		     void *userdata, struct uevent_watch **ret)
{
	struct uevent_watch *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	w->fd = -EBADF;
	w->handler = handler;
	w->userdata = userdata;
	if (source == UEVENT_SOURCE_AUTO)
		source = access("/run/udev/control", F_OK) == 0 ? UEVENT_SOURCE_UDEV
								 : UEVENT_SOURCE_KERNEL;
	w->source = source;
	r = source == UEVENT_SOURCE_UDEV ? open_udev(e, w) : open_kernel(e, w);
	if (r < 0) {
		uevent_watch_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

struct uevent_watch *uevent_watch_free(struct uevent_watch *w)
{
	if (!w)
		return NULL;
	sd_event_source_disable_unref(w->io);
	if (w->fd >= 0)
		close(w->fd);
	udev_monitor_unref(w->monitor);
	udev_unref(w->udev);
	free(w);
	return NULL;
}
