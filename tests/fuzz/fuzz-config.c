/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration parser (config.c) over a main file and its drop-ins, applied in order as
 * config_load() does. The input is split into files at each line "#--8<--": the first is
 * ec2net.conf, the others 10-dropin.conf, 11-dropin.conf, ... Properties: every file either
 * parses without a diagnostic or fails with diagnostics that each name that file and one of its
 * lines and quote outside bytes; whatever was refused, every value stays in its documented
 * range; the result written by config_write() parses back, without a diagnostic, to a
 * configuration that writes the same text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "fuzz.h"
#include "macro.h"
#include "parse-util.h"

#define SEPARATOR "\n#--8<--\n"
#define FILES_MAX 8

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (text[i] == '\n')
			n++;
	return n + (len > 0 && text[len - 1] != '\n');
}

static void check_diag(const struct diag *d, const char *filename, size_t lines)
{
	size_t n = strlen(filename);
	char *end = NULL;
	unsigned long line;

	FUZZ_CHECK(d->where && d->what && d->what[0]);
	FUZZ_CHECK(strncmp(d->where, filename, n) == 0 && d->where[n] == ':');
	line = strtoul(d->where + n + 1, &end, 10);
	FUZZ_CHECK(end && *end == 0 && line >= 1 && line <= lines);
	FUZZ_CHECK(strlen(d->what) < 1024);
	for (const char *p = d->what; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

/* The ranges of design.md §6. */
static void check_ranges(const struct config *c)
{
	size_t n = 0;

	FUZZ_CHECK(c->token_ttl_sec >= 1 && c->token_ttl_sec <= EC2NET_IMDS_TOKEN_TTL_MAX_SEC);
	FUZZ_CHECK(c->timeout_usec > 0 && c->timeout_usec <= 60 * USEC_PER_SEC);
	FUZZ_CHECK(c->refresh_usec == 0 || (c->refresh_usec >= USEC_PER_SEC &&
					     c->refresh_usec <= 86400 * USEC_PER_SEC));
	FUZZ_CHECK(c->interface_group >= 1 && c->interface_group <= 2147483647u);
	FUZZ_CHECK(c->mtu == 0 || (c->mtu >= 68 && c->mtu <= 65535));
	for (char **e = c->endpoints; e && *e; e++, n++) {
		size_t len = strlen(*e);
		FUZZ_CHECK(strncmp(*e, "http://", 7) == 0 && len > 7 && (*e)[len - 1] != '/');
	}
	FUZZ_CHECK(n <= 1024);
	n = 0;
	for (char **u = c->unmanaged; u && *u; u++, n++) {
		char s[MAC_STRLEN];
		uint8_t mac[6];
		size_t len = strlen(*u);
		/* A MAC entry is stored in the one canonical form; a glob fits IFNAMSIZ. */
		if (parse_mac(*u, mac) == 0)
			FUZZ_CHECK(streq(mac_format(mac, s), *u));
		else
			FUZZ_CHECK(len > 0 && len < 16 && !strpbrk(*u, " \t\n/:%"));
	}
	FUZZ_CHECK(n <= 1024);
}

static char *write_text(const struct config *c, size_t *ret_size)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, ret_size);

	FUZZ_CHECK(f);
	FUZZ_CHECK(config_write(c, f) == 0);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

static void check_round_trip(const struct config *c)
{
	_cleanup_(config_done) struct config again = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	_cleanup_free_ char *text = NULL, *text2 = NULL;
	size_t size = 0, size2 = 0;

	text = write_text(c, &size);
	FUZZ_CHECK(config_init(&again) == 0);
	FUZZ_CHECK(config_parse(&again, text, size, "written.conf", &diags) == 0);
	FUZZ_CHECK(diags.n == 0);
	text2 = write_text(&again, &size2);
	FUZZ_CHECK(size == size2 && memcmp(text, text2, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(config_done) struct config c = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0};
	const char *text = (const char *)data, *end = text + size;
	const uint8_t mac[6] = {0x0a, 0x07, 0x84, 0x3d, 0x6e, 0x38};

	FUZZ_CHECK(config_init(&c) == 0);
	for (unsigned i = 0; i < FILES_MAX && text <= end; i++) {
		const char *sep = memmem(text, (size_t)(end - text), SEPARATOR, strlen(SEPARATOR));
		size_t len = sep ? (size_t)(sep - text) + 1 : (size_t)(end - text);
		char name[32];
		size_t before = diags.n;
		int r;

		if (i == 0)
			snprintf(name, sizeof(name), "ec2net.conf");
		else
			snprintf(name, sizeof(name), "%u-dropin.conf", 9 + i);
		r = config_parse(&c, text, len, name, &diags);
		FUZZ_CHECK(r == 0 || r == -EINVAL);
		FUZZ_CHECK((r == 0) == (diags.n == before));
		for (size_t k = before; k < diags.n; k++)
			check_diag(&diags.items[k], name, count_lines(text, len));
		check_ranges(&c);
		if (!sep)
			break;
		text = sep + strlen(SEPARATOR);
	}
	check_round_trip(&c);
	(void)config_is_unmanaged(&c, "eth0", mac);
	return 0;
}
