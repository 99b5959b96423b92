/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The simulator: applies a plan to a kernel state in memory, the way the kernel would, so that
 * tests and fuzzers can check that planning again after applying finds nothing to do. Pure. */
#pragma once

#include "kstate.h"
#include "plan.h"

/* Applies every op of p, in order, to a copy of observed, and returns the result sorted in *ret
 * (which the caller frees with kstate_done()). Per op, as the kernel does:
 *   PLAN_ADD      adds the object unless one with the same key exists (then nothing changes);
 *   PLAN_DEL      removes the object with the same key, only if its protocol equals the op's
 *                 when the op names one (protocol 0 matches any);
 *   PLAN_REPLACE  replaces the object with the same key, or adds it when there is none;
 *   KOBJ_LINK     sets up, MTU and group of the link; KOBJ_ALTNAME appends the altname.
 * A route is stored as the kernel reports it: an IPv6 route with scope universe, and with metric
 * 1024 when the op has none.
 * Returns 0, -ENODEV when an op names an ifindex that no link has, -ENOSPC when a link has no
 * room for another altname, -EINVAL for an op the kernel would refuse (an unknown type, a link
 * op that is not REPLACE, an altname op that is not ADD), or -ENOMEM. On error *ret is
 * untouched. */
int simulate_plan(const struct kstate *observed, const struct plan *p, struct kstate *ret);
