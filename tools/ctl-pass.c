/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pieces of a pass that the ec2netctl verbs share: lock, read, resolve IFACE, plan and
 * apply, print. Each prints its own errors (style.md §7), the verbs only choose. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctl.h"
#include "ec2net-defs.h"
#include "imds-fetch.h"
#include "kernel.h"
#include "lock.h"
#include "log.h"
#include "md-walk.h"
#include "numbering.h"

int ctl_require_net_admin(const struct ctl *c, const char *verb)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {0};
	bool alias = !streq(c->prog, "ec2netctl");

	if (syscall(SYS_capget, &h, d) < 0)
		return log_error_errno(-errno, "Failed to read the capabilities of %s%s%s: %s",
				       c->prog, alias ? "" : " ", alias ? "" : verb,
				       STRERROR(errno));
	if (d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN))
		return 0;
	return log_error_errno(-EPERM,
			       "Permission denied: %s%s%s needs CAP_NET_ADMIN to change the "
			       "network, nothing changed",
			       c->prog, alias ? "" : " ", alias ? "" : verb);
}

/* A shared lock that writes nothing: without a lock file no pass can be running. */
static int lock_take_shared_existing(const char *state_dir)
{
	_cleanup_close_ int fd = -EBADF;
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, EC2NET_LOCK_FILE) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return -errno;
	return TAKE_FD(fd);
}

int ctl_pass_begin(const struct ctl *c, struct ctl_pass *p, bool exclusive)
{
	char why[512];
	int r;

	*p = (struct ctl_pass){.lock_fd = -EBADF};
	if (exclusive) {
		p->lock_fd = lock_take(c->state_dir, true);
		if (p->lock_fd < 0)
			return log_error_errno(p->lock_fd, "Failed to take the lock in '%s': %s",
			                       c->state_dir, STRERROR(p->lock_fd));
	} else
		/* Reading needs no lock to be safe; it only avoids a half-applied view. */
		p->lock_fd = lock_take_shared_existing(c->state_dir);

	r = kernel_open(&p->kernel);
	if (r < 0)
		return log_error_errno(r, "Failed to open netlink: %s", STRERROR(r));
	r = ctl_open_imds(c, &p->imds);
	if (r < 0)
		return r;

	p->o = (struct pass_options){.config = &c->config, .imds = p->imds, .kernel = p->kernel};
	r = pass_gather(&p->o, &p->res);
	if (r == -EIO) {
		log_error("Cannot read IMDS, nothing changed: %s",
		          p->res.fetch.n_failures
		                  ? imds_fetch_describe_failure(&p->res.fetch, why, sizeof(why))
		                  : "the interface listing is missing or malformed");
		return r;
	}
	if (r < 0)
		return log_error_errno(r, "Failed to read the network state, nothing changed: %s",
		                       STRERROR(r));
	return 0;
}

void ctl_pass_done(struct ctl_pass *p)
{
	marks_done(&p->down);
	pass_result_done(&p->res);
	imds_client_free(p->imds);
	kernel_free(p->kernel);
	if (p->lock_fd >= 0)
		(void)close(p->lock_fd);
	*p = (struct ctl_pass){.lock_fd = -EBADF};
}

int ctl_resolve_iface(const struct ctl_pass *p, const char *name, const struct klink **ret)
{
	const struct kstate *s = &p->res.observed;
	const struct klink *l;

	l = kstate_link_by_name(s, name);
	for (size_t i = 0; !l && i < s->n_links; i++)
		for (size_t k = 0; k < s->links[i].n_altnames; k++)
			if (streq(s->links[i].altnames[k], name))
				l = &s->links[i];
	if (!l)
		return log_error_errno(-ENODEV, "Unknown interface '%s'", name);
	if (!l->has_mac || !md_instance_find(&p->res.md, l->mac))
		return log_error_errno(-ENOENT, "Interface '%s' is not an ENI listed by IMDS",
		                       name);
	*ret = l;
	return 0;
}

int ctl_pass_read_marks(const struct ctl *c, struct ctl_pass *p)
{
	int r;

	marks_done(&p->down);
	r = marks_read(c->state_dir, &p->down);
	if (r < 0)
		return log_error_errno(r,
		                       "Failed to read the down marks in '%s', nothing changed: %s",
		                       c->state_dir, STRERROR(r));
	return 0;
}

int ctl_pass_plan(const struct ctl *c, struct ctl_pass *p, int only_ifindex, bool dry_run)
{
	int r;

	r = ctl_pass_read_marks(c, p);
	if (r < 0)
		return r;
	p->o.only_ifindex = only_ifindex;
	p->o.dry_run = dry_run;
	p->o.down_macs = (const uint8_t(*)[6])p->down.macs;
	p->o.n_down_macs = p->down.n;
	r = pass_plan_apply(&p->o, &p->res);
	if (r < 0)
		return log_error_errno(r, "Pass failed, nothing changed: %s", STRERROR(r));
	return 0;
}

const char *ctl_op_object(const struct plan_op *op, const struct kstate *names, char *buf,
                          size_t size)
{
	struct plan_op bare = *op;
	char *hash;

	/* plan_op_format writes "<sign> <object>" and, with a reason, "   # <reason>". */
	bare.reason = NULL;
	plan_op_format(&bare, names, buf, size);
	hash = strstr(buf, "   #");
	if (hash)
		*hash = 0;
	if (strlen(buf) >= 2)
		memmove(buf, buf + 2, strlen(buf + 2) + 1);
	return buf;
}

size_t ctl_print_ops(const struct ctl *c, const struct ctl_pass *p, bool applied)
{
	const struct pass_result *res = &p->res;
	size_t bad = 0;
	char buf[768];

	for (size_t i = 0; i < res->plan.n_ops; i++) {
		plan_op_format(&res->plan.ops[i], &res->observed, buf, sizeof(buf));
		if (applied && res->results && res->results[i].error) {
			log_error("Failed: %s: %s%s", buf, STRERROR(res->results[i].error),
			          res->results[i].error == -EPERM
			                  ? " (ec2netctl needs CAP_NET_ADMIN)"
			                  : "");
			bad++;
			continue;
		}
		if (!c->quiet)
			printf("%s\n", buf);
	}
	return bad;
}

int ctl_set_link_up(struct ctl_pass *p, const struct klink *l, bool up)
{
	struct plan_op op = {
	        .action = PLAN_REPLACE,
	        .type = KOBJ_LINK,
	        .link = *l,
	        .reason = up ? "ec2netctl up" : "ec2netctl down",
	};
	struct plan one = {.ops = &op, .n_ops = 1, .cap_ops = 1};
	struct apply_result result = {0};

	/* MTU and group as observed: only IFF_UP changes. */
	op.link.up = up;
	(void)apply_plan(p->kernel, &one, &result, NULL);
	return result.error;
}
