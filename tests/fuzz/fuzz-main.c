/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The standalone driver that replaces libFuzzer when the build is not a fuzzing build (gcc,
 * -Dfuzzing=false): it feeds every file named on the command line, and every file of every
 * directory named there, to LLVMFuzzerTestOneInput() once. The default 'meson test' runs each
 * target this way over its corpus, so a crash that was fixed cannot come back unnoticed. Each
 * input gets a buffer of exactly its size, so that ASan sees a read past its end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"

static int read_file(const char *path, uint8_t **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t n = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	/* malloc(0) may return NULL: keep one byte, but pass only st_size of it. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO; /* shrank under us */
		n += (size_t)k;
	}
	*ret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}

static int run_file(const char *path)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t size = 0;
	int r;

	r = read_file(path, &data, &size);
	if (r < 0) {
		fprintf(stderr, "Cannot read '%s': %s\n", path, strerror(-r));
		return r;
	}
	/* Printed before the run, so that a crash names its input. */
	fprintf(stderr, "Running '%s' (%zu bytes)\n", path, size);
	(void)LLVMFuzzerTestOneInput(data, size);
	return 0;
}

static int only_files(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Runs every file of dir in name order. Returns the count, or a negative errno. */
static int run_dir(const char *dir)
{
	struct dirent **names = NULL;
	int n, count = 0, r = 0;

	n = scandir(dir, &names, only_files, alphasort);
	if (n < 0) {
		fprintf(stderr, "Cannot list '%s': %s\n", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		if (r >= 0 && asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
			path = NULL;
			r = -ENOMEM;
		}
		if (r >= 0)
			r = run_file(path);
		if (r >= 0)
			count++;
		free(names[i]);
	}
	free(names);
	return r < 0 ? r : count;
}

int main(int argc, char **argv)
{
	int total = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		/* libFuzzer's flags (-runs=0, ...) may be passed to either runner; skip them. */
		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "Cannot access '%s': %s\n", argv[i], strerror(errno));
			return EXIT_FAILURE;
		}
		r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) < 0 ? -EIO : 1;
		if (r < 0)
			return EXIT_FAILURE;
		total += r;
	}
	/* An empty corpus would pass without testing anything. */
	if (total == 0) {
		fprintf(stderr, "No input given: name corpus directories or files\n");
		return EXIT_FAILURE;
	}
	printf("%s: %d inputs, no property violated\n", argv[0], total);
	return EXIT_SUCCESS;
}
