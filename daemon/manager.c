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
#include "imds-event.h"
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
/* Drift: DRIFT_MAX repairs in DRIFT_WINDOW: stop repairing for DRIFT_HOLDOFF. */
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
	uint64_t added_gen; /* the first IMDS read that can describe it (manager.fetch_gen) */
	bool has_mac;	    /* mac seen by a pass */
	uint8_t mac[6];
};

struct manager {
	sd_event *event;
	struct manager_options opts;
	struct config config;
	const char *endpoints_storage[2];
	struct imds_client *imds;
	struct imds_event *imds_event;
	struct imds_walk *walk; /* the IMDS read in flight (or done, pass pending) */
	int walk_scope;		/* the interface it is for; 0: all */
	bool walk_one;		/* it reads walk_mac only */
	uint8_t walk_mac[6];
	uint64_t walk_requests0;
	uint64_t fetch_gen;   /* reads started */
	uint64_t fetched_gen; /* the last read that succeeded */
	struct kernel *kernel;
	struct uevent_watch *uevent;
	struct rtnl_watch *rtnl;
	sd_event_source *defer, *retry_timer, *refresh_timer;

	bool dirty_all, need_fetch;
	bool dirty_fetch; /* an IMDS event is among the dirty marks */
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
		m->need_fetch = m->dirty_fetch = true;
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
		*f = (struct iface){.ifindex = ifindex,
				    .tracked = true,
				    .wait_since = mono_usec(),
				    .added_gen = m->fetch_gen + 1};
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

	/* Lost notifications (ENOBUFS) say nothing about IMDS: a full pass on the kept metadata
	 * puts the kernel right. New links still come as uevents, with their own read. Reading
	 * IMDS here doubled the requests of every large cold start (its own echoes overflow the
	 * socket). */
	if (resync) {
		manager_mark_dirty(m, 0, false);
		return;
	}
	/* A link udev has not processed yet (not renamed yet, maybe): its udev event starts the
	 * pass. */
	if (ifindex > 0 && m->uevent && !uevent_watch_link_ready(m->uevent, ifindex))
		return;
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
	/* A read, and the full pass that follows it; nothing changed in the kernel, so no
	 * kernel-only pass before the read (it cost a dump and a plan: 83 ms for 64 ENIs). */
	m->need_fetch = true;
	schedule(m);
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
		int ifindex = pass_op_ifindex(res, op);
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

		/* Rules of no present interface are those of a detached ENI: removing them is
		 * the detach, not a fight. */
		if (c[k].ifindex <= 0 || c[k].added + c[k].changed + c[k].removed == 0)
			continue;
		f = iface_get(m, c[k].ifindex);
		if (!f)
			continue;
		f->repairs[f->n_repairs++ % ELEMENTSOF(f->repairs)] = now;
		for (size_t i = 0; i < ELEMENTSOF(f->repairs) && i < f->n_repairs; i++)
			if (f->repairs[i] + DRIFT_WINDOW_USEC > now)
				recent++;
		if (recent >= DRIFT_MAX) {
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

/* Drift hold-off: an interface we stopped fighting for is left alone by every pass until its
 * hold-off ends, as the planner leaves an ENI that IMDS cannot describe (nothing added, nothing
 * deleted). Skipping its events in on_rtnl() is not enough: rule notifications name no
 * interface and start a pass over all of them. The mark lives only while the pass plans. */
static char fought_error[] = "another agent keeps changing it";

static void hold_fought_enis(struct manager *m, struct pass_result *res)
{
	uint64_t now = now_usec(m);

	for (size_t i = 0; i < m->n_ifaces; i++) {
		const struct iface *f = &m->ifaces[i];
		const struct klink *l;

		if (f->ifindex <= 0 || f->suppressed_until <= now)
			continue;
		l = kstate_link_by_index(&res->observed, f->ifindex);
		for (size_t k = 0; l && l->has_mac && k < res->md.n_enis; k++) {
			struct md_eni *e = &res->md.enis[k];

			if (memcmp(e->mac, l->mac, sizeof(l->mac)) == 0 && !e->error)
				e->error = fought_error;
		}
	}
}

static void release_fought_enis(struct pass_result *res)
{
	for (size_t k = 0; k < res->md.n_enis; k++)
		if (res->md.enis[k].error == fought_error)
			res->md.enis[k].error = NULL;
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

/* Retry state after a pass that read IMDS (ok) or failed to (!ok). A pass on the kept
 * metadata (!fresh) only notes the interfaces it configured: whether IMDS describes the others
 * is for the fetch in flight to say. */
static void update_retries(struct manager *m, const struct pass_result *res, bool ok, bool fresh)
{
	uint64_t now = now_usec(m);

	if (ok && fresh)
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
		if (f->gave_up || !fresh)
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
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
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

/* Plans and applies on res (observed and md filled), reports, and keeps the metadata. fresh:
 * md was just read from IMDS; drift: no IMDS event asked for this pass. */
static void pass_finish(struct manager *m, struct pass_options *o, struct pass_result *res,
			bool fresh, bool drift, uint64_t t0)
{
	struct down_marks down = {0};
	struct counts *c = NULL;
	size_t n_c = 0;
	uint64_t usec;
	char buf[64];
	int r;

	r = marks_read(m->opts.state_dir, &down);
	if (r < 0)
		log_warning_errno(r, "Failed to read the down marks in '%s', ignoring: %s",
				  m->opts.state_dir, STRERROR(r));
	o->down_macs = (const uint8_t(*)[6])down.macs;
	o->n_down_macs = down.n;
	hold_fought_enis(m, res);
	r = pass_plan_apply(o, res);
	release_fought_enis(res);
	marks_done(&down);
	if (r < 0) {
		log_error("Pass failed, nothing changed: %s", STRERROR(r));
		notify_status("Pass failed: %s", STRERROR(r));
		m->need_fetch = true; /* next event retries from scratch */
		/* The metadata is still good. */
		if (!m->have_md) {
			m->md = res->md;
			res->md = (struct md_instance){0};
			m->have_md = true;
		}
		return;
	}

	usec = mono_usec() - t0;
	report_ops(m, res, usec, &c, &n_c);
	if (drift && res->plan.n_ops > 0)
		account_repairs(m, res, c, n_c);
	free(c);
	update_retries(m, res, true, fresh);
	if (res->plan.n_ops == 0)
		log_debug("Pass: nothing to do (%s, IMDS %llu requests, netlink %llu sent)",
			  fmt_usec(usec, buf, sizeof(buf)), (unsigned long long)res->imds_requests,
			  (unsigned long long)res->netlink_sent);

	json_object_put(m->state_ifaces);
	m->state_ifaces = build_state_ifaces(m, res);
	write_state(m, res->apply.failed ? "failed" : "ok", res, usec);
	notify_status("%zu interfaces managed, last pass %zu ops in %.1f ms",
		      count_managed(m, res), res->plan.n_ops, usec / 1000.0);

	/* Keep the metadata for passes that only need the kernel (drift, detach). */
	md_instance_done(&m->md);
	m->md = res->md;
	res->md = (struct md_instance){0};
	m->have_md = true;
}

static void pass_ready(struct manager *m)
{
	if (m->ready)
		return;
	m->ready = true;
	notify_ready();
	log_info("Started");
}

static int take_lock(struct manager *m)
{
	int fd = lock_take(m->opts.state_dir, true);

	if (fd < 0)
		log_warning_errno(fd, "Failed to take the lock in '%s', going on: %s",
				  m->opts.state_dir, STRERROR(fd));
	return fd;
}

/* The scope of the next pass: one interface, or 0 for all. Clears the dirty set. */
static int take_dirty(struct manager *m)
{
	int ifindex = !m->dirty_all && m->n_dirty == 1 ? m->dirty[0] : 0;

	m->dirty_all = m->dirty_fetch = false;
	m->n_dirty = 0;
	return ifindex;
}

static bool is_dirty(const struct manager *m)
{
	return m->dirty_all || m->n_dirty > 0;
}

/* Puts what a one-ENI read said about mac into md: e (taken, may be NULL: not listed) replaces
 * the ENI of that MAC, or is added; NULL removes it. */
static int merge_eni(struct md_instance *md, const uint8_t mac[6], struct md_eni *e)
{
	const struct md_eni *old = md_instance_find(md, mac);
	int r;

	if (old) {
		size_t i = (size_t)(old - md->enis);

		md_eni_done(&md->enis[i]);
		md->enis[i] = md->enis[--md->n_enis];
	}
	if (e) {
		r = md_instance_add_take(md, e);
		if (r < 0)
			return r;
	}
	md_instance_sort(md);
	return 0;
}

/* The walk started by start_fetch() is done: observe the kernel now (it may have changed while
 * IMDS was read), plan and apply. */
static void fetched_pass(struct manager *m)
{
	struct pass_options o = {.config = &m->config, .imds = m->imds, .kernel = m->kernel};
	struct pass_result res = {.fetch = {.client = m->imds}};
	_cleanup_close_ int lock_fd = -EBADF;
	uint64_t t0 = mono_usec(), paths = 0, usec_fetch = 0;
	char why[512];
	int r, walk_r;

	if (m->walk_one) {
		struct md_eni eni = {0};

		walk_r = imds_walk_result(m->walk, NULL, &eni, &res.fetch);
		r = pass_fetch_status(walk_r == -ENOENT ? 0 : walk_r, &res.fetch);
		/* One ENI is merged into the kept metadata, never planned alone: an instance of
		 * one ENI would look like "IMDS lists no other". */
		if (r >= 0 && !m->have_md)
			r = -ENODATA;
		if (r >= 0) {
			res.md = m->md;
			m->md = (struct md_instance){0};
			m->have_md = false;
			r = merge_eni(&res.md, m->walk_mac, walk_r == 0 ? &eni : NULL);
		}
		if (walk_r == 0)
			md_eni_done(&eni);
	} else {
		walk_r = imds_walk_result(m->walk, &res.md, NULL, &res.fetch);
		r = pass_fetch_status(walk_r, &res.fetch);
	}
	imds_walk_figures(m->walk, &paths, &usec_fetch);
	m->walk = imds_walk_free(m->walk);
	res.usec_fetch = usec_fetch;
	res.imds_requests = imds_client_stats(m->imds).requests - m->walk_requests0;
	log_debug("IMDS read%s: %llu paths, %llu requests in %s", m->walk_one ? " of one ENI" : "",
		  (unsigned long long)paths, (unsigned long long)res.imds_requests,
		  fmt_usec(usec_fetch, why, sizeof(why)));

	/* Events since the walk started widen the pass. */
	o.only_ifindex = is_dirty(m) ? 0 : m->walk_scope;
	(void)take_dirty(m);

	lock_fd = take_lock(m);
	if (r == -EIO) {
		(void)log_internal(m->imds_failing ? LOG_DEBUG : LOG_WARNING, 0, NULL,
				   "Cannot read IMDS, nothing changed: %s",
				   res.fetch.n_failures
					   ? imds_fetch_describe_failure(&res.fetch, why, sizeof(why))
					   : "'meta-data/network/interfaces/macs/' "
					     "answered 404 or is malformed");
		m->imds_failing = true;
		if (pass_observe(&o, &res) >= 0)
			update_retries(m, &res, false, true);
		write_state(m, "imds-error", &res, mono_usec() - t0);
		notify_status("IMDS cannot be read, nothing changed");
		goto finish;
	}
	if (r >= 0)
		r = pass_observe(&o, &res);
	if (r < 0) {
		log_error("Pass failed, nothing changed: %s", STRERROR(r));
		notify_status("Pass failed: %s", STRERROR(r));
		m->need_fetch = true;
		goto finish;
	}
	if (m->imds_failing)
		log_info("IMDS can be read again");
	m->imds_failing = false;
	if (!m->walk_one)
		m->fetched_gen = m->fetch_gen;
	else
		for (size_t i = 0; i < m->n_ifaces; i++)
			if (m->ifaces[i].ifindex == m->walk_scope)
				m->ifaces[i].added_gen = 0; /* described now */
	pass_finish(m, &o, &res, true, false, t0);
finish:
	pass_result_done(&res);
	pass_ready(m);
}

/* A link added since the last successful read may be an ENI attached again at another device
 * number: the kept metadata would give it the wrong table. Until a read that started after the
 * add says what it is, its ENI counts as incomplete (nothing added, nothing removed). Returns
 * how many ENIs (indexes into res->md.enis, at most n) were held, for the caller to undo. */
static size_t hold_new_links(struct manager *m, struct pass_result *res, size_t *held, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < m->n_ifaces && k < n; i++) {
		const struct iface *f = &m->ifaces[i];
		const struct klink *l;

		if (f->ifindex <= 0 || f->added_gen <= m->fetched_gen)
			continue;
		l = kstate_link_by_index(&res->observed, f->ifindex);
		if (!l || !l->has_mac)
			continue;
		for (size_t e = 0; e < res->md.n_enis && k < n; e++)
			if (memcmp(res->md.enis[e].mac, l->mac, 6) == 0 &&
			    !res->md.enis[e].incomplete) {
				res->md.enis[e].incomplete = true;
				held[k++] = e;
			}
	}
	return k;
}

/* A pass on the kept metadata: the kernel changed (drift, detach, a link IMDS already
 * describes), nothing to read from IMDS for it. */
static void kernel_pass(struct manager *m)
{
	struct pass_options o = {.config = &m->config, .imds = m->imds, .kernel = m->kernel};
	struct pass_result res = {.fetch = {.client = m->imds}};
	_cleanup_close_ int lock_fd = -EBADF;
	bool drift = !m->dirty_fetch;
	uint64_t t0 = mono_usec();
	size_t held[64], n_held;
	int r;

	o.only_ifindex = take_dirty(m);
	lock_fd = take_lock(m);
	r = pass_observe(&o, &res);
	if (r < 0) {
		log_error("Pass failed, nothing changed: %s", STRERROR(r));
		notify_status("Pass failed: %s", STRERROR(r));
		m->need_fetch = true;
		pass_result_done(&res);
		return;
	}
	for (size_t i = 0; i < m->n_ifaces; i++) {
		struct iface *f = &m->ifaces[i];
		const struct klink *l = kstate_link_by_index(&res.observed, f->ifindex);

		if (f->ifindex > 0 && l && l->has_mac) {
			memcpy(f->mac, l->mac, 6);
			f->has_mac = true;
		}
	}
	res.md = m->md;
	m->md = (struct md_instance){0};
	m->have_md = false;
	n_held = hold_new_links(m, &res, held, ELEMENTSOF(held));
	pass_finish(m, &o, &res, false, drift, t0);
	for (size_t i = 0; i < n_held && m->have_md; i++)
		m->md.enis[held[i]].incomplete = false;
	pass_result_done(&res);
	rearm_retry_timer(m);
}

static void on_walk_done(struct imds_walk *w, void *userdata)
{
	struct manager *m = userdata;

	/* The pass runs from the defer source, like every other. */
	schedule(m);
}

/* Starts reading IMDS on the loop; the pass follows when the walk is done. A read for one
 * interface whose MAC is known (hot attach, its retries) reads only that ENI into the kept
 * metadata: about ten requests instead of ten per ENI. */
static void start_fetch(struct manager *m, int scope)
{
	const struct iface *f = scope > 0 ? iface_find(m, scope) : NULL;
	int r;

	m->need_fetch = false;
	m->fetch_gen++;
	m->walk_scope = scope;
	m->walk_one = f && f->has_mac && m->have_md;
	if (m->walk_one)
		memcpy(m->walk_mac, f->mac, 6);
	m->walk_requests0 = imds_client_stats(m->imds).requests;
	r = imds_walk_new(m->imds, m->walk_one ? m->walk_mac : NULL, on_walk_done, m, &m->walk);
	if (r < 0) {
		log_error_errno(r, "Failed to start reading IMDS: %s", STRERROR(r));
		m->walk = NULL;
		m->need_fetch = true;
	}
}

/* Once per loop iteration after the events: finish a fetch that is done, start one that is
 * wanted, and run what only needs the kernel at once, even while IMDS is being read. */
static int run_pass(struct manager *m)
{
	if (m->walk && imds_walk_is_done(m->walk))
		fetched_pass(m);
	/* Without metadata every event needs a read; but a failed read is not retried here,
	 * only by the per-interface retries, the refresh and new events. */
	bool fetch = (m->need_fetch || (!m->have_md && is_dirty(m))) && !m->walk;
	int scope = !m->dirty_all && m->n_dirty == 1 ? m->dirty[0] : 0;

	/* The kernel pass first: it notes the MACs of new links, for a read of one ENI. */
	if (is_dirty(m) && m->have_md)
		kernel_pass(m);
	if (fetch)
		start_fetch(m, scope);
	return 0;
}

static int on_defer(sd_event_source *s, void *userdata)
{
	return run_pass(userdata);
}

/* ---- lifecycle ---- */

/* Drops the IMDS client, its loop binding and the read in flight. */
static void close_imds(struct manager *m)
{
	m->walk = imds_walk_free(m->walk);
	m->imds_event = imds_event_free(m->imds_event);
	m->imds = imds_client_free(m->imds);
}

/* A client on the loop, replacing the current one. */
static int open_imds(struct manager *m)
{
	struct imds_client *c = NULL;
	struct imds_event *x = NULL;
	struct imds_options o;
	int r;

	imds_options_from_config(&m->config, imds_endpoint_override(m->opts.imds_endpoint),
				 m->endpoints_storage, &o);
	r = imds_client_new(&o, &c);
	if (r < 0)
		return log_error_errno(r, "Failed to set up the IMDS client: %s", STRERROR(r));
	r = imds_event_new(m->event, c, &x);
	if (r < 0) {
		imds_client_free(c);
		return log_error_errno(r, "Failed to put the IMDS client on the event loop: %s",
				       STRERROR(r));
	}
	if (m->walk)
		m->need_fetch = true; /* read again with the new client */
	close_imds(m);
	m->imds = c;
	m->imds_event = x;
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
	r = open_imds(m);
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
		(void)open_imds(m); /* on failure the old client stays */
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
	close_imds(m);
	md_instance_done(&m->md);
	json_object_put(m->state_ifaces);
	config_done(&m->config);
	free(m->dirty);
	free(m->ifaces);
	sd_event_unref(m->event);
	free(m);
	return NULL;
}
