/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Strict parsers for values from outside: the whole string must match, ranges are checked, no
 * locale. Each returns 0, -EINVAL (not of the form) or -ERANGE (out of range) and writes its
 * result only on success. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal digits only: no sign, no space, no leading "0x"; "0" but not "007". */
int parse_u32(const char *s, uint32_t *ret);
int parse_u32_range(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
/* yes/no, true/false, on/off, 1/0 (case-insensitive). */
int parse_bool(const char *s, bool *ret);
/* Seconds with an optional fraction ("1", "0.5", "250ms", "2s"), to microseconds. */
int parse_sec(const char *s, uint64_t *ret_usec);
/* "aa:bb:cc:dd:ee:ff", either case. */
int parse_mac(const char *s, uint8_t ret[6]);
/* "eni-" and 8 or 17 lower-case hex digits. */
bool eni_id_is_valid(const char *s);

#define MAC_STRLEN 18
/* Lower case, colon-separated; buf holds MAC_STRLEN bytes. Returns buf. */
const char *mac_format(const uint8_t mac[6], char *buf);

/* Quotes an outside value for a message: escapes non-printable bytes and quotes as \xNN,
 * truncates to max bytes of input with "...". Returns a malloc'ed string or NULL. */
char *quote_value(const char *s, size_t len, size_t max);

/* Strips leading and trailing white space in place; returns s. */
char *strstrip(char *s);
