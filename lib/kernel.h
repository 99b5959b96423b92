/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtnetlink connection: dumps of links, addresses, routes and rules into struct kstate
 * (observe), and the send-and-collect-ACKs primitive apply.c drives. libnl stays inside
 * kernel.c; nothing here names a libnl type. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct kernel;
struct kstate;
struct nlmsghdr;

struct kernel_stats {
	uint64_t msgs_sent;     /* netlink messages written: dump requests and requests */
	uint64_t msgs_received; /* netlink messages read: dump parts, NLMSG_DONE, ACKs, errors */
	uint64_t requests;      /* dumps started plus requests sent */
	uint64_t errors;        /* error answers from the kernel, failed dumps, socket errors */
	uint64_t skipped;       /* dumped objects the model cannot represent (multipath routes,
	                         * rules with iif/fwmark/..., peer addresses), left out of kstate */
};

/* Opens a NETLINK_ROUTE socket (SOCK_CLOEXEC, large receive buffer) in the caller's network
 * namespace. Returns 0 or a negative errno. */
int kernel_open(struct kernel **ret);
/* Closes the socket; returns NULL. Accepts NULL. */
struct kernel *kernel_free(struct kernel *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct kernel *, kernel_free)

/* One dump each of links, addresses (IPv4 and IPv6), routes of every table and rules into
 * *ret (which must be empty; filled and sorted by key on success, left empty on failure).
 * Objects the model cannot represent are skipped and counted in kernel_stats.skipped. A dump
 * the kernel reports as interrupted (NLM_F_DUMP_INTR) is retried a few times, then -EAGAIN.
 * Returns 0 or a negative errno. */
int kernel_observe(struct kernel *k, struct kstate *ret);

/* Sends the n requests back to back (several per sendmsg, a bounded number in flight, so the
 * receive buffer cannot overflow with ACKs) and waits for the answer to each, matched by
 * sequence number. Overwrites nlmsg_seq and nlmsg_pid of each message. ret_errors[i] is 0 for
 * an ACK or the negative errno the kernel answered request i with. Returns 0 when every
 * request got an answer (whatever it was), or a negative errno when the socket failed; the
 * requests left unanswered then carry that error. */
int kernel_transact(struct kernel *k, struct nlmsghdr *const *msgs, size_t n, int *ret_errors);

void kernel_get_stats(const struct kernel *k, struct kernel_stats *ret);
/* The netlink port id of the socket: notifications our own requests caused carry it (the
 * daemon's watcher ignores them). */
uint32_t kernel_get_port(const struct kernel *k);
