// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Images: mke2fs to make them, e2fsck -fn to judge them, dumpe2fs -h to
 * read superblock counters (free blocks/inodes) after an unmount.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount_helpers.h"

int tfs_mkfs(const char *image, const struct tfs_mkfs_opts *opts)
{
	static const struct tfs_mkfs_opts defaults;
	const char *argv[32];
	char size_arg[32], bs_arg[16], isz_arg[16], n_arg[32], c_arg[16];
	char *out = NULL;
	uint64_t size_mb;
	int argc = 0, fd, r;

	if (!opts)
		opts = &defaults;
	size_mb = opts->size_mb ? opts->size_mb : 64;

	/* A fresh sparse file of the exact size. */
	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)(size_mb << 20)) < 0) {
		fprintf(stderr, "# cannot create image %s: %s\n", image,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);

	snprintf(size_arg, sizeof(size_arg), "%lluk",
		 (unsigned long long)size_mb << 10);
	snprintf(bs_arg, sizeof(bs_arg), "%u",
		 opts->block_size ? opts->block_size : 4096);
	argv[argc++] = "mke2fs";
	argv[argc++] = "-F";
	argv[argc++] = "-q";
	argv[argc++] = "-t";
	argv[argc++] = opts->fstype ? opts->fstype : "ext4";
	argv[argc++] = "-b";
	argv[argc++] = bs_arg;
	if (opts->inode_size) {
		snprintf(isz_arg, sizeof(isz_arg), "%u", opts->inode_size);
		argv[argc++] = "-I";
		argv[argc++] = isz_arg;
	}
	if (opts->cluster_size) {
		snprintf(c_arg, sizeof(c_arg), "%u", opts->cluster_size);
		argv[argc++] = "-C";
		argv[argc++] = c_arg;
	}
	if (opts->inodes) {
		snprintf(n_arg, sizeof(n_arg), "%lu", opts->inodes);
		argv[argc++] = "-N";
		argv[argc++] = n_arg;
	}
	if (opts->features) {
		argv[argc++] = "-O";
		argv[argc++] = opts->features;
	}
	if (opts->populate) {
		argv[argc++] = "-d";
		argv[argc++] = opts->populate;
	}
	if (opts->ext_opts) {
		argv[argc++] = "-E";
		argv[argc++] = opts->ext_opts;
	}
	if (opts->label) {
		argv[argc++] = "-L";
		argv[argc++] = opts->label;
	}
	argv[argc++] = image;
	argv[argc++] = size_arg;
	argv[argc] = NULL;

	r = tfs_run(TFS_MKFS_TIMEOUT_MS, &out, argv);
	if (r != 0) {
		fprintf(stderr, "# mke2fs %s failed with %d\n", image, r);
		tfs_log_text("mke2fs output", out);
	}
	free(out);
	return r == 0 ? 0 : -1;
}

int tfs_fsck(const char *image)
{
	char *out = NULL;
	int r;

	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fn", image, NULL);
	if (r != 0) {
		fprintf(stderr, "# e2fsck -fn %s exited with %d\n", image, r);
		tfs_log_text("e2fsck output", out);
	}
	free(out);
	return r;
}

/* Is every line of e2fsck -p's output an orphan release or the summary? */
static bool tfs_only_orphan_lines(char *out, int *orphans)
{
	char *line, *save;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "Clearing orphaned inode"))
			(*orphans)++;
		else if (!strstr(line, " files (") && strncmp(line, "e2fsck ", 7))
			return false;
	}
	return true;
}

int tfs_fsck_orphans_only(const char *image, int *orphans)
{
	char copy[TFS_PATH_MAX + 16], *out = NULL;
	int r;

	*orphans = 0;
	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fn", image, NULL);
	free(out);
	out = NULL;
	if (!r)
		return 0;
	/* Let e2fsck release the orphans in a copy, then check it again. */
	snprintf(copy, sizeof(copy), "%s.orphans", image);
	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "cp", "--sparse=always", image,
		     copy, NULL);
	if (!r)
		r = tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fp", copy,
			     NULL);
	if ((r == 0 || r == 1) && out && tfs_only_orphan_lines(out, orphans) &&
	    *orphans)
		r = tfs_fsck(copy);
	else if (r >= 0)
		r = r ? r : 4;
	if (r) {
		fprintf(stderr, "# %s: more than orphans to repair\n", image);
		tfs_fsck(image);
	}
	free(out);
	unlink(copy);
	return r;
}

int tfs_sb_string(const char *image, const char *field, char *buf,
		  size_t size)
{
	size_t flen = strlen(field);
	char *out = NULL, *line;
	int r, ret = -1;

	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "dumpe2fs", "-h", image, NULL);
	if (r != 0) {
		fprintf(stderr, "# dumpe2fs -h %s exited with %d\n", image, r);
		tfs_log_text("dumpe2fs output", out);
		free(out);
		return -1;
	}
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *val, *end;

		if (strncmp(line, field, flen) || line[flen] != ':')
			continue;
		val = line + flen + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		snprintf(buf, size, "%s", val);
		ret = 0;
		break;
	}
	if (ret)
		fprintf(stderr, "# dumpe2fs: no field \"%s\"\n", field);
	free(out);
	return ret;
}

long long tfs_sb_number(const char *image, const char *field)
{
	char val[256], *end;
	long long n;

	if (tfs_sb_string(image, field, val, sizeof(val)))
		return -1;
	n = strtoll(val, &end, 10);
	if (end == val)
		return -1;
	return n;
}

int tfs_debugfs(const char *image, const char *request, char **out)
{
	return tfs_runl(TFS_FSCK_TIMEOUT_MS, out, "debugfs", "-R", request,
			image, NULL);
}

long long tfs_inode_field(const char *image, const char *path,
			  const char *key)
{
	char req[TFS_PATH_MAX + 16], *out = NULL, *p;
	size_t klen = strlen(key);
	long long val = -1;

	snprintf(req, sizeof(req), "stat \"%s\"", path);
	tfs_debugfs(image, req, &out);
	/* Keys appear as "Key: value" after a line start or whitespace. */
	for (p = out; p && (p = strstr(p, key)); p += klen) {
		char *end;

		if ((p != out && p[-1] != ' ' && p[-1] != '\n' &&
		     p[-1] != '\t') || p[klen] != ':')
			continue;
		val = strtoll(p + klen + 1, &end, 0);
		if (end == p + klen + 1)
			val = -1;
		break;
	}
	if (val < 0)
		tfs_log_text("debugfs stat output", out);
	free(out);
	return val;
}
