/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl plan and apply: the same pass, without and with the apply step. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "kernel.h"
#include "lock.h"
#include "log.h"
#include "marks.h"
#include "md-walk.h"
#include "pass.h"

static void print_plan_json(const struct pass_result *res, bool applied)
{
	struct json_object *a = json_object_new_array();
	char buf[768];

	for (size_t i = 0; i < res->plan.n_ops; i++) {
		const struct plan_op *op = &res->plan.ops[i];
		struct json_object *o = json_object_new_object();
		struct plan_op bare = *op;
		char *hash;

		/* The object in its one text form: plan_op_format wrote "<sign> <object>   # ". */
		bare.reason = NULL;
		plan_op_format(&bare, &res->observed, buf, sizeof(buf));
		hash = strstr(buf, "   #");
		if (hash)
			*hash = 0;
		json_object_object_add(o, "action",
				       json_object_new_string(plan_action_to_string(op->action)));
		json_object_object_add(o, "type", json_object_new_string(kobj_type_to_string(op->type)));
		json_object_object_add(o, "object", json_object_new_string(buf + 2));
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

static int resolve_iface(const struct ctl *c, const struct pass_result *res, int *ret_ifindex)
{
	const struct klink *l;

	*ret_ifindex = 0;
	if (!c->iface)
		return 0;
	l = kstate_link_by_name(&res->observed, c->iface);
	for (size_t i = 0; !l && i < res->observed.n_links; i++)
		for (size_t k = 0; k < res->observed.links[i].n_altnames; k++)
			if (streq(res->observed.links[i].altnames[k], c->iface))
				l = &res->observed.links[i];
	if (!l)
		return log_error_errno(-ENODEV, "Unknown interface '%s'", c->iface);
	if (!l->has_mac || !md_instance_find(&res->md, l->mac))
		return log_error_errno(-ENOENT, "Interface '%s' is not an ENI listed by IMDS",
				       c->iface);
	*ret_ifindex = l->ifindex;
	return 0;
}

static int run_pass(struct ctl *c, bool apply)
{
	_cleanup_(kernel_freep) struct kernel *k = NULL;
	struct imds_client *imds = NULL;
	struct pass_result res = {0};
	struct down_marks down = {0};
	_cleanup_close_ int lock_fd = -EBADF;
	char buf[768], why[512];
	int ifindex = 0, r, ret = CTL_EXIT_FAILED;

	lock_fd = lock_take(c->state_dir, apply);
	if (lock_fd < 0 && apply)
		return log_error_errno(lock_fd, "Failed to take the lock in '%s': %s", c->state_dir,
				       STRERROR(lock_fd)),
		       CTL_EXIT_FAILED;
	r = kernel_open(&k);
	if (r < 0)
		return log_error_errno(r, "Failed to open netlink: %s", STRERROR(r)),
		       CTL_EXIT_FAILED;
	if (ctl_open_imds(c, &imds) < 0)
		return CTL_EXIT_FAILED;

	/* Read once; IFACE is resolved against what IMDS lists before anything changes. */
	struct pass_options o = {.config = &c->config, .imds = imds, .kernel = k, .dry_run = !apply};
	r = pass_gather(&o, &res);
	if (r == -EIO) {
		log_error("Cannot read IMDS, nothing changed: %s",
			  res.fetch.n_failures ? imds_fetch_describe_failure(&res.fetch, why,
									     sizeof(why))
					       : "the interface listing is missing or malformed");
		goto finish;
	}
	if (r < 0) {
		log_error("Pass failed, nothing changed: %s", STRERROR(r));
		goto finish;
	}
	if (resolve_iface(c, &res, &ifindex) < 0)
		goto finish;
	o.only_ifindex = ifindex;
	r = marks_read(c->state_dir, &down);
	if (r < 0) {
		log_error("Failed to read the down marks in '%s', nothing changed: %s",
			  c->state_dir, STRERROR(r));
		goto finish;
	}
	o.down_macs = (const uint8_t(*)[6])down.macs;
	o.n_down_macs = down.n;
	r = pass_plan_apply(&o, &res);
	if (r < 0) {
		log_error("Pass failed, nothing changed: %s", STRERROR(r));
		goto finish;
	}

	for (size_t i = 0; i < res.md.n_enis; i++)
		if (res.md.enis[i].error)
			log_warning("Left alone: %s", res.md.enis[i].error);

	if (c->json)
		print_plan_json(&res, apply);
	else
		for (size_t i = 0; i < res.plan.n_ops; i++) {
			plan_op_format(&res.plan.ops[i], &res.observed, buf, sizeof(buf));
			if (apply && res.results[i].error) {
				log_error("Failed: %s: %s%s", buf, STRERROR(res.results[i].error),
					  res.results[i].error == -EPERM
						  ? " (ec2netctl needs CAP_NET_ADMIN)"
						  : "");
				continue;
			}
			if (!c->quiet)
				printf("%s\n", buf);
		}
	if (apply && !c->quiet)
		fprintf(stderr,
			"%zu operations (%zu failed, %zu skipped); IMDS %llu requests in %.1f ms; "
			"netlink %llu sent, %llu received; observe %.1f ms, plan %.1f ms, apply %.1f ms\n",
			res.plan.n_ops, res.apply.failed, res.apply.skipped,
			(unsigned long long)res.imds_requests, res.usec_fetch / 1000.0,
			(unsigned long long)res.netlink_sent,
			(unsigned long long)res.netlink_received, res.usec_observe / 1000.0,
			res.usec_plan / 1000.0, res.usec_apply / 1000.0);
	ret = apply && (res.apply.failed > 0 || res.apply.skipped > 0) ? CTL_EXIT_FAILED
								      : CTL_EXIT_OK;
finish:
	marks_done(&down);
	pass_result_done(&res);
	imds_client_free(imds);
	return ret;
}

int verb_plan(struct ctl *c)
{
	return run_pass(c, false);
}

int verb_apply(struct ctl *c)
{
	return run_pass(c, true);
}
