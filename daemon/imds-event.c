/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* curl multi sockets and timer <-> sd-event sources. The client says what to watch
 * (imds_loop.watch_fd, set_timer); the sources call it back. Nothing here knows HTTP. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include <systemd/sd-event.h>

#include "array.h"
#include "ec2net-defs.h"
#include "imds-event.h"
#include "imds.h"
#include "log.h"
#include "macro.h"

struct io {
	int fd;
	sd_event_source *source;
};

struct imds_event {
	sd_event *event;
	struct imds_client *client; /* borrowed */
	struct io *ios;
	size_t n_ios, cap_ios;
	sd_event_source *timer;
};

static uint32_t to_epoll(uint32_t events)
{
	return (events & POLLIN ? EPOLLIN : 0) | (events & POLLOUT ? EPOLLOUT : 0);
}

static uint32_t from_epoll(uint32_t revents)
{
	return (revents & EPOLLIN ? POLLIN : 0) | (revents & EPOLLOUT ? POLLOUT : 0) |
	       (revents & EPOLLERR ? POLLERR : 0) | (revents & EPOLLHUP ? POLLHUP : 0);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct imds_event *x = userdata;
	int r;

	r = imds_client_process_fd(x->client, fd, from_epoll(revents));
	if (r < 0)
		log_debug_errno(r, "IMDS client failed to process fd %d: %s", fd, STRERROR(r));
	return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct imds_event *x = userdata;
	int r;

	r = imds_client_process_timeout(x->client);
	if (r < 0)
		log_debug_errno(r, "IMDS client failed to process its timer: %s", STRERROR(r));
	return 0;
}

static void io_drop(struct imds_event *x, size_t i)
{
	sd_event_source_disable_unref(x->ios[i].source);
	x->ios[i] = x->ios[--x->n_ios];
}

static int watch_fd(void *userdata, int fd, uint32_t events)
{
	struct imds_event *x = userdata;
	sd_event_source *s = NULL;
	size_t i;
	int r;

	for (i = 0; i < x->n_ios; i++)
		if (x->ios[i].fd == fd)
			break;
	if (events == 0) {
		if (i < x->n_ios)
			io_drop(x, i);
		return 0;
	}
	if (i < x->n_ios) {
		r = sd_event_source_set_io_events(x->ios[i].source, to_epoll(events));
		if (r >= 0)
			return 0;
		/* curl closed the fd without saying so and got the same number again. */
		io_drop(x, i);
	}
	r = sd_event_add_io(x->event, &s, fd, to_epoll(events), on_io, x);
	if (r < 0)
		return log_debug_errno(r, "Failed to watch IMDS fd %d: %s", fd, STRERROR(r));
	if (ARRAY_APPEND(x->ios, x->n_ios, x->cap_ios, ((struct io){.fd = fd, .source = s})) < 0) {
		sd_event_source_disable_unref(s);
		return -ENOMEM;
	}
	return 0;
}

static void set_timer(void *userdata, uint64_t usec)
{
	struct imds_event *x = userdata;
	int r;

	if (usec == UINT64_MAX) {
		(void)sd_event_source_set_enabled(x->timer, SD_EVENT_OFF);
		return;
	}
	/* usec 0 ("now") is a valid time for sd-event: it fires in the next iteration. */
	r = sd_event_source_set_time(x->timer, usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(x->timer, SD_EVENT_ONESHOT);
	if (r < 0)
		log_warning_errno(r, "Failed to arm the IMDS timer: %s", STRERROR(r));
}

static const struct imds_loop loop = {
        .watch_fd = watch_fd,
        .set_timer = set_timer,
};

int imds_event_new(sd_event *e, struct imds_client *c, struct imds_event **ret)
{
	struct imds_event *x;
	int r;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->event = sd_event_ref(e);
	x->client = c;
	/* 1 ms accuracy: curl's timeouts are in ms, and retries are 50 ms and up. */
	r = sd_event_add_time(e, &x->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, x);
	if (r < 0) {
		imds_event_free(x);
		return r;
	}
	(void)sd_event_source_set_enabled(x->timer, SD_EVENT_OFF);
	imds_client_set_loop(c, &loop, x);
	*ret = x;
	return 0;
}

struct imds_event *imds_event_free(struct imds_event *x)
{
	if (!x)
		return NULL;
	if (x->client)
		imds_client_set_loop(x->client, NULL, NULL);
	for (size_t i = 0; i < x->n_ios; i++)
		sd_event_source_disable_unref(x->ios[i].source);
	free(x->ios);
	sd_event_source_disable_unref(x->timer);
	sd_event_unref(x->event);
	free(x);
	return NULL;
}
