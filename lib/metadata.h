/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The metadata model: what IMDS says about each ENI, as plain data, filled by pure parsers from
 * the bodies IMDS returned. Every list says whether it is known, known to be absent (404) or
 * unknown (IMDS failed): the planner never deletes on the strength of an unknown list. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipaddr.h"

struct json_object;

enum md_status {
	MD_UNKNOWN = 0, /* not read, or IMDS failed: nothing may be concluded */
	MD_ABSENT,	/* IMDS said 404: the feature is not in use */
	MD_KNOWN,	/* IMDS answered and the body was valid */
};

/* Per-ENI keys that ec2net reads, in the order they are fetched. */
enum md_key {
	MD_KEY_DEVICE_NUMBER,
	MD_KEY_NETWORK_CARD,
	MD_KEY_INTERFACE_ID,
	MD_KEY_LOCAL_IPV4S,
	MD_KEY_SUBNET_IPV4_CIDR_BLOCK,
	MD_KEY_VPC_IPV4_CIDR_BLOCKS,
	MD_KEY_IPV6S,
	MD_KEY_SUBNET_IPV6_CIDR_BLOCKS,
	MD_KEY_IPV4_PREFIX,
	MD_KEY_IPV6_PREFIX,
	MD_KEY_PUBLIC_IPV4S,
	_MD_KEY_MAX,
	_MD_KEY_INVALID = -22,
};

const char *md_key_to_string(enum md_key k);
enum md_key md_key_from_string(const char *s);

/* A list of prefixes (addresses are host prefixes) with its status. */
struct md_list {
	enum md_status status;
	struct ipprefix *items;
	size_t n, cap;
};

/* An Elastic IP: public address → the private address it maps to. */
struct md_eip {
	struct in_addr public_ip;
	struct in_addr private_ip;
};

struct md_eni {
	uint8_t mac[6];
	bool is_primary; /* MAC equals the top-level 'mac' */

	enum md_status device_number_status;
	uint32_t device_number;
	enum md_status network_card_status; /* ABSENT means card 0 */
	uint32_t network_card;
	enum md_status interface_id_status;
	char interface_id[32];

	struct md_list ipv4s;	      /* local-ipv4s, /32 each, ENI primary first */
	struct md_list subnet_ipv4;   /* subnet-ipv4-cidr-block: at most one */
	struct md_list vpc_ipv4s;     /* vpc-ipv4-cidr-blocks */
	struct md_list ipv6s;	      /* /128 each */
	struct md_list subnet_ipv6s;  /* subnet-ipv6-cidr-blocks */
	struct md_list ipv4_prefixes; /* ipv4-prefix */
	struct md_list ipv6_prefixes; /* ipv6-prefix */
	struct md_list public_ipv4s;  /* public-ipv4s, /32 each */

	enum md_status eips_status; /* ipv4-associations/ */
	struct md_eip *eips;
	size_t n_eips, cap_eips;

	/* NULL when valid. Otherwise the first problem: "<mac> <key>: <what> '<value>'". An invalid
	 * ENI is shown but never configured. */
	char *error;
	/* Some key could not be read (IMDS error): configure nothing new, delete nothing. */
	bool incomplete;
	/* The first key the walk could not read (a static name; "" for the MAC directory itself),
	 * and whether that was a 404 for a key its directory listed (not settled yet). NULL when
	 * every key was read. For log messages only. */
	const char *unread_key;
	bool unread_absent;
};

struct md_instance {
	enum md_status primary_mac_status;
	uint8_t primary_mac[6];
	struct md_eni *enis;
	size_t n_enis, cap_enis;
};

void md_eni_init(struct md_eni *e, const uint8_t mac[6]);
void md_eni_done(struct md_eni *e);
void md_instance_done(struct md_instance *m);
/* Appends a copy of e (taking ownership of its contents; e is zeroed). */
int md_instance_add_take(struct md_instance *m, struct md_eni *e);

/* Feeds one key's answer into the ENI: status MD_KNOWN with the body IMDS returned (any length,
 * may lack or carry a trailing LF), MD_ABSENT for a 404, MD_UNKNOWN for an IMDS failure.
 * A body that does not parse marks the ENI invalid (e->error names MAC, key and value) and
 * returns -EINVAL; the key then stays MD_UNKNOWN. */
int md_eni_set_key(struct md_eni *e, enum md_key key, enum md_status status, const char *body,
		   size_t len);
/* The answer of ipv4-associations/<public_ip>: the private IPv4 it maps to. */
int md_eni_set_association(struct md_eni *e, const char *public_ip, enum md_status status,
			   const char *body, size_t len);
/* The list a list key fills (local-ipv4s -> ipv4s, ...); NULL for the scalar keys. */
struct md_list *md_eni_list(struct md_eni *e, enum md_key key);
/* Where a key's status is kept (scalar or list); NULL for an invalid key. */
enum md_status *md_eni_status(struct md_eni *e, enum md_key key);
/* Marks the ENI invalid with a message (first one wins). */
void md_eni_set_error(struct md_eni *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After every key was fed: checks required keys and cross-key consistency (device-number and
 * interface-id present; subnet present where addresses of its family are; the primary IPv4
 * inside its subnet; numbering in range). */
void md_eni_finish(struct md_eni *e);

/* Whether the ENI can be configured: valid and no key unknown. */
bool md_eni_is_usable(const struct md_eni *e);
/* The card: network-card, or 0 when absent. */
uint32_t md_eni_card(const struct md_eni *e);

/* A directory listing body: one entry per line, trailing '/' stripped, empty lines skipped.
 * Rejects NUL bytes and entries that contain '/' or are "." or "..". Returns a NULL-terminated
 * array of strings, or -EINVAL / -ENOMEM. */
int md_parse_listing(const char *body, size_t len, char ***ret);
/* The top-level 'mac' body. */
int md_parse_mac(const char *body, size_t len, uint8_t ret[6]);

/* Orders ENIs by card, then device number, then MAC (listing order is not a contract). */
void md_instance_sort(struct md_instance *m);
const struct md_eni *md_instance_find(const struct md_instance *m, const uint8_t mac[6]);

/* JSON rendering: {"primary-mac": ..., "interfaces": [ {...}, ... ]}. */
struct json_object *md_eni_to_json(const struct md_eni *e);
struct json_object *md_instance_to_json(const struct md_instance *m);
