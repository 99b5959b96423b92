/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The text form of kernel state (kstate.c). The daemon never reads it, but it is the one form
 * in which tests, planner cases and 'ec2netctl' output describe links, addresses, routes and
 * rules, so its contract is worth a fuzzer: whatever it accepts, written out by kstate_write(),
 * parses again without a diagnostic into the same state, which writes the same text; whatever it
 * refuses has a diagnostic naming the file and a line of it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuzz.h"
#include "kstate.h"
#include "macro.h"

static size_t count_lines(const char *text)
{
	size_t n = 1;

	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* The state read back from its text is the state that was written, not only the same text. */
static void check_same_state(const struct kstate *a, const struct kstate *b)
{
	FUZZ_CHECK(a->n_links == b->n_links && a->n_addrs == b->n_addrs &&
		   a->n_routes == b->n_routes && a->n_rules == b->n_rules);
	for (size_t i = 0; i < a->n_links; i++) {
		const struct klink *x = &a->links[i], *y = &b->links[i];
		FUZZ_CHECK(klink_key_cmp(x, y) == 0 && streq(x->name, y->name) &&
			   x->has_mac == y->has_mac && memcmp(x->mac, y->mac, 6) == 0 &&
			   x->mtu == y->mtu && x->up == y->up && x->group == y->group &&
			   x->n_altnames == y->n_altnames);
		for (size_t k = 0; k < x->n_altnames; k++)
			FUZZ_CHECK(streq(x->altnames[k], y->altnames[k]));
	}
	for (size_t i = 0; i < a->n_addrs; i++)
		FUZZ_CHECK(kaddr_equal(&a->addrs[i], &b->addrs[i]) &&
			   a->addrs[i].scope == b->addrs[i].scope);
	for (size_t i = 0; i < a->n_routes; i++)
		FUZZ_CHECK(kroute_equal(&a->routes[i], &b->routes[i]));
	for (size_t i = 0; i < a->n_rules; i++)
		FUZZ_CHECK(krule_equal(&a->rules[i], &b->rules[i]));
}

static char *write_text(const struct kstate *s)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	FUZZ_CHECK(f);
	FUZZ_CHECK(kstate_write(s, f) == 0);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(kstate_done) struct kstate s = {0}, again = {0};
	_cleanup_(diag_list_done) struct diag_list diags = {0}, diags2 = {0};
	_cleanup_free_ char *text = NULL, *out = NULL, *out2 = NULL;
	int r;

	/* The parser takes a C string: the input up to its first NUL. */
	text = strndup((const char *)data, size);
	FUZZ_CHECK(text);
	r = kstate_parse(&s, text, "fuzz.txt", &diags);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	FUZZ_CHECK((r == 0) == (diags.n == 0));
	for (size_t i = 0; i < diags.n; i++) {
		char *end = NULL;
		unsigned long line;

		FUZZ_CHECK(strncmp(diags.items[i].where, "fuzz.txt:", 9) == 0);
		line = strtoul(diags.items[i].where + 9, &end, 10);
		FUZZ_CHECK(*end == 0 && line >= 1 && line <= count_lines(text));
	}

	out = write_text(&s);
	FUZZ_CHECK(kstate_parse(&again, out, "written.txt", &diags2) == 0 && diags2.n == 0);
	check_same_state(&s, &again);
	out2 = write_text(&again);
	FUZZ_CHECK(streq(out, out2));
	return 0;
}
