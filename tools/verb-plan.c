/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl plan and apply: the same pass, without and with the apply step. */
#include <stdio.h>

#include <json-c/json.h>

#include "ctl.h"
#include "log.h"
#include "pass.h"

static void print_plan_json(const struct pass_result *res, bool applied)
{
	struct json_object *a = json_object_new_array();
	char buf[768];

	for (size_t i = 0; i < res->plan.n_ops; i++) {
		const struct plan_op *op = &res->plan.ops[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "action",
				       json_object_new_string(plan_action_to_string(op->action)));
		json_object_object_add(o, "type", json_object_new_string(kobj_type_to_string(op->type)));
		json_object_object_add(o, "object", json_object_new_string(
						  ctl_op_object(op, &res->observed, buf, sizeof(buf))));
		json_object_object_add(o, "reason", json_object_new_string(op->reason));
		if (applied && res->results)
			json_object_object_add(o, "error",
					       res->results[i].error
						       ? json_object_new_string(
								 STRERROR(res->results[i].error))
						       : NULL);
		json_object_array_add(a, o);
	}
	printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
}

static int run_pass(struct ctl *c, bool apply)
{
	_cleanup_(ctl_pass_done) struct ctl_pass p = {.lock_fd = -EBADF};
	const struct klink *l = NULL;
	const struct pass_result *res = &p.res;

	if (apply && ctl_require_net_admin(c, "apply") < 0)
		return CTL_EXIT_FAILED;
	/* Read once; IFACE is resolved against what IMDS lists before anything changes. */
	if (ctl_pass_begin(c, &p, apply) < 0)
		return CTL_EXIT_FAILED;
	if (c->iface && ctl_resolve_iface(&p, c->iface, &l) < 0)
		return CTL_EXIT_FAILED;
	if (ctl_pass_plan(c, &p, l ? l->ifindex : 0, !apply) < 0)
		return CTL_EXIT_FAILED;

	for (size_t i = 0; i < res->md.n_enis; i++)
		if (res->md.enis[i].error)
			log_warning("Left alone: %s", res->md.enis[i].error);

	if (c->json)
		print_plan_json(res, apply);
	else
		(void)ctl_print_ops(c, &p, apply);
	if (apply && !c->quiet)
		fprintf(stderr,
			"%zu operations (%zu failed, %zu skipped); IMDS %llu requests in %.1f ms; "
			"netlink %llu sent, %llu received; observe %.1f ms, plan %.1f ms, apply %.1f ms\n",
			res->plan.n_ops, res->apply.failed, res->apply.skipped,
			(unsigned long long)res->imds_requests, res->usec_fetch / 1000.0,
			(unsigned long long)res->netlink_sent,
			(unsigned long long)res->netlink_received, res->usec_observe / 1000.0,
			res->usec_plan / 1000.0, res->usec_apply / 1000.0);
	return apply && (res->apply.failed > 0 || res->apply.skipped > 0) ? CTL_EXIT_FAILED
									  : CTL_EXIT_OK;
}

int verb_plan(struct ctl *c)
{
	return run_pass(c, false);
}

int verb_apply(struct ctl *c)
{
	return run_pass(c, true);
}
