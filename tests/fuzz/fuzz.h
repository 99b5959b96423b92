/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every fuzz target shares: the libFuzzer entry point, and a check that aborts (so that
 * libFuzzer and the corpus runner both report it) whatever NDEBUG says. A target asserts
 * properties of the result, not only that the parser returned. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(expr)                                                                           \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__,      \
				#expr);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
