/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS HTTP client (imds.md): IMDSv2 token cached and renewed, endpoints tried in order,
 * bounded retries with backoff and jitter, bodies capped. It returns replies; it does not
 * interpret metadata (imds-fetch.c and metadata.c do). It never logs the token. */
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
	uint64_t backoff_initial_usec;
	uint64_t backoff_max_usec;
	size_t body_max;
};

struct imds_stats {
	uint64_t requests;	 /* HTTP requests sent, token PUTs included */
	uint64_t token_requests; /* PUTs */
	uint64_t retries;
};

struct imds_client;

/* Fills defaults from ec2net-defs.h. */
void imds_options_init(struct imds_options *o);
int imds_client_new(const struct imds_options *o, struct imds_client **ret);
struct imds_client *imds_client_free(struct imds_client *c);

/* GET /latest/<path> (path like "meta-data/mac"). Always fills *ret (result says what happened)
 * and returns 0; returns a negative errno only for programming errors (-EINVAL, -ENOMEM). */
int imds_get(struct imds_client *c, const char *path, struct imds_reply *ret);
void imds_reply_done(struct imds_reply *r);

struct imds_stats imds_client_stats(const struct imds_client *c);
/* The endpoint that last answered, or NULL. */
const char *imds_client_endpoint(const struct imds_client *c);
const char *imds_result_to_string(enum imds_result r);
