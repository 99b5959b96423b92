/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Benchmark: a full read of an N-ENI instance from the fake IMDS on 127.0.0.1 whose every
 * answer is delayed by D ms (a stand-in for the round trip to the real IMDS), the old way (the
 * blocking getter: one request at a time) and through the parallel walk. Prints requests and
 * milliseconds; asserts nothing but that both reads give the same model.
 * Usage: bench-imds-walk PYTHON3 FAKE_IMDS_PY DATA_FILE [ENIS=15] [DELAY_MS=1] [RUNS=3] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ec2net-defs.h"
#include "fake-imds-harness.h"
#include "imds-fetch.h"
#include "imds.h"
#include "macro.h"
#include "md-walk.h"

static json_object *instance(int enis)
{
	json_object *root = json_object_new_object(), *md = json_object_new_object(),
	            *net = json_object_new_object(), *ifs = json_object_new_object(),
	            *macs = json_object_new_object();
	char mac[32], v[64];

	for (int i = 0; i < enis; i++) {
		json_object *e = json_object_new_object();

		snprintf(mac, sizeof(mac), "0e:be:00:00:%02x:%02x", i / 256, i % 256);
		snprintf(v, sizeof(v), "%d", i);
		json_object_object_add(e, "device-number", json_object_new_string(v));
		snprintf(v, sizeof(v), "eni-%017x", 0xbe0000 + i);
		json_object_object_add(e, "interface-id", json_object_new_string(v));
		snprintf(v, sizeof(v), "10.%d.0.10\n10.%d.0.11", i, i);
		json_object_object_add(e, "local-ipv4s", json_object_new_string(v));
		snprintf(v, sizeof(v), "10.%d.0.0/16", i);
		json_object_object_add(e, "subnet-ipv4-cidr-block", json_object_new_string(v));
		json_object_object_add(e, "vpc-ipv4-cidr-blocks",
		                       json_object_new_string("10.0.0.0/8"));
		snprintf(v, sizeof(v), "2001:db8:%x::10", i);
		json_object_object_add(e, "ipv6s", json_object_new_string(v));
		snprintf(v, sizeof(v), "2001:db8:%x::/64", i);
		json_object_object_add(e, "subnet-ipv6-cidr-blocks", json_object_new_string(v));
		json_object_object_add(macs, mac, e);
	}
	json_object_object_add(ifs, "macs", macs);
	json_object_object_add(net, "interfaces", ifs);
	json_object_object_add(md, "network", net);
	json_object_object_add(md, "mac", json_object_new_string("0e:be:00:00:00:00"));
	json_object_object_add(root, "meta-data", md);
	return root;
}

static struct imds_client *client_for(const struct fake_imds *f)
{
	static const char *endpoints[2];
	struct imds_options o;
	struct imds_client *c = NULL;

	imds_options_init(&o);
	endpoints[0] = f->url;
	o.endpoints = endpoints;
	if (imds_client_new(&o, &c) < 0)
		abort();
	return c;
}

/* One read with a new client (its token PUT included); returns usec, fills the model. */
static uint64_t read_once(const struct fake_imds *f, bool parallel, struct md_instance *md,
                          uint64_t *ret_requests)
{
	struct imds_client *c = client_for(f);
	struct imds_fetch fetch = {.client = c};
	uint64_t t0 = test_now_usec(), dt;
	int r;

	r = parallel ? imds_fetch_instance(&fetch, md)
	             : md_walk_instance(imds_fetch_get, &fetch, md);
	dt = test_now_usec() - t0;
	if (r < 0) {
		fprintf(stderr, "read failed: %d\n", r);
		exit(1);
	}
	*ret_requests = imds_client_stats(c).requests;
	imds_client_free(c);
	return dt;
}

int main(int argc, char *argv[])
{
	struct fake_imds f;
	json_object *tree;
	int enis, delay, runs;
	char fault[256];

	if (argc < 4) {
		fprintf(stderr, "usage: %s PYTHON3 FAKE_IMDS_PY DATA [ENIS] [DELAY_MS] [RUNS]\n",
		        argv[0]);
		return 2;
	}
	enis = argc > 4 ? atoi(argv[4]) : 15;
	delay = argc > 5 ? atoi(argv[5]) : 1;
	runs = argc > 6 ? atoi(argv[6]) : 3;
	if (fake_imds_start(&f, argv[1], argv[2], argv[3], NULL) < 0)
		return 1;
	tree = instance(enis);
	fake_ctl_post(&f, "tree", json_object_to_json_string(tree));
	json_object_put(tree);
	snprintf(fault, sizeof(fault), "{\"path\": \"*\", \"kind\": \"delay\", \"delay_ms\": %d}",
	         delay);
	if (delay > 0)
		fake_ctl_post(&f, "fault", fault);

	printf("%d ENIs, every answer delayed %d ms, %u requests in flight at most\n", enis, delay,
	       EC2NET_IMDS_MAX_IN_FLIGHT);
	printf("%-9s %9s %9s\n", "read", "requests", "ms");
	for (int i = 0; i < runs; i++) {
		struct md_instance a = {0}, b = {0};
		uint64_t ra, rb, ta, tb;
		json_object *ja, *jb;

		ta = read_once(&f, false, &a, &ra);
		tb = read_once(&f, true, &b, &rb);
		printf("%-9s %9llu %9.1f\n", "serial", (unsigned long long)ra, ta / 1000.0);
		printf("%-9s %9llu %9.1f\n", "parallel", (unsigned long long)rb, tb / 1000.0);
		ja = md_instance_to_json(&a);
		jb = md_instance_to_json(&b);
		if (!streq(json_object_to_json_string(ja), json_object_to_json_string(jb))) {
			fprintf(stderr, "the two reads differ\n");
			return 1;
		}
		json_object_put(ja);
		json_object_put(jb);
		md_instance_done(&a);
		md_instance_done(&b);
	}
	fake_imds_stop(&f);
	return 0;
}
