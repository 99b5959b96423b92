/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata walk over the IMDS client: md-walk's getter backed by HTTP, and the glue that
 * turns config and overrides into client options. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imds.h"
#include "metadata.h"

struct config;

/* Userdata of imds_fetch_get(): the client, and the first failure seen (for messages). */
struct imds_fetch {
	struct imds_client *client; /* borrowed */
	char failed_path[256];	    /* "" when nothing failed */
	struct imds_reply failure;  /* result, http_status, error of the first failure; no body */
	size_t n_failures;
};

int imds_fetch_get(void *userdata, const char *path, enum md_status *ret_status, char **ret_body,
		   size_t *ret_len);

/* The endpoint to use instead of the configured ones: the --imds-endpoint option if given,
 * else $EC2NET_IMDS_ENDPOINT (read with secure_getenv), else NULL. */
const char *imds_endpoint_override(const char *option);

/* Client options from the config; override (may be NULL) replaces the endpoint list.
 * endpoints_storage (2 entries) holds the override list; both are borrowed by *ret. */
void imds_options_from_config(const struct config *c, const char *override,
			      const char *endpoints_storage[2], struct imds_options *ret);

/* "IMDS request 'meta-data/mac' failed: HTTP 500" and so on; buf of size bytes. */
const char *imds_fetch_describe_failure(const struct imds_fetch *f, char *buf, size_t size);

/* ---- the walk over the client, without blocking ---- */

/* Reads the whole instance (md_walk_instance) or one MAC (md_walk_eni) through the client,
 * in parallel: md-walk runs over a cache of replies; the paths it asks for that are not in the
 * cache yet are submitted (the client bounds how many are in flight), and the walk runs again
 * when replies come in, until it asks for nothing new. md-walk stays the one place that knows
 * which keys are read; the parallelism comes from reading a whole level at once. */
struct imds_walk;

/* Called once when the walk is complete (not when it is freed before). */
typedef void (*imds_walk_done_fn)(struct imds_walk *w, void *userdata);

/* mac NULL: the whole instance; else that ENI only. The client is borrowed and must outlive
 * the walk. */
int imds_walk_new(struct imds_client *c, const uint8_t *mac, imds_walk_done_fn done,
		  void *userdata, struct imds_walk **ret);
/* Cancels what is still in flight. */
struct imds_walk *imds_walk_free(struct imds_walk *w);
bool imds_walk_is_done(const struct imds_walk *w);
/* After done: what md_walk_instance()/md_walk_eni() returned over the complete cache, with the
 * same meanings. Takes the result (instance or ENI) out of the walk; either pointer may be
 * NULL. *ret_failure (may be NULL) gets the first failed path in walk order. */
int imds_walk_result(struct imds_walk *w, struct md_instance *ret_md, struct md_eni *ret_eni,
		     struct imds_fetch *ret_failure);
/* Requests the walk submitted, and how long it ran (usec). */
void imds_walk_figures(const struct imds_walk *w, uint64_t *ret_paths, uint64_t *ret_usec);

/* The blocking form: the whole instance through f->client, waiting for it (imds_client_run).
 * Returns what md_walk_instance() returns; f records the first failure. */
int imds_fetch_instance(struct imds_fetch *f, struct md_instance *ret);
