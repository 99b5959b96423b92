/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl metadata: read IMDS, print the model. Only reads; safe anywhere. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"
#include "imds-fetch.h"
#include "log.h"
#include "md-walk.h"
#include "numbering.h"
#include "parse-util.h"

static void print_list(const char *label, const struct md_list *l, bool short_form)
{
	char buf[IPPREFIX_STRLEN];

	if (l->status == MD_ABSENT || (l->status == MD_KNOWN && l->n == 0))
		return;
	printf("  %-9s", label);
	if (l->status == MD_UNKNOWN)
		printf(" (unknown: IMDS failed)");
	for (size_t i = 0; i < l->n; i++)
		printf(" %s", short_form ? ipprefix_format_short(&l->items[i], buf)
					 : ipprefix_format(&l->items[i], buf));
	printf("\n");
}

static void print_eni(const struct md_eni *e)
{
	char mac[MAC_STRLEN], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	printf("%s", mac_format(e->mac, mac));
	if (e->interface_id_status == MD_KNOWN)
		printf("  %s", e->interface_id);
	if (e->device_number_status == MD_KNOWN)
		printf("  device %u card %u", e->device_number, md_eni_card(e));
	if (md_eni_is_usable(e))
		printf("  table %u", numbering_table(md_eni_card(e), e->device_number));
	if (e->is_primary)
		printf("  (primary)");
	printf("\n");
	print_list("ipv4", &e->ipv4s, true);
	print_list("subnet", &e->subnet_ipv4, false);
	print_list("ipv6", &e->ipv6s, true);
	print_list("subnet6", &e->subnet_ipv6s, false);
	print_list("prefix4", &e->ipv4_prefixes, false);
	print_list("prefix6", &e->ipv6_prefixes, false);
	print_list("vpc", &e->vpc_ipv4s, false);
	for (size_t i = 0; i < e->n_eips; i++)
		printf("  %-9s %s -> %s\n", i == 0 ? "eip" : "",
		       inet_ntop(AF_INET, &e->eips[i].public_ip, a, sizeof(a)),
		       inet_ntop(AF_INET, &e->eips[i].private_ip, b, sizeof(b)));
	if (e->error)
		printf("  %-9s %s\n", "error", e->error);
	else if (e->incomplete)
		printf("  %-9s %s\n", "status", "incomplete: some keys could not be read");
}

int verb_metadata(struct ctl *c)
{
	struct imds_client *imds = NULL;
	struct md_instance md = {0};
	struct imds_fetch fetch = {0};
	char why[512], mac[MAC_STRLEN];
	bool all_valid = true;
	int r;

	r = ctl_open_imds(c, &imds);
	if (r < 0)
		return CTL_EXIT_FAILED;
	fetch.client = imds;
	r = imds_fetch_instance(&fetch, &md);
	if (r < 0) {
		if (fetch.n_failures > 0)
			log_error("Cannot read IMDS: %s",
				  imds_fetch_describe_failure(&fetch, why, sizeof(why)));
		else
			log_error("Cannot read IMDS: the interface listing is %s",
				  r == -EBADMSG ? "malformed" : "missing");
		imds_client_free(imds);
		return CTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < md.n_enis; i++)
		if (!md_eni_is_usable(&md.enis[i]))
			all_valid = false;

	if (c->json) {
		struct json_object *o = md_instance_to_json(&md);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
									 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else
		for (size_t i = 0; i < md.n_enis; i++)
			print_eni(&md.enis[i]);
	for (size_t i = 0; i < md.n_enis; i++)
		if (md.enis[i].error)
			log_error("Invalid metadata: %s", md.enis[i].error);
		else if (md.enis[i].incomplete)
			log_error("Incomplete metadata for %s: %s", mac_format(md.enis[i].mac, mac),
				  imds_fetch_describe_failure(&fetch, why, sizeof(why)));
	md_instance_done(&md);
	imds_client_free(imds);
	return all_valid ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
