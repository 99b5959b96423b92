/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The IMDS HTTP client (imds.md §2-§5) on one curl multi handle. Requests are state machines
 * driven by the multi's socket and timer callbacks, so nothing here waits: a loop (or
 * imds_client_wait()) tells the client when a descriptor is ready or a deadline passed. Easy
 * handles are kept for reuse and connections stay in the multi's cache, so IMDS is talked to
 * over kept-alive connections. At most max_in_flight GETs are sent at once; the others queue.
 * Each request makes up to max_attempts attempts; an attempt needs an IMDSv2 token, and one
 * PUT (never more in flight) gets it for every GET that waits. A 401 renews the token once per
 * request. A connection failure moves on to the next endpoint at once; the endpoint that
 * answered is tried first next time. Timeouts, connection errors, 5xx and 429 are retried at a
 * deadline from backoff.c (or Retry-After), a timer rather than a sleep. curl's error space and
 * the HTTP status are turned into an imds_reply here and nowhere else. The token never reaches
 * a log or an error text. */
#include <errno.h>
#include <poll.h>
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
	CURLM *multi;
	CURL **idle; /* easy handles kept for reuse (their connections live in the multi) */
	size_t n_idle, cap_idle;
	char **endpoints; /* owned copies without trailing '/', NULL-terminated */
	size_t n_endpoints;
	size_t current;           /* index of the endpoint tried first */
	bool answered;            /* endpoints[current] has answered at least once */
	struct imds_options opts; /* opts.endpoints is NULL: use the copies */

	char *token;                    /* NULL when none; never logged */
	uint64_t token_renew_usec;      /* CLOCK_MONOTONIC time to get a new one */
	unsigned token_gen;             /* bumped with every new token */
	struct imds_request *token_req; /* the PUT in flight, NULL when none */

	/* Every request not yet delivered, token PUT included, in submission order. */
	struct imds_request *head, *tail;
	size_t n_pending; /* GETs, for imds_client_pending() */
	size_t n_running; /* GET transfers in the multi */

	struct watched_fd {
		int fd;
		uint32_t events;
	} * fds;
	size_t n_fds, cap_fds;
	uint64_t curl_usec; /* when curl wants to run; UINT64_MAX: not */
	uint64_t loop_usec; /* the timer the loop was last given */
	const struct imds_loop *loop;
	void *loop_userdata;
	bool settling, resettle;

	struct imds_stats stats;
	uint64_t rng;
};

enum request_state {
	REQ_WAIT_TOKEN, /* the next attempt needs a token; a PUT is in flight */
	REQ_QUEUED,     /* ready to send, waiting for a free slot */
	REQ_RUNNING,    /* a transfer is in the multi */
	REQ_WAIT_RETRY, /* the next attempt starts at retry_usec */
	REQ_DONE,       /* reply final, callback not called yet */
};

struct imds_request {
	struct imds_client *client;
	struct imds_request *prev, *next;
	char *path;
	bool put; /* the token PUT (internal, never delivered) */
	enum request_state state;
	imds_done_fn done;
	void *userdata;

	unsigned attempt; /* 1 for the first attempt */
	bool renewed;     /* a 401 renewed the token once already */
	uint64_t retry_usec;
	size_t tried; /* endpoints that failed to connect in this attempt */
	struct transfer_result {
		long status; /* HTTP status, 0 when no answer */
		int error;   /* negative errno of a transport failure, 0 when HTTP answered */
		bool connect_failed; /* nothing was sent: another endpoint may answer */
	} first;                     /* the preferred endpoint's failure, when none connected */
	unsigned token_gen;          /* the token this GET carried */
	uint64_t start_usec;

	/* The transfer in progress. */
	CURL *easy;
	size_t endpoint;
	struct curl_slist *headers;
	char *token_header; /* a secret */
	char *buf;
	size_t size;
	size_t cap;
	int body_error;       /* -EFBIG or -EBADMSG, set by the write callback */
	long retry_after_sec; /* -1 when absent */
	long ttl_header_sec;  /* -1 when absent */

	struct imds_reply reply;
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
	        .max_in_flight = EC2NET_IMDS_MAX_IN_FLIGHT,
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

/* ---- one transfer ---------------------------------------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct imds_request *q = userdata;
	size_t n = size * nmemb;
	long status = 0;

	(void)curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	/* Error pages are never data: drop them unread. */
	if (status != 200)
		return n;
	if (n > q->client->opts.body_max - q->size) {
		q->body_error = -EFBIG;
		return 0;
	}
	if (memchr(ptr, '\0', n)) {
		q->body_error = -EBADMSG;
		return 0;
	}
	if (array_reserve((void **)&q->buf, &q->cap, q->size + n + 1, 1) < 0)
		return 0;
	memcpy(q->buf + q->size, ptr, n);
	q->size += n;
	q->buf[q->size] = '\0';
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
	struct imds_request *q = userdata;
	size_t n = size * nitems;
	char buf[IMDS_HEADER_VALUE_MAX];
	const char *v;
	uint32_t u;

	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx one): forget what the previous one said. */
		q->retry_after_sec = -1;
		q->ttl_header_sec = -1;
	} else if ((v = header_value(ptr, n, "Retry-After", buf, sizeof(buf)))) {
		/* Only the delta-seconds form; an HTTP date is ignored. */
		if (parse_u32(v, &u) == 0)
			q->retry_after_sec = (long)u;
	} else if ((v = header_value(ptr, n, IMDS_TTL_HEADER, buf, sizeof(buf)))) {
		if (parse_u32(v, &u) == 0)
			q->ttl_header_sec = (long)u;
	}
	return n;
}

static size_t read_nothing_cb(char *buffer, size_t size, size_t nitems, void *userdata)
{
	return 0;
}

/* The one place where curl's error space becomes a negative errno. */
static int curl_code_to_errno(const struct imds_request *q, CURLcode code, bool *ret_connect_failed)
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
		(void)curl_easy_getinfo(q->easy, CURLINFO_OS_ERRNO, &os_errno);
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
		(void)curl_easy_getinfo(q->easy, CURLINFO_REQUEST_SIZE, &request_size);
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
		return q->body_error < 0 ? q->body_error : -ENOMEM;
	default:
		return -EIO;
	}
}

/* Oversize or NUL-bearing bodies and bad URLs do not get better by asking again. */
static bool errno_is_transient(int error)
{
	return error != -EFBIG && error != -EBADMSG && error != -EINVAL;
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
static void reply_transport_error(struct imds_reply *ret, const struct transfer_result *t)
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

static int setup_easy(CURL *curl, const struct imds_options *o)
{
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
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, msec_from_usec(o->connect_timeout_usec));
	SETOPT(CURLOPT_TIMEOUT_MS, msec_from_usec(o->timeout_usec));
	SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(CURLOPT_READFUNCTION, read_nothing_cb);
	SETOPT(CURLOPT_USERAGENT, "ec2net");
#undef SETOPT
	return code == CURLE_OK ? 0 : -ENOMEM;
}

/* An easy handle for a transfer: a kept one, or a new one. */
static int easy_get(struct imds_client *c, CURL **ret)
{
	CURL *e;

	if (c->n_idle > 0) {
		*ret = c->idle[--c->n_idle];
		return 0;
	}
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	if (setup_easy(e, &c->opts) < 0) {
		curl_easy_cleanup(e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

static void easy_put(struct imds_client *c, CURL *e)
{
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
	(void)curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	if (ARRAY_APPEND(c->idle, c->n_idle, c->cap_idle, e) < 0)
		curl_easy_cleanup(e);
}

/* Takes the transfer's easy handle out of the multi (if it is in) and back to the idle list. */
static void transfer_release(struct imds_request *q)
{
	struct imds_client *c = q->client;

	if (!q->easy)
		return;
	(void)curl_multi_remove_handle(c->multi, q->easy);
	easy_put(c, q->easy);
	q->easy = NULL;
	if (!q->put)
		c->n_running--;
	curl_slist_free_allp(&q->headers);
	q->headers = NULL;
	free_secretp(&q->token_header);
	q->token_header = NULL;
}

/* Sends the request to endpoints[endpoint]. */
static int transfer_start(struct imds_request *q, size_t endpoint)
{
	_cleanup_free_ char *url = NULL;
	struct imds_client *c = q->client;
	char ttl_header[sizeof(IMDS_TTL_HEADER) + 16];
	struct curl_slist *l;
	int r;

	if (asprintf(&url, "%s/latest/%s", c->endpoints[endpoint], q->path) < 0)
		return -ENOMEM;
	r = easy_get(c, &q->easy);
	if (r < 0)
		return r;
	q->endpoint = endpoint;
	if (!q->put)
		c->n_running++;
	if (c->n_running > c->stats.max_in_flight)
		c->stats.max_in_flight = c->n_running;

	if (q->put) {
		(void)snprintf(ttl_header, sizeof(ttl_header), "%s: %u", IMDS_TTL_HEADER,
		               c->opts.token_ttl_sec);
		l = curl_slist_append(q->headers, ttl_header);
		if (!l)
			goto oom;
		q->headers = l;
		l = curl_slist_append(q->headers, "Expect:");
		if (!l)
			goto oom;
		q->headers = l;
		(void)curl_easy_setopt(q->easy, CURLOPT_UPLOAD, 1L);
		(void)curl_easy_setopt(q->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	} else {
		if (c->token) {
			if (asprintf(&q->token_header, "%s: %s", IMDS_TOKEN_HEADER, c->token) < 0) {
				q->token_header = NULL;
				goto oom;
			}
			l = curl_slist_append(q->headers, q->token_header);
			if (!l)
				goto oom;
			q->headers = l;
		}
		q->token_gen = c->token_gen;
		(void)curl_easy_setopt(q->easy, CURLOPT_HTTPGET, 1L);
	}

	free(q->buf);
	q->buf = NULL;
	q->size = q->cap = 0;
	q->body_error = 0;
	q->retry_after_sec = -1;
	q->ttl_header_sec = -1;

	if (curl_easy_setopt(q->easy, CURLOPT_URL, url) != CURLE_OK)
		goto oom;
	(void)curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
	(void)curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	(void)curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	(void)curl_easy_setopt(q->easy, CURLOPT_HEADERDATA, q);
	(void)curl_easy_setopt(q->easy, CURLOPT_READDATA, q);
	if (curl_multi_add_handle(c->multi, q->easy) != CURLM_OK)
		goto oom;
	q->state = REQ_RUNNING;
	return 0;
oom:
	/* Removing a handle the multi does not hold is a no-op for curl. */
	transfer_release(q);
	return -ENOMEM;
}

/* ---- requests -------------------------------------------------------------------------------- */

static void request_link(struct imds_client *c, struct imds_request *q)
{
	q->prev = c->tail;
	q->next = NULL;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	if (!q->put)
		c->n_pending++;
}

static void request_unlink(struct imds_request *q)
{
	struct imds_client *c = q->client;

	if (q->prev)
		q->prev->next = q->next;
	else
		c->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		c->tail = q->prev;
	q->prev = q->next = NULL;
	if (!q->put)
		c->n_pending--;
}

static void request_free(struct imds_request *q)
{
	if (!q)
		return;
	transfer_release(q);
	free(q->buf);
	free(q->path);
	imds_reply_done(&q->reply);
	free(q);
}

static void request_finish(struct imds_request *q);
static void request_attempt(struct imds_request *q);
static void token_done(struct imds_request *q, const struct transfer_result *t);

/* The token PUT, shared by every GET that waits for it: at most one in flight. */
static void token_request(struct imds_client *c)
{
	struct imds_request *q;

	if (c->token_req)
		return;
	q = calloc(1, sizeof(*q));
	if (q) {
		q->client = c;
		q->put = true;
		q->path = strdup(IMDS_TOKEN_PATH);
	}
	if (!q || !q->path) {
		free(q);
		/* Out of memory: the waiting GETs fail this attempt. */
		for (struct imds_request *w = c->head; w; w = w->next)
			if (w->state == REQ_WAIT_TOKEN) {
				reply_fail(&w->reply, IMDS_TRANSIENT, 0, -ENOMEM);
				request_finish(w);
			}
		return;
	}
	q->start_usec = now_usec();
	request_link(c, q);
	c->token_req = q;
	if (transfer_start(q, c->current) < 0)
		/* The waiting GETs fail this attempt, as for any transport error. */
		token_done(q, &(struct transfer_result){.error = -ENOMEM});
}

/* Starts an attempt: wait for a token, or queue for a slot. */
static void request_attempt(struct imds_request *q)
{
	q->tried = 0;
	q->first = (struct transfer_result){0};
	if (!token_is_fresh(q->client)) {
		q->state = REQ_WAIT_TOKEN;
		token_request(q->client);
		return;
	}
	q->state = REQ_QUEUED;
}

/* The attempt's reply is in q->reply: retry it later, or it is final. */
static void request_finish(struct imds_request *q)
{
	struct imds_client *c = q->client;
	const struct imds_reply *rp = &q->reply;
	uint64_t delay;

	if (rp->result == IMDS_TRANSIENT && q->attempt < c->opts.max_attempts) {
		delay = backoff_delay_usec(q->attempt - 1, c->opts.backoff_initial_usec,
		                           c->opts.backoff_max_usec, random_u32(c));
		if (q->retry_after_sec >= 0) {
			delay = (uint64_t)q->retry_after_sec * USEC_PER_SEC;
			if (delay > c->opts.backoff_max_usec)
				delay = c->opts.backoff_max_usec;
		}
		log_debug("IMDS GET %s: %s (HTTP %ld, %s), retrying in %llu ms", q->path,
		          imds_result_to_string(rp->result), rp->http_status, STRERROR(rp->error),
		          (unsigned long long)(delay / USEC_PER_MSEC));
		c->stats.retries++;
		imds_reply_done(&q->reply);
		q->state = REQ_WAIT_RETRY;
		q->retry_usec = now_usec() + delay;
		return;
	}
	log_debug("IMDS GET %s: %s (HTTP %ld%s%s)", q->path, imds_result_to_string(rp->result),
	          rp->http_status, rp->error < 0 ? ", " : "",
	          rp->error < 0 ? STRERROR(rp->error) : "");
	q->state = REQ_DONE;
}

/* The token PUT answered (or failed): wake the GETs that wait for it. */
static void token_done(struct imds_request *q, const struct transfer_result *t)
{
	struct imds_client *c = q->client;
	struct imds_reply rp = {0};
	uint64_t ttl_usec, margin_usec;
	uint32_t ttl;

	c->token_req = NULL;
	if (t->error < 0)
		reply_transport_error(&rp, t);
	else if (t->status == 403) /* IMDS disabled, or the PUT was refused */
		reply_fail(&rp, IMDS_PERMANENT, t->status, -EACCES);
	else if (t->status == 404 || t->status == 405) /* no IMDSv2 here */
		reply_fail(&rp, IMDS_PERMANENT, t->status, -EOPNOTSUPP);
	else if (t->status != 200)
		reply_fail_status(&rp, t->status);
	else if (!q->buf || !token_is_valid(q->buf, q->size))
		reply_fail(&rp, IMDS_PERMANENT, t->status, -EBADMSG);
	else {
		/* Trust the shorter of the TTL we asked for and the one IMDS says it granted. */
		ttl = c->opts.token_ttl_sec;
		if (q->ttl_header_sec > 0 && (uint64_t)q->ttl_header_sec < ttl)
			ttl = (uint32_t)q->ttl_header_sec;
		ttl_usec = (uint64_t)ttl * USEC_PER_SEC;
		margin_usec = (uint64_t)EC2NET_IMDS_TOKEN_MARGIN_SEC * USEC_PER_SEC;
		drop_token(c);
		c->token_renew_usec =
		        q->start_usec +
		        (ttl_usec >= 2 * margin_usec ? ttl_usec - margin_usec : ttl_usec / 2);
		c->token = TAKE_PTR(q->buf);
		c->token_gen++;
		q->size = q->cap = 0;
		rp.result = IMDS_VALUE;
	}

	for (struct imds_request *w = c->head; w; w = w->next) {
		if (w->state != REQ_WAIT_TOKEN)
			continue;
		if (rp.result == IMDS_VALUE) {
			w->state = REQ_QUEUED;
			continue;
		}
		/* The GET's attempt failed with the PUT; Retry-After on the PUT counts. */
		reply_fail(&w->reply, rp.result, rp.http_status, rp.error);
		w->retry_after_sec = q->retry_after_sec;
		request_finish(w);
	}
	request_unlink(q);
	request_free(q);
}

/* A GET answered (or failed). */
static void get_done(struct imds_request *q, const struct transfer_result *t)
{
	struct imds_client *c = q->client;

	if (t->error == 0 && t->status == 401 && !q->renewed) {
		/* The token expired or IMDS restarted: renew it once for this request. Another
		 * GET may have renewed it already. */
		q->renewed = true;
		if (q->token_gen == c->token_gen)
			drop_token(c);
		request_attempt(q);
		return;
	}
	if (t->error < 0)
		reply_transport_error(&q->reply, t);
	else
		switch (t->status) {
		case 200:
			free(q->reply.body);
			q->reply = (struct imds_reply){
			        .result = IMDS_VALUE,
			        .http_status = t->status,
			        .body = q->buf ? TAKE_PTR(q->buf) : strdup(""),
			        .size = q->size,
			};
			q->size = q->cap = 0;
			if (!q->reply.body)
				reply_fail(&q->reply, IMDS_TRANSIENT, 0, -ENOMEM);
			break;
		case 404:
			reply_fail(&q->reply, IMDS_ABSENT, t->status, 0);
			break;
		case 401:
			/* Rejected even right after a renewal: seen at early boot, try again
			 * later. */
			if (q->token_gen == c->token_gen)
				drop_token(c);
			reply_fail(&q->reply, IMDS_TRANSIENT, t->status, -EPERM);
			break;
		case 403:
			reply_fail(&q->reply, IMDS_PERMANENT, t->status, -EACCES);
			break;
		case 405:
			reply_fail(&q->reply, IMDS_PERMANENT, t->status, -EOPNOTSUPP);
			break;
		default:
			reply_fail_status(&q->reply, t->status);
			break;
		}
	request_finish(q);
}

/* curl finished q's transfer with code. */
static void transfer_done(struct imds_request *q, CURLcode code)
{
	struct imds_client *c = q->client;
	curl_off_t request_size = 0;
	struct transfer_result t = {0};
	size_t endpoint = q->endpoint;
	int r;

	(void)curl_easy_getinfo(q->easy, CURLINFO_REQUEST_SIZE, &request_size);
	if (request_size > 0) {
		c->stats.requests++;
		if (q->put)
			c->stats.token_requests++;
	}
	r = curl_code_to_errno(q, code, &t.connect_failed);
	t.error = r;
	(void)curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &t.status);
	transfer_release(q);

	if (t.connect_failed) {
		log_debug_errno(t.error, "IMDS endpoint %s: cannot connect: %s",
		                c->endpoints[endpoint], STRERROR(t.error));
		if (q->tried++ == 0)
			q->first = t;
		if (q->tried < c->n_endpoints &&
		    transfer_start(q, (c->current + q->tried) % c->n_endpoints) >= 0)
			return;
		/* Nobody answered: report the preferred endpoint's failure. */
		t = q->first;
	} else {
		if (endpoint != c->current || !c->answered)
			log_debug("IMDS endpoint %s answers", c->endpoints[endpoint]);
		c->current = endpoint;
		c->answered = true;
	}
	q->tried = 0;
	if (q->put)
		token_done(q, &t);
	else
		get_done(q, &t);
}

/* ---- the loop's side ------------------------------------------------------------------------- */

uint64_t imds_client_next_usec(const struct imds_client *c)
{
	uint64_t next = c->curl_usec;

	for (const struct imds_request *q = c->head; q; q = q->next) {
		if (q->state == REQ_DONE && !q->put)
			return 0; /* a reply to deliver (one that failed to start) */
		if (q->state == REQ_WAIT_RETRY && q->retry_usec < next)
			next = q->retry_usec;
	}
	return next;
}

static void update_timer(struct imds_client *c)
{
	uint64_t next = imds_client_next_usec(c);

	if (!c->loop || next == c->loop_usec)
		return;
	c->loop_usec = next;
	c->loop->set_timer(c->loop_userdata, next);
}

/* Sends queued GETs while slots are free, then (deliver) calls back for final replies.
 * Callbacks may submit or cancel; they only ask for another round. Only the process calls
 * deliver: imds_submit() and imds_request_cancel() never run a callback, so a caller is never
 * re-entered from them. */
static void settle(struct imds_client *c, bool deliver)
{
	struct imds_request *q;

	if (c->settling) {
		c->resettle = true;
		return;
	}
	c->settling = true;
	do {
		c->resettle = false;
		for (q = c->head; q && c->n_running < c->opts.max_in_flight; q = q->next) {
			if (q->state != REQ_QUEUED)
				continue;
			if (!token_is_fresh(c)) {
				request_attempt(q);
				continue;
			}
			if (transfer_start(q, c->current) < 0) {
				reply_fail(&q->reply, IMDS_TRANSIENT, 0, -ENOMEM);
				request_finish(q);
			}
		}
		for (; deliver;) {
			for (q = c->head; q; q = q->next)
				if (q->state == REQ_DONE && !q->put)
					break;
			if (!q)
				break;
			request_unlink(q);
			if (q->done)
				q->done(c, q->path, &q->reply, q->userdata);
			request_free(q);
		}
	} while (c->resettle);
	c->settling = false;
	update_timer(c);
}

/* Collects the transfers curl finished. */
static void read_info(struct imds_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		struct imds_request *q = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		if (q && q->easy == msg->easy_handle)
			transfer_done(q, msg->data.result);
	}
}

int imds_client_process_fd(struct imds_client *c, int fd, uint32_t revents)
{
	int mask = 0, running;

	if (!c || fd < 0)
		return -EINVAL;
	if (revents & POLLIN)
		mask |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLHUP))
		mask |= CURL_CSELECT_ERR;
	if (curl_multi_socket_action(c->multi, fd, mask, &running) == CURLM_OUT_OF_MEMORY)
		return -ENOMEM;
	read_info(c);
	settle(c, true);
	return 0;
}

int imds_client_process_timeout(struct imds_client *c)
{
	uint64_t now = now_usec();
	int running;

	if (!c)
		return -EINVAL;
	/* A loop's timer fires once: it is not armed any more. */
	c->loop_usec = UINT64_MAX;
	if (c->curl_usec <= now) {
		c->curl_usec = UINT64_MAX; /* curl sets the next one */
		if (curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running) ==
		    CURLM_OUT_OF_MEMORY)
			return -ENOMEM;
		read_info(c);
	}
	for (struct imds_request *q = c->head; q; q = q->next)
		if (q->state == REQ_WAIT_RETRY && q->retry_usec <= now) {
			q->attempt++;
			request_attempt(q);
		}
	settle(c, true);
	return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
	struct imds_client *c = userdata;
	uint32_t events = 0;
	size_t i;

	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	for (i = 0; i < c->n_fds; i++)
		if (c->fds[i].fd == fd)
			break;
	if (what == CURL_POLL_REMOVE) {
		if (i < c->n_fds)
			c->fds[i] = c->fds[--c->n_fds];
	} else if (i < c->n_fds)
		c->fds[i].events = events;
	else if (ARRAY_APPEND(c->fds, c->n_fds, c->cap_fds,
	                      ((struct watched_fd){.fd = fd, .events = events})) < 0)
		return -1;
	if (c->loop && c->loop->watch_fd(c->loop_userdata, fd, events) < 0)
		return -1;
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userdata)
{
	struct imds_client *c = userdata;

	/* Only noted here: the next process call or the loop's timer acts on it. */
	if (timeout_ms < 0)
		c->curl_usec = UINT64_MAX;
	else
		c->curl_usec = now_usec() + (uint64_t)timeout_ms * USEC_PER_MSEC;
	return 0;
}

void imds_client_set_loop(struct imds_client *c, const struct imds_loop *loop, void *userdata)
{
	c->loop = loop;
	c->loop_userdata = userdata;
	c->loop_usec = UINT64_MAX;
	if (!loop)
		return;
	for (size_t i = 0; i < c->n_fds; i++)
		(void)loop->watch_fd(userdata, c->fds[i].fd, c->fds[i].events);
	c->loop_usec = 0; /* force */
	update_timer(c);
}

int imds_client_wait(struct imds_client *c, uint64_t timeout_usec)
{
	_cleanup_free_ struct pollfd *p = NULL;
	uint64_t now = now_usec(), next, wait;
	size_t n = c->n_fds;
	int timeout_ms, r;

	next = imds_client_next_usec(c);
	if (n == 0 && next == UINT64_MAX && c->head)
		next = now; /* nothing to wait for, yet work to do: let curl look */
	wait = next == UINT64_MAX ? UINT64_MAX : next > now ? next - now : 0;
	if (timeout_usec < wait)
		wait = timeout_usec;
	timeout_ms = wait == UINT64_MAX ? -1 : (int)msec_from_usec(wait);
	if (wait == 0)
		timeout_ms = 0;

	if (n > 0) {
		p = calloc(n, sizeof(*p));
		if (!p)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = c->fds[i].fd,
			                       .events = (short)c->fds[i].events};
	}
	r = poll(p, n, timeout_ms);
	if (r < 0 && errno != EINTR)
		return -errno;
	for (size_t i = 0; r > 0 && i < n; i++)
		if (p[i].revents) {
			r = imds_client_process_fd(c, p[i].fd, (uint32_t)p[i].revents);
			if (r < 0)
				return r;
			r = 1;
		}
	return imds_client_process_timeout(c);
}

int imds_client_run(struct imds_client *c)
{
	int r;

	while (c->n_pending > 0) {
		r = imds_client_wait(c, UINT64_MAX);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- the API --------------------------------------------------------------------------------- */

size_t imds_client_pending(const struct imds_client *c)
{
	return c ? c->n_pending : 0;
}

int imds_submit(struct imds_client *c, const char *path, imds_done_fn done, void *userdata,
                struct imds_request **ret)
{
	struct imds_request *q;

	if (!c || !path)
		return -EINVAL;
	if (!path_is_valid(path))
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->path = strdup(path);
	if (!q->path) {
		free(q);
		return -ENOMEM;
	}
	q->client = c;
	q->done = done;
	q->userdata = userdata;
	q->attempt = 1;
	request_link(c, q);
	request_attempt(q);
	if (ret)
		*ret = q;
	settle(c, false);
	return 0;
}

void imds_request_cancel(struct imds_request *q)
{
	struct imds_client *c;

	if (!q)
		return;
	c = q->client;
	request_unlink(q);
	request_free(q);
	settle(c, false);
}

struct get_wait {
	bool done;
	struct imds_reply *ret;
};

static void get_wait_done(struct imds_client *c, const char *path, struct imds_reply *reply,
                          void *userdata)
{
	struct get_wait *w = userdata;

	w->done = true;
	*w->ret = *reply;
	*reply = (struct imds_reply){0};
}

int imds_get(struct imds_client *c, const char *path, struct imds_reply *ret)
{
	struct get_wait w = {.ret = ret};
	struct imds_request *q = NULL;
	int r;

	if (!c || !path || !ret)
		return -EINVAL;
	*ret = (struct imds_reply){0};
	if (!path_is_valid(path)) {
		reply_fail(ret, IMDS_PERMANENT, 0, -EINVAL);
		return 0;
	}
	r = imds_submit(c, path, get_wait_done, &w, &q);
	if (r < 0)
		return r;
	while (!w.done) {
		r = imds_client_wait(c, UINT64_MAX);
		if (r < 0) {
			if (!w.done)
				imds_request_cancel(q);
			imds_reply_done(ret);
			return r;
		}
	}
	return 0;
}

/* ---- the client ------------------------------------------------------------------------------ */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct imds_client *, imds_client_free)

int imds_client_new(const struct imds_options *o, struct imds_client **ret)
{
	_cleanup_(imds_client_freep) struct imds_client *c = NULL;
	size_t n = 0;

	if (!o || !ret || !o->endpoints || !o->endpoints[0] || o->max_attempts < 1 ||
	    o->body_max < 1 || o->max_in_flight < 1)
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
	c->curl_usec = UINT64_MAX;
	c->loop_usec = UINT64_MAX;

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
	c->multi = curl_multi_init();
	if (!c->multi) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK)
		return -ENOMEM;

	*ret = TAKE_PTR(c);
	return 0;
}

struct imds_client *imds_client_free(struct imds_client *c)
{
	if (!c)
		return NULL;
	/* Tell nobody about the descriptors closing below. */
	c->loop = NULL;
	while (c->head) {
		struct imds_request *q = c->head;

		request_unlink(q);
		request_free(q);
	}
	c->token_req = NULL;
	for (size_t i = 0; i < c->n_idle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	if (c->multi) {
		curl_multi_cleanup(c->multi);
		curl_global_cleanup();
	}
	free(c->fds);
	drop_token(c);
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
