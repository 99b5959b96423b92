/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One pass (pass.h). The IMDS read goes through imds_fetch_instance(), the parallel walk; the
 * daemon runs the same steps with the walk on its event loop (pass_observe, then
 * pass_plan_apply once the walk is done). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "apply.h"
#include "kernel.h"
#include "md-walk.h"
#include "numbering.h"
#include "pass.h"

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void pass_result_done(struct pass_result *r)
{
	md_instance_done(&r->md);
	kstate_done(&r->observed);
	plan_done(&r->plan);
	free(r->results);
	*r = (struct pass_result){0};
}

int pass_observe(const struct pass_options *o, struct pass_result *r)
{
	struct kernel_stats k0, k1;
	uint64_t t;
	int e;

	kstate_done(&r->observed);
	kernel_get_stats(o->kernel, &k0);
	t = now_usec();
	e = kernel_observe(o->kernel, &r->observed);
	r->usec_observe = now_usec() - t;
	kernel_get_stats(o->kernel, &k1);
	r->netlink_sent += k1.msgs_sent - k0.msgs_sent;
	r->netlink_received += k1.msgs_received - k0.msgs_received;
	return e;
}

int pass_fetch_status(int r, const struct imds_fetch *f)
{
	if (r == -EBADMSG || (r < 0 && f->n_failures > 0))
		return -EIO;
	return r;
}

int pass_op_ifindex(const struct pass_result *r, const struct plan_op *op)
{
	int ifindex = plan_op_ifindex(op);
	uint32_t table;

	if (ifindex > 0 || (op->type != KOBJ_ROUTE && op->type != KOBJ_RULE))
		return ifindex;
	table = op->type == KOBJ_RULE ? op->rule.table : op->route.table;
	if (!numbering_is_eni_table(table))
		return 0;
	for (size_t i = 0; i < r->observed.n_links; i++) {
		const struct klink *l = &r->observed.links[i];
		const struct md_eni *e = l->has_mac ? md_instance_find(&r->md, l->mac) : NULL;

		if (e && e->device_number_status == MD_KNOWN &&
		    numbering_valid(md_eni_card(e), e->device_number) &&
		    numbering_table(md_eni_card(e), e->device_number) == table)
			return l->ifindex;
	}
	return 0;
}

int pass_gather(const struct pass_options *o, struct pass_result *ret)
{
	struct pass_result *r = ret;
	struct imds_stats i0 = imds_client_stats(o->imds);
	uint64_t t;
	int e;

	*r = (struct pass_result){.fetch = {.client = o->imds}};
	e = pass_observe(o, r);
	if (e < 0)
		return e;

	t = now_usec();
	e = imds_fetch_instance(&r->fetch, &r->md);
	r->usec_fetch = now_usec() - t;
	r->imds_requests = imds_client_stats(o->imds).requests - i0.requests;
	return pass_fetch_status(e, &r->fetch);
}

int pass_plan_apply(const struct pass_options *o, struct pass_result *r)
{
	struct kernel_stats k0, k1;
	uint64_t t;
	int e;

	plan_done(&r->plan);
	r->results = mfree(r->results);
	r->apply = (struct apply_stats){0};

	t = now_usec();
	e = plan_build(&(struct plan_input){.md = &r->md,
					    .observed = &r->observed,
					    .config = o->config,
					    .only_ifindex = o->only_ifindex,
					    .down_macs = o->down_macs,
					    .n_down_macs = o->n_down_macs},
		       &r->plan, NULL);
	r->usec_plan = now_usec() - t;
	if (e < 0)
		return e;
	if (o->dry_run || r->plan.n_ops == 0)
		return 0;

	r->results = calloc(r->plan.n_ops, sizeof(*r->results));
	if (!r->results)
		return -ENOMEM;
	kernel_get_stats(o->kernel, &k0);
	t = now_usec();
	(void)apply_plan(o->kernel, &r->plan, r->results, &r->apply);
	r->usec_apply = now_usec() - t;
	kernel_get_stats(o->kernel, &k1);
	r->netlink_sent += k1.msgs_sent - k0.msgs_sent;
	r->netlink_received += k1.msgs_received - k0.msgs_received;
	return 0;
}

int pass_run(const struct pass_options *o, struct pass_result *ret)
{
	int e = pass_gather(o, ret);

	if (e < 0)
		return e;
	return pass_plan_apply(o, ret);
}
