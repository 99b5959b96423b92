/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2net.conf: INI with systemd semantics (design.md §6, style.md §11). Parsing is pure; finding
 * and reading the files is config_load(). A configuration with any error is refused whole. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag_list;

struct config {
	/* [IMDS] */
	char **endpoints;	 /* NULL-terminated; Endpoint= repeatable, tried in order */
	uint32_t token_ttl_sec;	 /* TokenTTLSec=, 1..21600 */
	uint64_t timeout_usec;	 /* TimeoutSec= per request */
	/* [Daemon] */
	uint64_t refresh_usec;	 /* RefreshSec=, 0 = timer off */
	/* [Network] */
	bool primary_rules;	 /* PrimaryRules= */
	bool local_routes_first; /* LocalRoutesFirst= */
	uint32_t interface_group; /* InterfaceGroup=, 1..2^31-1 */
	uint32_t mtu;		 /* MTU=; 0 = keep */
	bool prefix_local_routes; /* PrefixLocalRoutes= */
	char **unmanaged;	 /* Unmanaged=: names, globs or MACs; NULL-terminated or NULL */
};

/* Fills the defaults of design.md §6. Returns 0 or -ENOMEM. */
int config_init(struct config *c);
void config_done(struct config *c);

/* Parses one file's text into c (on top of what c holds: later files win, an empty
 * assignment resets a list). Every problem is added to diags with "filename:line" and the key.
 * Returns 0, or -EINVAL when any diagnostic was added. */
int config_parse(struct config *c, const char *text, size_t len, const char *filename,
		 struct diag_list *diags);

/* Loads main_file (NULL: <root>/etc/ec2net/ec2net.conf, which may be missing), then the drop-ins
 * '*.conf' from <root>/usr/lib/ec2net/ec2net.conf.d, <root>/run/ec2net/ec2net.conf.d and
 * <root>/etc/ec2net/ec2net.conf.d, systemd-style: a file name in a later directory masks the
 * same name in an earlier one, and all are applied in file-name order. root NULL means "/".
 * On any error c is left untouched and -EINVAL is returned with every diagnostic; a missing
 * main file that was named explicitly is an error (-ENOENT). */
int config_load(struct config *c, const char *root, const char *main_file, struct diag_list *diags);

/* Whether an interface is excluded by Unmanaged= (name glob or MAC, case-insensitive). */
bool config_is_unmanaged(const struct config *c, const char *ifname, const uint8_t mac[6]);
