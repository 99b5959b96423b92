/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "array.h"
#include "backoff.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "imds-fetch.h"
#include "kernel.h"
#include "lock.h"
#include "log.h"
#include "marks.h"
#include "macro.h"
#include "manager.h"
#include "md-walk.h"
#include "notify.h"
#include "numbering.h"
#include "parse-util.h"
#include "pass.h"
#include "rtnl-watch.h"

/* IMDS lag: retry an interface from about 50 ms, capped at 3 s, for 3 minutes. */
#define RETRY_INITIAL_USEC (50 * USEC_PER_MSEC)
#define RETRY_MAX_USEC (3 * USEC_PER_SEC)
#define RETRY_GIVE_UP_USEC (180 * USEC_PER_SEC)
/* Drift: more than DRIFT_MAX repairs in DRIFT_WINDOW: stop repairing for DRIFT_HOLDOFF. */
#define DRIFT_MAX 10
#define DRIFT_WINDOW_USEC (10 * USEC_PER_SEC)
#define DRIFT_HOLDOFF_USEC (30 * USEC_PER_SEC)

/* What the daemon knows about one interface beyond what a pass observes. */
struct iface {
	int ifindex; /* 0: the bucket of rules (they belong to no interface) */
	char name[IFNAMSIZ];
	bool tracked;	    /* seen added: retry while IMDS does not describe it */
	bool waiting;	    /* a retry is scheduled at retry_at */
	bool gave_up;
	unsigned attempt;
	uint32_t why_hash; /* of the last reason logged for waiting */
	uint64_t wait_since, retry_at;
	uint64_t repairs[DRIFT_MAX + 1]; /* ring of drift repair times */
	unsigned n_repairs;
	uint64_t suppressed_until;
};

struct manager {
	sd_event *event;
	struct manager_options opts;
	struct config config;
	const char *endpoints_storage[2];
	struct imds_client *imds;
	struct kernel *kernel;
	struct uevent_watch *uevent;
	struct rtnl_watch *rtnl;
	sd_event_source *defer, *retry_timer, *refresh_timer;

	bool dirty_all, need_fetch;
	int *dirty;
	size_t n_dirty, cap_dirty;

	struct iface *ifaces;
	size_t n_ifaces, cap_ifaces;

	struct md_instance md; /* from the last successful fetch */
	bool have_md;
	bool imds_failing;
	bool ready;
	struct json_object *state_ifaces; /* managed interfaces, from the last good pass */
};

static uint64_t now_usec(struct manager *m)
{
	uint64_t t = 0;

	(void)sd_event_now(m->event, CLOCK_MONOTONIC, &t);
	return t;
}

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static uint32_t random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (uint32_t)random();
	return v;
}

static const char *fmt_usec(uint64_t usec, char *buf, size_t size)
{
	if (usec >= USEC_PER_SEC)
		snprintf(buf, size, "%.1fs", (double)usec / USEC_PER_SEC);
	else
		snprintf(buf, size, "%.1f ms", (double)usec / USEC_PER_MSEC);
	return buf;
}

/* ---- interfaces ---- */

static struct iface *iface_find(struct manager *m, int ifindex)
{
	for (size_t i = 0; i < m->n_ifaces; i++)
		if (m->ifaces[i].ifindex == ifindex)
			return &m->ifaces[i];
	return NULL;
}

static struct iface *iface_get(struct manager *m, int ifindex)
{
	struct iface *f = iface_find(m, ifindex);

	if (f)
		return f;
	struct iface n = {.ifindex = ifindex};

	if (ARRAY_APPEND(m->ifaces, m->n_ifaces, m->cap_ifaces, n) < 0)
		return NULL;
	return &m->ifaces[m->n_ifaces - 1];
}

static void iface_forget(struct manager *m, int ifindex)
{
	for (size_t i = 0; i < m->n_ifaces; i++)
		if (m->ifaces[i].ifindex == ifindex) {
			m->ifaces[i] = m->ifaces[--m->n_ifaces];
			return;
		}
}

/* ---- scheduling ---- */

static void schedule(struct manager *m)
{
	(void)sd_event_source_set_enabled(m->defer, SD_EVENT_ONESHOT);
}

void manager_mark_dirty(struct manager *m, int ifindex, bool fetch)
{
	if (fetch)
		m->need_fetch = true;
	if (ifindex <= 0)
		m->dirty_all = true;
	else {
		bool found = false;

		for (size_t i = 0; i < m->n_dirty; i++)
			found = found || m->dirty[i] == ifindex;
		if (!found && ARRAY_APPEND(m->dirty, m->n_dirty, m->cap_dirty, ifindex) < 0)
			m->dirty_all = true;
	}
	schedule(m);
}

void manager_link_added(struct manager *m, int ifindex, const char *ifname)
{
	struct iface *f;

	if (ifindex <= 0) { /* lost events */
		manager_mark_dirty(m, 0, true);
		return;
	}
	f = iface_get(m, ifindex);
	if (f) {
		*f = (struct iface){.ifindex = ifindex, .tracked = true, .wait_since = mono_usec()};
		snprintf(f->name, sizeof(f->name), "%s", ifname ? ifname : "");
	}
	log_debug("%s: added (ifindex %d)", ifname ? ifname : "?", ifindex);
	manager_mark_dirty(m, ifindex, true);
}

void manager_link_removed(struct manager *m, int ifindex, const char *ifname)
{
	log_debug("%s: removed (ifindex %d)", ifname ? ifname : "?", ifindex);
	if (ifindex > 0)
		iface_forget(m, ifindex);
	/* A full pass: the planner deletes owned rules whose table no present ENI has. */
	manager_mark_dirty(m, 0, false);
}

static void on_uevent(void *userdata, bool add, int ifindex, const char *ifname)
{
	struct manager *m = userdata;

	if (add)
		manager_link_added(m, ifindex, ifname);
	else
		manager_link_removed(m, ifindex, ifname);
}

static void on_rtnl(void *userdata, int ifindex, bool resync)
{
	struct manager *m = userdata;
	struct iface *f;

	if (resync) {
		manager_mark_dirty(m, 0, true);
		return;
	}
	f = iface_find(m, ifindex);
	if (f && f->suppressed_until > now_usec(m))
		return; /* backing off from a fight; the timer brings it back */
	manager_mark_dirty(m, ifindex, false);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void rearm_retry_timer(struct manager *m)
{
	uint64_t next = UINT64_MAX;
	int r;

	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct iface *f = &m->ifaces[i];

		if (f->waiting && f->retry_at < next)
			next = f->retry_at;
		if (f->suppressed_until && f->suppressed_until < next)
			next = f->suppressed_until;
	}
	if (next == UINT64_MAX) {
		if (m->retry_timer)
			(void)sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
		return;
	}
	if (!m->retry_timer) {
		r = sd_event_add_time(m->event, &m->retry_timer, CLOCK_MONOTONIC, next,
				      USEC_PER_MSEC, on_retry_timer, m);
		if (r < 0)
			log_warning_errno(r, "Failed to add the retry timer: %s", STRERROR(r));
		return;
	}
	(void)sd_event_source_set_time(m->retry_timer, next);
	(void)sd_event_source_set_enabled(m->retry_timer, SD_EVENT_ONESHOT);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;
	uint64_t now = now_usec(m);

	for (size_t i = 0; i < m->n_ifaces; i++) {
		struct iface *f = &m->ifaces[i];

		if (f->waiting && f->retry_at <= now) {
			f->waiting = false;
			manager_mark_dirty(m, f->ifindex, true);
		}
		if (f->suppressed_until && f->suppressed_until <= now) {
			f->suppressed_until = 0;
			f->n_repairs = 0;
			manager_mark_dirty(m, f->ifindex, false);
		}
	}
	rearm_retry_timer(m);
	return 0;
}

static uint64_t refresh_interval(const struct manager *m)
{
	return m->opts.refresh_usec >= 0 ? (uint64_t)m->opts.refresh_usec : m->config.refresh_usec;
}

static int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void rearm_refresh_timer(struct manager *m)
{
	uint64_t iv = refresh_interval(m), now = 0, next;
	int r;

	if (iv == 0) {
		if (m->refresh_timer)
			(void)sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_OFF);
		return;
	}
	/* ±10 % jitter, so that a fleet does not read IMDS in step. */
	next = iv - iv / 10 + (uint64_t)((double)(iv / 5) * (random_u32() / (double)UINT32_MAX));
	(void)sd_event_now(m->event, CLOCK_BOOTTIME, &now);
	next += now;
	if (!m->refresh_timer) {
		r = sd_event_add_time(m->event, &m->refresh_timer, CLOCK_BOOTTIME, next,
				      iv / 20 > USEC_PER_SEC ? USEC_PER_SEC : iv / 20 + 1,
				      on_refresh_timer, m);
		if (r < 0)
			log_warning_errno(r, "Failed to add the refresh timer: %s", STRERROR(r));
		return;
	}
	(void)sd_event_source_set_time(m->refresh_timer, next);
	(void)sd_event_source_set_enabled(m->refresh_timer, SD_EVENT_ONESHOT);
}

static int on_refresh_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	log_debug("Refresh");
	manager_mark_dirty(m, 0, true);
	rearm_refresh_timer(m);
	return 0;
}

/* ---- after a pass: reporting ---- */

struct counts {
	int ifindex; /* 0: rules that belong to no present interface */
	size_t added, changed, removed, failed;
};

static const struct md_eni *eni_of_link(const struct pass_result *res, const struct klink *l)
{
	return l && l->has_mac ? md_instance_find(&res->md, l->mac) : NULL;
}

static int op_ifindex(const struct pass_result *res, const struct plan_op *op)
{
	int ifindex = plan_op_ifindex(op);

	if (ifindex > 0 || (op->type != KOBJ_ROUTE && op->type != KOBJ_RULE))
		return ifindex;
	/* By table: the interface whose ENI owns it. */
	uint32_t table = op->type == KOBJ_RULE ? op->rule.table : op->route.table;
	for (size_t i = 0; i < res->observed.n_links; i++) {
		const struct md_eni *e = eni_of_link(res, &res->observed.links[i]);

		if (e && e->device_number_status == MD_KNOWN &&
		    numbering_valid(md_eni_card(e), e->device_number) &&
		    numbering_table(md_eni_card(e), e->device_number) == table)
			return res->observed.links[i].ifindex;
	}
	return 0;
}

static void log_iface(int level, const struct pass_result *res, int ifindex, const char *fmt,
		      ...) _printf_(4, 5);

static void log_iface(int level, const struct pass_result *res, int ifindex, const char *fmt,
		      ...)
{
	const struct klink *l = ifindex > 0 ? kstate_link_by_index(&res->observed, ifindex) : NULL;
	const struct md_eni *e = eni_of_link(res, l);
	char f_interface[IFNAMSIZ + 16], f_ifname[IFNAMSIZ + 16], f_mac[MAC_STRLEN + 8],
		f_eni[64], mac[MAC_STRLEN], msg[1024];
	const char *fields[5] = {0};
	size_t n = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l) {
		snprintf(f_interface, sizeof(f_interface), "INTERFACE=%s", l->name);
		snprintf(f_ifname, sizeof(f_ifname), "IFNAME=%s", l->name);
		fields[n++] = f_interface;
		fields[n++] = f_ifname;
		if (l->has_mac) {
			snprintf(f_mac, sizeof(f_mac), "MAC=%s", mac_format(l->mac, mac));
			fields[n++] = f_mac;
		}
		if (e && e->interface_id_status == MD_KNOWN) {
			snprintf(f_eni, sizeof(f_eni), "ENI=%s", e->interface_id);
			fields[n++] = f_eni;
		}
	}
	(void)log_internal(level, 0, fields, "%s: %s", l ? l->name : "rules", msg);
}

/* One notice per interface the pass changed; an error per failed operation. Fills *touched
 * with the ifindexes changed (0 for rules of no interface). */
static void report_ops(struct manager *m, const struct pass_result *res, uint64_t usec,
		       struct counts **ret, size_t *ret_n)
{
	struct counts *c = NULL;
	size_t n = 0, cap = 0;
	char buf[768], t[32];

	for (size_t i = 0; i < res->plan.n_ops; i++) {
		const struct plan_op *op = &res->plan.ops[i];
		int ifindex = op_ifindex(res, op);
		struct counts *x = NULL;

		for (size_t k = 0; k < n; k++)
			if (c[k].ifindex == ifindex)
				x = &c[k];
		if (!x) {
			if (ARRAY_APPEND(c, n, cap, (struct counts){.ifindex = ifindex}) < 0)
				continue;
			x = &c[n - 1];
		}
		plan_op_format(op, &res->observed, buf, sizeof(buf));
		if (res->results && res->results[i].error) {
			x->failed++;
			if (!res->results[i].skipped)
				log_iface(LOG_ERR, res, ifindex, "Failed: %s: %s", buf,
					  STRERROR(res->results[i].error));
			continue;
		}
		log_debug("%s", buf);
		if (op->action == PLAN_ADD)
			x->added++;
		else if (op->action == PLAN_DEL)
			x->removed++;
		else
			x->changed++;
	}
	for (size_t k = 0; k < n; k++) {
		char extra[64] = "";

		if (c[k].changed)
			snprintf(extra, sizeof(extra), ", %zu changed", c[k].changed);
		if (c[k].failed)
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
				 ", %zu failed", c[k].failed);
		log_iface(LOG_NOTICE, res, c[k].ifindex, "%zu added, %zu removed%s in %s",
			  c[k].added, c[k].removed, extra, fmt_usec(usec, t, sizeof(t)));
	}
	*ret = c;
	*ret_n = n;
}

/* Drift repairs: a pass not started by IMDS that changed an interface. Too many in the window:
 * stop fighting for a while. */
static void account_repairs(struct manager *m, const struct pass_result *res,
			    const struct counts *c, size_t n)
{
	uint64_t now = now_usec(m);

	for (size_t k = 0; k < n; k++) {
		struct iface *f;
		unsigned recent = 0;

		if (c[k].added + c[k].changed + c[k].removed == 0)
			continue;
		f = iface_get(m, c[k].ifindex);
		if (!f)
			continue;
		f->repairs[f->n_repairs++ % ELEMENTSOF(f->repairs)] = now;
		for (size_t i = 0; i < ELEMENTSOF(f->repairs) && i < f->n_repairs; i++)
			if (f->repairs[i] + DRIFT_WINDOW_USEC > now)
				recent++;
		if (recent > DRIFT_MAX) {
			char t[32];

			f->suppressed_until = now + DRIFT_HOLDOFF_USEC;
			log_iface(LOG_WARNING, res, c[k].ifindex,
				  "Repaired %u times in %s, another agent keeps changing it; "
				  "not repairing for %s",
				  recent, fmt_usec(DRIFT_WINDOW_USEC, (char[32]){0}, 32),
				  fmt_usec(DRIFT_HOLDOFF_USEC, t, sizeof(t)));
		}
	}
}

/* A secondary ENI with device-number 0 and no network card is IMDS not being ready yet (the
 * primary is device 0): configuring it would claim the primary's table. */
static void hold_unready_enis(struct pass_result *res)
{
	if (res->md.primary_mac_status != MD_KNOWN)
		return;
	for (size_t i = 0; i < res->md.n_enis; i++) {
		struct md_eni *e = &res->md.enis[i];

		if (!e->is_primary && e->device_number_status == MD_KNOWN &&
		    e->device_number == 0 && e->network_card_status != MD_KNOWN && !e->error)
			md_eni_set_error(e, "device-number 0 on a secondary ENI, IMDS not ready");
	}
}

static bool eni_ready(const struct md_eni *e)
{
	return e && md_eni_is_usable(e);
}

/* FNV-1a: tells one log message from another. */
static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Why an incomplete ENI could not be read: the path, and the cause (a 404 for a listed key, or
 * the failure the fetch recorded: its first, which names its own path when it is another). */
static const char *describe_unread(const struct pass_result *res, const struct md_eni *e,
				   char *buf, size_t size)
{
	const struct imds_fetch *f = &res->fetch;
	char mac[MAC_STRLEN], path[256], cause[512];

	if (!e->unread_key)
		return "IMDS keys could not be read";
	snprintf(path, sizeof(path), "meta-data/network/interfaces/macs/%s/%s",
		 mac_format(e->mac, mac), e->unread_key);
	if (e->unread_absent)
		snprintf(cause, sizeof(cause), "HTTP 404 although its directory lists it");
	else if (f->n_failures == 0)
		snprintf(cause, sizeof(cause), "unknown error");
	else if (!streq(f->failed_path, path))
		imds_fetch_describe_failure(f, cause, sizeof(cause));
	else if (f->failure.http_status > 0)
		snprintf(cause, sizeof(cause), "HTTP %ld (%s)", f->failure.http_status,
			 STRERROR(f->failure.error));
	else
		snprintf(cause, sizeof(cause), "%s", STRERROR(f->failure.error));
	snprintf(buf, size, "IMDS '%s' could not be read: %s", path, cause);
	return buf;
}

/* Retry state after a pass that read IMDS (ok) or failed to (!ok). */
static void update_retries(struct manager *m, const struct pass_result *res, bool ok)
{
	uint64_t now = now_usec(m);

	if (ok)
		/* Links IMDS lists but cannot be configured yet are retried too (boot). */
		for (size_t i = 0; i < res->observed.n_links; i++) {
			const struct klink *l = &res->observed.links[i];
			const struct md_eni *e = eni_of_link(res, l);
			struct iface *f;

			if (!e || eni_ready(e))
				continue;
			f = iface_get(m, l->ifindex);
			if (f && !f->gave_up && !f->tracked) {
				f->tracked = true;
				f->wait_since = now;
			}
		}

	for (size_t i = 0; i < m->n_ifaces; i++) {
		struct iface *f = &m->ifaces[i];
		const struct klink *l;
		const struct md_eni *e;
		const char *why;
		uint64_t delay;
		char t[32], unread[1024];

		if (f->ifindex <= 0 || !f->tracked || f->waiting)
			continue;
		l = kstate_link_by_index(&res->observed, f->ifindex);
		if (!l) { /* gone; the remove event forgets it */
			f->tracked = false;
			continue;
		}
		snprintf(f->name, sizeof(f->name), "%s", l->name);
		e = eni_of_link(res, l);
		if (ok && eni_ready(e)) {
			if (f->attempt > 0)
				log_iface(LOG_INFO, res, f->ifindex,
					  "IMDS describes it now, after %s",
					  fmt_usec(now - f->wait_since, t, sizeof(t)));
			log_iface(LOG_DEBUG, res, f->ifindex, "Configured %s after its add event",
				  fmt_usec(mono_usec() - f->wait_since, t, sizeof(t)));
			f->tracked = false;
			f->attempt = 0;
			continue;
		}
		if (f->gave_up)
			continue;
		why = !ok	      ? "IMDS cannot be read"
		      : !e	      ? "not listed in IMDS yet"
		      : e->error      ? e->error
		      : e->incomplete ? describe_unread(res, e, unread, sizeof(unread))
				      : "IMDS keys missing";
		if (now - f->wait_since > RETRY_GIVE_UP_USEC) {
			f->gave_up = true;
			log_iface(LOG_WARNING, res, f->ifindex,
				  "%s for %s, giving up until the next event", why,
				  fmt_usec(now - f->wait_since, t, sizeof(t)));
			continue;
		}
		delay = backoff_delay_usec(f->attempt, RETRY_INITIAL_USEC, RETRY_MAX_USEC,
					   random_u32());
		/* Each new reason once at info level, its repetitions at debug. */
		log_iface(f->attempt == 0 || f->why_hash != str_hash(why) ? LOG_INFO : LOG_DEBUG,
			  res, f->ifindex, "%s, retrying in %s", why, fmt_usec(delay, t, sizeof(t)));
		f->why_hash = str_hash(why);
		f->attempt++;
		f->waiting = true;
		f->retry_at = now + delay;
	}
	rearm_retry_timer(m);
}

static size_t count_managed(const struct manager *m, const struct pass_result *res)
{
	size_t n = 0;

	for (size_t i = 0; i < res->observed.n_links; i++) {
		const struct klink *l = &res->observed.links[i];
		const struct md_eni *e = eni_of_link(res, l);

		if (eni_ready(e) && !config_is_unmanaged(&m->config, l->name, l->mac))
			n++;
	}
	return n;
}

static struct json_object *build_state_ifaces(const struct manager *m,
					      const struct pass_result *res)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < res->observed.n_links; i++) {
		const struct klink *l = &res->observed.links[i];
		const struct md_eni *e = eni_of_link(res, l);
		struct json_object *o;

		if (!eni_ready(e) || config_is_unmanaged(&m->config, l->name, l->mac))
			continue;
		o = md_eni_to_json(e);
		if (!o)
			continue;
		json_object_object_add(o, "name", json_object_new_string(l->name));
		json_object_object_add(o, "ifindex", json_object_new_int(l->ifindex));
		json_object_array_add(a, o);
	}
	return a;
}

static void write_state(struct manager *m, const char *result, const struct pass_result *res,
			uint64_t usec)
{
	struct json_object *o = json_object_new_object(), *p = json_object_new_object();
	char path[4096], tmp[4096];
	struct timespec ts;

	if (!o || !p) {
		json_object_put(o);
		json_object_put(p);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(p, "time", json_object_new_int64(ts.tv_sec));
	json_object_object_add(p, "result", json_object_new_string(result));
	json_object_object_add(p, "operations", json_object_new_int64((int64_t)res->plan.n_ops));
	json_object_object_add(p, "failed", json_object_new_int64((int64_t)res->apply.failed));
	json_object_object_add(p, "usec", json_object_new_int64((int64_t)usec));
	json_object_object_add(o, "last-pass", p);
	json_object_object_add(o, "interfaces", m->state_ifaces ? json_object_get(m->state_ifaces)
								: json_object_new_array());
	snprintf(path, sizeof(path), "%s/%s", m->opts.state_dir, EC2NET_STATE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", m->opts.state_dir, EC2NET_STATE_FILE);
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE) < 0 ||
	    rename(tmp, path) < 0) {
		log_warning("Failed to write '%s': %s", path, strerror(errno));
		(void)unlink(tmp);
	}
	json_object_put(o);
}

/* ---- the pass ---- */

static int run_pass(struct manager *m)
{
	struct pass_options o = {.config = &m->config, .imds = m->imds, .kernel = m->kernel};
	struct pass_result res = {0};
	struct down_marks down = {0};
	_cleanup_close_ int lock_fd = -EBADF;
	bool fetch = m->need_fetch || !m->have_md, drift = !m->need_fetch;
	struct counts *c = NULL;
	size_t n_c = 0;
	uint64_t t0 = mono_usec(), usec;
	char why[512];
	int r;

	o.only_ifindex = !m->dirty_all && m->n_dirty == 1 ? m->dirty[0] : 0;
	m->dirty_all = m->need_fetch = false;
	m->n_dirty = 0;

	lock_fd = lock_take(m->opts.state_dir, true);
	if (lock_fd < 0)
		log_warning_errno(lock_fd, "Failed to take the lock in '%s', going on: %s",
				  m->opts.state_dir, STRERROR(lock_fd));

	if (fetch) {
		r = pass_gather(&o, &res);
		if (r == -EIO) {
			(void)log_internal(m->imds_failing ? LOG_DEBUG : LOG_WARNING, 0, NULL,
					   "Cannot read IMDS, nothing changed: %s",
					   res.fetch.n_failures
						   ? imds_fetch_describe_failure(&res.fetch, why,
										 sizeof(why))
						   : "'meta-data/network/interfaces/macs/' "
						     "answered 404 or is malformed");
			m->imds_failing = true;
			update_retries(m, &res, false);
			write_state(m, "imds-error", &res, mono_usec() - t0);
			notify_status("IMDS cannot be read, nothing changed");
			goto finish;
		}
		if (r < 0)
			goto failed;
		if (m->imds_failing)
			log_info("IMDS can be read again");
		m->imds_failing = false;
		hold_unready_enis(&res);
	} else {
		r = kernel_observe(m->kernel, &res.observed);
		if (r < 0)
			goto failed;
		res.md = m->md;
		m->md = (struct md_instance){0};
		m->have_md = false;
	}

	r = marks_read(m->opts.state_dir, &down);
	if (r < 0)
		log_warning_errno(r, "Failed to read the down marks in '%s', ignoring: %s",
				  m->opts.state_dir, STRERROR(r));
	o.down_macs = (const uint8_t(*)[6])down.macs;
	o.n_down_macs = down.n;
	r = pass_plan_apply(&o, &res);
	if (r < 0)
		goto failed;

	usec = mono_usec() - t0;
	report_ops(m, &res, usec, &c, &n_c);
	if (drift && res.plan.n_ops > 0)
		account_repairs(m, &res, c, n_c);
	if (fetch)
		update_retries(m, &res, true);
	else
		rearm_retry_timer(m);
	if (res.plan.n_ops == 0)
		log_debug("Pass: nothing to do (%s, IMDS %llu requests, netlink %llu sent)",
			  fmt_usec(usec, why, sizeof(why)), (unsigned long long)res.imds_requests,
			  (unsigned long long)res.netlink_sent);

	json_object_put(m->state_ifaces);
	m->state_ifaces = build_state_ifaces(m, &res);
	write_state(m, res.apply.failed ? "failed" : "ok", &res, usec);
	notify_status("%zu interfaces managed, last pass %zu ops in %.1f ms",
		      count_managed(m, &res), res.plan.n_ops, usec / 1000.0);

	/* Keep the metadata for passes that only need the kernel (drift, detach). */
	md_instance_done(&m->md);
	m->md = res.md;
	res.md = (struct md_instance){0};
	m->have_md = true;
	goto finish;

failed:
	log_error("Pass failed, nothing changed: %s", STRERROR(r));
	notify_status("Pass failed: %s", STRERROR(r));
	m->need_fetch = true; /* next event retries from scratch */
finish:
	free(c);
	marks_done(&down);
	pass_result_done(&res);
	if (!m->ready) {
		m->ready = true;
		notify_ready();
		log_info("Started");
	}
	return 0;
}

static int on_defer(sd_event_source *s, void *userdata)
{
	return run_pass(userdata);
}

/* ---- lifecycle ---- */

static int open_imds(struct manager *m, struct imds_client **ret)
{
	struct imds_options o;
	int r;

	imds_options_from_config(&m->config, imds_endpoint_override(m->opts.imds_endpoint),
				 m->endpoints_storage, &o);
	r = imds_client_new(&o, ret);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the IMDS client: %s", STRERROR(r));
	return 0;
}

int manager_new(sd_event *e, const struct manager_options *o, struct config *config,
		struct manager **ret)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->event = sd_event_ref(e);
	m->opts = *o;
	m->config = *config;
	*config = (struct config){0};
	r = open_imds(m, &m->imds);
	if (r < 0)
		goto fail;
	r = kernel_open(&m->kernel);
	if (r < 0) {
		log_error("Failed to open netlink: %s", STRERROR(r));
		goto fail;
	}
	*ret = m;
	return 0;
fail:
	manager_free(m);
	return r;
}

int manager_start(struct manager *m)
{
	int r;

	r = sd_event_add_defer(m->event, &m->defer, on_defer, m);
	if (r < 0)
		return log_error_errno(r, "Failed to add the pass source: %s", STRERROR(r));
	/* After every pending event: a burst of events is one pass. */
	(void)sd_event_source_set_priority(m->defer, SD_EVENT_PRIORITY_IDLE);
	(void)sd_event_source_set_enabled(m->defer, SD_EVENT_OFF);

	r = rtnl_watch_new(m->event, on_rtnl, m, &m->rtnl);
	if (r < 0)
		return log_error_errno(r, "Failed to watch rtnetlink: %s", STRERROR(r));
	rtnl_watch_ignore_port(m->rtnl, kernel_get_port(m->kernel));
	r = uevent_watch_new(m->event, m->opts.uevent_source, on_uevent, m, &m->uevent);
	if (r < 0)
		return log_error_errno(r, "Failed to watch %s uevents: %s",
				       uevent_source_to_string(m->opts.uevent_source),
				       STRERROR(r));
	log_debug("Watching %s uevents", uevent_source_to_string(uevent_watch_source(m->uevent)));
	rearm_refresh_timer(m);
	manager_mark_dirty(m, 0, true); /* the startup pass */
	return 0;
}

void manager_reload(struct manager *m)
{
	struct diag_list diags = {0};
	struct config c = {0};
	struct imds_client *imds = NULL;
	int r;

	notify_reloading();
	r = config_init(&c);
	if (r >= 0)
		r = config_load(&c, NULL, m->opts.config_file, &diags);
	for (size_t i = 0; i < diags.n; i++)
		log_error("%s: %s", diags.items[i].where, diags.items[i].what);
	diag_list_done(&diags);
	if (r < 0) {
		log_error("Failed to reload the configuration, keeping the old one: %s",
			  STRERROR(r));
		config_done(&c);
	} else {
		config_done(&m->config);
		m->config = c;
		if (open_imds(m, &imds) >= 0) {
			imds_client_free(m->imds);
			m->imds = imds;
		}
		rearm_refresh_timer(m);
		log_info("Configuration reloaded");
	}
	manager_mark_dirty(m, 0, true);
	(void)sd_notify(false, "READY=1");
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	sd_event_source_disable_unref(m->defer);
	sd_event_source_disable_unref(m->retry_timer);
	sd_event_source_disable_unref(m->refresh_timer);
	uevent_watch_free(m->uevent);
	rtnl_watch_free(m->rtnl);
	kernel_free(m->kernel);
	imds_client_free(m->imds);
	md_instance_done(&m->md);
	json_object_put(m->state_ifaces);
	config_done(&m->config);
	free(m->dirty);
	free(m->ifaces);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}
