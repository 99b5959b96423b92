/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl: a verb table. Called as ec2ifup, ec2ifdown or ec2ifscan it picks that verb. */
#include <ctype.h>
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

enum iface_arg {
	IFACE_NONE,
	IFACE_OPTIONAL,
	IFACE_REQUIRED,
};

struct verb {
	const char *name;
	int (*run)(struct ctl *c);
	enum iface_arg iface;
	bool json;	 /* takes --json */
	bool force;	 /* takes --force */
	const char *alias; /* the ec2-net-utils name that selects this verb, or NULL */
	const char *summary;
};

static const struct verb verbs[] = {
	{"status", verb_status, IFACE_OPTIONAL, true, false, NULL,
	 "each ENI, its addresses, whether the kernel matches"},
	{"metadata", verb_metadata, IFACE_NONE, true, false, NULL,
	 "read IMDS, print the metadata model"},
	{"plan", verb_plan, IFACE_OPTIONAL, true, false, NULL,
	 "print what a pass would change"},
	{"apply", verb_apply, IFACE_OPTIONAL, true, false, NULL,
	 "run a pass: make the kernel match IMDS"},
	{"up", verb_up, IFACE_REQUIRED, false, false, "ec2ifup",
	 "clear the down mark, link up, configure"},
	{"down", verb_down, IFACE_REQUIRED, false, true, "ec2ifdown",
	 "remove what ec2net added, link down, mark"},
	{"scan", verb_scan, IFACE_NONE, false, false, "ec2ifscan",
	 "configure every ENI not configured yet"},
};

static const char common_options[] =
	"  --config FILE         read FILE instead of " EC2NET_CONF_FILE "\n"
	"  --imds-endpoint URL   IMDS base URL (also $EC2NET_IMDS_ENDPOINT)\n"
	"  --state-dir DIR       lock, state and down marks directory (default " EC2NET_RUN_DIR ")\n"
	"  -q, --quiet           print only errors\n"
	"  -h, --help            this text\n"
	"  --version             the version\n";

static const char *verb_args(const struct verb *v)
{
	switch (v->iface) {
	case IFACE_NONE:
		return "";
	case IFACE_OPTIONAL:
		return " [IFACE]";
	case IFACE_REQUIRED:
		return " IFACE";
	}
	return "";
}

/* The one-line synopsis of a verb, as "ec2netctl [OPTIONS] down [--force] IFACE" or, under
 * its alias, "ec2ifdown [OPTIONS] [--force] IFACE". */
static void verb_synopsis(FILE *f, const struct ctl *c, const struct verb *v)
{
	bool alias = !streq(c->prog, "ec2netctl");

	fprintf(f, "Usage: %s [OPTIONS]%s%s%s%s%s\n", c->prog, alias ? "" : " ",
		alias ? "" : v->name, v->force ? " [--force]" : "", v->json ? " [--json]" : "",
		verb_args(v));
}

static void verb_usage(FILE *f, const struct ctl *c, const struct verb *v)
{
	bool alias = !streq(c->prog, "ec2netctl");

	verb_synopsis(f, c, v);
	fprintf(f, "\n%c%s%s%s%s.\n\nOptions:\n", toupper((unsigned char)v->summary[0]),
		v->summary + 1, alias ? " (ec2netctl " : "", alias ? v->name : "", alias ? ")" : "");
	if (v->force)
		fprintf(f, "  --force               also the primary ENI\n");
	if (v->json)
		fprintf(f, "  --json                machine-readable output\n");
	fprintf(f, "%s\nExit status: 0 done, 1 failed, 2 bad usage.\n", common_options);
}

static void usage(FILE *f)
{
	char name[32];

	fprintf(f, "Usage: ec2netctl [OPTIONS] VERB [IFACE]\n\nVerbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
		snprintf(name, sizeof(name), "%s%s", verbs[i].name, verb_args(&verbs[i]));
		fprintf(f, "  %-20s  %s\n", name, verbs[i].summary);
	}
	fprintf(f, "\nAlso installed as ec2ifup IFACE, ec2ifdown IFACE and ec2ifscan.\n"
		   "'ec2netctl VERB --help' describes one verb.\n\nOptions:\n"
		   "  --json                machine-readable output (status, metadata, plan, apply)\n"
		   "  --force               down: also the primary ENI\n"
		   "%s\nExit status: 0 done, 1 failed, 2 bad usage.\n",
		common_options);
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

/* A usage error: what is wrong, then the verb's synopsis (or a pointer to --help), exit 2. */
static int usage_error(const struct ctl *c, const struct verb *v, const char *what, const char *arg)
{
	fprintf(stderr, "%s%s%s: %s%s%s%s\n", c->prog, v && streq(c->prog, "ec2netctl") ? " " : "",
		v && streq(c->prog, "ec2netctl") ? v->name : "", what, arg ? " '" : "",
		arg ? arg : "", arg ? "'" : "");
	if (v)
		verb_synopsis(stderr, c, v);
	fprintf(stderr, "Try '%s%s%s --help'.\n", c->prog,
		v && streq(c->prog, "ec2netctl") ? " " : "",
		v && streq(c->prog, "ec2netctl") ? v->name : "");
	return CTL_EXIT_USAGE;
}

int main(int argc, char *argv[])
{
	enum { ARG_CONFIG = 0x100, ARG_IMDS, ARG_STATE_DIR, ARG_JSON, ARG_FORCE, ARG_VERSION };
	static const struct option options[] = {
		{"config", required_argument, NULL, ARG_CONFIG},
		{"imds-endpoint", required_argument, NULL, ARG_IMDS},
		{"state-dir", required_argument, NULL, ARG_STATE_DIR},
		{"json", no_argument, NULL, ARG_JSON},
		{"force", no_argument, NULL, ARG_FORCE},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, ARG_VERSION},
		{0},
	};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct ctl c = {.prog = "ec2netctl", .state_dir = EC2NET_RUN_DIR};
	const struct verb *verb = NULL;
	bool help = false;
	int opt, r;

	/* Called as ec2ifup, ec2ifdown or ec2ifscan: that verb, and no verb word. */
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (verbs[i].alias && streq(prog, verbs[i].alias)) {
			verb = &verbs[i];
			c.prog = verbs[i].alias;
		}
	opterr = 0;
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
		case ARG_FORCE:
			c.force = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			help = true;
			break;
		case ARG_VERSION:
			printf("%s %s\n", c.prog, PACKAGE_VERSION);
			return CTL_EXIT_OK;
		default: {
			char short_opt[3] = {'-', (char)optopt, 0};

			return usage_error(&c, verb, "unknown option or missing argument",
					   optopt > 0 && optopt < 0x80 ? short_opt
								       : argv[optind - 1]);
		}
		}
	}
	if (!verb && optind < argc) {
		const char *name = argv[optind++];

		for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
			if (streq(verbs[i].name, name))
				verb = &verbs[i];
		if (!verb)
			return usage_error(&c, NULL, "unknown verb", name);
	}
	if (help) {
		if (verb)
			verb_usage(stdout, &c, verb);
		else
			usage(stdout);
		return CTL_EXIT_OK;
	}
	if (!verb)
		return usage_error(&c, NULL, "missing verb", NULL);
	if (optind < argc && verb->iface != IFACE_NONE)
		c.iface = argv[optind++];
	if (optind < argc)
		return usage_error(&c, verb, "unexpected argument", argv[optind]);
	if (!c.iface && verb->iface == IFACE_REQUIRED)
		return usage_error(&c, verb, "missing IFACE", NULL);
	if (c.json && !verb->json)
		return usage_error(&c, verb, "unknown option", "--json");
	if (c.force && !verb->force)
		return usage_error(&c, verb, "unknown option", "--force");
	c.imds_endpoint = imds_endpoint_override(c.imds_endpoint);
	if (c.imds_endpoint && strncmp(c.imds_endpoint, "http://", 7) != 0)
		return usage_error(&c, verb, "invalid IMDS endpoint (must start with http://)",
				   c.imds_endpoint);
	if (load_config(&c) < 0) {
		config_done(&c.config);
		return CTL_EXIT_FAILED;
	}
	r = verb->run(&c);
	config_done(&c.config);
	return r;
}
