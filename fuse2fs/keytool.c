// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs-key: hand fscrypt master keys to a running fuse2fs, or take
 * them back.  The kernel cannot forward a key to a FUSE server, so
 * fuse2fs takes it through its own ioctls (fscrypt_ioctl.h) on any file
 * or directory of its mount, from root or the user running fuse2fs only;
 * see fuse2fs(1).
 *
 *   fuse2fs-key add [-d DESCRIPTOR] PATH [KEYFILE]   (key from stdin if
 *                                                      no KEYFILE)
 *   fuse2fs-key remove PATH ID
 *   fuse2fs-key status PATH ID
 *
 * add prints the key's identifier (v2) or its descriptor (v1, -d), the
 * ID the other commands and the policy take.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fscrypt_ioctl.h"
#include "fscrypt_kdf.h"

#define MIN_KEY		16

static void usage(void)
{
	fprintf(stderr,
		"usage: fuse2fs-key add [-d DESCRIPTOR] PATH [KEYFILE]\n"
		"       fuse2fs-key remove PATH ID\n"
		"       fuse2fs-key status PATH ID\n"
		"PATH is any file or directory of a fuse2fs mount; ID is the "
		"32-hex-digit\nidentifier of a v2 key or the 16-hex-digit "
		"descriptor of a v1 key.\n");
	exit(2);
}

/* Parse 2 * n hex digits into out; -1 when they are not exactly that. */
static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned int v;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int key_ioctl(const char *path, unsigned long cmd, void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0) {
		perror(path);
		return -1;
	}
	ret = ioctl(fd, cmd, arg);
	if (ret)
		fprintf(stderr, "fuse2fs-key: %s: %s%s\n", path,
			strerror(errno), errno == ENOTTY ?
			" (not a fuse2fs mount?)" : errno == ENOKEY ?
			" (no such key)" : "");
	close(fd);
	return ret;
}

static int add(int argc, char **argv)
{
	struct f2c_ioc_key key;
	const char *desc = NULL, *file = NULL;
	uint8_t raw[sizeof(key.raw) + 1], id[16];
	FILE *f = stdin;
	size_t n;
	int i, ret;

	if (argc > 1 && !strcmp(argv[1], "-d")) {
		if (argc < 3)
			usage();
		desc = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || argc > 3)
		usage();
	if (argc == 3)
		file = argv[2];
	memset(&key, 0, sizeof(key));
	key.version = desc ? 1 : 2;
	if (desc && parse_hex(desc, key.descriptor, 8)) {
		fprintf(stderr, "fuse2fs-key: a descriptor is 16 hex digits\n");
		return 2;
	}
	if (file && !(f = fopen(file, "rb"))) {
		perror(file);
		return 1;
	}
	n = fread(raw, 1, sizeof(raw), f);
	if (file)
		fclose(f);
	if (n < MIN_KEY || n > sizeof(key.raw)) {
		fprintf(stderr, "fuse2fs-key: a raw key is %d to %zu bytes\n",
			MIN_KEY, sizeof(key.raw));
		return 2;
	}
	memcpy(key.raw, raw, n);
	key.size = (uint32_t)n;
	ret = key_ioctl(argv[1], F2C_IOC_ADD_KEY, &key);
	if (!ret && desc) {
		printf("%s\n", desc);
	} else if (!ret && !f2c_hkdf(raw, n, F2C_HKDF_KEY_IDENTIFIER, NULL, 0,
				     id, sizeof(id))) {
		for (i = 0; i < 16; i++)
			printf("%02x", id[i]);
		printf("\n");
	}
	memset(raw, 0, sizeof(raw));
	memset(&key, 0, sizeof(key));
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct f2c_ioc_key_id id;
	bool remove;

	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "add"))
		return add(argc - 1, argv + 1);
	if (argc != 4)
		usage();
	remove = !strcmp(argv[1], "remove");
	if (!remove && strcmp(argv[1], "status"))
		usage();
	memset(&id, 0, sizeof(id));
	if (!parse_hex(argv[3], id.spec, 8))
		id.version = 1;
	else if (!parse_hex(argv[3], id.spec, 16))
		id.version = 2;
	else
		usage();
	if (key_ioctl(argv[2], remove ? F2C_IOC_REMOVE_KEY :
			      F2C_IOC_KEY_STATUS, &id))
		return 1;
	if (!remove)
		printf("%s\n", id.present ? "present" : "absent");
	return remove || id.present ? 0 : 1;
}
