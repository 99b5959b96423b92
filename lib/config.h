/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2net.conf: INI with systemd semantics (design.md §6, style.md §11). Parsing is pure; finding
 * and reading the files is config_load(). A configuration with any error is refused whole. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct diag_list;

/* Limits on what config_parse() and config_load() accept. */
#define CONFIG_LINE_MAX 4096u		   /* bytes per line, without the newline */
#define CONFIG_FILE_MAX (1024u * 1024u) /* bytes per file */

struct config {
	/* [IMDS] */
	char **endpoints;	 /* NULL-terminated; Endpoint= repeatable, tried in order; stored
				  * without a trailing '/'. Never empty after config_load(). */
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
	char **unmanaged;	 /* Unmanaged=: names, globs or MACs (stored lower case as
				  * "aa:bb:cc:dd:ee:ff"); NULL-terminated or NULL */
};

/* Fills the defaults of design.md §6. Returns 0 or -ENOMEM. */
int config_init(struct config *c);
/* Frees what c owns and leaves it zeroed; safe on a zeroed config and to call twice. */
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
 * main file that was named explicitly is an error (-ENOENT). On success the old contents of c
 * are released (c must hold a config, or be zeroed) and replaced. Files over CONFIG_FILE_MAX
 * are refused. An empty Endpoint= list at the end is an error. */
int config_load(struct config *c, const char *root, const char *main_file, struct diag_list *diags);

/* Writes every key of the table, normalised, as INI that config_parse() reads back to the same
 * configuration (lists start with an empty assignment, which resets them). Returns 0 or -EIO. */
int config_write(const struct config *c, FILE *f);

/* Whether an interface is excluded by Unmanaged=: a MAC entry matches mac (bytes, so the case
 * of the config does not matter), any other entry is an fnmatch() glob on ifname (case matters,
 * as for interface names). ifname or mac may be NULL. */
bool config_is_unmanaged(const struct config *c, const char *ifname, const uint8_t mac[6]);
