/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pass lock (design.md §2): the daemon and the tool never interleave passes. */
#pragma once

#include <stdbool.h>

/* Creates state_dir if needed and takes <state_dir>/lock: exclusive for a pass that writes,
 * shared for one that only reads. Blocks until it is free. Returns the lock's fd (close it to
 * release) or a negative errno. */
int lock_take(const char *state_dir, bool exclusive);
