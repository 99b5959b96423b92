/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Named constants of the kernel-state contract (design.md §3) and of the IMDS client. */
#pragma once

#include <stdint.h>

/* The routing protocol number that marks every route, rule and address we add. */
#define EC2NET_PROTO 236
#define EC2NET_PROTO_NAME "ec2net"

#define EC2NET_TABLE_BASE 10000u
#define EC2NET_METRIC_BASE 512u
#define EC2NET_CARD_STRIDE 100u
/* Device numbers and card indexes above these would make two ENIs share a table. */
#define EC2NET_DEVICE_MAX 99u
#define EC2NET_CARD_MAX 99u

#define EC2NET_LOCAL_RULE_PRIORITY 9999u
#define EC2NET_DEFAULT_GROUP 236u
#define EC2NET_DEFAULT_MTU 9001u
#define EC2NET_IPV6_GATEWAY "fe80:ec2::1"

/* IMDS */
#define EC2NET_IMDS_ENDPOINT_V4 "http://169.254.169.254"
#define EC2NET_IMDS_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define EC2NET_IMDS_BODY_MAX (64u * 1024u)
#define EC2NET_IMDS_TOKEN_TTL_SEC 21600u
#define EC2NET_IMDS_TOKEN_TTL_MAX_SEC 21600u
/* Renew the token this long before it expires. */
#define EC2NET_IMDS_TOKEN_MARGIN_SEC 60u
#define EC2NET_IMDS_TIMEOUT_SEC 1u
#define EC2NET_IMDS_CONNECT_TIMEOUT_MSEC 250u
#define EC2NET_IMDS_ATTEMPTS 4u
/* Requests in flight at once per client (imds.md §5: "a few", 1-4). */
#define EC2NET_IMDS_MAX_IN_FLIGHT 4u
#define EC2NET_IMDS_BACKOFF_INITIAL_USEC (100u * 1000u)
#define EC2NET_IMDS_BACKOFF_MAX_USEC (2u * 1000u * 1000u)

/* Daemon */
#define EC2NET_REFRESH_SEC 60u

/* Where a value from outside is quoted in a message, at most this many bytes of it. */
#define EC2NET_QUOTE_MAX 64u

#define EC2NET_CONF_FILE "/etc/ec2net/ec2net.conf"
#define EC2NET_RUN_DIR "/run/ec2net"
#define EC2NET_LOCK_FILE "lock"
#define EC2NET_STATE_FILE "state.json"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
