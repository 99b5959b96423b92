/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMDS as a source for the metadata walk. A failed request is MD_UNKNOWN, never "absent": the
 * planner then changes nothing for what it could not read. Two ways: imds_fetch_get(), a
 * blocking getter (one request at a time), and struct imds_walk, which runs md-walk over a cache
 * of replies and fetches what each run asks for in parallel, never blocking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "config.h"
#include "imds-fetch.h"
#include "macro.h"
#include "md-walk.h"

int imds_fetch_get(void *userdata, const char *path, enum md_status *ret_status, char **ret_body,
		   size_t *ret_len)
{
	struct imds_fetch *f = userdata;
	struct imds_reply reply = {0};
	int r;

	r = imds_get(f->client, path, &reply);
	if (r < 0)
		return r;
	switch (reply.result) {
	case IMDS_VALUE:
		*ret_status = MD_KNOWN;
		*ret_body = TAKE_PTR(reply.body);
		*ret_len = reply.size;
		break;
	case IMDS_ABSENT:
		*ret_status = MD_ABSENT;
		break;
	case IMDS_TRANSIENT:
	case IMDS_PERMANENT:
	case _IMDS_RESULT_MAX:
		*ret_status = MD_UNKNOWN;
		if (f->n_failures++ == 0) {
			snprintf(f->failed_path, sizeof(f->failed_path), "%s", path);
			f->failure = (struct imds_reply){.result = reply.result,
							 .http_status = reply.http_status,
							 .error = reply.error};
		}
		break;
	}
	imds_reply_done(&reply);
	return 0;
}

const char *imds_endpoint_override(const char *option)
{
	const char *e;

	if (option && *option)
		return option;
	e = secure_getenv("EC2NET_IMDS_ENDPOINT");
	return e && *e ? e : NULL;
}

void imds_options_from_config(const struct config *c, const char *override,
			      const char *endpoints_storage[2], struct imds_options *ret)
{
	imds_options_init(ret);
	if (override) {
		endpoints_storage[0] = override;
		endpoints_storage[1] = NULL;
		ret->endpoints = endpoints_storage;
	} else if (c->endpoints && c->endpoints[0])
		ret->endpoints = (const char *const *)c->endpoints;
	ret->token_ttl_sec = c->token_ttl_sec;
	ret->timeout_usec = c->timeout_usec;
	if (ret->connect_timeout_usec > ret->timeout_usec)
		ret->connect_timeout_usec = ret->timeout_usec;
}

const char *imds_fetch_describe_failure(const struct imds_fetch *f, char *buf, size_t size)
{
	if (f->n_failures == 0) {
		snprintf(buf, size, "no IMDS failure");
		return buf;
	}
	if (f->failure.http_status > 0)
		snprintf(buf, size, "IMDS request '%s' failed: HTTP %ld (%s)", f->failed_path,
			 f->failure.http_status, STRERROR(f->failure.error));
	else
		snprintf(buf, size, "IMDS request '%s' failed: %s", f->failed_path,
			 STRERROR(f->failure.error));
	return buf;
}

/* ---- the walk over the client, without blocking ---- */

struct walk_entry {
	char *path;
	bool submitted;
	bool pending; /* no reply yet */
	enum md_status status;
	char *body;
	size_t len;
	struct imds_reply failure; /* result, http_status, error of a failure; no body */
	struct imds_request *req;  /* while in flight */
};

struct imds_walk {
	struct imds_client *client; /* borrowed */
	bool one;
	uint8_t mac[6];
	struct walk_entry *entries;
	size_t n_entries, cap_entries;
	size_t n_outstanding;
	uint64_t n_submitted;
	bool done;
	int result;
	struct md_instance md;
	struct md_eni eni;
	bool have_eni;
	struct imds_fetch failure;
	imds_walk_done_fn cb;
	void *userdata;
	uint64_t t0, usec;
};

/* The getter's view of one run of the walk. */
struct walk_run {
	struct imds_walk *walk;
	size_t n_new;     /* paths asked for the first time */
	size_t n_waiting; /* paths asked for whose reply has not come */
	struct imds_fetch *failure;
};

static uint64_t mono_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct walk_entry *walk_find(struct imds_walk *w, const char *path)
{
	for (size_t i = 0; i < w->n_entries; i++)
		if (streq(w->entries[i].path, path))
			return &w->entries[i];
	return NULL;
}

static void record_failure(struct imds_fetch *f, const char *path, const struct imds_reply *r)
{
	if (f->n_failures++ == 0) {
		snprintf(f->failed_path, sizeof(f->failed_path), "%s", path);
		f->failure = (struct imds_reply){
			.result = r->result, .http_status = r->http_status, .error = r->error};
	}
}

/* md_get_fn over the cache: a path not read yet is MD_UNKNOWN for this run, and noted. */
static int cache_get(void *userdata, const char *path, enum md_status *ret_status,
		     char **ret_body, size_t *ret_len)
{
	struct walk_run *run = userdata;
	struct imds_walk *w = run->walk;
	struct walk_entry *e = walk_find(w, path);

	*ret_status = MD_UNKNOWN;
	if (!e) {
		struct walk_entry n = {.path = strdup(path), .pending = true};

		if (!n.path || ARRAY_APPEND(w->entries, w->n_entries, w->cap_entries, n) < 0) {
			free(n.path);
			return -ENOMEM;
		}
		run->n_new++;
		return 0;
	}
	if (e->pending) {
		run->n_waiting++;
		return 0;
	}
	*ret_status = e->status;
	if (e->status == MD_KNOWN) {
		*ret_body = malloc(e->len + 1);
		if (!*ret_body)
			return -ENOMEM;
		memcpy(*ret_body, e->body, e->len + 1);
		*ret_len = e->len;
	} else if (e->status == MD_UNKNOWN && run->failure)
		record_failure(run->failure, path, &e->failure);
	return 0;
}

static void walk_reply(struct imds_client *c, const char *path, struct imds_reply *reply,
		       void *userdata);

static void walk_cancel(struct imds_walk *w)
{
	for (size_t i = 0; i < w->n_entries; i++)
		if (w->entries[i].req) {
			struct imds_request *q = TAKE_PTR(w->entries[i].req);

			imds_request_cancel(q);
		}
	w->n_outstanding = 0;
}

static void walk_finish(struct imds_walk *w, int r)
{
	walk_cancel(w);
	w->done = true;
	w->result = r;
	w->usec = mono_usec() - w->t0;
}

/* Runs the walk over the cache and submits what it asked for that is new. Sets w->done when
 * a run needed nothing it does not have: that run's result is the walk's. */
static void walk_step(struct imds_walk *w)
{
	for (;;) {
		struct imds_fetch failure = {.client = w->client};
		struct walk_run run = {.walk = w, .failure = &failure};
		struct md_instance md = {0};
		struct md_eni eni = {0};
		bool resubmit = false;
		int r;

		/* Failures are recorded only in a run that reads everything from the cache; a
		 * run with gaps is thrown away, so recording there does no harm either. */
		if (w->one)
			r = md_walk_eni(cache_get, &run, w->mac, &eni);
		else
			r = md_walk_instance(cache_get, &run, &md);
		if (r == -ENOMEM) {
			md_instance_done(&md);
			walk_finish(w, r);
			return;
		}
		if (run.n_new == 0 && run.n_waiting == 0) {
			w->md = md;
			if (w->one && r == 0) {
				w->eni = eni;
				w->have_eni = true;
			}
			w->failure = failure;
			walk_finish(w, r);
			return;
		}
		md_instance_done(&md);
		if (w->one && r == 0)
			md_eni_done(&eni);

		for (size_t i = 0; i < w->n_entries; i++) {
			struct walk_entry *e = &w->entries[i];

			if (e->submitted)
				continue;
			e->submitted = true;
			r = imds_submit(w->client, e->path, walk_reply, w, &e->req);
			if (r == -EINVAL) {
				/* A path built from a listing that the client refuses to send. */
				e->pending = false;
				e->status = MD_UNKNOWN;
				e->failure = (struct imds_reply){.result = IMDS_PERMANENT,
								 .error = -EINVAL};
				resubmit = true;
				continue;
			}
			if (r < 0) {
				walk_finish(w, r);
				return;
			}
			w->n_outstanding++;
			w->n_submitted++;
		}
		if (!resubmit)
			return;
	}
}

static void walk_reply(struct imds_client *c, const char *path, struct imds_reply *reply,
		       void *userdata)
{
	struct imds_walk *w = userdata;
	struct walk_entry *e = walk_find(w, path);
	size_t len;

	if (!e || !e->pending)
		return;
	e->req = NULL; /* the client frees it after this call */
	e->pending = false;
	w->n_outstanding--;
	switch (reply->result) {
	case IMDS_VALUE:
		e->status = MD_KNOWN;
		e->body = TAKE_PTR(reply->body);
		e->len = reply->size;
		break;
	case IMDS_ABSENT:
		e->status = MD_ABSENT;
		break;
	default:
		e->status = MD_UNKNOWN;
		e->failure = (struct imds_reply){.result = reply->result,
						 .http_status = reply->http_status,
						 .error = reply->error};
		break;
	}
	/* Only a listing opens new paths; keys matter for the final run only. */
	len = strlen(path);
	if (w->n_outstanding > 0 && (len == 0 || path[len - 1] != '/'))
		return;
	walk_step(w);
	if (w->done && w->cb)
		w->cb(w, w->userdata); /* last: the callee may free w */
}

int imds_walk_new(struct imds_client *c, const uint8_t *mac, imds_walk_done_fn done,
		  void *userdata, struct imds_walk **ret)
{
	struct imds_walk *w;

	if (!c || !ret)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct imds_walk){.client = c, .cb = done, .userdata = userdata, .t0 = mono_usec()};
	if (mac) {
		w->one = true;
		memcpy(w->mac, mac, 6);
	}
	walk_step(w);
	if (w->done && w->result == -ENOMEM) {
		imds_walk_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

struct imds_walk *imds_walk_free(struct imds_walk *w)
{
	if (!w)
		return NULL;
	walk_cancel(w);
	for (size_t i = 0; i < w->n_entries; i++) {
		free(w->entries[i].path);
		free(w->entries[i].body);
	}
	free(w->entries);
	md_instance_done(&w->md);
	if (w->have_eni)
		md_eni_done(&w->eni);
	free(w);
	return NULL;
}

bool imds_walk_is_done(const struct imds_walk *w)
{
	return w && w->done;
}

int imds_walk_result(struct imds_walk *w, struct md_instance *ret_md, struct md_eni *ret_eni,
		     struct imds_fetch *ret_failure)
{
	if (!w || !w->done)
		return -EBUSY;
	if (ret_md) {
		*ret_md = w->md;
		w->md = (struct md_instance){0};
	}
	if (ret_eni && w->have_eni) {
		*ret_eni = w->eni;
		w->have_eni = false;
	}
	if (ret_failure) {
		struct imds_client *c = ret_failure->client;

		*ret_failure = w->failure;
		ret_failure->client = c;
	}
	return w->result;
}

void imds_walk_figures(const struct imds_walk *w, uint64_t *ret_paths, uint64_t *ret_usec)
{
	if (ret_paths)
		*ret_paths = w ? w->n_submitted : 0;
	if (ret_usec)
		*ret_usec = w ? (w->done ? w->usec : mono_usec() - w->t0) : 0;
}

int imds_fetch_instance(struct imds_fetch *f, struct md_instance *ret)
{
	struct imds_walk *w = NULL;
	int r;

	r = imds_walk_new(f->client, NULL, NULL, NULL, &w);
	if (r < 0)
		return r;
	while (!imds_walk_is_done(w)) {
		r = imds_client_wait(f->client, UINT64_MAX);
		if (r < 0) {
			imds_walk_free(w);
			return r;
		}
	}
	r = imds_walk_result(w, ret, NULL, f);
	imds_walk_free(w);
	return r;
}
