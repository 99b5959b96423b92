/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The whole read path against the fake IMDS on 127.0.0.1: every dataset of every fixture file
 * in shared/fixtures is served by fake_imds.py, read through the real client (imds_client,
 * imds_fetch_get, md_walk_instance) and compared field by field with its expected model in
 * data/fixtures-expected/<file-stem>--<dataset>.json (md_instance_to_json). Then the cost of a
 * full read of a 3-ENI instance, and what one failing request does to the model.
 *
 * Arguments: python3, fake_imds.py, a data file to start the fake with, the expected dir.
 * Fixtures: $EC2NET_FIXTURES_DIR, else $EC2NET_SOURCE_DIR/../shared/fixtures; when neither
 * exists the fixture test fails in CI ($CI set) and is skipped otherwise.
 * EC2NET_UPDATE_EXPECTED=1 (re)writes the expected files instead of comparing: read every
 * changed one against the fixture and docs/imds.md before committing it. No root. */
#include <dirent.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "ec2net-defs.h"
#include "fake-imds-harness.h"
#include "imds-fetch.h"
#include "imds.h"
#include "macro.h"
#include "md-walk.h"
#include "metadata.h"
#include "parse-util.h"

static const char *python;
static const char *fake_script;
static const char *base_data;
static const char *expected_dir;

/* The fake of the 3-ENI and failure tests; fixture datasets each get their own. */
static struct fake_imds base = {.pid = -1};

static int reset_base(void **state)
{
	fake_ctl_post(&base, "clear-faults", "");
	fake_ctl_post(&base, "mode", "{\"tokens\": \"required\", \"trailing_lf\": false}");
	fake_ctl_post(&base, "reset-log", "");
	return 0;
}

/* ---- the client and the walk -------------------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct imds_client *, imds_client_free)
#define _cleanup_client_ _cleanup_(imds_client_freep)

static struct imds_client *client_for(const struct fake_imds *f)
{
	static const char *endpoints[2];
	struct imds_options o;
	struct imds_client *c = NULL;

	imds_options_init(&o);
	endpoints[0] = f->url;
	endpoints[1] = NULL;
	o.endpoints = endpoints;
	o.connect_timeout_usec = 200 * USEC_PER_MSEC;
	o.timeout_usec = 1000 * USEC_PER_MSEC;
	o.max_attempts = 3;
	o.backoff_initial_usec = 1 * USEC_PER_MSEC;
	o.backoff_max_usec = 5 * USEC_PER_MSEC;
	assert_int_equal(imds_client_new(&o, &c), 0);
	assert_non_null(c);
	return c;
}

struct read_result {
	int r;
	struct md_instance md;
	struct imds_stats stats;
	uint64_t usec;
	struct imds_fetch fetch;
};

/* One full read with a new client (its token PUT included), as a daemon pass does it. */
static void full_read(const struct fake_imds *f, struct read_result *ret)
{
	_cleanup_client_ struct imds_client *c = client_for(f);
	uint64_t t0;

	*ret = (struct read_result){0};
	ret->fetch.client = c;
	t0 = test_now_usec();
	ret->r = imds_fetch_instance(&ret->fetch, &ret->md);
	ret->usec = test_now_usec() - t0;
	ret->stats = imds_client_stats(c);
	ret->fetch.client = NULL;
}

static const struct md_eni *find(const struct md_instance *m, const char *mac)
{
	uint8_t b[6];

	assert_int_equal(parse_mac(mac, b), 0);
	return md_instance_find(m, b);
}

/* ---- field-by-field comparison ------------------------------------------------------------ */

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/* Compares got with want; prints one line per differing field (path, want, got). Returns the
 * number of differences. Interfaces are compared by position (the model's order is part of
 * it: card, then device number). */
static unsigned json_diff(const char *where, const char *path, json_object *want, json_object *got)
{
	enum json_type tw = want ? json_object_get_type(want) : json_type_null;
	enum json_type tg = got ? json_object_get_type(got) : json_type_null;
	unsigned n = 0;
	char sub[512];

	if (tw != tg) {
		fprintf(stderr, "# %s: %s: want %s %s, got %s %s\n", where, path, type_name(want),
		        json_object_to_json_string(want), type_name(got),
		        json_object_to_json_string(got));
		return 1;
	}
	switch (tw) {
	case json_type_null:
		return 0;
	case json_type_object: { /* json_object_object_foreach declares: a block */
		json_object_object_foreach(want, k, vw)
		{
			json_object *vg = NULL;
			(void)snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if (!json_object_object_get_ex(got, k, &vg)) {
				fprintf(stderr, "# %s: %s: missing\n", where, sub);
				n++;
				continue;
			}
			n += json_diff(where, sub, vw, vg);
		}
		json_object_object_foreach(got, k2, vg2)
		{
			(void)vg2;
			if (!json_object_object_get_ex(want, k2, NULL)) {
				(void)snprintf(sub, sizeof(sub), "%s.%s", path, k2);
				fprintf(stderr, "# %s: %s: unexpected field %s\n", where, sub,
				        json_object_to_json_string(vg2));
				n++;
			}
		}
		return n;
	}
	case json_type_array:
		if (json_object_array_length(want) != json_object_array_length(got)) {
			fprintf(stderr, "# %s: %s: want %zu items %s, got %zu items %s\n", where,
			        path, json_object_array_length(want),
			        json_object_to_json_string(want), json_object_array_length(got),
			        json_object_to_json_string(got));
			return 1;
		}
		for (size_t i = 0; i < json_object_array_length(want); i++) {
			(void)snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			n += json_diff(where, sub, json_object_array_get_idx(want, i),
			               json_object_array_get_idx(got, i));
		}
		return n;
	case json_type_int:
		if (json_object_get_int64(want) == json_object_get_int64(got))
			return 0;
		break;
	case json_type_boolean:
		if (json_object_get_boolean(want) == json_object_get_boolean(got))
			return 0;
		break;
	case json_type_string:
		if (streq(json_object_get_string(want), json_object_get_string(got)))
			return 0;
		break;
	case json_type_double:
		if (json_object_get_double(want) == json_object_get_double(got))
			return 0;
		break;
	}
	fprintf(stderr, "# %s: %s: want %s, got %s\n", where, path,
	        json_object_to_json_string(want), json_object_to_json_string(got));
	return 1;
}

/* ---- the fixture files -------------------------------------------------------------------- */

struct dataset {
	char file[512]; /* path of the fixture file */
	char stem[128]; /* its name without ".json" */
	char name[128]; /* dataset name; "default" for single-dataset formats (AEMM) */
	bool named;     /* pass --dataset to the fake */
};

static struct dataset datasets[64];
static size_t n_datasets;
static char fixtures_dir[512];

static int dataset_cmp(const void *a, const void *b)
{
	const struct dataset *x = a, *y = b;
	int c = strcmp(x->stem, y->stem);

	return c ? c : strcmp(x->name, y->name);
}

static void add_fixture_file(const char *path, const char *filename)
{
	json_object *doc = json_object_from_file(path), *ds, *md;
	size_t len = strlen(filename);
	struct dataset d = {0};

	assert_non_null(doc);
	(void)snprintf(d.file, sizeof(d.file), "%s", path);
	(void)snprintf(d.stem, sizeof(d.stem), "%.*s", (int)(len - 5), filename);
	if (json_object_object_get_ex(doc, "datasets", &ds)) {
		json_object_object_foreach(ds, name, v)
		{
			(void)v;
			assert_true(n_datasets < ELEMENTSOF(datasets));
			datasets[n_datasets] = d;
			(void)snprintf(datasets[n_datasets].name, sizeof(d.name), "%s", name);
			datasets[n_datasets].named = true;
			n_datasets++;
		}
	} else if (json_object_object_get_ex(doc, "metadata", &md) &&
	           json_object_object_get_ex(md, "paths", NULL)) {
		assert_true(n_datasets < ELEMENTSOF(datasets));
		datasets[n_datasets] = d;
		(void)snprintf(datasets[n_datasets].name, sizeof(d.name), "default");
		n_datasets++;
	}
	json_object_put(doc);
}

/* *.json in the fixtures dir and in its subdirectories (aemm/). */
static void scan_fixtures(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth == 0)
			scan_fixtures(path, 1);
		else if (S_ISREG(st.st_mode) && len > 5 && streq(de->d_name + len - 5, ".json"))
			add_fixture_file(path, de->d_name);
	}
	(void)closedir(d);
}

static bool find_fixtures_dir(void)
{
	const char *e = getenv("EC2NET_FIXTURES_DIR");
	struct stat st;

	if (e && *e)
		(void)snprintf(fixtures_dir, sizeof(fixtures_dir), "%s", e);
	else if ((e = getenv("EC2NET_SOURCE_DIR")) && *e)
		(void)snprintf(fixtures_dir, sizeof(fixtures_dir), "%s/../shared/fixtures", e);
	else
		return false;
	return stat(fixtures_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static json_object *result_to_json(const struct read_result *rr)
{
	json_object *o;

	if (rr->r == 0)
		return md_instance_to_json(&rr->md);
	/* The walk refused the instance: the expected file records why. */
	o = json_object_new_object();
	json_object_object_add(o, "walk-error",
	                       json_object_new_string(rr->r == -EIO       ? "EIO"
	                                              : rr->r == -EBADMSG ? "EBADMSG"
	                                                                  : STRERROR(rr->r)));
	return o;
}

static void write_expected(const char *path, json_object *o)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fprintf(f, "%s\n",
	        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_int_equal(fclose(f), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_every_fixture_dataset_reads_as_expected(void **state)
{
	const char *update = getenv("EC2NET_UPDATE_EXPECTED");
	bool updating = update && streq(update, "1");
	unsigned failures = 0;

	if (!find_fixtures_dir()) {
		if (getenv("CI")) {
			fprintf(stderr,
			        "# fixtures not found (EC2NET_FIXTURES_DIR, "
			        "$EC2NET_SOURCE_DIR/../shared/fixtures): a failure in CI\n");
			fail();
		}
		skip();
	}
	n_datasets = 0;
	scan_fixtures(fixtures_dir, 0);
	qsort(datasets, n_datasets, sizeof(datasets[0]), dataset_cmp);
	/* cloud-init (7), NetworkManager (1), AEMM (1) today; more is fine, none is not. */
	assert_true(n_datasets >= 9);

	for (size_t i = 0; i < n_datasets; i++) {
		const struct dataset *d = &datasets[i];
		struct fake_imds f;
		struct read_result rr;
		char where[300], path[1024];
		json_object *got, *want, *log;
		size_t n_log, stray_404 = 0;

		(void)snprintf(where, sizeof(where), "%s--%s", d->stem, d->name);
		(void)snprintf(path, sizeof(path), "%s/%s.json", expected_dir, where);
		assert_int_equal(fake_imds_start(&f, python, fake_script, d->file,
		                                 d->named ? d->name : NULL),
		                 0);
		full_read(&f, &rr);
		log = fake_log(&f);
		n_log = json_object_array_length(log);
		/* The walk lists before it reads: a 404 is only possible on the top-level mac
		 * (datasets without it) and the macs/ listing (datasets without interfaces). */
		for (size_t j = 0; j < n_log; j++) {
			json_object *e = json_object_array_get_idx(log, j);
			const char *p = fake_entry_str(e, "path");
			if (fake_entry_int(e, "status") == 404 &&
			    !streq(p, "/latest/meta-data/mac") &&
			    !streq(p, "/latest/meta-data/network/interfaces/macs/")) {
				fprintf(stderr, "# %s: asked for an unlisted path: %s\n", where, p);
				stray_404++;
			}
		}
		fake_imds_stop(&f);
		printf("# %s: walk %d, %zu interfaces, %llu requests, %.1f ms\n", where, rr.r,
		       rr.md.n_enis, (unsigned long long)rr.stats.requests,
		       (double)rr.usec / 1000.0);
		assert_int_equal(stray_404, 0);
		/* Every request the client counted reached the fake, and no retry was needed. */
		assert_int_equal(rr.stats.requests, n_log);
		assert_int_equal(rr.stats.retries, 0);
		json_object_put(log);

		got = result_to_json(&rr);
		if (updating) {
			write_expected(path, got);
			printf("# wrote %s\n", path);
		} else {
			want = json_object_from_file(path);
			if (!want) {
				fprintf(stderr,
				        "# %s: no expected file %s (EC2NET_UPDATE_EXPECTED=1 "
				        "writes it)\n",
				        where, path);
				failures++;
			} else {
				failures += json_diff(where, "$", want, got);
				json_object_put(want);
			}
		}
		json_object_put(got);
		md_instance_done(&rr.md);
	}

	/* No expected file without a dataset: a renamed dataset must not leave a stale one. */
	{
		DIR *dir = opendir(expected_dir);
		struct dirent *de;

		assert_non_null(dir);
		while ((de = readdir(dir))) {
			bool known = false;
			char name[300];

			if (de->d_name[0] == '.')
				continue;
			for (size_t i = 0; i < n_datasets && !known; i++) {
				(void)snprintf(name, sizeof(name), "%s--%s.json", datasets[i].stem,
				               datasets[i].name);
				known = streq(name, de->d_name);
			}
			if (!known) {
				fprintf(stderr, "# stale expected file: %s\n", de->d_name);
				failures++;
			}
		}
		(void)closedir(dir);
	}
	assert_int_equal(failures, 0);
}

/* A 3-ENI instance (card 0, devices 0-2) as a c6i would show it: secondaries, IPv6, an Elastic
 * IP, an IPv4 prefix, and the keys ec2net does not read. */
#define MAC_A "0a:07:84:3d:6e:38"
#define MAC_B "0a:75:69:92:e2:16"
#define MAC_C "02:6b:df:a2:4b:2b"

static json_object *eni_tree(const char *mac, unsigned dev, const char *eni, const char *ipv4s,
                             const char *ipv6s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "device-number",
	                       json_object_new_string(dev == 0   ? "0"
	                                              : dev == 1 ? "1"
	                                                         : "2"));
	json_object_object_add(o, "network-card", json_object_new_string("0"));
	json_object_object_add(o, "interface-id", json_object_new_string(eni));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	json_object_object_add(o, "local-ipv4s", json_object_new_string(ipv4s));
	json_object_object_add(
	        o, "local-hostname",
	        json_object_new_string("ip-172-31-44-13.us-east-2.compute.internal"));
	json_object_object_add(o, "ipv6s", json_object_new_string(ipv6s));
	json_object_object_add(o, "owner-id", json_object_new_string("329910648901"));
	json_object_object_add(o, "security-group-ids",
	                       json_object_new_string("sg-0c387755222ba8d2e"));
	json_object_object_add(o, "security-groups", json_object_new_string("launch-wizard-4"));
	json_object_object_add(o, "subnet-id", json_object_new_string("subnet-9d7ba0d1"));
	json_object_object_add(o, "subnet-ipv4-cidr-block",
	                       json_object_new_string("172.31.32.0/20"));
	json_object_object_add(o, "subnet-ipv6-cidr-blocks",
	                       json_object_new_string("2600:1f16:292:100::/64"));
	json_object_object_add(o, "vpc-id", json_object_new_string("vpc-a07f62c8"));
	json_object_object_add(o, "vpc-ipv4-cidr-block", json_object_new_string("172.31.0.0/16"));
	json_object_object_add(o, "vpc-ipv4-cidr-blocks", json_object_new_string("172.31.0.0/16"));
	json_object_object_add(o, "vpc-ipv6-cidr-blocks",
	                       json_object_new_string("2600:1f16:292:100::/56"));
	return o;
}

static void load_three_enis(void)
{
	json_object *root = json_object_new_object(), *net = json_object_new_object();
	json_object *ifs = json_object_new_object(), *macs = json_object_new_object();
	json_object *a, *b, *c, *assoc = json_object_new_object();

	a = eni_tree(MAC_A, 0, "eni-0d6335689899ce9cc", "172.31.44.13\n172.31.45.70",
	             "2600:1f16:292:100:c187:593c:4349:136");
	json_object_object_add(a, "public-ipv4s", json_object_new_string("18.218.219.181"));
	json_object_object_add(
	        a, "public-hostname",
	        json_object_new_string("ec2-18-218-219-181.us-east-2.compute.amazonaws.com"));
	json_object_object_add(assoc, "18.218.219.181", json_object_new_string("172.31.44.13"));
	json_object_object_add(a, "ipv4-associations", assoc);
	b = eni_tree(MAC_B, 1, "eni-043cdce36ded5e79f", "172.31.47.221\n172.31.47.222\n172.31.47.7",
	             "2600:1f16:292:100:f153:12a3:c37c:11f9\n2600:1f16:292:100::2");
	json_object_object_add(b, "ipv4-prefix", json_object_new_string("172.31.40.16/28"));
	c = eni_tree(MAC_C, 2, "eni-0669816d0cf606123", "172.31.33.5\n172.31.33.6",
	             "2600:1f16:292:100:8d2e:4d1f:9e80:4ab9");
	/* Listing order is not device order. */
	json_object_object_add(macs, MAC_C, c);
	json_object_object_add(macs, MAC_A, a);
	json_object_object_add(macs, MAC_B, b);
	json_object_object_add(ifs, "macs", macs);
	json_object_object_add(net, "interfaces", ifs);
	json_object_object_add(root, "network", net);
	json_object_object_add(root, "mac", json_object_new_string(MAC_A));
	json_object_object_add(root, "instance-type", json_object_new_string("c6i.large"));
	fake_ctl_post(&base, "tree", json_object_to_json_string(root));
	json_object_put(root);
}

/* What one full read costs, request by request (each ENI's directory is listed first, then only
 * the keys ec2net reads that the listing shows):
 *   PUT token                                                                        1
 *   GET mac, GET macs/                                                               2
 *   A: dir, device-number, network-card, interface-id, local-ipv4s, subnet-ipv4-cidr-block,
 *      vpc-ipv4-cidr-blocks, ipv6s, subnet-ipv6-cidr-blocks, public-ipv4s,
 *      ipv4-associations/, ipv4-associations/18.218.219.181                         12
 *   B: dir + the 8 common keys + ipv4-prefix                                        10
 *   C: dir + the 8 common keys                                                       9
 */
#define THREE_ENI_REQUESTS 34

static void test_three_eni_full_read_costs_34_requests(void **state)
{
	struct read_result rr;
	json_object *log;
	const struct md_eni *a, *b, *c;

	load_three_enis();
	fake_ctl_post(&base, "reset-log", "");
	full_read(&base, &rr);
	assert_int_equal(rr.r, 0);

	log = fake_log(&base);
	assert_int_equal(json_object_array_length(log), THREE_ENI_REQUESTS);
	assert_int_equal(fake_count_in(log, "PUT", "/latest/api/token", 200), 1);
	assert_int_equal(fake_count_in(log, "GET", NULL, 200), THREE_ENI_REQUESTS - 1);
	json_object_put(log);
	assert_int_equal(rr.stats.requests, THREE_ENI_REQUESTS);
	assert_int_equal(rr.stats.token_requests, 1);
	assert_int_equal(rr.stats.retries, 0);
	/* The walk reads a level at once: the client's limit was reached. */
	assert_int_equal(rr.stats.max_in_flight, EC2NET_IMDS_MAX_IN_FLIGHT);
	printf("# full read of a 3-ENI instance: %llu requests (%llu token PUT), %.1f ms\n",
	       (unsigned long long)rr.stats.requests, (unsigned long long)rr.stats.token_requests,
	       (double)rr.usec / 1000.0);

	assert_int_equal(rr.md.n_enis, 3);
	a = &rr.md.enis[0];
	b = &rr.md.enis[1];
	c = &rr.md.enis[2];
	assert_ptr_equal(a, find(&rr.md, MAC_A));
	assert_ptr_equal(b, find(&rr.md, MAC_B));
	assert_ptr_equal(c, find(&rr.md, MAC_C));
	for (size_t i = 0; i < 3; i++) {
		assert_true(md_eni_is_usable(&rr.md.enis[i]));
		assert_int_equal(rr.md.enis[i].device_number, i);
		assert_int_equal(rr.md.enis[i].network_card_status, MD_KNOWN);
	}
	assert_true(a->is_primary);
	assert_int_equal(a->ipv4s.n, 2);
	assert_int_equal(a->n_eips, 1);
	assert_int_equal(a->eips_status, MD_KNOWN);
	assert_int_equal(b->ipv4s.n, 3);
	assert_int_equal(b->ipv6s.n, 2);
	assert_int_equal(b->ipv4_prefixes.n, 1);
	assert_int_equal(b->eips_status, MD_ABSENT);
	assert_int_equal(c->ipv4_prefixes.status, MD_ABSENT);
	md_instance_done(&rr.md);
}

static void test_500_on_one_enis_local_ipv4s_makes_only_it_incomplete(void **state)
{
	struct read_result rr;
	const struct md_eni *b;
	json_object *log, *o, *x, *v;

	load_three_enis();
	fake_ctl_post(&base, "fault",
	              "{\"path\": \"meta-data/network/interfaces/macs/" MAC_B "/local-ipv4s\", "
	              "\"kind\": \"status\", \"status\": 500, \"count\": -1}");
	full_read(&base, &rr);
	assert_int_equal(rr.r, 0);
	assert_int_equal(rr.md.n_enis, 3);

	/* The client retried (3 attempts), then gave up on that one key only. */
	log = fake_log(&base);
	assert_int_equal(fake_count_in(log, "GET",
	                               "/latest/meta-data/network/interfaces/macs/" MAC_B
	                               "/local-ipv4s",
	                               500),
	                 3);
	assert_int_equal(fake_count_in(log, NULL, NULL, 500), 3);
	json_object_put(log);
	assert_int_equal(rr.fetch.n_failures, 1);
	assert_string_equal(rr.fetch.failed_path,
	                    "meta-data/network/interfaces/macs/" MAC_B "/local-ipv4s");

	b = find(&rr.md, MAC_B);
	assert_non_null(b);         /* not absent */
	assert_null(b->error);      /* not invalid */
	assert_true(b->incomplete); /* incomplete */
	assert_false(md_eni_is_usable(b));
	assert_int_equal(b->ipv4s.status, MD_UNKNOWN);
	/* The rest of B was still read. */
	assert_int_equal(b->ipv6s.n, 2);
	assert_true(md_eni_is_usable(find(&rr.md, MAC_A)));
	assert_true(md_eni_is_usable(find(&rr.md, MAC_C)));
	assert_int_equal(find(&rr.md, MAC_A)->ipv4s.n, 2);

	o = md_instance_to_json(&rr.md);
	x = json_object_array_get_idx(json_object_object_get(o, "interfaces"), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "mac")), MAC_B);
	assert_string_equal(json_object_get_string(json_object_object_get(x, "status")),
	                    "incomplete");
	assert_true(json_object_object_get_ex(x, "local-ipv4s", &v));
	assert_null(v);
	assert_false(json_object_object_get_ex(x, "error", NULL));
	json_object_put(o);
	md_instance_done(&rr.md);
}

static void test_500_on_macs_listing_is_eio(void **state)
{
	struct read_result rr;
	json_object *log;

	load_three_enis();
	fake_ctl_post(&base, "fault",
	              "{\"path\": \"meta-data/network/interfaces/macs/\", \"kind\": \"status\", "
	              "\"status\": 500, \"count\": -1}");
	full_read(&base, &rr);
	assert_int_equal(rr.r, -EIO);
	assert_int_equal(rr.md.n_enis, 0);
	assert_string_equal(rr.fetch.failed_path, "meta-data/network/interfaces/macs/");
	/* Nothing below the listing was asked for. */
	log = fake_log(&base);
	assert_int_equal(
	        fake_count_in(log, "GET", "/latest/meta-data/network/interfaces/macs/", 500), 3);
	assert_int_equal(json_object_array_length(log), 1 + 1 + 3);
	json_object_put(log);
}

static void on_walk_done(struct imds_walk *w, void *userdata)
{
	(*(unsigned *)userdata)++;
}

/* A hot attach reads one ENI: PUT, mac, macs/, B's directory and its 9 keys. Same model as
 * the full read gives for B. */
#define ONE_ENI_REQUESTS (1 + 2 + 10)

static void test_one_eni_walk_reads_only_that_eni(void **state)
{
	_cleanup_client_ struct imds_client *c = client_for(&base);
	_cleanup_free_ char *want = NULL, *got = NULL;
	struct read_result rr;
	struct imds_walk *w = NULL;
	struct md_eni eni = {0};
	json_object *o;
	unsigned done = 0;
	uint8_t mac[6];

	load_three_enis();
	full_read(&base, &rr);
	assert_int_equal(rr.r, 0);
	o = md_eni_to_json(find(&rr.md, MAC_B));
	want = strdup(json_object_to_json_string(o));
	json_object_put(o);
	md_instance_done(&rr.md);

	fake_ctl_post(&base, "reset-log", "");
	assert_int_equal(parse_mac(MAC_B, mac), 0);
	assert_int_equal(imds_walk_new(c, mac, on_walk_done, &done, &w), 0);
	assert_int_equal(imds_client_run(c), 0);
	assert_true(imds_walk_is_done(w));
	assert_int_equal(done, 1);
	assert_int_equal(imds_walk_result(w, NULL, &eni, NULL), 0);
	imds_walk_free(w);
	o = md_eni_to_json(&eni);
	got = strdup(json_object_to_json_string(o));
	json_object_put(o);
	md_eni_done(&eni);
	assert_string_equal(got, want);
	assert_int_equal(imds_client_stats(c).requests, ONE_ENI_REQUESTS);
	assert_int_equal(fake_count(&base, NULL, NULL, -1), ONE_ENI_REQUESTS);
	assert_int_equal(fake_count(&base, "GET",
	                            "/latest/meta-data/network/interfaces/macs/" MAC_A "/", -1),
	                 0);
	printf("# read of one ENI of three: %d requests, against %d for all\n", ONE_ENI_REQUESTS,
	       THREE_ENI_REQUESTS);

	/* Not listed: -ENOENT, after the listing only. */
	assert_int_equal(parse_mac("0a:00:00:00:00:99", mac), 0);
	assert_int_equal(imds_walk_new(c, mac, NULL, NULL, &w), 0);
	assert_int_equal(imds_client_run(c), 0);
	assert_int_equal(imds_walk_result(w, NULL, &eni, NULL), -ENOENT);
	imds_walk_free(w);
}

static void test_walk_freed_midway_cancels_its_requests(void **state)
{
	_cleanup_client_ struct imds_client *c = client_for(&base);
	struct imds_walk *w = NULL;
	unsigned done = 0;

	load_three_enis();
	fake_ctl_post(&base, "fault",
	              "{\"path\": \"meta-data/network/interfaces/macs/" MAC_C "/*\", \"kind\": "
	              "\"delay\", \"delay_ms\": 500}");
	assert_int_equal(imds_walk_new(c, NULL, on_walk_done, &done, &w), 0);
	/* Until C's keys are on the wire (the others answer at once). */
	while (imds_client_pending(c) > 0 && imds_client_stats(c).requests < 8)
		assert_int_equal(imds_client_wait(c, 20 * USEC_PER_MSEC), 0);
	assert_false(imds_walk_is_done(w));
	assert_true(imds_client_pending(c) > 0);
	imds_walk_free(w);
	assert_int_equal(imds_client_pending(c), 0);
	assert_int_equal(imds_client_run(c), 0);
	assert_int_equal(done, 0);
}

static int group_setup(void **state)
{
	return fake_imds_start(&base, python, fake_script, base_data, NULL);
}

static int group_teardown(void **state)
{
	fake_imds_stop(&base);
	return 0;
}

int main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_fixture_dataset_reads_as_expected),
	        cmocka_unit_test_setup(test_three_eni_full_read_costs_34_requests, reset_base),
	        cmocka_unit_test_setup(test_500_on_one_enis_local_ipv4s_makes_only_it_incomplete,
	                               reset_base),
	        cmocka_unit_test_setup(test_500_on_macs_listing_is_eio, reset_base),
	        cmocka_unit_test_setup(test_one_eni_walk_reads_only_that_eni, reset_base),
	        cmocka_unit_test_setup(test_walk_freed_midway_cancels_its_requests, reset_base),
	};

	if (argc != 5) {
		fprintf(stderr, "usage: %s PYTHON3 FAKE_IMDS_PY DATA_FILE EXPECTED_DIR\n", argv[0]);
		return 2;
	}
	python = argv[1];
	fake_script = argv[2];
	base_data = argv[3];
	expected_dir = argv[4];
	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("fixtures", tests, group_setup, group_teardown);
}
