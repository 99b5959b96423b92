/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ec2netctl status: each ENI that IMDS lists and ec2net manages, its addresses, whether the
 * kernel matches IMDS (a dry-run plan limited to the interface is empty) and the daemon's last
 * pass. Only reads: the lock shared, nothing written. Text and --json come from one model. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"
#include "ec2net-defs.h"
#include "log.h"
#include "md-walk.h"
#include "numbering.h"
#include "parse-util.h"

#define STATUS_COLUMNS 80
#define STATUS_LABEL_WIDTH 12

/* The daemon as its state file tells: running when the pid it wrote is an ec2netd. */
struct daemon_info {
	bool running;
	int pid;
	struct json_object *last_pass; /* owned; NULL when not running or not written */
};

static void daemon_info_done(struct daemon_info *d)
{
	json_object_put(d->last_pass);
	*d = (struct daemon_info){0};
}

static bool pid_is_ec2netd(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	return streq(comm, "ec2netd");
}

static void read_daemon_info(const struct ctl *c, struct daemon_info *ret)
{
	struct json_object *o, *pid, *lp;
	char path[4096];

	*ret = (struct daemon_info){0};
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->state_dir, EC2NET_STATE_FILE) >=
	    sizeof(path))
		return;
	/* Missing or unreadable: no daemon has written it, which is what status reports. */
	o = json_object_from_file(path);
	if (!o)
		return;
	if (json_object_object_get_ex(o, "pid", &pid) && json_object_is_type(pid, json_type_int) &&
	    pid_is_ec2netd(json_object_get_int(pid))) {
		ret->running = true;
		ret->pid = json_object_get_int(pid);
		if (json_object_object_get_ex(o, "last-pass", &lp) &&
		    json_object_is_type(lp, json_type_object))
			ret->last_pass = json_object_get(lp);
	}
	json_object_put(o);
}

/* One row of the status: an ENI IMDS lists, and its link if there is one. */
struct status_iface {
	const struct md_eni *eni;
	const struct klink *link; /* NULL: no interface has the MAC */
	bool down;
	struct plan pending; /* the dry-run plan limited to the interface */
};

static const char *iface_state(const struct status_iface *s)
{
	if (s->down)
		return "down";
	if (!s->link)
		return "no-link";
	if (s->eni->error)
		return "invalid";
	if (s->eni->incomplete)
		return "incomplete";
	return s->pending.n_ops == 0 ? "configured" : "pending";
}

/* ---- JSON ---- */

static struct json_object *iface_to_json(const struct ctl_pass *p, const struct status_iface *s)
{
	struct json_object *o = md_eni_to_json(s->eni), *link = NULL, *sec, *pend;
	char buf[768];

	if (!o)
		return NULL;
	json_object_object_add(o, "name", s->link ? json_object_new_string(s->link->name) : NULL);
	json_object_object_add(o, "ifindex",
	                       s->link ? json_object_new_int(s->link->ifindex) : NULL);
	if (s->link) {
		link = json_object_new_object();
		json_object_object_add(link, "up", json_object_new_boolean(s->link->up));
		json_object_object_add(link, "mtu", json_object_new_int64(s->link->mtu));
	}
	json_object_object_add(o, "link", link);
	json_object_object_add(o, "primary-ipv4",
	                       s->eni->ipv4s.n > 0 ? json_object_new_string(ipprefix_format_short(
	                                                     &s->eni->ipv4s.items[0], buf))
	                                           : NULL);
	sec = json_object_new_array();
	for (size_t i = 1; sec && i < s->eni->ipv4s.n; i++)
		json_object_array_add(sec, json_object_new_string(ipprefix_format_short(
		                                   &s->eni->ipv4s.items[i], buf)));
	json_object_object_add(o, "secondary-ipv4s", sec);
	json_object_object_add(o, "down", json_object_new_boolean(s->down));
	json_object_object_add(o, "state", json_object_new_string(iface_state(s)));
	json_object_object_add(o, "in-sync",
	                       json_object_new_boolean(s->link && s->pending.n_ops == 0));
	pend = json_object_new_array();
	for (size_t i = 0; pend && i < s->pending.n_ops; i++) {
		const struct plan_op *op = &s->pending.ops[i];
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "action",
		                       json_object_new_string(plan_action_to_string(op->action)));
		json_object_object_add(x, "type",
		                       json_object_new_string(kobj_type_to_string(op->type)));
		json_object_object_add(x, "object",
		                       json_object_new_string(ctl_op_object(op, &p->res.observed,
		                                                            buf, sizeof(buf))));
		json_object_object_add(x, "reason", json_object_new_string(op->reason));
		json_object_array_add(pend, x);
	}
	json_object_object_add(o, "pending", pend);
	return o;
}

static void print_json(const struct ctl_pass *p, const struct daemon_info *d,
                       const struct status_iface *rows, size_t n)
{
	struct json_object *o = json_object_new_object(), *daemon = json_object_new_object(),
	                   *a = json_object_new_array();

	json_object_object_add(daemon, "running", json_object_new_boolean(d->running));
	json_object_object_add(daemon, "pid", d->running ? json_object_new_int(d->pid) : NULL);
	json_object_object_add(daemon, "last-pass",
	                       d->last_pass ? json_object_get(d->last_pass) : NULL);
	json_object_object_add(o, "daemon", daemon);
	json_object_object_add(o, "primary-mac",
	                       p->res.md.primary_mac_status == MD_KNOWN
	                               ? json_object_new_string(mac_format(p->res.md.primary_mac,
	                                                                   (char[MAC_STRLEN]){0}))
	                               : NULL);
	for (size_t i = 0; a && i < n; i++)
		json_object_array_add(a, iface_to_json(p, &rows[i]));
	json_object_object_add(o, "interfaces", a);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* ---- text ---- */

struct colours {
	const char *good, *warn, *bad, *bold, *off;
};

static struct colours pick_colours(void)
{
	const char *no = getenv("NO_COLOR");

	if (!isatty(STDOUT_FILENO) || (no && *no))
		return (struct colours){"", "", "", "", ""};
	return (struct colours){"\033[0;32m", "\033[0;33m", "\033[0;31m", "\033[1m", "\033[0m"};
}

/* "       Label: item, item, item" wrapped at STATUS_COLUMNS, continuation lines aligned. */
struct field {
	const char *label;
	size_t col;
	bool any;
};

static void field_start(struct field *f, const char *label)
{
	*f = (struct field){.label = label};
}

static void field_add(struct field *f, const char *item)
{
	size_t len = strlen(item);

	if (!f->any) {
		printf("%*s: %s", STATUS_LABEL_WIDTH, f->label, item);
		f->col = STATUS_LABEL_WIDTH + 2 + len;
		f->any = true;
		return;
	}
	if (f->col + 2 + len > STATUS_COLUMNS - 1) {
		printf(",\n%*s%s", STATUS_LABEL_WIDTH + 2, "", item);
		f->col = STATUS_LABEL_WIDTH + 2 + len;
	} else {
		printf(", %s", item);
		f->col += 2 + len;
	}
}

static void field_end(struct field *f)
{
	if (f->any)
		printf("\n");
}

static void field_list(struct field *f, const struct md_list *l, bool short_form)
{
	char buf[IPPREFIX_STRLEN];

	for (size_t i = 0; i < l->n; i++)
		field_add(f, short_form ? ipprefix_format_short(&l->items[i], buf)
		                        : ipprefix_format(&l->items[i], buf));
}

static void print_daemon(const struct daemon_info *d, const struct colours *col)
{
	struct json_object *v;
	const char *result = "?";
	int64_t t = 0, ops = 0;
	char when[64] = "?";
	struct tm tm;
	time_t tt;

	if (!d->running) {
		printf("Daemon: %sno daemon%s (ec2netd is not running); read now from IMDS and the "
		       "kernel\n\n",
		       col->warn, col->off);
		return;
	}
	if (d->last_pass) {
		if (json_object_object_get_ex(d->last_pass, "result", &v))
			result = json_object_get_string(v);
		if (json_object_object_get_ex(d->last_pass, "time", &v))
			t = json_object_get_int64(v);
		if (json_object_object_get_ex(d->last_pass, "operations", &v))
			ops = json_object_get_int64(v);
		tt = (time_t)t;
		if (t > 0 && localtime_r(&tt, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	printf("Daemon: ec2netd running (pid %d); last pass %s: %s%s%s, %lld operations\n\n",
	       d->pid, when, streq(result, "ok") ? col->good : col->bad, result, col->off,
	       (long long)ops);
}

static void print_iface(const struct ctl_pass *p, const struct status_iface *s,
                        const struct colours *col)
{
	const struct md_eni *e = s->eni;
	const char *state = iface_state(s), *c;
	char buf[768], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	struct field f;

	c = streq(state, "configured") ? col->good : streq(state, "down") ? col->warn : col->bad;
	if (s->link)
		printf("%s●%s %s%d: %s%s\n", c, col->off, col->bold, s->link->ifindex,
		       s->link->name, col->off);
	else
		printf("%s●%s %s(no interface)%s\n", c, col->off, col->bold, col->off);

	printf("%*s: %s%s\n", STATUS_LABEL_WIDTH, "MAC", mac_format(e->mac, buf),
	       e->is_primary ? " (primary ENI)" : "");
	if (e->interface_id_status == MD_KNOWN)
		printf("%*s: %s\n", STATUS_LABEL_WIDTH, "ENI", e->interface_id);
	if (e->device_number_status == MD_KNOWN) {
		printf("%*s: %u, card %u", STATUS_LABEL_WIDTH, "Device", e->device_number,
		       md_eni_card(e));
		if (numbering_valid(md_eni_card(e), e->device_number))
			printf(", table %u", numbering_table(md_eni_card(e), e->device_number));
		printf("\n");
	}
	if (s->link)
		printf("%*s: %s, MTU %u\n", STATUS_LABEL_WIDTH, "Link", s->link->up ? "up" : "down",
		       s->link->mtu);

	field_start(&f, "IPv4");
	for (size_t i = 0; i < e->ipv4s.n; i++) {
		char item[IPPREFIX_STRLEN + 16];

		snprintf(item, sizeof(item), "%s%s", ipprefix_format_short(&e->ipv4s.items[i], buf),
		         i == 0 ? " (primary)" : "");
		field_add(&f, item);
	}
	field_end(&f);
	field_start(&f, "IPv6");
	field_list(&f, &e->ipv6s, true);
	field_end(&f);
	field_start(&f, "Subnets");
	field_list(&f, &e->subnet_ipv4, false);
	field_list(&f, &e->subnet_ipv6s, false);
	field_end(&f);
	field_start(&f, "Prefixes");
	field_list(&f, &e->ipv4_prefixes, false);
	field_list(&f, &e->ipv6_prefixes, false);
	field_end(&f);
	field_start(&f, "Elastic IPs");
	for (size_t i = 0; i < e->n_eips; i++) {
		snprintf(buf, sizeof(buf), "%s -> %s",
		         inet_ntop(AF_INET, &e->eips[i].public_ip, a, sizeof(a)),
		         inet_ntop(AF_INET, &e->eips[i].private_ip, b, sizeof(b)));
		field_add(&f, buf);
	}
	/* Public addresses IMDS lists without an association read. */
	if (e->n_eips == 0)
		field_list(&f, &e->public_ipv4s, true);
	field_end(&f);

	printf("%*s: %s", STATUS_LABEL_WIDTH, "State", c);
	if (streq(state, "configured"))
		printf("configured%s (the kernel matches IMDS)\n", col->off);
	else if (streq(state, "down"))
		printf("down%s (ec2ifdown; ec2netd leaves it alone until ec2ifup)\n", col->off);
	else if (streq(state, "no-link"))
		printf("no interface has this MAC%s\n", col->off);
	else if (streq(state, "invalid"))
		printf("left alone%s: %s\n", col->off, e->error);
	else if (streq(state, "incomplete"))
		printf("left alone%s: some metadata could not be read\n", col->off);
	else
		printf("not in sync%s: %zu change%s pending\n", col->off, s->pending.n_ops,
		       s->pending.n_ops == 1 ? "" : "s");
	for (size_t i = 0; i < s->pending.n_ops; i++) {
		const struct plan_op *op = &s->pending.ops[i];

		printf("%*s%s %s\n", STATUS_LABEL_WIDTH + 2, "",
		       op->action == PLAN_ADD   ? "missing:"
		       : op->action == PLAN_DEL ? "extra:"
		                                : "differs:",
		       ctl_op_object(op, &p->res.observed, buf, sizeof(buf)));
	}
}

/* ---- the verb ---- */

static void rows_done(struct status_iface *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		plan_done(&rows[i].pending);
	free(rows);
}

int verb_status(struct ctl *c)
{
	_cleanup_(ctl_pass_done) struct ctl_pass p = {.lock_fd = -EBADF};
	_cleanup_(daemon_info_done) struct daemon_info d = {0};
	const struct klink *only = NULL;
	struct status_iface *rows = NULL;
	size_t n = 0;
	int ret = CTL_EXIT_FAILED;

	if (ctl_pass_begin(c, &p, false) < 0)
		return CTL_EXIT_FAILED;
	if (c->iface && ctl_resolve_iface(&p, c->iface, &only) < 0)
		return CTL_EXIT_FAILED;
	if (ctl_pass_read_marks(c, &p) < 0)
		return CTL_EXIT_FAILED;
	read_daemon_info(c, &d);

	rows = calloc(p.res.md.n_enis ? p.res.md.n_enis : 1, sizeof(*rows));
	if (!rows)
		return log_error_errno(-ENOMEM, "Out of memory"), CTL_EXIT_FAILED;
	for (size_t i = 0; i < p.res.md.n_enis; i++) {
		const struct md_eni *e = &p.res.md.enis[i];
		const struct klink *l = kstate_link_by_mac(&p.res.observed, e->mac);
		struct status_iface *s = &rows[n];

		if (only && l != only)
			continue;
		if (config_is_unmanaged(&c->config, l ? l->name : NULL, e->mac))
			continue;
		*s = (struct status_iface){.eni = e, .link = l};
		if (l) {
			if (ctl_pass_plan(c, &p, l->ifindex, true) < 0)
				goto finish;
			s->pending = p.res.plan;
			p.res.plan = (struct plan){0};
		}
		s->down = marks_has(&p.down, e->mac);
		n++;
	}

	if (c->json)
		print_json(&p, &d, rows, n);
	else {
		struct colours col = pick_colours();

		print_daemon(&d, &col);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				printf("\n");
			print_iface(&p, &rows[i], &col);
		}
		if (n == 0)
			printf("No managed interface.\n");
	}
	ret = CTL_EXIT_OK;
finish:
	rows_done(rows, n);
	return ret;
}
