/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "backoff.h"

uint64_t backoff_delay_usec(unsigned attempt, uint64_t initial_usec, uint64_t max_usec,
			    uint32_t random)
{
	uint64_t d = initial_usec;

	for (unsigned i = 0; i < attempt && d < max_usec; i++)
		d *= 2;
	if (d > max_usec)
		d = max_usec;
	/* factor = 0.8 + 0.4 * random / 2^32, in per-mille to stay in integers */
	uint64_t permille = 800 + (uint64_t)random * 400 / UINT64_C(4294967296);
	return d * permille / 1000;
}
