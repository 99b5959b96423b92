/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Down marks (design.md §6): `ec2netctl down` leaves a mark per MAC in <state_dir>/down/, and
 * every pass (daemon or tool) treats a marked interface as taken down until `up` clears it.
 * One empty file per MAC ("0e:12:34:56:78:9a"), so that a mark is set and cleared atomically
 * and survives a daemon restart (not a reboot: the state directory is /run). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct down_marks {
	uint8_t (*macs)[6];
	size_t n, cap;
};

/* Reads the marks; a missing directory is no marks. File names that are not a MAC are
 * ignored. Returns 0 or a negative errno (the marks are then empty). */
int marks_read(const char *state_dir, struct down_marks *ret);
void marks_done(struct down_marks *m);
bool marks_has(const struct down_marks *m, const uint8_t mac[6]);
/* Sets (down) or clears (!down) the mark of mac; creates the directories as needed. Clearing a
 * mark that is not there succeeds. Returns 0 or a negative errno. */
int marks_set(const char *state_dir, const uint8_t mac[6], bool down);
