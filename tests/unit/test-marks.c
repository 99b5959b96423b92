/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Down marks (marks.c) in a scratch directory: set, clear, read back, and what the reader
 * ignores or refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marks.h"

static const uint8_t mac_a[6] = {0x0e, 0x12, 0x34, 0x56, 0x78, 0x9a};
static const uint8_t mac_b[6] = {0x0e, 0xab, 0xcd, 0xef, 0x00, 0x01};

struct scratch {
	char dir[64];	 /* the temporary directory */
	char state[128]; /* <dir>/state, not created */
};

static int scratch_setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/test-marks.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(s->dir)) {
		free(s);
		return -1;
	}
	snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
	*state = s;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes the scratch tree, deepest first, without a shell. */
static void rm_rf(const char *path)
{
	assert_int_equal(nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int scratch_teardown(void **state)
{
	struct scratch *s = *state;

	rm_rf(s->dir);
	free(s);
	return 0;
}

static void touch(const char *dir, const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void test_missing_directory_is_no_marks(void **state)
{
	struct scratch *s = *state;
	struct down_marks m = {0};

	assert_int_equal(marks_read(s->state, &m), 0);
	assert_int_equal(m.n, 0);
	assert_false(marks_has(&m, mac_a));
	marks_done(&m);
}

static void test_set_read_clear(void **state)
{
	struct scratch *s = *state;
	struct down_marks m = {0};
	struct stat st;
	char path[256];

	/* Setting creates the state directory and one file named by the MAC in lower case. */
	assert_int_equal(marks_set(s->state, mac_a, true), 0);
	assert_int_equal(marks_set(s->state, mac_b, true), 0);
	assert_int_equal(marks_set(s->state, mac_a, true), 0); /* again: still one mark */
	snprintf(path, sizeof(path), "%s/down/0e:12:34:56:78:9a", s->state);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	assert_int_equal(marks_read(s->state, &m), 0);
	assert_int_equal(m.n, 2);
	assert_true(marks_has(&m, mac_a));
	assert_true(marks_has(&m, mac_b));
	marks_done(&m);
	assert_int_equal(m.n, 0);

	assert_int_equal(marks_set(s->state, mac_a, false), 0);
	assert_int_equal(marks_set(s->state, mac_a, false), 0); /* not there: still fine */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(marks_read(s->state, &m), 0);
	assert_int_equal(m.n, 1);
	assert_false(marks_has(&m, mac_a));
	assert_true(marks_has(&m, mac_b));
	marks_done(&m);
}

static void test_reader_ignores_other_names(void **state)
{
	struct scratch *s = *state;
	struct down_marks m = {0};
	char down[256];

	assert_int_equal(marks_set(s->state, mac_b, true), 0);
	snprintf(down, sizeof(down), "%s/down", s->state);
	touch(down, "README");
	touch(down, ".0e:12:34:56:78:9a");
	touch(down, "0e:12:34:56:78");
	touch(down, "zz:12:34:56:78:9a");
	touch(down, "0e:12:34:56:78:9a.tmp");
	/* The same MAC in upper case is the same mark, counted once. */
	touch(down, "0E:AB:CD:EF:00:01");

	assert_int_equal(marks_read(s->state, &m), 0);
	assert_int_equal(m.n, 1);
	assert_true(marks_has(&m, mac_b));
	assert_false(marks_has(&m, mac_a));
	marks_done(&m);
}

static void test_errors_are_negative_errno(void **state)
{
	struct scratch *s = *state;
	struct down_marks m = {.n = 99};
	char file[256], longdir[5000];

	/* A state "directory" that is a file. */
	snprintf(file, sizeof(file), "%s/afile", s->dir);
	touch(s->dir, "afile");
	assert_int_equal(marks_set(file, mac_a, true), -ENOTDIR);
	assert_int_equal(marks_read(file, &m), -ENOTDIR);
	assert_int_equal(m.n, 0); /* empty on error */

	/* down/ itself a file. */
	assert_int_equal(mkdir(s->state, 0755), 0);
	touch(s->state, "down");
	assert_int_equal(marks_read(s->state, &m), -ENOTDIR);
	assert_int_equal(marks_set(s->state, mac_a, true), -ENOTDIR);

	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = 0;
	assert_int_equal(marks_set(longdir, mac_a, true), -ENAMETOOLONG);
	assert_int_equal(marks_read(longdir, &m), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_directory_is_no_marks, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_set_read_clear, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_reader_ignores_other_names, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_errors_are_negative_errno, scratch_setup,
						scratch_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
