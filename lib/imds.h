/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS HTTP client (imds.md): IMDSv2 token cached and renewed, endpoints tried in order,
 * bounded retries with backoff and jitter, bodies capped. It returns replies; it does not
 * interpret metadata (imds-fetch.c and metadata.c do). It never logs the token.
 *
 * The client never blocks on its own: requests are submitted (imds_submit()) and complete
 * through a callback, up to max_in_flight at a time, on one curl multi handle. It is neutral
 * about the event loop: it says which file descriptors to watch and when it wants to run next
 * (struct imds_loop), and the loop calls imds_client_process_fd() and
 * imds_client_process_timeout(). Without a loop, imds_client_wait() and imds_client_run() poll
 * for it, and imds_get() is the blocking form of one request (ec2netctl, tests). */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum imds_result {
	IMDS_VALUE,	/* 200: body holds the value */
	IMDS_ABSENT,	/* 404: the path does not exist */
	IMDS_TRANSIENT, /* timeouts, connection errors, 5xx, 429 after the retries ran out */
	IMDS_PERMANENT, /* 400, 403, other 4xx, oversize or NUL-bearing body, bad URL */
	_IMDS_RESULT_MAX,
};

struct imds_reply {
	enum imds_result result;
	long http_status; /* 0 when no HTTP answer */
	int error;	  /* negative errno for TRANSIENT/PERMANENT (-ETIMEDOUT, -ECONNREFUSED, -EFBIG,
			     -EBADMSG, -EACCES, -EIO...), 0 otherwise */
	char *body;	  /* NUL-terminated, VALUE only; NULL otherwise */
	size_t size;
};

struct imds_options {
	const char *const *endpoints; /* NULL-terminated, e.g. "http://169.254.169.254"; borrowed */
	uint32_t token_ttl_sec;
	uint64_t connect_timeout_usec;
	uint64_t timeout_usec;	      /* whole request */
	unsigned max_attempts;	      /* per request, >= 1 */
	unsigned max_in_flight;	      /* GETs sent at once, >= 1; more wait in a queue */
	uint64_t backoff_initial_usec;
	uint64_t backoff_max_usec;
	size_t body_max;
};

struct imds_stats {
	uint64_t requests;	 /* HTTP requests sent, token PUTs included */
	uint64_t token_requests; /* PUTs */
	uint64_t retries;
	uint64_t max_in_flight;	 /* most GETs that were in flight at once */
};

struct imds_client;
struct imds_request;

/* Fills defaults from ec2net-defs.h. */
void imds_options_init(struct imds_options *o);
int imds_client_new(const struct imds_options *o, struct imds_client **ret);
struct imds_client *imds_client_free(struct imds_client *c);

/* GET /latest/<path> (path like "meta-data/mac"), blocking: imds_submit() and
 * imds_client_wait() until it completes (other pending requests progress meanwhile). Always
 * fills *ret (result says what happened) and returns 0; returns a negative errno only for
 * programming errors (-EINVAL, -ENOMEM). */
int imds_get(struct imds_client *c, const char *path, struct imds_reply *ret);
void imds_reply_done(struct imds_reply *r);

/* Called once for each submitted request that is not cancelled, from imds_client_process_*()
 * (or imds_client_wait()), never from imds_submit(). The callee may take reply->body
 * (TAKE_PTR); the client frees what is left. It may submit and cancel requests, but must not
 * free the client. */
typedef void (*imds_done_fn)(struct imds_client *c, const char *path, struct imds_reply *reply,
			     void *userdata);

/* Submits GET /latest/<path>. The reply comes through done, with the same results as imds_get().
 * *ret (may be NULL) identifies the request until done is called, for imds_request_cancel().
 * Returns -EINVAL for a path the client would never send, -ENOMEM. */
int imds_submit(struct imds_client *c, const char *path, imds_done_fn done, void *userdata,
		struct imds_request **ret);
/* Drops a request that has not completed: its callback is never called. NULL is a no-op. */
void imds_request_cancel(struct imds_request *r);
/* Submitted requests whose callback has not run yet. */
size_t imds_client_pending(const struct imds_client *c);

/* What an event loop does for the client: watch fd for events (POLLIN, POLLOUT; 0: stop
 * watching, the fd is about to be closed), and call imds_client_process_timeout() once
 * CLOCK_MONOTONIC reaches usec (UINT64_MAX: no timer). watch_fd returns 0 or a negative
 * errno. */
struct imds_loop {
	int (*watch_fd)(void *userdata, int fd, uint32_t events);
	void (*set_timer)(void *userdata, uint64_t usec);
};
/* Binds the client to a loop (NULL: none). The callbacks are called at once for the current
 * descriptors and timer. loop is borrowed. */
void imds_client_set_loop(struct imds_client *c, const struct imds_loop *loop, void *userdata);
/* fd is ready with revents (poll(2) bits); runs completions. */
int imds_client_process_fd(struct imds_client *c, int fd, uint32_t revents);
/* Timers due: curl's and the retry delays; runs completions. */
int imds_client_process_timeout(struct imds_client *c);
/* The CLOCK_MONOTONIC time at which the client next wants to run, UINT64_MAX: none. */
uint64_t imds_client_next_usec(const struct imds_client *c);
/* Waits (poll) at most timeout_usec for the client's descriptors and timers, then processes
 * them. */
int imds_client_wait(struct imds_client *c, uint64_t timeout_usec);
/* imds_client_wait() until no request is pending. */
int imds_client_run(struct imds_client *c);

struct imds_stats imds_client_stats(const struct imds_client *c);
/* The endpoint that last answered, or NULL. */
const char *imds_client_endpoint(const struct imds_client *c);
const char *imds_result_to_string(enum imds_result r);
