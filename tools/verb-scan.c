/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl scan (ec2ifscan): a full pass, reported per interface: what ec2-net-utils users
 * ran after attaching an ENI by hand. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "log.h"

int verb_scan(struct ctl *c)
{
	_cleanup_(ctl_pass_done) struct ctl_pass p = {.lock_fd = -EBADF};
	const struct kstate *s;
	size_t failed_total = 0;

	if (ctl_require_net_admin(c, "scan") < 0)
		return CTL_EXIT_FAILED;
	if (ctl_pass_begin(c, &p, true) < 0 || ctl_pass_plan(c, &p, 0, false) < 0)
		return CTL_EXIT_FAILED;
	s = &p.res.observed;

	for (size_t i = 0; i < p.res.md.n_enis; i++)
		if (p.res.md.enis[i].error)
			log_warning("Left alone: %s", p.res.md.enis[i].error);

	/* One line per interface the pass changed, in link order; failures by operation. */
	for (size_t k = 0; k < s->n_links; k++) {
		size_t n = 0, failed = 0;
		char buf[768];

		for (size_t i = 0; i < p.res.plan.n_ops; i++) {
			const struct plan_op *op = &p.res.plan.ops[i];

			if (pass_op_ifindex(&p.res, op) != s->links[k].ifindex)
				continue;
			n++;
			if (p.res.results && p.res.results[i].error) {
				plan_op_format(op, s, buf, sizeof(buf));
				log_error("Failed: %s: %s", buf, STRERROR(p.res.results[i].error));
				failed++;
			}
		}
		if (n == 0)
			continue;
		failed_total += failed;
		if (failed > 0)
			log_error("%s: %zu of %zu operations failed", s->links[k].name, failed, n);
		else if (!c->quiet)
			printf("%s: configured (%zu operations)\n", s->links[k].name, n);
	}
	/* Instance-wide operations (the local-routes-first rules) belong to no interface. */
	for (size_t i = 0; p.res.results && i < p.res.plan.n_ops; i++) {
		char buf[768];

		if (pass_op_ifindex(&p.res, &p.res.plan.ops[i]) != 0 || !p.res.results[i].error)
			continue;
		plan_op_format(&p.res.plan.ops[i], s, buf, sizeof(buf));
		log_error("Failed: %s: %s", buf, STRERROR(p.res.results[i].error));
		failed_total++;
	}
	return failed_total > 0 || p.res.apply.failed > 0 || p.res.apply.skipped > 0
	               ? CTL_EXIT_FAILED
	               : CTL_EXIT_OK;
}
