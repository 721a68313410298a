// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers for the test_fuse2fs_*.c suites; see f2_fixture.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "f2_fixture.h"
#include "mount_helpers.h"

#ifndef F2_FUSE2FS_BIN
#define F2_FUSE2FS_BIN "fuse2fs"
#endif

int f2_debugfs(const char *image, const char *script)
{
	char path[PATH_MAX], *out = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s.debugfs", image);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(script, f);
	fclose(f);
	rc = tfs_runl(F2_CMD_TIMEOUT_MS, &out, "debugfs", "-w", "-f", path,
		      image, NULL);
	/* debugfs reports command errors on its output, not in its status */
	if (rc || (out && (strstr(out, "rror") || strstr(out, "not found")))) {
		tfs_log_text("debugfs", out ? out : "");
		rc = -1;
	}
	free(out);
	unlink(path);
	return rc ? -1 : 0;
}

void f2_truth_free(struct f2_truth *t)
{
	free(t->type);
	free(t->pblk);
	memset(t, 0, sizeof(*t));
}

/* One leaf line of `ex`: "lvl/max ent/n  L1 - L2  P1 - P2  LEN [Uninit]". */
static void truth_line(char *line, struct f2_truth *t)
{
	unsigned long long v[5], l, p, len, i;
	int lvl, max, ent, nent, n = 0, pos;
	char *tok, *save;
	bool uninit = false;

	if (sscanf(line, " %d/ %d %d/ %d %n", &lvl, &max, &ent, &nent,
		   &pos) != 4 || lvl != max)
		return;
	for (tok = strtok_r(line + pos, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!strcmp(tok, "-"))
			continue;
		if (!strcmp(tok, "Uninit"))
			uninit = true;
		else if (n < 5)
			v[n++] = strtoull(tok, NULL, 10);
	}
	if (n == 5) {
		l = v[0];
		p = v[2];
		len = v[4];
	} else if (n == 3) {		/* one block: "L P 1" */
		l = v[0];
		p = v[1];
		len = v[2];
	} else {
		return;
	}
	t->nextents++;
	for (i = 0; i < len && l + i < t->nblocks; i++) {
		t->type[l + i] = uninit ? FUSE_IOMAP_TYPE_UNWRITTEN :
					  FUSE_IOMAP_TYPE_MAPPED;
		t->pblk[l + i] = p + i;
	}
}

int f2_truth_load(const char *image, const char *path, uint64_t nblocks,
		  struct f2_truth *t)
{
	char cmd[PATH_MAX + 8], *out = NULL, *line, *save;
	int rc;

	memset(t, 0, sizeof(*t));
	t->nblocks = nblocks;
	t->type = calloc(nblocks ? nblocks : 1, sizeof(*t->type));
	t->pblk = calloc(nblocks ? nblocks : 1, sizeof(*t->pblk));
	if (!t->type || !t->pblk)
		return -1;
	snprintf(cmd, sizeof(cmd), "ex %s", path);
	rc = tfs_runl(F2_CMD_TIMEOUT_MS, &out, "debugfs", "-R", cmd, image,
		      NULL);
	if (rc) {
		tfs_log_text("debugfs ex", out ? out : "");
		free(out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		truth_line(line, t);
	free(out);
	return 0;
}

int f2_stat_image(const char *image, const char *path, ext2_ino_t *ino,
		  struct ext2_inode_large *inode)
{
	ext2_filsys fs = NULL;
	errcode_t err;

	err = ext2fs_open(image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager,
			  &fs);
	if (err)
		return -1;
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
	if (!err && inode)
		err = ext2fs_read_inode_full(fs, *ino,
					     (struct ext2_inode *)inode,
					     sizeof(*inode));
	ext2fs_close_free(&fs);
	return err ? -1 : 0;
}

int f2_start(struct wire *w, const char *image, const char *opts,
	     bool offer_iomap, struct fuse_init_out *init)
{
	const char *bin = getenv("FUSE2FS_BIN");
	char *argv[8];
	int argc = 0, rc;

	argv[argc++] = (char *)(bin && *bin ? bin : F2_FUSE2FS_BIN);
	argv[argc++] = "-f";
	if (opts) {
		argv[argc++] = "-o";
		argv[argc++] = (char *)opts;
	}
	argv[argc++] = (char *)image;
	argv[argc++] = WIRE_FD_ARG;
	argv[argc] = NULL;
	rc = wire_start(w, argv);
	if (rc) {
		fprintf(stderr, "# starting %s: %s\n", argv[0], strerror(-rc));
		return -1;
	}
	/* Opening a big image and its bitmaps takes a moment. */
	w->timeout_ms = 30000;
	rc = wire_init(w, offer_iomap, init);
	w->timeout_ms = 15000;
	if (rc) {
		fprintf(stderr, "# INIT: %d (%s)\n", rc, w->last_failure);
		wire_stop(w);
		return -1;
	}
	return 0;
}

int f2_getxattr(struct wire *w, uint64_t nodeid, const char *name,
		char *buf, size_t size)
{
	struct fuse_getxattr_in in = { .size = size };
	struct iovec iov[2] = {
		{ &in, sizeof(in) },
		{ (void *)name, strlen(name) + 1 },
	};
	static struct wire_reply r;
	int rc;

	rc = wire_callv(w, FUSE_GETXATTR, nodeid, iov, 2, &r);
	if (rc)
		return rc == WIRE_EXCHANGE_FAILED ? -EPROTO : rc;
	if (r.body_len > size)
		return -EPROTO;
	memcpy(buf, r.body, r.body_len);
	return r.body_len;
}

int f2_setxattr(struct wire *w, uint64_t nodeid, const char *name,
		const char *value)
{
	/* No FUSE_SETXATTR_EXT in wire_init(): the 8-byte compat struct. */
	struct { uint32_t size, flags; } in = {
		.size = value ? strlen(value) : 0,
	};
	struct iovec iov[3] = {
		{ &in, sizeof(in) },
		{ (void *)name, strlen(name) + 1 },
		{ (void *)value, value ? strlen(value) : 0 },
	};
	int rc;

	if (value)
		rc = wire_callv(w, FUSE_SETXATTR, nodeid, iov, 3, NULL);
	else
		rc = wire_call(w, FUSE_REMOVEXATTR, nodeid, name,
			       strlen(name) + 1, NULL);
	return rc == WIRE_EXCHANGE_FAILED ? -EPROTO : rc;
}
