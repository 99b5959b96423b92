/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS HTTP client (imds.md §2-§5). One curl easy handle lives as long as the client so the
 * connection to IMDS is kept alive. Each imds_get() makes up to max_attempts attempts; an attempt
 * gets an IMDSv2 token when the cached one is missing or about to expire, then sends the GET. A
 * connection failure moves on to the next endpoint at once; the endpoint that answered is tried
 * first next time. Timeouts, connection errors, 5xx and 429 are retried after a delay from
 * backoff.c (or Retry-After). curl's error space and the HTTP status are turned into an
 * imds_reply here and nowhere else. The token never reaches a log or an error text. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "array.h"
#include "backoff.h"
#include "ec2net-defs.h"
#include "imds.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define IMDS_TOKEN_HEADER "X-aws-ec2-metadata-token"
#define IMDS_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds"
#define IMDS_TOKEN_PATH "api/token"
#define IMDS_PATH_MAX 1024u
/* Real tokens are ~56 characters; anything this long is not a token. */
#define IMDS_TOKEN_MAX 1024u
/* Longest header value we parse (Retry-After, token TTL). */
#define IMDS_HEADER_VALUE_MAX 32u

struct imds_client {
	CURL *curl;
	char **endpoints; /* owned copies without trailing '/', NULL-terminated */
	size_t n_endpoints;
	size_t current;           /* index of the endpoint tried first */
	bool answered;            /* endpoints[current] has answered at least once */
	struct imds_options opts; /* opts.endpoints is NULL: use the copies */

	char *token;               /* NULL when none; never logged */
	uint64_t token_renew_usec; /* CLOCK_MONOTONIC time to get a new one */

	struct imds_stats stats;
	uint64_t rng;

	/* The transfer in progress. */
	char *buf;
	size_t size;
	size_t cap;
	int body_error;       /* -EFBIG or -EBADMSG, set by the write callback */
	long retry_after_sec; /* -1 when absent */
	long ttl_header_sec;  /* -1 when absent */
};

/* What one HTTP exchange produced. */
struct transfer {
	long status;         /* HTTP status, 0 when no answer */
	int error;           /* negative errno of a transport failure, 0 when HTTP answered */
	bool connect_failed; /* nothing was sent: another endpoint may answer */
};

static void curl_slist_free_allp(struct curl_slist **p)
{
	if (*p)
		curl_slist_free_all(*p);
}

/* Frees a string that held a secret, wiping it first. */
static void free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void free_secretp(char **p)
{
	free_secret(*p);
}

static const char *const default_endpoints[] = {
        EC2NET_IMDS_ENDPOINT_V4,
        EC2NET_IMDS_ENDPOINT_V6,
        NULL,
};

static const char *const result_names[_IMDS_RESULT_MAX] = {
        [IMDS_VALUE] = "value",
        [IMDS_ABSENT] = "absent",
        [IMDS_TRANSIENT] = "transient",
        [IMDS_PERMANENT] = "permanent",
};

const char *imds_result_to_string(enum imds_result r)
{
	if ((unsigned)r >= _IMDS_RESULT_MAX)
		return NULL;
	return result_names[r];
}

void imds_options_init(struct imds_options *o)
{
	*o = (struct imds_options){
	        .endpoints = default_endpoints,
	        .token_ttl_sec = EC2NET_IMDS_TOKEN_TTL_SEC,
	        .connect_timeout_usec = EC2NET_IMDS_CONNECT_TIMEOUT_MSEC * USEC_PER_MSEC,
	        .timeout_usec = EC2NET_IMDS_TIMEOUT_SEC * USEC_PER_SEC,
	        .max_attempts = EC2NET_IMDS_ATTEMPTS,
	        .backoff_initial_usec = EC2NET_IMDS_BACKOFF_INITIAL_USEC,
	        .backoff_max_usec = EC2NET_IMDS_BACKOFF_MAX_USEC,
	        .body_max = EC2NET_IMDS_BODY_MAX,
	};
}

void imds_reply_done(struct imds_reply *r)
{
	if (!r)
		return;
	free(r->body);
	*r = (struct imds_reply){0};
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_usec(uint64_t usec)
{
	struct timespec ts = {
	        .tv_sec = (time_t)(usec / USEC_PER_SEC),
	        .tv_nsec = (long)(usec % USEC_PER_SEC) * 1000L,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

/* xorshift64*: jitter needs no cryptographic quality, only a seed nobody else shares. */
static uint32_t random_u32(struct imds_client *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return (uint32_t)((x * UINT64_C(0x2545F4914F6CDD1D)) >> 32);
}

static uint64_t random_seed(const void *salt)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = now_usec() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)salt;
	return seed != 0 ? seed : UINT64_C(0x9E3779B97F4A7C15);
}

static long msec_from_usec(uint64_t usec)
{
	uint64_t ms = (usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC;

	if (ms < 1)
		ms = 1;
	if (ms > INT32_MAX)
		ms = INT32_MAX;
	return (long)ms;
}

/* Metadata paths are relative ("meta-data/mac") and made of the few characters IMDS uses. */
static bool path_is_valid(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > IMDS_PATH_MAX || path[0] == '/' || strstr(path, ".."))
		return false;
	for (const char *p = path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))
			continue;
		if (!strchr("-._~:/@+=,", *p))
			return false;
	}
	return true;
}

static bool endpoint_is_valid(const char *e)
{
	if (strncasecmp(e, "http://", strlen("http://")) != 0 || strlen(e) <= strlen("http://"))
		return false;
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* A token is sent back in a header: printable ASCII only, no space, no CR/LF. */
static bool token_is_valid(const char *t, size_t n)
{
	if (n == 0 || n > IMDS_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return false;
	return true;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct imds_client *c = userdata;
	size_t n = size * nmemb;
	long status = 0;

	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	/* Error pages are never data: drop them unread. */
	if (status != 200)
		return n;
	if (n > c->opts.body_max - c->size) {
		c->body_error = -EFBIG;
		return 0;
	}
	if (memchr(ptr, '\0', n)) {
		c->body_error = -EBADMSG;
		return 0;
	}
	if (array_reserve((void **)&c->buf, &c->cap, c->size + n + 1, 1) < 0)
		return 0;
	memcpy(c->buf + c->size, ptr, n);
	c->size += n;
	c->buf[c->size] = '\0';
	return n;
}

/* Returns the value of header 'name' if line is that header, else NULL; value in buf. */
static const char *header_value(const char *line, size_t n, const char *name, char *buf,
                                size_t bufsz)
{
	size_t len = strlen(name);

	if (n <= len || strncasecmp(line, name, len) != 0 || line[len] != ':')
		return NULL;
	line += len + 1;
	n -= len + 1;
	if (n >= bufsz)
		return NULL;
	memcpy(buf, line, n);
	buf[n] = '\0';
	return strstrip(buf);
}

static size_t header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct imds_client *c = userdata;
	size_t n = size * nitems;
	char buf[IMDS_HEADER_VALUE_MAX];
	const char *v;
	uint32_t u;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx one): forget what the previous one said. */
		c->retry_after_sec = -1;
		c->ttl_header_sec = -1;
	} else if ((v = header_value(ptr, n, "Retry-After", buf, sizeof(buf)))) {
		/* Only the delta-seconds form; an HTTP date is ignored. */
		if (parse_u32(v, &u) == 0)
			c->retry_after_sec = (long)u;
	} else if ((v = header_value(ptr, n, IMDS_TTL_HEADER, buf, sizeof(buf)))) {
		if (parse_u32(v, &u) == 0)
			c->ttl_header_sec = (long)u;
	}
	return n;
}

static size_t read_nothing_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	return 0;
}

/* The one place where curl's error space becomes a negative errno. */
static int curl_code_to_errno(struct imds_client *c, CURLcode code, bool *ret_connect_failed)
{
	long os_errno = 0;
	curl_off_t request_size = 0;

	*ret_connect_failed = false;
	switch (code) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*ret_connect_failed = true;
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		*ret_connect_failed = true;
		(void)curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
		switch (os_errno) {
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EADDRNOTAVAIL:
			return -EHOSTUNREACH;
		case ETIMEDOUT:
			return -ETIMEDOUT;
		default:
			return -ECONNREFUSED;
		}
	case CURLE_OPERATION_TIMEDOUT:
		/* A request never sent timed out while connecting. */
		(void)curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &request_size);
		*ret_connect_failed = request_size == 0;
		return -ETIMEDOUT;
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		return -ECONNRESET;
	/* Endpoints are checked to be http:// when the client is made, so "unsupported
	 * protocol" here is an answer that is not HTTP/1.x (curl refuses HTTP/0.9). */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return -EPROTO;
	case CURLE_WRITE_ERROR:
		return c->body_error < 0 ? c->body_error : -ENOMEM;
	default:
		return -EIO;
	}
}

/* Oversize or NUL-bearing bodies and bad URLs do not get better by asking again. */
static bool errno_is_transient(int error)
{
	return error != -EFBIG && error != -EBADMSG && error != -EINVAL;
}

static int transfer_one(struct imds_client *c, const char *endpoint, bool put, const char *path,
                        struct transfer *ret)
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_(free_secretp) char *token_header = NULL;
	_cleanup_free_ char *url = NULL;
	char ttl_header[sizeof(IMDS_TTL_HEADER) + 16];
	curl_off_t request_size = 0;
	struct curl_slist *l;
	CURLcode code;
	int r;

	if (asprintf(&url, "%s/latest/%s", endpoint, path) < 0)
		return -ENOMEM;

	if (put) {
		(void)snprintf(ttl_header, sizeof(ttl_header), "%s: %u", IMDS_TTL_HEADER,
		               c->opts.token_ttl_sec);
		l = curl_slist_append(headers, ttl_header);
		if (!l)
			return -ENOMEM;
		headers = l;
		l = curl_slist_append(headers, "Expect:");
		if (!l)
			return -ENOMEM;
		headers = l;
		(void)curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
		(void)curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	} else {
		if (c->token) {
			if (asprintf(&token_header, "%s: %s", IMDS_TOKEN_HEADER, c->token) < 0)
				return -ENOMEM;
			l = curl_slist_append(headers, token_header);
			if (!l)
				return -ENOMEM;
			headers = l;
		}
		(void)curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}

	free(c->buf);
	c->buf = NULL;
	c->size = c->cap = 0;
	c->body_error = 0;
	c->retry_after_sec = -1;
	c->ttl_header_sec = -1;

	if (curl_easy_setopt(c->curl, CURLOPT_URL, url) != CURLE_OK)
		return -ENOMEM;
	(void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	code = curl_easy_perform(c->curl);
	(void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (put)
		(void)curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 0L);

	(void)curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &request_size);
	if (request_size > 0) {
		c->stats.requests++;
		if (put)
			c->stats.token_requests++;
	}

	*ret = (struct transfer){0};
	r = curl_code_to_errno(c, code, &ret->connect_failed);
	if (r == -ENOMEM)
		return r;
	ret->error = r;
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &ret->status);
	return 0;
}

/* Sends one request, moving on to the next endpoint while connecting fails. */
static int transfer(struct imds_client *c, bool put, const char *path, struct transfer *ret)
{
	struct transfer first = {0};
	int r;

	for (size_t i = 0; i < c->n_endpoints; i++) {
		size_t idx = (c->current + i) % c->n_endpoints;
		struct transfer t;

		r = transfer_one(c, c->endpoints[idx], put, path, &t);
		if (r < 0)
			return r;
		if (!t.connect_failed) {
			if (idx != c->current || !c->answered)
				log_debug("IMDS endpoint %s answers", c->endpoints[idx]);
			c->current = idx;
			c->answered = true;
			*ret = t;
			return 0;
		}
		log_debug_errno(t.error, "IMDS endpoint %s: cannot connect: %s", c->endpoints[idx],
		                STRERROR(t.error));
		if (i == 0)
			first = t;
	}
	/* Nobody answered: report the preferred endpoint's failure. */
	*ret = first;
	return 0;
}

static void reply_fail(struct imds_reply *ret, enum imds_result result, long status, int error)
{
	free(ret->body);
	*ret = (struct imds_reply){
	        .result = result,
	        .http_status = status,
	        .error = error,
	};
}

/* Fills ret for an HTTP status that neither request path treats specially: 429 and 5xx are
 * transient, other 4xx permanent, anything else (3xx, 2xx but 200) a protocol error. The one
 * place this rule lives, for the token PUT and the metadata GET alike. */
static void reply_fail_status(struct imds_reply *ret, long status)
{
	if (status == 429 || status >= 500)
		reply_fail(ret, IMDS_TRANSIENT, status, -EIO);
	else if (status >= 400)
		reply_fail(ret, IMDS_PERMANENT, status, -EINVAL);
	else
		reply_fail(ret, IMDS_PERMANENT, status, -EPROTO);
}

/* Fills ret for a transport failure. */
static void reply_transport_error(struct imds_reply *ret, const struct transfer *t)
{
	reply_fail(ret, errno_is_transient(t->error) ? IMDS_TRANSIENT : IMDS_PERMANENT, t->status,
	           t->error);
}

static void drop_token(struct imds_client *c)
{
	free_secret(c->token);
	c->token = NULL;
	c->token_renew_usec = 0;
}

static bool token_is_fresh(const struct imds_client *c)
{
	return c->token && now_usec() < c->token_renew_usec;
}

/* PUT /latest/api/token. On success ret->result is IMDS_VALUE (and ret->body stays NULL). */
static int fetch_token(struct imds_client *c, struct imds_reply *ret)
{
	uint64_t start = now_usec(), ttl_usec, margin_usec;
	struct transfer t;
	uint32_t ttl;
	int r;

	drop_token(c);
	r = transfer(c, true, IMDS_TOKEN_PATH, &t);
	if (r < 0)
		return r;
	if (t.error < 0) {
		reply_transport_error(ret, &t);
		return 0;
	}
	switch (t.status) {
	case 200:
		break;
	case 403: /* IMDS disabled, or the PUT was refused */
		reply_fail(ret, IMDS_PERMANENT, t.status, -EACCES);
		return 0;
	case 404:
	case 405: /* no IMDSv2 here */
		reply_fail(ret, IMDS_PERMANENT, t.status, -EOPNOTSUPP);
		return 0;
	default:
		reply_fail_status(ret, t.status);
		return 0;
	}
	if (!c->buf || !token_is_valid(c->buf, c->size)) {
		reply_fail(ret, IMDS_PERMANENT, t.status, -EBADMSG);
		return 0;
	}

	/* Trust the shorter of the TTL we asked for and the one IMDS says it granted. */
	ttl = c->opts.token_ttl_sec;
	if (c->ttl_header_sec > 0 && (uint64_t)c->ttl_header_sec < ttl)
		ttl = (uint32_t)c->ttl_header_sec;
	ttl_usec = (uint64_t)ttl * USEC_PER_SEC;
	margin_usec = (uint64_t)EC2NET_IMDS_TOKEN_MARGIN_SEC * USEC_PER_SEC;
	c->token_renew_usec =
	        start + (ttl_usec >= 2 * margin_usec ? ttl_usec - margin_usec : ttl_usec / 2);
	c->token = c->buf;
	c->buf = NULL;
	c->size = c->cap = 0;
	reply_fail(ret, IMDS_VALUE, t.status, 0);
	return 0;
}

/* One attempt: a token if needed, then the GET; a 401 renews the token and repeats the GET
 * once per imds_get() call. */
static int attempt_get(struct imds_client *c, const char *path, bool *renewed,
                       struct imds_reply *ret)
{
	struct transfer t;
	int r;

	for (;;) {
		if (!token_is_fresh(c)) {
			r = fetch_token(c, ret);
			if (r < 0)
				return r;
			if (ret->result != IMDS_VALUE)
				return 0;
		}
		r = transfer(c, false, path, &t);
		if (r < 0)
			return r;
		if (t.error == 0 && t.status == 401 && !*renewed) {
			*renewed = true;
			drop_token(c);
			continue;
		}
		break;
	}

	if (t.error < 0) {
		reply_transport_error(ret, &t);
		return 0;
	}
	switch (t.status) {
	case 200:
		free(ret->body);
		*ret = (struct imds_reply){
		        .result = IMDS_VALUE,
		        .http_status = t.status,
		        .body = c->buf ? c->buf : strdup(""),
		        .size = c->size,
		};
		c->buf = NULL;
		c->size = c->cap = 0;
		if (!ret->body)
			return -ENOMEM;
		return 0;
	case 404:
		reply_fail(ret, IMDS_ABSENT, t.status, 0);
		return 0;
	case 401:
		/* Rejected even right after a renewal: seen at early boot, try again later. */
		drop_token(c);
		reply_fail(ret, IMDS_TRANSIENT, t.status, -EPERM);
		return 0;
	case 403:
		reply_fail(ret, IMDS_PERMANENT, t.status, -EACCES);
		return 0;
	case 405:
		reply_fail(ret, IMDS_PERMANENT, t.status, -EOPNOTSUPP);
		return 0;
	default:
		reply_fail_status(ret, t.status);
		return 0;
	}
}

int imds_get(struct imds_client *c, const char *path, struct imds_reply *ret)
{
	bool renewed = false;
	int r;

	if (!c || !path || !ret)
		return -EINVAL;
	*ret = (struct imds_reply){0};
	if (!path_is_valid(path)) {
		reply_fail(ret, IMDS_PERMANENT, 0, -EINVAL);
		return 0;
	}

	for (unsigned attempt = 1;; attempt++) {
		uint64_t delay;

		r = attempt_get(c, path, &renewed, ret);
		if (r < 0) {
			imds_reply_done(ret);
			return r;
		}
		if (ret->result != IMDS_TRANSIENT || attempt >= c->opts.max_attempts)
			break;

		delay = backoff_delay_usec(attempt - 1, c->opts.backoff_initial_usec,
		                           c->opts.backoff_max_usec, random_u32(c));
		if (c->retry_after_sec >= 0) {
			delay = (uint64_t)c->retry_after_sec * USEC_PER_SEC;
			if (delay > c->opts.backoff_max_usec)
				delay = c->opts.backoff_max_usec;
		}
		log_debug("IMDS GET %s: %s (HTTP %ld, %s), retrying in %llu ms", path,
		          imds_result_to_string(ret->result), ret->http_status,
		          STRERROR(ret->error), (unsigned long long)(delay / USEC_PER_MSEC));
		c->stats.retries++;
		imds_reply_done(ret);
		sleep_usec(delay);
	}

	log_debug("IMDS GET %s: %s (HTTP %ld%s%s)", path, imds_result_to_string(ret->result),
	          ret->http_status, ret->error < 0 ? ", " : "",
	          ret->error < 0 ? STRERROR(ret->error) : "");
	return 0;
}

static int setup_curl(struct imds_client *c)
{
	CURL *curl = c->curl;
	CURLcode code = CURLE_OK;

#define SETOPT(opt, val)                                         \
	do {                                                     \
		if (code == CURLE_OK)                            \
			code = curl_easy_setopt(curl, opt, val); \
	} while (0)

	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	/* IMDS is link-local: never through a proxy from the environment. */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOPROXY, "*");
	SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, msec_from_usec(c->opts.connect_timeout_usec));
	SETOPT(CURLOPT_TIMEOUT_MS, msec_from_usec(c->opts.timeout_usec));
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_WRITEDATA, c);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_HEADERDATA, c);
	SETOPT(CURLOPT_READFUNCTION, read_nothing_cb);
	SETOPT(CURLOPT_READDATA, c);
	SETOPT(CURLOPT_USERAGENT, "ec2net");
#undef SETOPT
	return code == CURLE_OK ? 0 : -ENOMEM;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct imds_client *, imds_client_free)

int imds_client_new(const struct imds_options *o, struct imds_client **ret)
{
	_cleanup_(imds_client_freep) struct imds_client *c = NULL;
	size_t n = 0;
	int r;

	if (!o || !ret || !o->endpoints || !o->endpoints[0] || o->max_attempts < 1 ||
	    o->body_max < 1)
		return -EINVAL;
	while (o->endpoints[n]) {
		if (!endpoint_is_valid(o->endpoints[n]))
			return -EINVAL;
		n++;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->opts = *o;
	c->opts.endpoints = NULL;
	c->rng = random_seed(c);

	c->endpoints = calloc(n + 1, sizeof(char *));
	if (!c->endpoints)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(o->endpoints[i]);

		while (len > strlen("http://") && o->endpoints[i][len - 1] == '/')
			len--;
		c->endpoints[i] = strndup(o->endpoints[i], len);
		if (!c->endpoints[i])
			return -ENOMEM;
		c->n_endpoints++;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	r = setup_curl(c);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(c);
	return 0;
}

struct imds_client *imds_client_free(struct imds_client *c)
{
	if (!c)
		return NULL;
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	drop_token(c);
	free(c->buf);
	if (c->endpoints)
		strv_free(c->endpoints);
	free(c);
	return NULL;
}

struct imds_stats imds_client_stats(const struct imds_client *c)
{
	if (!c)
		return (struct imds_stats){0};
	return c->stats;
}

const char *imds_client_endpoint(const struct imds_client *c)
{
	if (!c || !c->answered)
		return NULL;
	return c->endpoints[c->current];
}
