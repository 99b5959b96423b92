/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Retry schedule as a pure function: exponential, capped, with ±20 % jitter from a random value
 * the caller draws. */
#pragma once

#include <stdint.h>

/* Delay before retry number 'attempt' (0 = first retry): initial·2^attempt capped at max, then
 * scaled by a factor in [0.8, 1.2] chosen by random (0..UINT32_MAX). */
uint64_t backoff_delay_usec(unsigned attempt, uint64_t initial_usec, uint64_t max_usec,
			    uint32_t random);
