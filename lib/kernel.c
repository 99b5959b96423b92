/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Observe: raw rtnetlink dumps parsed attribute by attribute into struct kstate. The raw
 * message API is used throughout because libnl 3.7's rtnl objects drop attributes the model
 * needs (IFA_PROTO, IFA_RT_PRIORITY, FRA_PROTOCOL, altnames). Also the request pipeline that
 * apply.c uses: many requests per sendmsg, ACKs matched by sequence number, the kernel's errno
 * taken from the error message itself. Read only apart from kernel_transact(). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "kernel.h"
#include "kstate.h"
#include "log.h"
#include "macro.h"

#ifndef IFA_PROTO
#define IFA_PROTO 11
#endif

/* Requests in flight at once, and bytes per sendmsg: 64 ACKs fit any receive buffer. */
#define TRANSACT_WINDOW 64u
#define TRANSACT_BATCH_BYTES 16384u
#define RCVBUF_SIZE (4 * 1024 * 1024)
#define SNDBUF_SIZE (256 * 1024)
#define DUMP_ATTEMPTS 5

struct kernel {
	struct nl_sock *sk;
	struct kernel_stats stats;
};

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cb *, nl_cb_put)

/* libnl folds system errors into its own NLE_* codes; map back the ones that can happen. */
static int nlerr_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM; /* also what libnl makes of ENOBUFS on recvmsg */
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_DUMP_INTR:
		return -EAGAIN;
	case NLE_MSG_TRUNC:
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_PERM:
		return -EPERM;
	default:
		return -EIO;
	}
}

int kernel_open(struct kernel **ret)
{
	_cleanup_free_ struct kernel *k = calloc(1, sizeof(*k));
	int fd, r, one = 1, rcvbuf = RCVBUF_SIZE;

	if (!k)
		return -ENOMEM;
	k->sk = nl_socket_alloc();
	if (!k->sk)
		return -ENOMEM;
	r = nl_connect(k->sk, NETLINK_ROUTE); /* libnl 3.7 creates it SOCK_CLOEXEC */
	if (r < 0) {
		nl_socket_free(k->sk);
		return nlerr_to_errno(r);
	}
	fd = nl_socket_get_fd(k->sk);
	/* Belt and braces for an older libnl that did not pass SOCK_CLOEXEC. */
	r = fcntl(fd, F_GETFD);
	if (r >= 0 && !(r & FD_CLOEXEC))
		(void)fcntl(fd, F_SETFD, r | FD_CLOEXEC);
	(void)nl_socket_set_buffer_size(k->sk, RCVBUF_SIZE, SNDBUF_SIZE);
	/* SO_RCVBUF is capped by rmem_max; with CAP_NET_ADMIN the cap does not apply. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	/* Error answers without a copy of the request: more of them fit the buffer. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	/* Read each datagram whole, however large the kernel made it. */
	nl_socket_enable_msg_peek(k->sk);
	nl_socket_disable_auto_ack(k->sk);
	*ret = TAKE_PTR(k);
	return 0;
}

struct kernel *kernel_free(struct kernel *k)
{
	if (!k)
		return NULL;
	nl_socket_free(k->sk);
	free(k);
	return NULL;
}

void kernel_get_stats(const struct kernel *k, struct kernel_stats *ret)
{
	*ret = k->stats;
}

static int send_bytes(struct kernel *k, const void *buf, size_t len, size_t n_msgs)
{
	struct sockaddr_nl peer = {.nl_family = AF_NETLINK};
	ssize_t l;

	l = sendto(nl_socket_get_fd(k->sk), buf, len, 0, (struct sockaddr *)&peer, sizeof(peer));
	if (l < 0) {
		k->stats.errors++;
		return -errno;
	}
	if ((size_t)l != len) {
		k->stats.errors++;
		return -EMSGSIZE;
	}
	k->stats.msgs_sent += n_msgs;
	k->stats.requests += n_msgs;
	return 0;
}

static int on_msg_in(struct nl_msg *msg, void *arg)
{
	struct kernel *k = arg;

	k->stats.msgs_received++;
	return NL_OK;
}

/* Sequence numbers are matched by our own handlers, so libnl's strict check is off. */
static int on_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static struct nl_cb *cb_new(struct kernel *k)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_MSG_IN, NL_CB_CUSTOM, on_msg_in, k);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq_check, NULL);
	return cb;
}

/* ---- observe ---- */

struct dump {
	struct kernel *k;
	struct kstate *state;
	uint32_t seq;
	bool done;
	bool interrupted;
	int error;
	int (*parse)(struct dump *d, struct nlmsghdr *h);
};

static int on_dump_valid(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	int r;

	if (h->nlmsg_seq != d->seq || d->error < 0)
		return NL_SKIP;
	r = d->parse(d, h);
	if (r < 0)
		d->error = r;
	return NL_OK;
}

static int on_dump_finish(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);

	if (h->nlmsg_seq != d->seq)
		return NL_SKIP;
	/* A dump that fails half way ends with NLMSG_DONE carrying the errno; libnl ignores it. */
	if (nlmsg_datalen(h) >= (int)sizeof(int)) {
		int e;

		memcpy(&e, nlmsg_data(h), sizeof(e));
		if (e < 0 && d->error == 0) {
			d->error = e;
			d->k->stats.errors++;
		}
	}
	d->done = true;
	return NL_STOP;
}

static int on_dump_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct dump *d = arg;

	if (e->msg.nlmsg_seq != d->seq)
		return NL_SKIP;
	d->k->stats.errors++;
	if (d->error == 0)
		d->error = e->error < 0 ? e->error : -EIO;
	d->done = true;
	return NL_SKIP;
}

static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;

	if (nlmsg_hdr(msg)->nlmsg_seq == d->seq)
		d->interrupted = true;
	return NL_OK;
}

static int dump(struct kernel *k, int type, const void *hdr, size_t hdrlen,
                int (*parse)(struct dump *d, struct nlmsghdr *h), struct kstate *state)
{
	struct dump d = {.k = k, .state = state, .parse = parse};
	_cleanup_(nl_cb_putp) struct nl_cb *cb = cb_new(k);
	_cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
	struct nlmsghdr *h;
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_dump_valid, &d);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_dump_finish, &d);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, &d);
	nl_cb_err(cb, NL_CB_CUSTOM, on_dump_error, &d);

	m = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_DUMP);
	if (!m || nlmsg_append(m, (void *)hdr, hdrlen, NLMSG_ALIGNTO) < 0)
		return -ENOMEM;
	/* Links: leave the statistics out, they are most of the dump and we do not read them. */
	if (type == RTM_GETLINK && nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
		return -ENOMEM;
	h = nlmsg_hdr(m);
	h->nlmsg_seq = d.seq = nl_socket_use_seq(k->sk);
	r = send_bytes(k, h, h->nlmsg_len, 1);
	if (r < 0)
		return r;

	while (!d.done) {
		r = nl_recvmsgs(k->sk, cb);
		if (r < 0 && !d.done) {
			k->stats.errors++;
			return nlerr_to_errno(r);
		}
	}
	if (d.error < 0)
		return d.error;
	return d.interrupted ? -EAGAIN : 0;
}

static int skip(struct dump *d, const char *what)
{
	d->k->stats.skipped++;
	log_debug("Skipping %s the model cannot represent", what);
	return 0;
}

static int get_ipaddr(const struct nlattr *a, int family, union ipaddr *ret)
{
	if (!a || nla_len(a) != (int)ipaddr_size(family))
		return -EBADMSG;
	*ret = (union ipaddr){0};
	memcpy(ret->bytes, nla_data(a), ipaddr_size(family));
	return 0;
}

/* Copies a NUL-terminated string attribute that must fit in size bytes. */
static int get_string(const struct nlattr *a, char *buf, size_t size)
{
	const char *s = nla_data(a);
	size_t len = (size_t)nla_len(a);
	size_t n = strnlen(s, len);

	if (n == len || n == 0 || n >= size)
		return -EBADMSG;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

/* Whether the message carries an attribute beyond what we parse: a selector from a newer
 * kernel, which would change the object's meaning if we dropped it. */
static bool has_attr_above(const struct nlmsghdr *h, int hdrlen, int maxtype)
{
	const struct nlattr *a;
	int rem;

	nlmsg_for_each_attr(a, h, hdrlen, rem) if (nla_type(a) > maxtype) return true;
	return false;
}

static int parse_link(struct dump *d, struct nlmsghdr *h)
{
	static struct nla_policy policy[IFLA_MAX + 1] = {
	        [IFLA_IFNAME] = {.type = NLA_STRING},
	        [IFLA_MTU] = {.type = NLA_U32},
	        [IFLA_GROUP] = {.type = NLA_U32},
	        [IFLA_PROP_LIST] = {.type = NLA_NESTED},
	};
	struct nlattr *tb[IFLA_MAX + 1];
	const struct ifinfomsg *ifi;
	struct klink l = {0};

	if (h->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(h, sizeof(*ifi)))
		return -EBADMSG;
	ifi = nlmsg_data(h);
	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, policy) < 0 || !tb[IFLA_IFNAME])
		return skip(d, "link with malformed attributes");
	l.ifindex = ifi->ifi_index;
	l.up = ifi->ifi_flags & IFF_UP;
	if (get_string(tb[IFLA_IFNAME], l.name, sizeof(l.name)) < 0)
		return skip(d, "link with a bad name");
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == (int)sizeof(l.mac)) {
		memcpy(l.mac, nla_data(tb[IFLA_ADDRESS]), sizeof(l.mac));
		l.has_mac = true;
	}
	if (tb[IFLA_MTU])
		l.mtu = nla_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_GROUP])
		l.group = nla_get_u32(tb[IFLA_GROUP]);
	if (tb[IFLA_PROP_LIST]) {
		struct nlattr *a;
		int rem;

		nla_for_each_nested(a, tb[IFLA_PROP_LIST], rem)
		{
			if (nla_type(a) != IFLA_ALT_IFNAME || l.n_altnames >= KLINK_ALTNAMES_MAX)
				continue;
			if (get_string(a, l.altnames[l.n_altnames], KLINK_ALTNAME_SIZE) == 0)
				l.n_altnames++;
		}
	}
	return kstate_add_link(d->state, &l);
}

static int parse_addr(struct dump *d, struct nlmsghdr *h)
{
	static struct nla_policy policy[IFA_MAX + 1] = {
	        [IFA_FLAGS] = {.type = NLA_U32},
	        [IFA_PROTO] = {.type = NLA_U8},
	        [IFA_RT_PRIORITY] = {.type = NLA_U32},
	};
	struct nlattr *tb[IFA_MAX + 1];
	const struct ifaddrmsg *ifa;
	struct nlattr *local;
	struct kaddr a = {0};
	int family;

	if (h->nlmsg_type != RTM_NEWADDR || !nlmsg_valid_hdr(h, sizeof(*ifa)))
		return -EBADMSG;
	ifa = nlmsg_data(h);
	family = ifa->ifa_family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (nlmsg_parse(h, sizeof(*ifa), tb, IFA_MAX, policy) < 0)
		return skip(d, "address with malformed attributes");
	/* IFA_LOCAL is the address where both exist; IFA_ADDRESS alone is it for IPv6. */
	local = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (tb[IFA_LOCAL] && tb[IFA_ADDRESS] &&
	    (nla_len(tb[IFA_LOCAL]) != nla_len(tb[IFA_ADDRESS]) ||
	     memcmp(nla_data(tb[IFA_LOCAL]), nla_data(tb[IFA_ADDRESS]),
	            (size_t)nla_len(tb[IFA_LOCAL])) != 0))
		return skip(d, "point-to-point address");
	if (ifa->ifa_prefixlen > ipaddr_bits(family) ||
	    get_ipaddr(local, family, &a.prefix.addr) < 0)
		return skip(d, "address with a bad local address");
	a.ifindex = (int)ifa->ifa_index;
	a.prefix.family = family;
	a.prefix.len = ifa->ifa_prefixlen;
	a.flags = tb[IFA_FLAGS] ? nla_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	a.scope = ifa->ifa_scope;
	a.protocol = tb[IFA_PROTO] ? nla_get_u8(tb[IFA_PROTO]) : 0;
	a.rt_priority = tb[IFA_RT_PRIORITY] ? nla_get_u32(tb[IFA_RT_PRIORITY]) : 0;
	return kstate_add_addr(d->state, &a);
}

static int parse_route(struct dump *d, struct nlmsghdr *h)
{
	static struct nla_policy policy[RTA_MAX + 1] = {
	        [RTA_TABLE] = {.type = NLA_U32},
	        [RTA_OIF] = {.type = NLA_U32},
	        [RTA_PRIORITY] = {.type = NLA_U32},
	};
	struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct kroute r = {0};
	int family;

	if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(*rtm)))
		return -EBADMSG;
	rtm = nlmsg_data(h);
	family = rtm->rtm_family;
	/* The AF_UNSPEC dump also holds multicast routing tables (RTNL_FAMILY_IPMR...). */
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return 0;
	if (nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, policy) < 0)
		return skip(d, "route with malformed attributes");
	if (tb[RTA_MULTIPATH] || tb[RTA_NH_ID] || tb[RTA_VIA] || tb[RTA_ENCAP] ||
	    rtm->rtm_src_len != 0 || rtm->rtm_tos != 0)
		return skip(d, "route (multipath, nexthop object, encap, source or tos)");
	if (rtm->rtm_dst_len > ipaddr_bits(family))
		return skip(d, "route with a bad prefix length");

	r.family = family;
	r.table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r.dst.family = family;
	r.dst.len = rtm->rtm_dst_len;
	if (tb[RTA_DST] && get_ipaddr(tb[RTA_DST], family, &r.dst.addr) < 0)
		return skip(d, "route with a bad destination");
	if (tb[RTA_GATEWAY] && get_ipaddr(tb[RTA_GATEWAY], family, &r.gateway) < 0)
		return skip(d, "route with a bad gateway");
	if (tb[RTA_PREFSRC] && get_ipaddr(tb[RTA_PREFSRC], family, &r.prefsrc) < 0)
		return skip(d, "route with a bad source");
	r.ifindex = tb[RTA_OIF] ? (int)nla_get_u32(tb[RTA_OIF]) : 0;
	r.type = rtm->rtm_type;
	r.scope = rtm->rtm_scope;
	r.protocol = rtm->rtm_protocol;
	r.metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
	return kstate_add_route(d->state, &r);
}

static int get_rule_prefix(const struct nlattr *a, int family, uint8_t len, struct ipprefix *ret)
{
	if (len == 0 && !a)
		return 0; /* any */
	if (len > ipaddr_bits(family))
		return -EBADMSG;
	ret->family = family;
	ret->len = len;
	return get_ipaddr(a, family, &ret->addr);
}

static int parse_rule(struct dump *d, struct nlmsghdr *h)
{
	static struct nla_policy policy[FRA_MAX + 1] = {
	        [FRA_PRIORITY] = {.type = NLA_U32},
	        [FRA_TABLE] = {.type = NLA_U32},
	        [FRA_SUPPRESS_PREFIXLEN] = {.type = NLA_U32},
	        [FRA_SUPPRESS_IFGROUP] = {.type = NLA_U32},
	        [FRA_PROTOCOL] = {.type = NLA_U8},
	};
	struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	struct krule r = {.suppress_prefixlen = -1, .suppress_ifgroup = -1};
	int family;

	if (h->nlmsg_type != RTM_NEWRULE || !nlmsg_valid_hdr(h, sizeof(*frh)))
		return -EBADMSG;
	frh = nlmsg_data(h);
	family = frh->family;
	if (family != AF_INET && family != AF_INET6)
		return 0;
	if (nlmsg_parse(h, sizeof(*frh), tb, FRA_MAX, policy) < 0)
		return skip(d, "rule with malformed attributes");
	if (tb[FRA_IIFNAME] || tb[FRA_OIFNAME] || tb[FRA_GOTO] || tb[FRA_FWMARK] ||
	    tb[FRA_FWMASK] || tb[FRA_FLOW] || tb[FRA_TUN_ID] || tb[FRA_L3MDEV] ||
	    tb[FRA_UID_RANGE] || tb[FRA_IP_PROTO] || tb[FRA_SPORT_RANGE] || tb[FRA_DPORT_RANGE] ||
	    frh->tos != 0 || (frh->flags & FIB_RULE_INVERT) ||
	    has_attr_above(h, sizeof(*frh), FRA_MAX))
		return skip(d, "rule with selectors (iif, oif, fwmark, uid, tos, not, ...)");

	r.family = family;
	r.priority = tb[FRA_PRIORITY] ? nla_get_u32(tb[FRA_PRIORITY]) : 0;
	r.table = tb[FRA_TABLE] ? nla_get_u32(tb[FRA_TABLE]) : frh->table;
	r.action = frh->action;
	if (get_rule_prefix(tb[FRA_SRC], family, frh->src_len, &r.from) < 0 ||
	    get_rule_prefix(tb[FRA_DST], family, frh->dst_len, &r.to) < 0)
		return skip(d, "rule with a bad prefix");
	if (tb[FRA_SUPPRESS_PREFIXLEN])
		r.suppress_prefixlen = (int32_t)nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]);
	if (tb[FRA_SUPPRESS_IFGROUP])
		r.suppress_ifgroup = (int32_t)nla_get_u32(tb[FRA_SUPPRESS_IFGROUP]);
	r.protocol = tb[FRA_PROTOCOL] ? nla_get_u8(tb[FRA_PROTOCOL]) : 0;
	return kstate_add_rule(d->state, &r);
}

static int observe_once(struct kernel *k, struct kstate *s)
{
	const struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	const struct ifaddrmsg ifa = {.ifa_family = AF_UNSPEC};
	const struct rtmsg rtm = {.rtm_family = AF_UNSPEC};
	const struct fib_rule_hdr frh = {.family = AF_UNSPEC};
	int r;

	r = dump(k, RTM_GETLINK, &ifi, sizeof(ifi), parse_link, s);
	if (r < 0)
		return r;
	r = dump(k, RTM_GETADDR, &ifa, sizeof(ifa), parse_addr, s);
	if (r < 0)
		return r;
	r = dump(k, RTM_GETROUTE, &rtm, sizeof(rtm), parse_route, s);
	if (r < 0)
		return r;
	return dump(k, RTM_GETRULE, &frh, sizeof(frh), parse_rule, s);
}

int kernel_observe(struct kernel *k, struct kstate *ret)
{
	int r = -EAGAIN;

	for (int attempt = 0; attempt < DUMP_ATTEMPTS; attempt++) {
		struct kstate s = {0};

		r = observe_once(k, &s);
		if (r == 0) {
			kstate_sort(&s);
			*ret = s;
			return 0;
		}
		kstate_done(&s);
		if (r != -EAGAIN)
			break;
		log_debug("Netlink dump interrupted by a change, dumping again");
	}
	return r;
}

/* ---- requests ---- */

struct transact {
	struct kernel *k;
	uint32_t first_seq;
	size_t n;
	int *errors; /* 1 = no answer yet */
	size_t pending;
};

static int *transact_slot(struct transact *t, uint32_t seq)
{
	uint32_t i = seq - t->first_seq; /* wraps like the sequence numbers do */

	if (i >= t->n || t->errors[i] != 1)
		return NULL;
	return &t->errors[i];
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct transact *t = arg;
	int *slot = transact_slot(t, nlmsg_hdr(msg)->nlmsg_seq);

	if (slot) {
		*slot = 0;
		t->pending--;
	}
	return NL_OK; /* NL_STOP would drop the ACKs behind this one in the same datagram */
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct transact *t = arg;
	int *slot = transact_slot(t, e->msg.nlmsg_seq);

	if (slot) {
		/* The kernel's own errno, not libnl's NLE_* translation of it. */
		*slot = e->error < 0 ? e->error : -EIO;
		t->pending--;
		t->k->stats.errors++;
	}
	return NL_SKIP;
}

/* Sends msgs[0..n) in one sendmsg and collects their answers. */
static int transact_batch(struct kernel *k, struct nlmsghdr *const *msgs, size_t n, int *errors)
{
	struct transact t = {.k = k, .n = n, .errors = errors, .pending = n};
	_cleanup_(nl_cb_putp) struct nl_cb *cb = cb_new(k);
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	int r;

	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &t);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &t);

	for (size_t i = 0; i < n; i++)
		len += NLMSG_ALIGN(msgs[i]->nlmsg_len);
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint32_t seq = nl_socket_use_seq(k->sk);

		if (i == 0)
			t.first_seq = seq;
		msgs[i]->nlmsg_seq = seq;
		msgs[i]->nlmsg_pid = 0;
		memcpy(buf + off, msgs[i], msgs[i]->nlmsg_len);
		off += NLMSG_ALIGN(msgs[i]->nlmsg_len);
		errors[i] = 1;
	}

	r = send_bytes(k, buf, len, n);
	if (r < 0)
		goto fail;
	/* rtnetlink runs each request inside sendmsg, so every answer is queued by now; a read
	 * can only block if an answer was lost, and then the socket reports ENOBUFS instead. */
	while (t.pending > 0) {
		r = nl_recvmsgs(k->sk, cb);
		if (r < 0) {
			k->stats.errors++;
			r = nlerr_to_errno(r);
			goto fail;
		}
	}
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		if (errors[i] == 1)
			errors[i] = r;
	return r;
}

int kernel_transact(struct kernel *k, struct nlmsghdr *const *msgs, size_t n, int *ret_errors)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, bytes = 0;
		int r;

		while (j < n && j - i < TRANSACT_WINDOW &&
		       (j == i ||
		        bytes + NLMSG_ALIGN(msgs[j]->nlmsg_len) <= TRANSACT_BATCH_BYTES)) {
			bytes += NLMSG_ALIGN(msgs[j]->nlmsg_len);
			j++;
		}
		r = transact_batch(k, msgs + i, j - i, ret_errors + i);
		if (r < 0) {
			for (size_t x = j; x < n; x++)
				ret_errors[x] = r;
			return r;
		}
		i = j;
	}
	return 0;
}

uint32_t kernel_get_port(const struct kernel *k)
{
	return nl_socket_get_local_port(k->sk);
}
