/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl: a verb table. Called as ec2ifup, ec2ifdown or ec2ifscan it picks that verb. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "ctl.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "imds-fetch.h"
#include "log.h"

struct verb {
	const char *name;
	int (*run)(struct ctl *c);
	bool takes_iface;
	const char *summary;
};

static const struct verb verbs[] = {
	{"metadata", verb_metadata, false, "read IMDS and print the metadata model"},
	{"plan", verb_plan, true, "print what a pass would change, changing nothing"},
	{"apply", verb_apply, true, "run one pass: make the kernel match IMDS"},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ec2netctl [OPTIONS] VERB [IFACE]\n\n"
		"Verbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		fprintf(f, "  %-10s %s%s\n", verbs[i].name, verbs[i].summary,
			verbs[i].takes_iface ? " (optionally one IFACE)" : "");
	fprintf(f, "\nOptions:\n"
		   "  --config FILE         read FILE instead of " EC2NET_CONF_FILE " (drop-ins still apply)\n"
		   "  --imds-endpoint URL   IMDS base URL (also $EC2NET_IMDS_ENDPOINT)\n"
		   "  --state-dir DIR       lock and state directory (default " EC2NET_RUN_DIR ")\n"
		   "  --json                machine-readable output\n"
		   "  -q, --quiet           print only errors\n"
		   "  -h, --help            this text\n"
		   "      --version         the version\n\n"
		   "Exit status: 0 done, 1 failed, 2 bad usage.\n");
}

int ctl_open_imds(const struct ctl *c, struct imds_client **ret)
{
	const char *storage[2];
	struct imds_options o;
	int r;

	imds_options_from_config(&c->config, c->imds_endpoint, storage, &o);
	r = imds_client_new(&o, ret);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the IMDS client for '%s': %s",
				       o.endpoints[0] ? o.endpoints[0] : "?", STRERROR(r));
	return 0;
}

static int load_config(struct ctl *c)
{
	struct diag_list diags = {0};
	int r;

	r = config_init(&c->config);
	if (r < 0)
		return r;
	r = config_load(&c->config, NULL, c->config_file, &diags);
	for (size_t i = 0; i < diags.n; i++)
		log_error("%s: %s", diags.items[i].where, diags.items[i].what);
	if (r < 0 && diags.n == 0)
		log_error("Failed to load the configuration: %s", STRERROR(r));
	diag_list_done(&diags);
	return r;
}

int main(int argc, char *argv[])
{
	enum { ARG_CONFIG = 0x100, ARG_IMDS, ARG_STATE_DIR, ARG_JSON, ARG_VERSION };
	static const struct option options[] = {
		{"config", required_argument, NULL, ARG_CONFIG},
		{"imds-endpoint", required_argument, NULL, ARG_IMDS},
		{"state-dir", required_argument, NULL, ARG_STATE_DIR},
		{"json", no_argument, NULL, ARG_JSON},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{0},
	};
	struct ctl c = {.state_dir = EC2NET_RUN_DIR};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *verb_name = NULL;
	const struct verb *verb = NULL;
	int opt, r;

	if (streq(prog, "ec2ifup") || streq(prog, "ec2ifdown") || streq(prog, "ec2ifscan")) {
		fprintf(stderr, "%s: not available yet in this version\n", prog);
		return CTL_EXIT_FAILED;
	}
	while ((opt = getopt_long(argc, argv, "hq", options, NULL)) >= 0) {
		switch (opt) {
		case ARG_CONFIG:
			c.config_file = optarg;
			break;
		case ARG_IMDS:
			c.imds_endpoint = optarg;
			break;
		case ARG_STATE_DIR:
			c.state_dir = optarg;
			break;
		case ARG_JSON:
			c.json = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case ARG_VERSION:
			printf("ec2netctl %s\n", PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "Try 'ec2netctl --help'.\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ec2netctl: missing verb. Try 'ec2netctl --help'.\n");
		return CTL_EXIT_USAGE;
	}
	verb_name = argv[optind++];
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(verbs[i].name, verb_name))
			verb = &verbs[i];
	if (!verb) {
		fprintf(stderr, "ec2netctl: unknown verb '%s'. Try 'ec2netctl --help'.\n", verb_name);
		return CTL_EXIT_USAGE;
	}
	if (optind < argc && verb->takes_iface)
		c.iface = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "ec2netctl %s: unexpected argument '%s'.\n", verb->name, argv[optind]);
		return CTL_EXIT_USAGE;
	}
	c.imds_endpoint = imds_endpoint_override(c.imds_endpoint);
	if (c.imds_endpoint && strncmp(c.imds_endpoint, "http://", 7) != 0) {
		fprintf(stderr, "ec2netctl: invalid IMDS endpoint '%s': must start with http://\n",
			c.imds_endpoint);
		return CTL_EXIT_USAGE;
	}
	if (load_config(&c) < 0) {
		config_done(&c.config);
		return CTL_EXIT_FAILED;
	}
	r = verb->run(&c);
	config_done(&c.config);
	return r;
}
