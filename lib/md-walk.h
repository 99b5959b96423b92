/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Walking the metadata tree into the model. The walk decides which paths to read (the MAC
 * directory is listed first, so absent keys are never requested) and hands the bodies to the
 * pure parsers in metadata.c. Where the bodies come from is the getter's business: IMDS over
 * HTTP (imds-fetch.c), or a JSON tree (md-tree.c) in tests and fuzzers. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "metadata.h"

struct json_object;

/* Reads one path under /latest/ (e.g. "meta-data/mac"). Sets *ret_status to MD_KNOWN with a
 * malloc'ed NUL-terminated *ret_body of *ret_len bytes, MD_ABSENT for 404, or MD_UNKNOWN when
 * the source failed. Returns 0, or a negative errno for programming errors only. */
typedef int (*md_get_fn)(void *userdata, const char *path, enum md_status *ret_status,
			 char **ret_body, size_t *ret_len);

/* Reads the whole instance: top-level 'mac', the MAC listing, every MAC. Returns 0 when the
 * MAC listing was read (ENIs may still be invalid or incomplete), -EIO when it could not be
 * (nothing may be concluded), -EBADMSG when it was malformed. */
int md_walk_instance(md_get_fn get, void *userdata, struct md_instance *ret);

/* Reads one MAC only (a per-interface pass), plus the top-level 'mac' to tell the primary.
 * Returns 0 with *ret filled and finished, -ENOENT
 * when IMDS does not list the MAC, -EIO when it could not be read. */
int md_walk_eni(md_get_fn get, void *userdata, const uint8_t mac[6], struct md_eni *ret);

/* A getter over a JSON tree in the fixture layout: objects are directories, strings are leaf
 * bodies; userdata is the struct json_object of the "meta-data" tree (borrowed). */
int md_tree_get(void *userdata, const char *path, enum md_status *ret_status, char **ret_body,
		size_t *ret_len);
