/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS client against the fake IMDS (tests/integration/fake_imds.py) on 127.0.0.1. The test
 * starts the fake itself, drives it through its /_fake/ control API and counts the requests the
 * fake really received, so every assertion is about traffic, not about the client's opinion of
 * it. Arguments: python3, fake_imds.py, data file. No root, loopback only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "ec2net-defs.h"
#include "fake-imds-harness.h"
#include "imds.h"
#include "macro.h"

#define MAC "0e:49:61:0f:c3:11"
#define MAC_PATH "meta-data/mac"
#define TOKEN_PATH "/latest/api/token"
#define MAC_URL_PATH "/latest/meta-data/mac"

static const char *python;
static const char *fake_script;
static const char *fake_data;

static struct fake_imds fake = {.pid = -1};

static int fake_start(void **state)
{
	return fake_imds_start(&fake, python, fake_script, fake_data, NULL);
}

static int fake_teardown(void **state)
{
	fake_imds_stop(&fake);
	return 0;
}

static void fault(const char *json)
{
	fake_ctl_post(&fake, "fault", json);
}

static void ctl_reset_log(void)
{
	fake_ctl_post(&fake, "reset-log", "");
}

/* ---- the client --------------------------------------------------------------------------- */

static const char *endpoints[3];

static void test_options(struct imds_options *o)
{
	imds_options_init(o);
	endpoints[0] = fake.url;
	endpoints[1] = NULL;
	o->endpoints = endpoints;
	o->connect_timeout_usec = 200 * USEC_PER_MSEC;
	o->timeout_usec = 1000 * USEC_PER_MSEC;
	o->max_attempts = 3;
	o->backoff_initial_usec = 1 * USEC_PER_MSEC;
	o->backoff_max_usec = 5 * USEC_PER_MSEC;
}

static struct imds_client *client_new(const struct imds_options *o)
{
	struct imds_client *c = NULL;

	assert_int_equal(imds_client_new(o, &c), 0);
	assert_non_null(c);
	return c;
}

static struct imds_client *default_client(void)
{
	struct imds_options o;

	test_options(&o);
	return client_new(&o);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct imds_client *, imds_client_free)
#define _cleanup_client_ _cleanup_(imds_client_freep)

static void get_expect_value(struct imds_client *c, const char *path, const char *want)
{
	_cleanup_(imds_reply_done) struct imds_reply r = {0};

	assert_int_equal(imds_get(c, path, &r), 0);
	if (r.result != IMDS_VALUE)
		fprintf(stderr, "%s: got %s HTTP %ld error %d (%s)\n", path,
		        imds_result_to_string(r.result), r.http_status, r.error,
		        r.error ? STRERROR(r.error) : "-");
	assert_int_equal(r.result, IMDS_VALUE);
	assert_int_equal(r.http_status, 200);
	assert_int_equal(r.error, 0);
	assert_non_null(r.body);
	assert_string_equal(r.body, want);
	assert_int_equal(r.size, strlen(want));
}

static void get_expect_failure(struct imds_client *c, const char *path, enum imds_result result,
                               long status, int error)
{
	_cleanup_(imds_reply_done) struct imds_reply r = {0};

	assert_int_equal(imds_get(c, path, &r), 0);
	if (r.result != result || r.http_status != status || r.error != error)
		fprintf(stderr, "%s: got %s HTTP %ld error %d (%s)\n", path,
		        imds_result_to_string(r.result), r.http_status, r.error,
		        r.error ? STRERROR(r.error) : "-");
	assert_int_equal(r.result, result);
	assert_int_equal(r.http_status, status);
	assert_int_equal(r.error, error);
	assert_null(r.body);
	assert_int_equal(r.size, 0);
}

/* Each test starts with a clean fake: no faults, empty log, default modes, no live tokens. */
static int reset_fake(void **state)
{
	fake_ctl_post(&fake, "clear-faults", "");
	fake_ctl_post(&fake, "mode", "{\"tokens\": \"required\", \"trailing_lf\": false}");
	fake_ctl_post(&fake, "expire-tokens", "");
	fake_ctl_post(&fake, "reset-log", "");
	return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_token_reused_across_20_gets_on_one_connection(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	struct imds_stats s;
	json_object *log;
	uint64_t t0 = test_now_usec();

	for (int i = 0; i < 20; i++)
		get_expect_value(c, MAC_PATH, MAC);
	uint64_t dt = test_now_usec() - t0;

	log = fake_log(&fake);
	assert_int_equal(fake_count_in(log, "PUT", TOKEN_PATH, 200), 1);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, 200), 20);
	assert_int_equal(json_object_array_length(log), 21);
	/* Keep-alive: every request came over the same TCP connection, and every GET had the
	 * token. */
	const char *peer = fake_entry_str(json_object_array_get_idx(log, 0), "peer");
	for (size_t i = 0; i < json_object_array_length(log); i++) {
		json_object *e = json_object_array_get_idx(log, i);
		assert_string_equal(fake_entry_str(e, "peer"), peer);
		if (streq(fake_entry_str(e, "method"), "GET"))
			assert_true(json_object_get_boolean(json_object_object_get(e, "token")));
	}
	json_object_put(log);

	s = imds_client_stats(c);
	assert_int_equal(s.requests, 21);
	assert_int_equal(s.token_requests, 1);
	assert_int_equal(s.retries, 0);
	assert_string_equal(imds_client_endpoint(c), fake.url);
	printf("# 20 GETs: %llu requests (%llu PUT) in %.1f ms on one connection\n",
	       (unsigned long long)s.requests, (unsigned long long)s.token_requests,
	       (double)dt / 1000.0);
}

static void test_many_gets_cost_one_token(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	const char *env = getenv("IMDS_TEST_GETS");
	long n = env ? strtol(env, NULL, 10) : 200;
	uint64_t t0;
	struct imds_stats s;

	if (n < 1)
		n = 200;
	t0 = test_now_usec();
	for (long i = 0; i < n; i++)
		get_expect_value(c, "meta-data/network/interfaces/macs/" MAC "/local-ipv4s",
		                 "192.0.2.10\n192.0.2.11");
	uint64_t dt = test_now_usec() - t0;

	s = imds_client_stats(c);
	assert_int_equal(fake_count(&fake, "PUT", NULL, -1), 1);
	assert_int_equal(fake_count(&fake, "GET", NULL, 200), (size_t)n);
	assert_int_equal(s.requests, (uint64_t)n + 1);
	printf("# %ld GETs: %llu requests in %.1f ms (%.0f us per GET)\n", n,
	       (unsigned long long)s.requests, (double)dt / 1000.0, (double)dt / (double)n);
}

static void test_expired_token_renewed_once_on_401(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	json_object *log;

	get_expect_value(c, MAC_PATH, MAC);
	fake_ctl_post(&fake, "expire-tokens", "");
	get_expect_value(c, MAC_PATH, MAC);
	get_expect_value(c, MAC_PATH, MAC);

	log = fake_log(&fake);
	assert_int_equal(fake_count_in(log, "PUT", TOKEN_PATH, 200), 2);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, 401), 1);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, 200), 3);
	/* Order: PUT, GET 200, GET 401, PUT, GET 200, GET 200. */
	assert_int_equal(fake_entry_int(json_object_array_get_idx(log, 2), "status"), 401);
	assert_string_equal(fake_entry_str(json_object_array_get_idx(log, 3), "method"), "PUT");
	json_object_put(log);
	assert_int_equal(imds_client_stats(c).token_requests, 2);
	assert_int_equal(imds_client_stats(c).retries, 0);
}

static void test_short_token_renewed_before_expiry(void **state)
{
	struct imds_options o;

	test_options(&o);
	/* 2 s is shorter than twice the margin: renew at half the TTL, i.e. after 1 s. */
	o.token_ttl_sec = 2;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	get_expect_value(c, MAC_PATH, MAC);
	get_expect_value(c, MAC_PATH, MAC);
	assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, 200), 1);
	test_msleep(1100);
	get_expect_value(c, MAC_PATH, MAC);
	/* A new token before the old one ran out: no 401 was needed. */
	assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, 200), 2);
	assert_int_equal(fake_count(&fake, "GET", NULL, 401), 0);
}

static void test_absent_error_and_timeout_are_distinct(void **state)
{
	struct imds_options o;

	test_options(&o);
	o.max_attempts = 2;
	o.timeout_usec = 200 * USEC_PER_MSEC;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	/* 404: absent, no retry. */
	get_expect_failure(c, "meta-data/no-such-key", IMDS_ABSENT, 404, 0);
	assert_int_equal(fake_count(&fake, "GET", "/latest/meta-data/no-such-key", 404), 1);

	/* 500: transient after the retries. */
	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 500}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 500, -EIO);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 500), 2);

	/* Timeout: transient, no HTTP status. */
	fake_ctl_post(&fake, "clear-faults", "");
	fake_ctl_post(&fake, "reset-log", "");
	fault("{\"path\": \"meta-data/mac\", \"kind\": \"delay\", \"delay_ms\": 500}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 0, -ETIMEDOUT);
	assert_int_equal(fake_count_eventually(&fake, "GET", MAC_URL_PATH, -1, 2), 2);
	assert_int_equal(imds_client_stats(c).retries, 2);

	/* Recovered: the same client works again. */
	fake_ctl_post(&fake, "clear-faults", "");
	get_expect_value(c, MAC_PATH, MAC);
}

static void test_500_forever_makes_exactly_max_attempts(void **state)
{
	struct imds_options o;

	test_options(&o);
	o.max_attempts = 4;
	_cleanup_client_ struct imds_client *c = client_new(&o);
	struct imds_stats s;

	fault("{\"path\": \"meta-data/*\", \"method\": \"GET\", \"kind\": \"status\", "
	      "\"status\": 500, \"count\": -1}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 500, -EIO);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 500), 4);
	assert_int_equal(fake_count(&fake, "GET", NULL, -1), 4);
	assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, 200), 1);
	s = imds_client_stats(c);
	assert_int_equal(s.retries, 3);
	assert_int_equal(s.requests, 5);
}

static void test_429_retry_after_honoured_then_success(void **state)
{
	struct imds_options o;

	test_options(&o);
	o.backoff_initial_usec = 1 * USEC_PER_MSEC;
	o.backoff_max_usec = 300 * USEC_PER_MSEC;
	_cleanup_client_ struct imds_client *c = client_new(&o);
	uint64_t t0, dt;

	get_expect_value(c, MAC_PATH, MAC); /* token first, so only the retry is timed */
	fake_ctl_post(&fake, "reset-log", "");
	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 429, \"count\": 1, "
	      "\"retry_after\": 1}");
	t0 = test_now_usec();
	get_expect_value(c, MAC_PATH, MAC);
	dt = test_now_usec() - t0;
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 429), 1);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 200), 1);
	/* Retry-After: 1 s capped at backoff_max (300 ms), far above the 1 ms backoff. */
	assert_true(dt >= 290 * USEC_PER_MSEC);
	assert_int_equal(imds_client_stats(c).retries, 1);
}

static void test_503_twice_then_value(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	json_object *log;

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 503, \"count\": 2}");
	get_expect_value(c, MAC_PATH, MAC);
	log = fake_log(&fake);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, -1), 3);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, 503), 2);
	assert_int_equal(fake_count_in(log, "GET", MAC_URL_PATH, 200), 1);
	json_object_put(log);
	assert_int_equal(imds_client_stats(c).retries, 2);
}

static void test_403_and_other_4xx_not_retried(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 403}");
	get_expect_failure(c, MAC_PATH, IMDS_PERMANENT, 403, -EACCES);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, -1), 1);

	fake_ctl_post(&fake, "clear-faults", "");
	fake_ctl_post(&fake, "reset-log", "");
	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 410}");
	get_expect_failure(c, MAC_PATH, IMDS_PERMANENT, 410, -EINVAL);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, -1), 1);
	assert_int_equal(imds_client_stats(c).retries, 0);
}

static void expect_token_put_failure(int status, enum imds_result result, int error, size_t puts)
{
	_cleanup_client_ struct imds_client *c = default_client();
	char spec[256];

	(void)reset_fake(NULL);
	(void)snprintf(spec, sizeof(spec),
	               "{\"path\": \"/latest/api/token\", \"method\": \"PUT\", \"kind\": "
	               "\"status\", \"status\": %d}",
	               status);
	fault(spec);
	get_expect_failure(c, MAC_PATH, result, status, error);
	assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, status), puts);
	assert_int_equal(fake_count(&fake, "GET", NULL, -1), 0);
	assert_int_equal(imds_client_stats(c).token_requests, puts);
}

static void test_token_put_errors(void **state)
{
	/* IMDS disabled */
	expect_token_put_failure(403, IMDS_PERMANENT, -EACCES, 1);
	/* No IMDSv2 */
	expect_token_put_failure(404, IMDS_PERMANENT, -EOPNOTSUPP, 1);
	expect_token_put_failure(405, IMDS_PERMANENT, -EOPNOTSUPP, 1);
	/* 503 on the PUT: retried like any GET, max_attempts (3) PUTs */
	expect_token_put_failure(503, IMDS_TRANSIENT, -EIO, 3);
}

static void test_bad_token_ttl_is_400_permanent(void **state)
{
	static const uint32_t bad[] = {0, 99999};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct imds_options o;

		(void)reset_fake(NULL);
		test_options(&o);
		o.token_ttl_sec = bad[i];
		_cleanup_client_ struct imds_client *c = client_new(&o);

		get_expect_failure(c, MAC_PATH, IMDS_PERMANENT, 400, -EINVAL);
		assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, 400), 1);
		assert_int_equal(fake_count(&fake, "GET", NULL, -1), 0);
	}
}

static void test_oversize_body_is_efbig(void **state)
{
	struct imds_options o;
	char *big;

	test_options(&o);
	o.body_max = 1024;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"oversize\", \"size\": 4096, \"count\": "
	      "1}");
	get_expect_failure(c, MAC_PATH, IMDS_PERMANENT, 200, -EFBIG);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, -1), 1);

	/* Exactly body_max bytes is fine, one more is not. */
	big = malloc(1026);
	assert_non_null(big);
	memset(big, 'a', 1025);
	big[1024] = '\0';
	fake_ctl_post(&fake, "set?path=meta-data/big", big);
	get_expect_value(c, "meta-data/big", big);
	big[1024] = 'a';
	big[1025] = '\0';
	fake_ctl_post(&fake, "set?path=meta-data/big", big);
	get_expect_failure(c, "meta-data/big", IMDS_PERMANENT, 200, -EFBIG);
	free(big);
	fake_ctl_post(&fake, "delete?path=meta-data/big", "");
	assert_int_equal(imds_client_stats(c).retries, 0);
}

static void test_nul_byte_in_body_is_ebadmsg(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"nul\", \"count\": 1}");
	get_expect_failure(c, MAC_PATH, IMDS_PERMANENT, 200, -EBADMSG);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, -1), 1);
	get_expect_value(c, MAC_PATH, MAC);
}

static void test_dropped_connection_transient_after_retries(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	size_t gets;

	get_expect_value(c, MAC_PATH, MAC);
	fake_ctl_post(&fake, "reset-log", "");
	fault("{\"path\": \"meta-data/mac\", \"kind\": \"drop\"}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 0, -ECONNRESET);
	assert_int_equal(imds_client_stats(c).retries, 2);
	/* 3 attempts; libcurl itself re-sends once when a kept-alive connection turns out dead
	 * before any answer byte, which is what a drop looks like on the first attempt. */
	gets = fake_count(&fake, "GET", MAC_URL_PATH, 0);
	printf("# dropped connection: %zu GETs reached the fake for 3 attempts\n", gets);
	assert_true(gets >= 3 && gets <= 4);
}

static void test_reset_mid_body_transient_after_retries(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"reset_mid_body\"}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 200, -ECONNRESET);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, -1), 3);
	assert_int_equal(imds_client_stats(c).retries, 2);
}

static void test_malformed_answer_is_eproto(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"malformed\", \"count\": 1}");
	/* Retried like other transport errors; the second attempt gets the value. */
	get_expect_value(c, MAC_PATH, MAC);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 0), 1);
	assert_int_equal(imds_client_stats(c).retries, 1);

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"malformed\"}");
	get_expect_failure(c, MAC_PATH, IMDS_TRANSIENT, 0, -EPROTO);
}

static void test_refused_endpoint_skipped_and_remembered(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	char closed_url[64];
	struct imds_options o;
	_cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	/* A bound port that does not listen refuses connections. */
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	(void)snprintf(closed_url, sizeof(closed_url), "http://127.0.0.1:%d", ntohs(sa.sin_port));

	test_options(&o);
	endpoints[0] = closed_url;
	endpoints[1] = fake.url;
	endpoints[2] = NULL;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	assert_null(imds_client_endpoint(c));
	get_expect_value(c, MAC_PATH, MAC);
	assert_string_equal(imds_client_endpoint(c), fake.url);
	assert_int_equal(imds_client_stats(c).retries, 0);

	/* Now make the first endpoint accept connections and never answer: a client that went
	 * back to it would queue a connection there and time out. */
	assert_int_equal(listen(s, 8), 0);
	for (int i = 0; i < 5; i++)
		get_expect_value(c, MAC_PATH, MAC);
	int flags = fcntl(s, F_GETFL);
	assert_int_equal(fcntl(s, F_SETFL, flags | O_NONBLOCK), 0);
	assert_int_equal(accept(s, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

	assert_int_equal(fake_count(&fake, "PUT", TOKEN_PATH, 200), 1);
	assert_int_equal(fake_count(&fake, "GET", MAC_URL_PATH, 200), 6);
	/* Requests that never connected are not counted as sent. */
	assert_int_equal(imds_client_stats(c).requests, 7);
	assert_string_equal(imds_client_endpoint(c), fake.url);
}

static void test_trailing_lf_mode_preserved_in_body(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();

	get_expect_value(c, MAC_PATH, MAC);
	get_expect_value(c, "meta-data/network/interfaces/macs",
	                 "0e:49:61:0f:c3:11/\n0e:49:61:0f:c3:12/");
	fake_ctl_post(&fake, "mode", "{\"trailing_lf\": true}");
	get_expect_value(c, MAC_PATH, MAC "\n");
	get_expect_value(c, "meta-data/network/interfaces/macs/",
	                 "0e:49:61:0f:c3:11/\n0e:49:61:0f:c3:12/\n");
	get_expect_value(c, "meta-data/network/interfaces/macs/" MAC "/local-ipv4s",
	                 "192.0.2.10\n192.0.2.11\n");
}

static void test_invalid_path_sends_nothing(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	struct imds_reply r = {0};

	get_expect_failure(c, "/meta-data/mac", IMDS_PERMANENT, 0, -EINVAL);
	get_expect_failure(c, "meta-data/../user-data", IMDS_PERMANENT, 0, -EINVAL);
	get_expect_failure(c, "meta-data/mac\r\nX-Evil: 1", IMDS_PERMANENT, 0, -EINVAL);
	get_expect_failure(c, "", IMDS_PERMANENT, 0, -EINVAL);
	assert_int_equal(imds_get(c, NULL, &r), -EINVAL);
	assert_int_equal(imds_client_stats(c).requests, 0);
	assert_int_equal(fake_count(&fake, NULL, NULL, -1), 0);
}

static void test_options_validated(void **state)
{
	struct imds_options o;
	struct imds_client *c = NULL;
	static const char *const https[] = {"https://169.254.169.254", NULL};
	static const char *const none[] = {NULL};

	test_options(&o);
	o.max_attempts = 0;
	assert_int_equal(imds_client_new(&o, &c), -EINVAL);
	test_options(&o);
	o.endpoints = https;
	assert_int_equal(imds_client_new(&o, &c), -EINVAL);
	o.endpoints = none;
	assert_int_equal(imds_client_new(&o, &c), -EINVAL);
	assert_null(c);
	assert_string_equal(imds_result_to_string(IMDS_TRANSIENT), "transient");
}

/* ---- the multi client: parallel, non-blocking ------------------------------------------- */

#define MAC2 "0e:49:61:0f:c3:12"
#define MACS_PATH "meta-data/network/interfaces/macs/"

/* One submitted request: its reply and when it completed among the others. */
struct done_rec {
	bool done;
	int order;
	struct imds_reply reply;
};

static int done_counter;

static void on_done(struct imds_client *c, const char *path, struct imds_reply *reply,
                    void *userdata)
{
	struct done_rec *d = userdata;

	assert_false(d->done);
	d->done = true;
	d->order = done_counter++;
	d->reply = *reply;
	*reply = (struct imds_reply){0};
}

static void expect_rec_value(struct done_rec *d, const char *want)
{
	assert_true(d->done);
	assert_int_equal(d->reply.result, IMDS_VALUE);
	assert_string_equal(d->reply.body, want);
	imds_reply_done(&d->reply);
}

static const struct {
	const char *path, *value;
} eight[] = {
        {"meta-data/mac", MAC},
        {"meta-data/instance-type", "m5.large"},
        {"meta-data/local-ipv4", "192.0.2.10"},
        {MACS_PATH MAC "/device-number", "0"},
        {MACS_PATH MAC "/local-ipv4s", "192.0.2.10\n192.0.2.11"},
        {MACS_PATH MAC "/subnet-ipv4-cidr-block", "192.0.2.0/24"},
        {MACS_PATH MAC2 "/device-number", "1"},
        {MACS_PATH MAC2 "/local-ipv4s", "198.51.100.20"},
};

static void test_parallel_gets_share_one_token_put(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	struct done_rec d[ELEMENTSOF(eight)] = {0};
	json_object *log;
	const char *peer0 = NULL;
	size_t peers = 0;
	uint64_t t0;

	t0 = test_now_usec();
	for (size_t i = 0; i < ELEMENTSOF(eight); i++)
		assert_int_equal(imds_submit(c, eight[i].path, on_done, &d[i], NULL), 0);
	/* Nothing completes inside imds_submit(). */
	assert_int_equal(imds_client_pending(c), ELEMENTSOF(eight));
	for (size_t i = 0; i < ELEMENTSOF(eight); i++)
		assert_false(d[i].done);
	assert_int_equal(imds_client_run(c), 0);
	assert_int_equal(imds_client_pending(c), 0);
	for (size_t i = 0; i < ELEMENTSOF(eight); i++)
		expect_rec_value(&d[i], eight[i].value);

	log = fake_log(&fake);
	/* One PUT for eight GETs that all waited for it. */
	assert_int_equal(fake_count_in(log, "PUT", TOKEN_PATH, 200), 1);
	assert_int_equal(fake_count_in(log, "GET", NULL, 200), ELEMENTSOF(eight));
	/* How many connections curl used is its business (under load it may reuse one for
	 * transfers that happen not to overlap), so it is printed, not asserted; that requests
	 * really run side by side is test_slow_path_does_not_delay_others()'s to prove. */
	for (size_t i = 0; i < json_object_array_length(log); i++) {
		const char *p = fake_entry_str(json_object_array_get_idx(log, i), "peer");

		if (!peer0)
			peer0 = p;
		else if (!streq(p, peer0))
			peers++;
	}
	json_object_put(log);
	/* At most (and, with eight waiting, exactly) max_in_flight at once. */
	assert_int_equal(imds_client_stats(c).max_in_flight, EC2NET_IMDS_MAX_IN_FLIGHT);
	assert_int_equal(imds_client_stats(c).token_requests, 1);
	printf("# %zu parallel GETs: %llu requests in %.1f ms, %llu in flight at most, "
	       "%zu requests not on the first connection\n",
	       ELEMENTSOF(eight), (unsigned long long)imds_client_stats(c).requests,
	       (double)(test_now_usec() - t0) / 1000.0,
	       (unsigned long long)imds_client_stats(c).max_in_flight, peers);
}

static void test_slow_path_does_not_delay_others(void **state)
{
	_cleanup_client_ struct imds_client *c = default_client();
	struct done_rec slow = {0}, d[5] = {0};

	fault("{\"path\": \"meta-data/instance-type\", \"kind\": \"delay\", \"delay_ms\": 700, "
	      "\"count\": 1}");
	/* The slow one first: a client that served requests in order would finish it first. */
	assert_int_equal(imds_submit(c, "meta-data/instance-type", on_done, &slow, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(d); i++)
		assert_int_equal(imds_submit(c, eight[3 + i].path, on_done, &d[i], NULL), 0);
	assert_int_equal(imds_client_run(c), 0);
	for (size_t i = 0; i < ELEMENTSOF(d); i++) {
		assert_true(d[i].order < slow.order);
		expect_rec_value(&d[i], eight[3 + i].value);
	}
	assert_int_equal(slow.order, done_counter - 1); /* last */
	expect_rec_value(&slow, "m5.large");
	assert_int_equal(imds_client_stats(c).retries, 0);
}

static void test_retry_after_is_a_timer_not_a_sleep(void **state)
{
	struct imds_options o;
	struct done_rec a = {0}, b = {0};
	json_object *log;
	double t429 = -1, t200 = -1;

	test_options(&o);
	o.backoff_max_usec = 300 * USEC_PER_MSEC;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	fault("{\"path\": \"meta-data/mac\", \"kind\": \"status\", \"status\": 429, \"count\": 1, "
	      "\"retry_after\": 1}");
	assert_int_equal(imds_submit(c, MAC_PATH, on_done, &a, NULL), 0);
	/* Run until the 429 came back and the retry waits for its deadline. */
	while (imds_client_stats(c).retries == 0)
		assert_int_equal(imds_client_wait(c, 10 * USEC_PER_MSEC), 0);
	assert_false(a.done);
	assert_true(imds_client_next_usec(c) > test_now_usec());
	/* Another request meanwhile is served at once, not after the delay. */
	assert_int_equal(imds_submit(c, "meta-data/local-ipv4", on_done, &b, NULL), 0);
	assert_int_equal(imds_client_run(c), 0);
	assert_true(b.order < a.order);
	expect_rec_value(&b, "192.0.2.10");
	expect_rec_value(&a, MAC);

	/* Retry-After: 1 s, capped at backoff_max (300 ms), far above the 1 ms backoff. */
	log = fake_log(&fake);
	for (size_t i = 0; i < json_object_array_length(log); i++) {
		json_object *e = json_object_array_get_idx(log, i), *t;

		if (!streq(fake_entry_str(e, "path"), MAC_URL_PATH) ||
		    !json_object_object_get_ex(e, "t", &t))
			continue;
		if (fake_entry_int(e, "status") == 429)
			t429 = json_object_get_double(t);
		else if (fake_entry_int(e, "status") == 200)
			t200 = json_object_get_double(t);
	}
	json_object_put(log);
	assert_true(t429 >= 0 && t200 >= 0);
	assert_true(t200 - t429 >= 0.29);
	assert_int_equal(imds_client_stats(c).retries, 1);
}

static void test_cancel_drops_sent_and_queued_requests(void **state)
{
	struct imds_options o;
	struct done_rec slow = {0}, queued = {0}, other = {0};
	struct imds_request *q_slow = NULL, *q_queued = NULL;

	test_options(&o);
	o.max_in_flight = 1;
	_cleanup_client_ struct imds_client *c = client_new(&o);

	get_expect_value(c, MAC_PATH, MAC); /* the token first */
	ctl_reset_log();
	fault("{\"path\": \"meta-data/instance-type\", \"kind\": \"delay\", \"delay_ms\": 600}");
	assert_int_equal(imds_submit(c, "meta-data/instance-type", on_done, &slow, &q_slow), 0);
	assert_int_equal(imds_submit(c, "meta-data/local-ipv4", on_done, &queued, &q_queued), 0);
	/* One slot: the second waits behind the first, which is on the wire. */
	assert_int_equal(imds_client_wait(c, 50 * USEC_PER_MSEC), 0);
	assert_int_equal(imds_client_stats(c).max_in_flight, 1);
	imds_request_cancel(q_queued);
	imds_request_cancel(q_slow);
	assert_int_equal(imds_client_pending(c), 0);
	assert_int_equal(imds_client_run(c), 0);
	assert_false(slow.done);
	assert_false(queued.done);

	/* The client goes on; the queued request never reached IMDS. */
	assert_int_equal(imds_submit(c, MACS_PATH MAC2 "/device-number", on_done, &other, NULL), 0);
	assert_int_equal(imds_client_run(c), 0);
	expect_rec_value(&other, "1");
	assert_false(slow.done);
	assert_int_equal(
	        fake_count_eventually(&fake, "GET", "/latest/meta-data/instance-type", -1, 1), 1);
	assert_int_equal(fake_count(&fake, "GET", "/latest/meta-data/local-ipv4", -1), 0);
}

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	(void)closedir(d);
	return n - 1; /* the directory's own */
}

static void test_no_fd_leak(void **state)
{
	size_t before = open_fds();

	for (int round = 0; round < 3; round++) {
		_cleanup_client_ struct imds_client *c = default_client();
		struct done_rec d[ELEMENTSOF(eight)] = {0}, slow = {0};
		struct imds_request *q = NULL;

		fault("{\"path\": \"meta-data/instance-type\", \"kind\": \"delay\", \"delay_ms\": "
		      "400, \"count\": 1}");
		assert_int_equal(imds_submit(c, "meta-data/instance-type", on_done, &slow, &q), 0);
		for (size_t i = 0; i < ELEMENTSOF(eight); i++)
			if (i != 1)
				assert_int_equal(
				        imds_submit(c, eight[i].path, on_done, &d[i], NULL), 0);
		while (imds_client_pending(c) > 1)
			assert_int_equal(imds_client_wait(c, UINT64_MAX), 0);
		imds_request_cancel(q); /* its connection is mid-request */
		for (size_t i = 0; i < ELEMENTSOF(eight); i++)
			if (i != 1)
				expect_rec_value(&d[i], eight[i].value);
		assert_true(open_fds() > before); /* kept-alive connections */
	}
	assert_int_equal(open_fds(), before);
}

int main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_token_reused_across_20_gets_on_one_connection,
	                               reset_fake),
	        cmocka_unit_test_setup(test_many_gets_cost_one_token, reset_fake),
	        cmocka_unit_test_setup(test_expired_token_renewed_once_on_401, reset_fake),
	        cmocka_unit_test_setup(test_short_token_renewed_before_expiry, reset_fake),
	        cmocka_unit_test_setup(test_absent_error_and_timeout_are_distinct, reset_fake),
	        cmocka_unit_test_setup(test_500_forever_makes_exactly_max_attempts, reset_fake),
	        cmocka_unit_test_setup(test_429_retry_after_honoured_then_success, reset_fake),
	        cmocka_unit_test_setup(test_503_twice_then_value, reset_fake),
	        cmocka_unit_test_setup(test_403_and_other_4xx_not_retried, reset_fake),
	        cmocka_unit_test_setup(test_token_put_errors, reset_fake),
	        cmocka_unit_test_setup(test_bad_token_ttl_is_400_permanent, reset_fake),
	        cmocka_unit_test_setup(test_oversize_body_is_efbig, reset_fake),
	        cmocka_unit_test_setup(test_nul_byte_in_body_is_ebadmsg, reset_fake),
	        cmocka_unit_test_setup(test_dropped_connection_transient_after_retries, reset_fake),
	        cmocka_unit_test_setup(test_reset_mid_body_transient_after_retries, reset_fake),
	        cmocka_unit_test_setup(test_malformed_answer_is_eproto, reset_fake),
	        cmocka_unit_test_setup(test_refused_endpoint_skipped_and_remembered, reset_fake),
	        cmocka_unit_test_setup(test_trailing_lf_mode_preserved_in_body, reset_fake),
	        cmocka_unit_test_setup(test_invalid_path_sends_nothing, reset_fake),
	        cmocka_unit_test(test_options_validated),
	        cmocka_unit_test_setup(test_parallel_gets_share_one_token_put, reset_fake),
	        cmocka_unit_test_setup(test_slow_path_does_not_delay_others, reset_fake),
	        cmocka_unit_test_setup(test_retry_after_is_a_timer_not_a_sleep, reset_fake),
	        cmocka_unit_test_setup(test_cancel_drops_sent_and_queued_requests, reset_fake),
	        cmocka_unit_test_setup(test_no_fd_leak, reset_fake),
	};

	if (argc != 4) {
		fprintf(stderr, "usage: %s PYTHON3 FAKE_IMDS_PY DATA_FILE\n", argv[0]);
		return 2;
	}
	python = argv[1];
	fake_script = argv[2];
	fake_data = argv[3];
	/* A write to a connection the fake closed must be an error, not our death. */
	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("imds", tests, fake_start, fake_teardown);
}
