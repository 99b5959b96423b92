/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake IMDS (tests/integration/fake_imds.py) as the IMDS tests use it: started on
 * 127.0.0.1 with a port file, driven through its /_fake/ control API, its request log read
 * back, so that tests assert on the traffic the fake really received. cmocka asserts inside. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

struct fake_imds {
	pid_t pid;
	char dir[64];
	char url[64];
	int port;
};

/* Starts python fake_script --data data [--dataset dataset] on 127.0.0.1, port 0. Returns 0, or
 * -1 with a message on stderr. */
int fake_imds_start(struct fake_imds *f, const char *python, const char *fake_script,
                    const char *data, const char *dataset);
void fake_imds_stop(struct fake_imds *f);

/* POST (body != NULL) or GET /_fake/<op>; returns the answer body (free it), asserts 200. */
char *fake_ctl(const struct fake_imds *f, const char *op, const char *body);
void fake_ctl_post(const struct fake_imds *f, const char *op, const char *body);
/* The request log, a JSON array of {method, path, status, token, t, peer, fault}. */
json_object *fake_log(const struct fake_imds *f);
const char *fake_entry_str(json_object *e, const char *key);
int fake_entry_int(json_object *e, const char *key);
/* Requests in log with this method (NULL: any), path (NULL: any), status (-1: any). */
size_t fake_count_in(json_object *log, const char *method, const char *path, int status);
size_t fake_count(const struct fake_imds *f, const char *method, const char *path, int status);
/* Delayed answers reach the log only when the fake's handler finishes: waits up to 3 s for
 * want of them. */
size_t fake_count_eventually(const struct fake_imds *f, const char *method, const char *path,
                             int status, size_t want);

uint64_t test_now_usec(void);
void test_msleep(unsigned ms);
