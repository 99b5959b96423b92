/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata walk over the IMDS client: md-walk's getter backed by HTTP, and the glue that
 * turns config and overrides into client options. */
#pragma once

#include <stddef.h>

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
