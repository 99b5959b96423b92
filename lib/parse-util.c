/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict parsers. None of them uses the locale, atoi, sscanf or an unchecked strtoul. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse-util.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v = 0;

	if (!s || !is_digit(s[0]))
		return -EINVAL;
	if (s[0] == '0' && s[1] != 0)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!is_digit(*p))
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

int parse_u32_range(const char *s, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint32_t v;
	int r = parse_u32(s, &v);

	if (r < 0)
		return r;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_sec(const char *s, uint64_t *ret_usec)
{
	uint64_t whole = 0, frac = 0, frac_scale = 1, mult = 1000000;
	const char *p = s;
	bool digits = false;

	if (!s)
		return -EINVAL;
	for (; is_digit(*p); p++) {
		digits = true;
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > UINT32_MAX)
			return -ERANGE;
	}
	if (*p == '.') {
		p++;
		for (; is_digit(*p); p++) {
			digits = true;
			if (frac_scale < 1000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				frac_scale *= 10;
			}
		}
	}
	if (!digits)
		return -EINVAL;
	if (strcmp(p, "ms") == 0)
		mult = 1000;
	else if (strcmp(p, "s") == 0 || *p == 0)
		mult = 1000000;
	else
		return -EINVAL;
	*ret_usec = whole * mult + frac * mult / frac_scale;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_mac(const char *s, uint8_t ret[6])
{
	uint8_t mac[6];

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (size_t i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hexval(s[i * 3 + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (i < 5 && s[i * 3 + 2] != ':')
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret, mac, 6);
	return 0;
}

bool eni_id_is_valid(const char *s)
{
	size_t n;

	if (!s || strncmp(s, "eni-", 4) != 0)
		return false;
	n = strlen(s + 4);
	if (n != 8 && n != 17)
		return false;
	for (const char *p = s + 4; *p; p++)
		if (!is_digit(*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

const char *mac_format(const uint8_t mac[6], char *buf)
{
	snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

char *quote_value(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;
	/* Worst case every byte becomes \xNN, plus quotes, "..." and NUL. */
	char *out = malloc(n * 4 + 8);
	char *o = out;

	if (!out)
		return NULL;
	*o++ = '\'';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\'' || c == '\\' || c < 0x20 || c >= 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else
			*o++ = (char)c;
	}
	*o++ = '\'';
	if (len > max) {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o = 0;
	return out;
}

char *strstrip(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}
