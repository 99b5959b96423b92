/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config-dump [FILE...]: the defaults, with each FILE parsed on top in order, written back by
 * config_write(). Exit 1 with every diagnostic on stderr if a file has an error. The system
 * checks compare the shipped default ec2net.conf against this, so that the file cannot drift
 * from the table of keys in lib/config.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"

static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (len == cap) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 4096);
			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*ret = buf;
	*ret_len = len;
	return 0;
}

int main(int argc, char *argv[])
{
	struct diag_list diags = {0};
	struct config c;
	int ret = 0;

	if (config_init(&c) < 0)
		return 1;
	for (int i = 1; i < argc; i++) {
		char *text = NULL;
		size_t len = 0;
		int r = read_file(argv[i], &text, &len);

		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			ret = 1;
			continue;
		}
		if (config_parse(&c, text, len, argv[i], &diags) < 0)
			ret = 1;
		free(text);
	}
	for (size_t i = 0; i < diags.n; i++)
		fprintf(stderr, "%s: %s\n", diags.items[i].where, diags.items[i].what);
	diag_list_done(&diags);
	if (ret == 0 && config_write(&c, stdout) < 0)
		ret = 1;
	config_done(&c);
	return ret;
}
