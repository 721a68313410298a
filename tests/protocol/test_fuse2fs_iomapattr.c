// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs-iomapattr and the user.fuse2fs.iomap* attributes on a real
 * fuse2fs mount: the lsattr-style listing shows each fixture file's
 * preference and mode, +c/-c and setfattr change the preference, only the
 * owner or root may, and the preference survives a remount.
 *
 * This runs on whatever kernel the machine has.  Without kernel iomap
 * the mode of an eligible file is "classic (no kernel iomap)"; files that
 * could never use iomap show their own reason either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "f2_fixture.h"

#ifndef F2_IOMAPATTR_BIN
#define F2_IOMAPATTR_BIN "fuse2fs-iomapattr"
#endif

FIXTURE(attr) {
	struct tfs_env env;
	char tree[TFS_PATH_MAX + 8];
};

FIXTURE_SETUP(attr)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	snprintf(self->tree, sizeof(self->tree), "%s/tree", self->env.dir);
	ASSERT_EQ(0, mkdir(self->tree, 0755));
}

FIXTURE_TEARDOWN(attr)
{
	tfs_env_cleanup(&self->env);
}

static int put(const char *dir, const char *name, size_t size)
{
	char path[TFS_PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return tfs_write_pattern(path, 0, size, 5, O_CREAT);
}

/* The listing line for name: its preference column and mode text. */
static int find_line(const char *out, const char *name, char *pref,
		     char *mode, size_t size)
{
	const char *line = out;
	size_t nlen = strlen(name);

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		/* "P  MODE...  PATH": PATH ends with "/name" */
		if (len > nlen + 4 && line[len - nlen - 1] == '/' &&
		    !strncmp(line + len - nlen, name, nlen)) {
			const char *m = line + 3;
			const char *mend = line + len - nlen - 1;

			while (mend > m && mend[-1] != ' ')
				mend--;	/* back to the path's start */
			while (mend > m && mend[-1] == ' ')
				mend--;
			*pref = line[0];
			if ((size_t)(mend - m) >= size)
				return -1;
			memcpy(mode, m, mend - m);
			mode[mend - m] = '\0';
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -1;
}

struct want {
	const char *name;
	char pref;
	const char *mode;
};

static int check_listing(struct tfs_mount *m, const struct want *w, int n)
{
	char *out = NULL, mode[128], pref;
	int rc, i, bad = 0;

	rc = tfs_runl(F2_CMD_TIMEOUT_MS, &out, F2_IOMAPATTR_BIN, m->dir,
		      NULL);
	if (rc) {
		tfs_log_text("fuse2fs-iomapattr failed", out ? out : "");
		free(out);
		return -1;
	}
	tfs_log_text("fuse2fs-iomapattr", out);
	for (i = 0; i < n; i++) {
		if (find_line(out, w[i].name, &pref, mode, sizeof(mode))) {
			fprintf(stderr, "# no line for %s\n", w[i].name);
			bad++;
		} else if (pref != w[i].pref ||
			   (w[i].mode ? strcmp(mode, w[i].mode) :
			    strcmp(mode, "iomap") &&
			    strcmp(mode, "classic (no kernel iomap)"))) {
			fprintf(stderr, "# %s: '%c' '%s', expected '%c' '%s'\n",
				w[i].name, pref, mode, w[i].pref,
				w[i].mode ? w[i].mode : "(eligible)");
			bad++;
		}
	}
	free(out);
	return bad ? -1 : 0;
}

TEST_F_TIMEOUT(attr, listing_toggling_and_remount, 120)
{
	struct tfs_mkfs_opts o = {
		.features = "inline_data", .populate = self->tree,
	};
	struct want w[] = {
		{ "big", '-', NULL },
		{ "small", '-', "classic (inline data)" },
		{ "enc", '-', "classic (encrypted)" },
		{ "ver", '-', "classic (verity)" },
		{ "jdata", '-', "classic (data journalling)" },
		{ "sub", '-', "classic (not a regular file)" },
		{ "link", '-', "classic (not a regular file)" },
	};
	struct tfs_mount *m = &self->env.fuse;
	char link[TFS_PATH_MAX + 16], *out = NULL;

	ASSERT_EQ(0, put(self->tree, "big", 1 << 20));
	ASSERT_EQ(0, put(self->tree, "small", 60));
	ASSERT_EQ(0, put(self->tree, "enc", 65536));
	ASSERT_EQ(0, put(self->tree, "ver", 65536));
	ASSERT_EQ(0, put(self->tree, "jdata", 65536));
	snprintf(link, sizeof(link), "%s/sub", self->tree);
	ASSERT_EQ(0, mkdir(link, 0755));
	snprintf(link, sizeof(link), "%s/link", self->tree);
	ASSERT_EQ(0, symlink("big", link));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	ASSERT_EQ(0, f2_debugfs(self->env.image,
				"set_inode_field enc flags 0x80800\n"
				"set_inode_field ver flags 0x180000\n"
				"set_inode_field jdata flags 0x84000\n"));

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image,
				    "iomap=auto,allow_other"));
	/*
	 * An eligible file (mode NULL): "iomap" if this kernel has it,
	 * else "classic (no kernel iomap)".
	 */
	ASSERT_EQ(0, check_listing(m, w, ARRAY_SIZE(w)));

	/* chattr-style +c, and setfattr on the documented name. */
	ASSERT_EQ(0, tfs_runl(F2_CMD_TIMEOUT_MS, NULL, F2_IOMAPATTR_BIN, "+c",
			      tfs_p(m, "big"), NULL));
	ASSERT_EQ(0, tfs_runl(F2_CMD_TIMEOUT_MS, NULL, "setfattr", "-n",
			      "user.fuse2fs.iomap", "-v", "classic",
			      tfs_p(m, "small"), NULL));
	w[0].pref = 'c';
	w[0].mode = "classic (preference)";
	w[1].pref = 'c';
	ASSERT_EQ(0, check_listing(m, w, ARRAY_SIZE(w)));
	ASSERT_EQ(0, tfs_runl(F2_CMD_TIMEOUT_MS, &out, "getfattr",
			      "--only-values", "-n", "user.fuse2fs.iomap_mode",
			      tfs_p(m, "big"), NULL));
	/* stderr is captured too: getfattr may add a notice */
	EXPECT_NE(NULL, strstr(out ? out : "", "classic (preference)"));
	free(out);
	out = NULL;

	/* Someone else, even with write permission, may not change it. */
	ASSERT_EQ(0, chmod(tfs_p(m, "jdata"), 0666));
	EXPECT_NE(0, tfs_runl(F2_CMD_TIMEOUT_MS, &out, "setpriv",
			      "--reuid=4242", "--regid=4242", "--clear-groups",
			      F2_IOMAPATTR_BIN, "+c", tfs_p(m, "jdata"),
			      NULL));
	EXPECT_NE(NULL, strstr(out ? out : "", "not permitted"));
	free(out);
	out = NULL;
	/* The mode attribute is read-only, the value checked. */
	EXPECT_NE(0, tfs_runl(F2_CMD_TIMEOUT_MS, NULL, "setfattr", "-n",
			      "user.fuse2fs.iomap_mode", "-v", "iomap",
			      tfs_p(m, "big"), NULL));
	EXPECT_NE(0, tfs_runl(F2_CMD_TIMEOUT_MS, NULL, "setfattr", "-n",
			      "user.fuse2fs.iomap", "-v", "turbo",
			      tfs_p(m, "big"), NULL));
	ASSERT_EQ(0, tfs_umount_fuse(m));

	/* Stored in the image: still there after a remount. */
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image,
				    "iomap=auto,allow_other"));
	ASSERT_EQ(0, check_listing(m, w, ARRAY_SIZE(w)));
	ASSERT_EQ(0, tfs_runl(F2_CMD_TIMEOUT_MS, NULL, F2_IOMAPATTR_BIN, "-c",
			      tfs_p(m, "big"), tfs_p(m, "small"), NULL));
	w[0].pref = '-';
	w[0].mode = NULL;
	w[1].pref = '-';
	ASSERT_EQ(0, check_listing(m, w, ARRAY_SIZE(w)));
	ASSERT_EQ(0, tfs_umount_fuse(m));

	ASSERT_EQ(0, f2_debugfs(self->env.image,
				"set_inode_field enc flags 0x80000\n"
				"set_inode_field ver flags 0x80000\n"
				"set_inode_field jdata flags 0x80000\n"));
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

TEST_HARNESS_MAIN
