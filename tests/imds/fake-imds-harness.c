/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake IMDS harness shared by test-imds and test-fixtures (fake-imds-harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "ec2net-defs.h"
#include "fake-imds-harness.h"
#include "macro.h"

uint64_t test_now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000u;
}

void test_msleep(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void fake_imds_stop(struct fake_imds *f)
{
	char path[128];

	if (f->pid > 0) {
		(void)kill(f->pid, SIGTERM);
		(void)waitpid(f->pid, NULL, 0);
		f->pid = -1;
	}
	if (f->dir[0]) {
		(void)snprintf(path, sizeof(path), "%s/port", f->dir);
		(void)unlink(path);
		(void)snprintf(path, sizeof(path), "%s/log", f->dir);
		(void)unlink(path);
		(void)rmdir(f->dir);
		f->dir[0] = '\0';
	}
}

int fake_imds_start(struct fake_imds *f, const char *python, const char *fake_script,
                    const char *data, const char *dataset)
{
	char port_file[128], log_file[128];
	FILE *pf;

	*f = (struct fake_imds){.pid = -1};
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/fake-imds.XXXXXX");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -1;
	}
	(void)snprintf(port_file, sizeof(port_file), "%s/port", f->dir);
	(void)snprintf(log_file, sizeof(log_file), "%s/log", f->dir);

	f->pid = fork();
	if (f->pid < 0)
		return -1;
	if (f->pid == 0) {
		/* The fake dies with us, even if we crash. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			(void)dup2(null, STDOUT_FILENO);
		if (dataset)
			execlp(python, python, fake_script, "--data", data, "--dataset", dataset,
			       "--listen", "127.0.0.1", "--port", "0", "--port-file", port_file,
			       "--log", log_file, (char *)NULL);
		else
			execlp(python, python, fake_script, "--data", data, "--listen", "127.0.0.1",
			       "--port", "0", "--port-file", port_file, "--log", log_file,
			       (char *)NULL);
		_exit(127);
	}

	for (int i = 0; i < 400; i++) {
		if (waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = -1;
			fprintf(stderr, "fake_imds.py exited early (%s %s)\n", data,
			        dataset ? dataset : "");
			fake_imds_stop(f);
			return -1;
		}
		pf = fopen(port_file, "re");
		if (pf) {
			int ok = fscanf(pf, "%d", &f->port) == 1;
			(void)fclose(pf);
			if (ok && f->port > 0) {
				(void)snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d",
				               f->port);
				return 0;
			}
		}
		test_msleep(25);
	}
	fprintf(stderr, "fake_imds.py did not write its port file\n");
	fake_imds_stop(f);
	return -1;
}

struct buf {
	char *data;
	size_t size;
};

static size_t buf_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;
	char *p = realloc(b->data, b->size + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->size, ptr, n);
	b->data = p;
	b->size += n;
	b->data[b->size] = '\0';
	return n;
}

char *fake_ctl(const struct fake_imds *f, const char *op, const char *body)
{
	struct buf b = {0};
	char url[512];
	long status = 0;
	CURL *curl = curl_easy_init();

	assert_non_null(curl);
	(void)snprintf(url, sizeof(url), "%s/_fake/%s", f->url, op);
	(void)curl_easy_setopt(curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_PROXY, "");
	(void)curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, buf_write);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	if (body) {
		(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	assert_int_equal(curl_easy_perform(curl), CURLE_OK);
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (status != 200)
		fprintf(stderr, "control %s: %ld %s\n", op, status, b.data ? b.data : "");
	assert_int_equal(status, 200);
	return b.data ? b.data : strdup("");
}

void fake_ctl_post(const struct fake_imds *f, const char *op, const char *body)
{
	free(fake_ctl(f, op, body));
}

json_object *fake_log(const struct fake_imds *f)
{
	_cleanup_free_ char *text = fake_ctl(f, "log", NULL);
	json_object *log = json_tokener_parse(text);

	assert_non_null(log);
	assert_true(json_object_is_type(log, json_type_array));
	return log;
}

const char *fake_entry_str(json_object *e, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(e, key, &v) ? json_object_get_string(v) : "";
}

int fake_entry_int(json_object *e, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(e, key, &v) ? json_object_get_int(v) : -1;
}

size_t fake_count_in(json_object *log, const char *method, const char *path, int status)
{
	size_t n = 0;

	for (size_t i = 0; i < json_object_array_length(log); i++) {
		json_object *e = json_object_array_get_idx(log, i);

		if (method && !streq(fake_entry_str(e, "method"), method))
			continue;
		if (path && !streq(fake_entry_str(e, "path"), path))
			continue;
		if (status >= 0 && fake_entry_int(e, "status") != status)
			continue;
		n++;
	}
	return n;
}

size_t fake_count(const struct fake_imds *f, const char *method, const char *path, int status)
{
	json_object *log = fake_log(f);
	size_t n = fake_count_in(log, method, path, status);

	json_object_put(log);
	return n;
}

size_t fake_count_eventually(const struct fake_imds *f, const char *method, const char *path,
                             int status, size_t want)
{
	size_t n = 0;

	for (int i = 0; i < 60; i++) {
		n = fake_count(f, method, path, status);
		if (n >= want)
			break;
		test_msleep(50);
	}
	return n;
}
