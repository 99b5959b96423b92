/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model builder over a whole metadata tree: JSON in the fixture layout (an object holding
 * "meta-data", or the meta-data tree itself) read through md_tree_get() by md_walk_instance().
 * Properties: the walk ends in one of its documented results; the model holds each MAC once,
 * in card/device order, marks as primary only the top-level MAC, gives every usable ENI a table
 * inside ec2net's range and an error to every invalid one; a per-interface walk of each MAC
 * (md_walk_eni, the daemon's hot-attach path) yields the very same ENI as the whole walk. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2net-defs.h"
#include "fuzz.h"
#include "macro.h"
#include "md-walk.h"
#include "metadata.h"
#include "numbering.h"
#include "parse-util.h"

static void json_putp(struct json_object **j)
{
	if (*j)
		json_object_put(*j);
}

static struct json_object *parse_json(const uint8_t *data, size_t size)
{
	struct json_tokener *tok;
	struct json_object *j;

	if (size > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	FUZZ_CHECK(tok);
	j = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	return j;
}

static bool same_json(struct json_object *a, struct json_object *b)
{
	const char *sa = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
	const char *sb = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);

	return sa && sb && streq(sa, sb);
}

static void check_eni(const struct md_instance *m, const struct md_eni *e)
{
	if (md_eni_is_usable(e)) {
		uint32_t table = numbering_table(md_eni_card(e), e->device_number);

		FUZZ_CHECK(numbering_valid(md_eni_card(e), e->device_number));
		FUZZ_CHECK(table >= EC2NET_TABLE_BASE && table <= 19999);
		FUZZ_CHECK(numbering_is_eni_table(table));
		FUZZ_CHECK(e->interface_id_status == MD_KNOWN && eni_id_is_valid(e->interface_id));
	}
	if (e->error)
		FUZZ_CHECK(!md_eni_is_usable(e) && !e->incomplete);
	if (e->ipv4s.status == MD_KNOWN && e->ipv4s.n > 0 && !e->error)
		FUZZ_CHECK(e->subnet_ipv4.status != MD_ABSENT);
	FUZZ_CHECK(e->is_primary == (m->primary_mac_status == MD_KNOWN &&
				     memcmp(e->mac, m->primary_mac, 6) == 0));
}

/* ENIs come sorted by card, device number, then MAC; each MAC once. */
static void check_order(const struct md_eni *a, const struct md_eni *b)
{
	uint32_t ca = md_eni_card(a), cb = md_eni_card(b);

	FUZZ_CHECK(memcmp(a->mac, b->mac, 6) != 0);
	FUZZ_CHECK(ca <= cb);
	if (ca == cb) {
		FUZZ_CHECK(a->device_number <= b->device_number);
		if (a->device_number == b->device_number)
			FUZZ_CHECK(memcmp(a->mac, b->mac, 6) < 0);
	}
}

static void check_walk_eni(struct json_object *tree, const struct md_eni *e)
{
	_cleanup_(json_putp) struct json_object *a = NULL, *b = NULL;
	struct md_eni one;

	FUZZ_CHECK(md_walk_eni(md_tree_get, tree, e->mac, &one) == 0);
	a = md_eni_to_json(e);
	b = md_eni_to_json(&one);
	FUZZ_CHECK(a && b && same_json(a, b));
	md_eni_done(&one);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(json_putp) struct json_object *root = NULL, *j = NULL;
	_cleanup_(md_instance_done) struct md_instance m = {0};
	struct json_object *tree;
	int r;

	root = parse_json(data, size);
	if (!root || !json_object_is_type(root, json_type_object))
		return 0;
	if (!json_object_object_get_ex(root, "meta-data", &tree))
		tree = root;

	r = md_walk_instance(md_tree_get, tree, &m);
	FUZZ_CHECK(r == 0 || r == -EIO || r == -EBADMSG);
	if (r == -EIO) {
		struct md_eni e;
		/* What the whole walk could not read, the per-interface walk cannot either. */
		FUZZ_CHECK(md_walk_eni(md_tree_get, tree, (const uint8_t[6]){0x0a}, &e) == -EIO);
	}
	if (r < 0)
		return 0;
	for (size_t i = 0; i < m.n_enis; i++) {
		check_eni(&m, &m.enis[i]);
		if (i > 0)
			check_order(&m.enis[i - 1], &m.enis[i]);
		check_walk_eni(tree, &m.enis[i]);
	}
	j = md_instance_to_json(&m);
	FUZZ_CHECK(j && json_object_to_json_string(j));
	return 0;
}
