/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finding and reading ec2net.conf and its drop-ins under a root directory (style.md §11): the
 * main file, then '*.conf' from the drop-in directories with systemd's masking, in file-name
 * order. Everything is parsed into a scratch config that replaces the caller's only when no file
 * had an error, so a reload with a typo keeps the configuration in force. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "config.h"
#include "diag.h"
#include "ec2net-defs.h"
#include "macro.h"

#define CONFIG_DROPIN_SUFFIX ".conf"
/* /dev/null: a drop-in symlinked to it masks the same name in an earlier directory. */
#define DEV_NULL_MAJOR 1
#define DEV_NULL_MINOR 3

/* Lowest precedence first: a name in a later directory masks the same name in an earlier one. */
static const char *const config_dropin_dirs[] = {
	"/usr/lib/ec2net/ec2net.conf.d",
	EC2NET_RUN_DIR "/ec2net.conf.d",
	EC2NET_CONF_FILE ".d",
};

struct dropin {
	char *name;
	char *path;
};

struct dropin_list {
	struct dropin *items;
	size_t n, cap;
};

static void dropin_list_done(struct dropin_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].path);
	}
	free(l->items);
	*l = (struct dropin_list){0};
}

/* <root><path>; root NULL or "/" is the real root. */
static char *path_under_root(const char *root, const char *path)
{
	size_t n = root ? strlen(root) : 0;
	char *s;

	while (n > 0 && root[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s", (int)n, n > 0 ? root : "", path) < 0)
		return NULL;
	return s;
}

static int file_error(struct diag_list *diags, const char *path, int error)
{
	switch (error) {
	case -ENOMEM:
		return error;
	case -EFBIG:
		return diag_add(diags, path, "file too large, more than %u bytes", CONFIG_FILE_MAX);
	case -EBADFD:
		return diag_add(diags, path, "not a regular file");
	default:
		return diag_add(diags, path, "cannot read file: %s", STRERROR(error));
	}
}

/* Reads a whole regular file of at most CONFIG_FILE_MAX bytes (/dev/null reads as empty).
 * Returns 0, -EFBIG, -EBADFD (not a regular file) or another negative errno. */
static int read_config_file(const char *path, char **ret_text, size_t *ret_len)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 0;
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO must not hang us before fstat() says what it is. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == DEV_NULL_MAJOR &&
	    minor(st.st_rdev) == DEV_NULL_MINOR) {
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
		*ret_text = TAKE_PTR(buf);
		*ret_len = 0;
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if (st.st_size > (off_t)CONFIG_FILE_MAX)
		return -EFBIG;

	/* The size may change under us: read until EOF, never more than the cap plus one. */
	r = array_reserve((void **)&buf, &cap, (size_t)st.st_size + 1, 1);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t k;

		if (n + 1 >= cap) {
			r = array_reserve((void **)&buf, &cap, n + 2, 1);
			if (r < 0)
				return r;
		}
		k = read(fd, buf + n, cap - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > CONFIG_FILE_MAX)
			return -EFBIG;
	}
	buf[n] = 0;
	*ret_text = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

static bool dropin_name_is_valid(const char *name)
{
	size_t n = strlen(name), s = strlen(CONFIG_DROPIN_SUFFIX);

	return name[0] != '.' && n > s && streq(name + n - s, CONFIG_DROPIN_SUFFIX);
}

/* Adds or, when the name is already there from an earlier directory, replaces. */
static int dropin_list_put(struct dropin_list *l, const char *name, const char *dir)
{
	_cleanup_free_ char *path = NULL;
	struct dropin d;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->n; i++)
		if (streq(l->items[i].name, name)) {
			free(l->items[i].path);
			l->items[i].path = TAKE_PTR(path);
			return 0;
		}
	d = (struct dropin){.name = strdup(name), .path = path};
	if (!d.name)
		return -ENOMEM;
	if (ARRAY_APPEND(l->items, l->n, l->cap, d) < 0) {
		free(d.name);
		return -ENOMEM;
	}
	path = NULL;
	return 0;
}

static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

/* Returns 0, -ENOMEM, or -EINVAL after adding a diagnostic. A missing directory is fine. */
static int dropin_list_scan(struct dropin_list *l, const char *dir, struct diag_list *diags)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOMEM)
			return -ENOMEM;
		return diag_add(diags, dir, "cannot open directory: %s", STRERROR(errno));
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!dropin_name_is_valid(de->d_name))
			continue;
		r = dropin_list_put(l, de->d_name, dir);
		if (r < 0)
			return r;
	}
	if (errno != 0)
		return diag_add(diags, dir, "cannot read directory: %s", STRERROR(errno));
	return 0;
}

static int dropin_compare(const void *a, const void *b)
{
	const struct dropin *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Parses one file into c. Returns 0, -ENOENT (missing), -EINVAL (diagnostics) or -ENOMEM. */
static int config_load_file(struct config *c, const char *path, struct diag_list *diags)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = read_config_file(path, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return file_error(diags, path, r);
	return config_parse(c, text, len, path, diags);
}

int config_load(struct config *c, const char *root, const char *main_file, struct diag_list *diags)
{
	_cleanup_(config_done) struct config tmp = {0};
	_cleanup_(dropin_list_done) struct dropin_list dropins = {0};
	_cleanup_free_ char *main_path = NULL;
	const char *emptied_by = NULL;
	bool failed = false, missing = false;
	int r;

	r = config_init(&tmp);
	if (r < 0)
		return r;

	main_path = main_file ? strdup(main_file) : path_under_root(root, EC2NET_CONF_FILE);
	if (!main_path)
		return -ENOMEM;
	r = config_load_file(&tmp, main_path, diags);
	if (r == -ENOENT && main_file) {
		r = diag_add(diags, main_path, "configuration file not found");
		missing = true;
	}
	if (r == -ENOMEM)
		return r;
	if (r == -EINVAL)
		failed = true;
	if (!tmp.endpoints)
		emptied_by = main_path;

	for (size_t i = 0; i < ELEMENTSOF(config_dropin_dirs); i++) {
		_cleanup_free_ char *dir = path_under_root(root, config_dropin_dirs[i]);

		if (!dir)
			return -ENOMEM;
		r = dropin_list_scan(&dropins, dir, diags);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			failed = true;
	}
	if (dropins.n > 0)
		qsort(dropins.items, dropins.n, sizeof(dropins.items[0]), dropin_compare);

	for (size_t i = 0; i < dropins.n; i++) {
		bool had_endpoints = tmp.endpoints != NULL;

		r = config_load_file(&tmp, dropins.items[i].path, diags);
		if (r == -ENOENT) /* removed since the scan */
			continue;
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			failed = true;
		if (had_endpoints && !tmp.endpoints)
			emptied_by = dropins.items[i].path;
	}

	if (!tmp.endpoints) {
		r = diag_add(diags, strna(emptied_by),
			     "no IMDS endpoint: Endpoint= was reset and not set again");
		if (r == -ENOMEM)
			return r;
		failed = true;
	}

	if (missing)
		return -ENOENT;
	if (failed)
		return -EINVAL;
	config_done(c);
	*c = tmp;
	tmp = (struct config){0};
	return 0;
}
