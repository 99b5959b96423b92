/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IMDS as a source for the metadata walk. A failed request is MD_UNKNOWN, never "absent": the
 * planner then changes nothing for what it could not read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "imds-fetch.h"
#include "macro.h"

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
