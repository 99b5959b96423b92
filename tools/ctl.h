/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every ec2netctl verb gets: the parsed options and the loaded config. */
#pragma once

#include <stdbool.h>

#include "config.h"

struct ctl {
	const char *config_file;   /* --config, NULL = default locations */
	const char *imds_endpoint; /* --imds-endpoint or $EC2NET_IMDS_ENDPOINT, NULL = config */
	const char *state_dir;	   /* --state-dir */
	bool json;
	bool quiet;
	const char *iface;	   /* positional IFACE, NULL = every interface */
	struct config config;
};

/* Exit codes (design.md §6). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1
#define CTL_EXIT_USAGE 2

int verb_metadata(struct ctl *c);
int verb_plan(struct ctl *c);
int verb_apply(struct ctl *c);

/* Opens an IMDS client for the config and options; prints the error. Returns 0 or -errno. */
struct imds_client;
int ctl_open_imds(const struct ctl *c, struct imds_client **ret);
