/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"
#include "macro.h"
#include "marks.h"
#include "parse-util.h"

#define MARKS_DIR "down"

static int marks_path(const char *state_dir, const uint8_t *mac, char *buf, size_t size)
{
	char m[MAC_STRLEN];
	int n;

	if (mac)
		n = snprintf(buf, size, "%s/%s/%s", state_dir, MARKS_DIR, mac_format(mac, m));
	else
		n = snprintf(buf, size, "%s/%s", state_dir, MARKS_DIR);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void marks_done(struct down_marks *m)
{
	free(m->macs);
	*m = (struct down_marks){0};
}

bool marks_has(const struct down_marks *m, const uint8_t mac[6])
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->macs[i], mac, 6) == 0)
			return true;
	return false;
}

int marks_read(const char *state_dir, struct down_marks *ret)
{
	struct down_marks m = {0};
	char path[4096];
	struct dirent *de;
	DIR *d;
	int r;

	*ret = (struct down_marks){0};
	r = marks_path(state_dir, NULL, path, sizeof(path));
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((errno = 0, de = readdir(d))) {
		uint8_t mac[6];

		if (parse_mac(de->d_name, mac) < 0 || marks_has(&m, mac))
			continue;
		if (array_reserve((void **)&m.macs, &m.cap, m.n + 1, sizeof(*m.macs)) < 0) {
			closedir(d);
			marks_done(&m);
			return -ENOMEM;
		}
		memcpy(m.macs[m.n++], mac, 6);
	}
	r = errno ? -errno : 0;
	closedir(d);
	if (r < 0) {
		marks_done(&m);
		return r;
	}
	*ret = m;
	return 0;
}

int marks_set(const char *state_dir, const uint8_t mac[6], bool down)
{
	char path[4096];
	int r, fd;

	r = marks_path(state_dir, mac, path, sizeof(path));
	if (r < 0)
		return r;
	if (!down)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = marks_path(state_dir, NULL, path, sizeof(path));
	if (r < 0)
		return r;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	(void)marks_path(state_dir, mac, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
