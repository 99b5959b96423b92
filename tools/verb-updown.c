/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl up / down (ec2ifup / ec2ifdown): the down mark (marks.h) plus a pass limited to the
 * interface, under the exclusive lock so that ec2netd never runs a pass in between. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "marks.h"
#include "md-walk.h"
#include "parse-util.h"

/* Whether the pass itself set the link up (the planner does for a managed ENI). */
static bool plan_sets_link_up(const struct ctl_pass *p, int ifindex)
{
	for (size_t i = 0; i < p->res.plan.n_ops; i++) {
		const struct plan_op *op = &p->res.plan.ops[i];

		if (op->type == KOBJ_LINK && op->link.ifindex == ifindex && op->link.up)
			return true;
	}
	return false;
}

int verb_up(struct ctl *c)
{
	_cleanup_(ctl_pass_done) struct ctl_pass p = {.lock_fd = -EBADF};
	const struct klink *l;
	struct klink link;
	char mac[MAC_STRLEN];
	size_t bad;
	int r;

	if (ctl_require_net_admin(c, "up") < 0)
		return CTL_EXIT_FAILED;
	if (ctl_pass_begin(c, &p, true) < 0 || ctl_resolve_iface(&p, c->iface, &l) < 0)
		return CTL_EXIT_FAILED;
	link = *l;
	mac_format(link.mac, mac);

	r = marks_set(c->state_dir, link.mac, false);
	if (r < 0) {
		log_error("Failed to clear the down mark of '%s' (%s) in '%s', nothing changed: %s",
		          c->iface, mac, c->state_dir, STRERROR(r));
		return CTL_EXIT_FAILED;
	}
	if (ctl_pass_plan(c, &p, link.ifindex, false) < 0)
		return CTL_EXIT_FAILED;
	bad = ctl_print_ops(c, &p, true);

	/* An ENI the pass leaves alone (invalid metadata, Unmanaged=) still gets its link up. */
	if (!link.up && !plan_sets_link_up(&p, link.ifindex)) {
		r = ctl_set_link_up(&p, &link, true);
		if (r < 0) {
			log_error("Failed to set the link of '%s' up: %s", c->iface, STRERROR(r));
			bad++;
		} else if (!c->quiet)
			printf("~ link %s up\n", link.name);
	}
	for (size_t i = 0; i < p.res.md.n_enis; i++)
		if (memcmp(p.res.md.enis[i].mac, link.mac, 6) == 0 &&
		    !md_eni_is_usable(&p.res.md.enis[i]))
			log_warning("Interface '%s' is up but not configured: %s", c->iface,
			            p.res.md.enis[i].error ? p.res.md.enis[i].error
			                                   : "its metadata is incomplete");
	if (bad > 0) {
		log_error("Interface '%s': %zu operations failed; the down mark is cleared, so "
		          "ec2netd retries",
		          c->iface, bad);
		return CTL_EXIT_FAILED;
	}
	if (!c->quiet)
		fprintf(stderr, "%s: up, %zu operations\n", link.name, p.res.plan.n_ops);
	return CTL_EXIT_OK;
}

int verb_down(struct ctl *c)
{
	_cleanup_(ctl_pass_done) struct ctl_pass p = {.lock_fd = -EBADF};
	const struct md_eni *e;
	const struct klink *l;
	struct klink link;
	char mac[MAC_STRLEN];
	size_t bad;
	int r;

	if (ctl_require_net_admin(c, "down") < 0)
		return CTL_EXIT_FAILED;
	if (ctl_pass_begin(c, &p, true) < 0 || ctl_resolve_iface(&p, c->iface, &l) < 0)
		return CTL_EXIT_FAILED;
	link = *l;
	mac_format(link.mac, mac);
	e = md_instance_find(&p.res.md, link.mac);
	if (e && e->is_primary && !c->force) {
		log_error(
		        "Refusing to take down '%s': it is the primary ENI (%s), which carries the "
		        "instance's own address; use --force to do it anyway, nothing changed",
		        c->iface, mac);
		return CTL_EXIT_FAILED;
	}

	r = marks_set(c->state_dir, link.mac, true);
	if (r < 0) {
		log_error("Failed to set the down mark of '%s' (%s) in '%s', nothing changed: %s",
		          c->iface, mac, c->state_dir, STRERROR(r));
		return CTL_EXIT_FAILED;
	}
	/* From here on the mark is set: ec2netd (and every pass) leaves the interface alone. */
	r = ctl_pass_plan(c, &p, link.ifindex, false);
	if (r < 0) {
		log_error("Interface '%s' is marked down but still configured; ec2netd leaves it "
		          "alone, run 'ec2netctl down %s' again or 'ec2netctl up %s'",
		          c->iface, c->iface, c->iface);
		return CTL_EXIT_FAILED;
	}
	bad = ctl_print_ops(c, &p, true);
	if (link.up) {
		r = ctl_set_link_up(&p, &link, false);
		if (r < 0) {
			log_error("Failed to set the link of '%s' down: %s", c->iface, STRERROR(r));
			bad++;
		} else if (!c->quiet)
			printf("~ link %s down\n", link.name);
	}
	if (bad > 0) {
		log_error("Interface '%s' is marked down, but %zu operations failed: some of what "
		          "ec2net added may be left; ec2netd leaves it alone, "
		          "run 'ec2netctl down %s' again or 'ec2netctl up %s'",
		          c->iface, bad, c->iface, c->iface);
		return CTL_EXIT_FAILED;
	}
	if (!c->quiet)
		fprintf(stderr, "%s: down, %zu operations\n", link.name, p.res.plan.n_ops);
	return CTL_EXIT_OK;
}
