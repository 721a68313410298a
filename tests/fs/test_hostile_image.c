// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hostile images: each test makes a fresh image, damages it on purpose
 * with debugfs -w or byte edits, mounts it and checks that the server
 * answers errors (the errno kernel ext4 gives on the same image: every
 * test also runs as variant "ext4") within the harness's time-out instead
 * of spinning, and keeps serving the rest of the filesystem.  The images
 * stay damaged, so e2fsck is not asked to call them clean; the server
 * must exit cleanly at unmount.
 *
 * - an inline directory, and a block directory, whose last entry leaves
 *   a gap holding a zero-length record (libext2fs spins on it when the
 *   inline directory has to move into a block);
 * - a one-block directory whose size claims a terabyte;
 * - a big directory with a damaged last block, looked up by many names:
 *   the damage is found once, not once per name;
 * - sizes and counts the image claims: an inline file of 1 TiB, an
 *   extent root deeper than ext4 allows, a metadata count larger than
 *   the filesystem;
 * - the request watchdog, with a test-only hook.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define DFS_TIMEOUT_MS	60000

FIXTURE(hostile) {
	struct tfs_env env;
	struct tfs_mount *m;
};

FIXTURE_VARIANT(hostile) {
	bool kernel;
};

FIXTURE_VARIANT_ADD(hostile, fuse2fs) { .kernel = false };
FIXTURE_VARIANT_ADD(hostile, ext4) { .kernel = true };

FIXTURE_SETUP(hostile)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	self->m = variant->kernel ? &self->env.kern : &self->env.fuse;
}

FIXTURE_TEARDOWN_PARENT(hostile)
{
	tfs_env_cleanup(&self->env);
}

/* debugfs -w -R "request" image; 0, or -1 with its output logged. */
static int dfs_w(const char *image, const char *fmt, ...)
{
	char req[512], *out = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	r = tfs_runl(DFS_TIMEOUT_MS, &out, "debugfs", "-w", "-R", req, image,
		     NULL);
	if (r)
		tfs_log_text(req, out);
	free(out);
	return r ? -1 : 0;
}

/* The physical block of logical block lblk of path, or -1. */
static long long dir_block(const char *image, const char *path, int lblk)
{
	char req[256], *out = NULL, *line;
	long long blk = -1;

	snprintf(req, sizeof(req), "bmap %s %d", path, lblk);
	if (!tfs_debugfs(image, req, &out)) {
		/* The number is on a line of its own. */
		for (line = out; line; line = strchr(line, '\n')) {
			while (*line == '\n')
				line++;
			if (*line >= '0' && *line <= '9') {
				blk = atoll(line);
				break;
			}
		}
	}
	free(out);
	return blk;
}

static int poke16(const char *image, long long off, unsigned int val)
{
	unsigned char le[2] = { val & 0xff, (val >> 8) & 0xff };
	int fd = open(image, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, le, sizeof(le), off);
	close(fd);
	return n == sizeof(le) ? 0 : -1;
}

static int mount_it(struct tfs_mount *m, const char *image, bool kernel)
{
	if (kernel)
		return tfs_mount_kernel(m, image, NULL, NULL);
	return tfs_mount_fuse(m, image, NULL);
}

/* The names in dir other than "." and "..", sorted, comma-separated. */
static char *list_dir(const char *dir)
{
	char *names[64], *out;
	struct dirent *de;
	size_t len = 1;
	int n = 0, i, j;
	DIR *d = opendir(dir);

	if (!d)
		return NULL;
	while ((de = readdir(d)) && n < 64) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		names[n] = strdup(de->d_name);
		len += strlen(de->d_name) + 1;
		n++;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];

			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	out = calloc(1, len);
	for (i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

/*
 * The damaged directory d refuses every new name with EUCLEAN (rename,
 * link, create, mkdir), lists what it still holds, and the rest of the
 * mount keeps working.
 */
static void expect_refuses_names(struct __test_metadata *_metadata,
				 struct tfs_mount *m, const char *listing)
{
	char *names;
	int fd;

	ASSERT_EQ(0, tfs_write_file(tfs_p(m, "file_with_a_long_name_x"),
				    "x", 1));
	TFS_EXPECT_ERRNO(EUCLEAN, rename(tfs_p(m, "file_with_a_long_name_x"),
					 tfs_p(m, "d/file_with_a_long_name_x")));
	TFS_EXPECT_ERRNO(EUCLEAN, link(tfs_p(m, "file_with_a_long_name_x"),
				       tfs_p(m, "d/another_long_name_y")));
	TFS_EXPECT_ERRNO(EUCLEAN, mkdir(tfs_p(m, "d/newdir"), 0755));
	errno = 0;
	fd = open(tfs_p(m, "d/newfile"), O_CREAT | O_WRONLY, 0644);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EUCLEAN, errno);
	if (fd >= 0)
		close(fd);
	names = list_dir(tfs_p(m, "d"));
	ASSERT_NE(NULL, names);
	EXPECT_STREQ(listing, names);
	free(names);
	/* The file that was to move is still there, the mount answers. */
	EXPECT_EQ(0, access(tfs_p(m, "file_with_a_long_name_x"), F_OK));
	EXPECT_EQ(0, mkdir(tfs_p(m, "elsewhere"), 0755));
	EXPECT_EQ(0, tfs_write_file(tfs_p(m, "elsewhere/f"), "ok", 2));
}

/*
 * Item 3 of issue 13: an inline directory whose last entry (bb) leaves
 * eight bytes holding a record of length zero.  ext2fs_dir_iterate()
 * does not look at the last eight bytes; moving the directory into a
 * block adds record lengths up to the end and never gets there.
 */
TEST_F(hostile, inline_dir_zero_record_length)
{
	static const struct tfs_mkfs_opts o = { .features = "inline_data" };
	const char *img = self->env.image;

	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "mkdir d"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/aa"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/bb"));
	ASSERT_EQ(0x10000000, tfs_inode_field(img, "/d", "Flags"));
	/*
	 * i_block: the parent (4 bytes), aa (12 bytes), bb at 16 with a
	 * record reaching the end (44 bytes): i_block[5] holds bb's record
	 * length, name length and type.  36 leaves 8 zero bytes.
	 */
	ASSERT_EQ(0, dfs_w(img, "sif d block[5] 0x01020024"));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	/* ext4 finds bb's record too close to the end: only aa is left. */
	expect_refuses_names(_metadata, self->m, "aa");
	EXPECT_EQ(0, access(tfs_p(self->m, "d/aa"), F_OK));
	ASSERT_EQ(0, tfs_umount(self->m));
}

/* The same damage in a directory block (no checksums: only the shape). */
TEST_F(hostile, block_dir_zero_record_length)
{
	static const struct tfs_mkfs_opts o = {
		.features = "^metadata_csum,^inline_data",
	};
	const char *img = self->env.image;
	long long blk;

	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "mkdir d"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/aa"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/bb"));
	blk = dir_block(img, "d", 0);
	ASSERT_GT(blk, 0);
	/* ".", "..", aa at 24, bb at 36 reaching 4096: stop 8 bytes short. */
	ASSERT_EQ(0, poke16(img, blk * 4096 + 36 + 4, 4096 - 36 - 8));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	expect_refuses_names(_metadata, self->m, "aa");
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * Item 4: a one-block directory whose i_size claims 1 TiB (large_dir:
 * without it ext4 reads only the low 32 bits of a directory's size).
 * Listing it, looking names up and adding one cost what it maps, not
 * what it claims.  Kernel ext4 spends some 14 s on each of those here
 * (it steps through every logical block), too slow to compare with.
 */
TEST_F(hostile, dir_size_claims_a_terabyte)
{
	static const struct tfs_mkfs_opts o = { .features = "large_dir" };
	const char *img = self->env.image;
	struct stat st;
	char *names;

	if (variant->kernel)
		SKIP(return, "kernel ext4 walks all 2^28 blocks: 14 s a call");
	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "mkdir d"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/aa"));
	ASSERT_EQ(0, dfs_w(img, "sif d size 0x10000000000"));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	ASSERT_EQ(0, stat(tfs_p(self->m, "d"), &st));
	EXPECT_EQ(1ULL << 40, (unsigned long long)st.st_size);
	names = list_dir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, names);
	EXPECT_STREQ("aa", names);
	free(names);
	EXPECT_EQ(0, stat(tfs_p(self->m, "d/aa"), &st));
	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "d/missing"), &st));
	/* There is room in the one block, as ext4 finds in the end. */
	EXPECT_EQ(0, mkdir(tfs_p(self->m, "d/new"), 0755));
	names = list_dir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, names);
	EXPECT_STREQ("aa,new", names);
	free(names);
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * An inline file whose i_size claims 1 TiB: reads return the stored
 * bytes and zeroes after them (as ext4 does), without allocating what
 * the size claims.
 */
TEST_F(hostile, inline_file_size_claims_a_terabyte)
{
	static const struct tfs_mkfs_opts o = { .features = "inline_data" };
	const char *img = self->env.image;
	char src[TFS_PATH_MAX], buf[4096], zero[4096] = { 0 };
	int fd;

	snprintf(src, sizeof(src), "%s", tfs_ep(&self->env, "hello"));
	ASSERT_EQ(0, tfs_write_file(src, "hello", 5));
	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "write %s f", src));
	ASSERT_EQ(0x10000000, tfs_inode_field(img, "/f", "Flags"));
	ASSERT_EQ(0, dfs_w(img, "sif f size 0x10000000000"));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	fd = open(tfs_p(self->m, "f"), O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(0, memcmp(buf + 5, zero, sizeof(buf) - 5));
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 1LL << 39));
	EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)));
	close(fd);
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * An extent root deeper than ext4 allows (5): the inode is refused as
 * ext4 refuses it, instead of walking down as many levels as it says.
 */
TEST_F(hostile, extent_root_too_deep)
{
	static const struct tfs_mkfs_opts o = { .features = "^inline_data" };
	const char *img = self->env.image;
	char src[TFS_PATH_MAX];
	struct stat st;

	snprintf(src, sizeof(src), "%s", tfs_ep(&self->env, "data"));
	ASSERT_EQ(0, tfs_write_pattern(src, 0, 8192, 1, O_CREAT));
	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "write %s f", src));
	ASSERT_EQ(0, dfs_w(img, "write %s g", src));
	/* i_block[1]: eh_max 4, eh_depth 6. */
	ASSERT_EQ(0, dfs_w(img, "sif f block[1] 0x00060004"));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	TFS_EXPECT_ERRNO(EUCLEAN, stat(tfs_p(self->m, "f"), &st));
	TFS_EXPECT_ERRNO(EUCLEAN, open(tfs_p(self->m, "f"), O_RDONLY));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "g"), 0, 8192, 1));
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * s_overhead_clusters beyond the filesystem: f_blocks must not wrap.
 * ext4 ignores such a count and adds the metadata up; so does fuse2fs,
 * and both come to what mke2fs recorded.
 */
TEST_F(hostile, statfs_overhead_beyond_filesystem)
{
	const char *img = self->env.image;
	long long blocks, overhead;
	struct statvfs sv;

	ASSERT_EQ(0, tfs_mkfs(img, NULL));
	blocks = tfs_sb_number(img, "Block count");
	overhead = tfs_sb_number(img, "Overhead clusters");
	ASSERT_GT(blocks, 0);
	ASSERT_GT(overhead, 0);
	ASSERT_EQ(0, dfs_w(img, "ssv overhead_clusters 0xfffffff0"));
	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	ASSERT_EQ(0, statvfs(self->m->dir, &sv));
	EXPECT_EQ(blocks - overhead, (long long)sv.f_blocks);
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * Not hostile, but what the checks must not take for damage: an htree
 * directory that kernel ext4 made (its root, converted from a leaf,
 * keeps the bytes of the leaf's checksum tail).  fuse2fs lists it, adds
 * and removes names in it, and e2fsck stays clean.
 */
TEST_F(hostile, kernel_made_htree_dir)
{
	const char *img = self->env.image;
	struct tfs_mount *k = &self->env.kern;
	char name[64];
	int i;

	ASSERT_EQ(0, tfs_mkfs(img, NULL));
	ASSERT_EQ(0, tfs_mount_kernel(k, img, NULL, NULL));
	ASSERT_EQ(0, mkdir(tfs_p(k, "d"), 0755));
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/a-rather-long-name-%04d", i);
		ASSERT_EQ(0, tfs_write_file(tfs_p(k, name), "", 0));
	}
	ASSERT_EQ(0, tfs_umount(k));
	ASSERT_EQ(1, tfs_inode_field(img, "/d", "Flags") >> 12 & 1);

	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	EXPECT_EQ(0, tfs_write_file(tfs_p(self->m, "d/new"), "n", 1));
	EXPECT_EQ(0, unlink(tfs_p(self->m, "d/a-rather-long-name-0007")));
	EXPECT_EQ(0, rename(tfs_p(self->m, "d/new"),
			    tfs_p(self->m, "d/a-rather-long-name-0007")));
	{
		DIR *d = opendir(tfs_p(self->m, "d"));
		int n = 0;

		ASSERT_NE(NULL, d);
		while (readdir(d))
			n++;
		closedir(d);
		EXPECT_EQ(300 + 2, n);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

#define FRAGMENTS	345

/*
 * The walk follows the extent tree, so it must not lose a leaf: a
 * directory of 346 fragments (two leaf blocks below the inode) with a
 * name only in its last block.  A sound image: e2fsck -fn stays clean.
 */
TEST_F(hostile, fragmented_dir_every_leaf)
{
	static const struct tfs_mkfs_opts o = {
		.features = "^metadata_csum,^inline_data",
	};
	const char *img = self->env.image;
	char cmds[TFS_PATH_MAX], one[TFS_PATH_MAX], *out = NULL, *names;
	long long blk, ino;
	struct stat st;
	FILE *f;
	int i;

	snprintf(cmds, sizeof(cmds), "%s", tfs_ep(&self->env, "frag.cmd"));
	snprintf(one, sizeof(one), "%s", tfs_ep(&self->env, "one"));
	ASSERT_EQ(0, tfs_write_pattern(one, 0, 4096, 1, O_CREAT));
	ASSERT_EQ(0, tfs_mkfs(img, &o));
	f = fopen(cmds, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "mkdir d\n");
	/* A file block after each directory block: one extent each. */
	for (i = 0; i < FRAGMENTS; i++)
		fprintf(f, "expand_dir d\nwrite %s f%d\n", one, i);
	fclose(f);
	ASSERT_EQ(0, tfs_runl(DFS_TIMEOUT_MS * 2, &out, "debugfs", "-w",
			      "-f", cmds, img, NULL));
	free(out);
	/* Two index entries in the inode: two leaves. */
	ASSERT_EQ(0, tfs_debugfs(img, "ex d", &out));
	EXPECT_NE(NULL, strstr(out, " 0/ 1   2/  2 "));
	free(out);
	/* The last block's one empty record becomes "late" -> f0. */
	ino = tfs_inode_field(img, "/f0", "Inode");
	blk = dir_block(img, "d", FRAGMENTS);
	ASSERT_GT(ino, 0);
	ASSERT_GT(blk, 0);
	{
		unsigned char e[12] = {
			ino & 0xff, ino >> 8 & 0xff, ino >> 16 & 0xff,
			ino >> 24, 0x00, 0x10, 4, 1 /* regular */,
			'l', 'a', 't', 'e',
		};
		int fd = open(img, O_WRONLY);

		ASSERT_GE(fd, 0);
		ASSERT_EQ(12, pwrite(fd, e, sizeof(e), blk * 4096));
		close(fd);
	}
	ASSERT_EQ(0, dfs_w(img, "sif f0 links_count 2"));
	ASSERT_EQ(0, tfs_fsck(img));

	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	names = list_dir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, names);
	EXPECT_STREQ("late", names);
	free(names);
	EXPECT_EQ(0, stat(tfs_p(self->m, "d/late"), &st));
	/* Reading on from a place in the first leaf (a block of it). */
	{
		DIR *d = opendir(tfs_p(self->m, "d"));
		struct dirent *de;

		ASSERT_NE(NULL, d);
		seekdir(d, 5L << 16);
		de = readdir(d);
		EXPECT_STREQ("late", de ? de->d_name : "(end)");
		closedir(d);
	}
	EXPECT_EQ(0, mkdir(tfs_p(self->m, "d/new"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

#define BIG_BLOCKS	2000
#define MISSES		50000
#define KERNEL_MISSES	200	/* ext4 only shows the errno */

/* Lines of the server's log that report damage in a directory. */
static int damage_lines(const struct tfs_mount *m)
{
	return tfs_log_count(m, "fuse2fs: directory inode");
}

/*
 * Item 5: a directory of 2001 blocks whose last block is damaged.  A
 * lookup of a missing name has to read it all and fails (EUCLEAN, as on
 * ext4); fuse2fs must not read it again for each of 50000 names.  The
 * harness time-out catches the old cost (some 6 ms a name); the log
 * shows the directory was read once, and once more after it changed.
 */
TEST_F_TIMEOUT(hostile, damaged_dir_fails_fast, 120)
{
	static const struct tfs_mkfs_opts o = {
		.features = "^metadata_csum,^inline_data",
	};
	const char *img = self->env.image;
	char cmds[TFS_PATH_MAX], name[64], *out = NULL;
	int i, fails = 0, lines;
	struct stat st;
	long long blk;
	FILE *f;

	snprintf(cmds, sizeof(cmds), "%s", tfs_ep(&self->env, "expand.cmd"));
	ASSERT_EQ(0, tfs_mkfs(img, &o));
	ASSERT_EQ(0, dfs_w(img, "mkdir d"));
	ASSERT_EQ(0, dfs_w(img, "write /dev/null d/aa"));
	f = fopen(cmds, "w");
	ASSERT_NE(NULL, f);
	for (i = 0; i < BIG_BLOCKS; i++)
		fprintf(f, "expand_dir d\n");
	fclose(f);
	ASSERT_EQ(0, tfs_runl(DFS_TIMEOUT_MS * 2, &out, "debugfs", "-w",
			      "-f", cmds, img, NULL));
	free(out);
	ASSERT_EQ((BIG_BLOCKS + 1) * 4096LL, tfs_inode_field(img, "/d", "Size"));
	/* The last block holds one empty record: make its length zero. */
	blk = dir_block(img, "d", BIG_BLOCKS);
	ASSERT_GT(blk, 0);
	ASSERT_EQ(0, poke16(img, blk * 4096 + 4, 0));

	ASSERT_EQ(0, mount_it(self->m, img, variant->kernel));
	EXPECT_EQ(0, stat(tfs_p(self->m, "d/aa"), &st));
	for (i = 0; i < (variant->kernel ? KERNEL_MISSES : MISSES); i++) {
		snprintf(name, sizeof(name), "d/missing-%d", i);
		errno = 0;
		if (stat(tfs_p(self->m, name), &st) == 0 || errno != EUCLEAN)
			fails++;
	}
	EXPECT_EQ(0, fails);
	if (!variant->kernel) {
		lines = damage_lines(self->m);
		EXPECT_GE(lines, 1);
		EXPECT_LE(lines, 2);
		/* A change to the directory drops the mark: read it again. */
		ASSERT_EQ(0, chmod(tfs_p(self->m, "d"), 0700));
		TFS_EXPECT_ERRNO(EUCLEAN, stat(tfs_p(self->m, "d/x"), &st));
		TFS_EXPECT_ERRNO(EUCLEAN, stat(tfs_p(self->m, "d/y"), &st));
		EXPECT_EQ(lines + 1, damage_lines(self->m));
	}
	EXPECT_EQ(0, stat(tfs_p(self->m, "d/aa"), &st));
	ASSERT_EQ(0, tfs_umount(self->m));
}

/*
 * Item 6: the watchdog.  A clean image, and a test-only hook
 * ($FUSE2FS_TEST_STALL=PLACE:INODE) that makes one loop run until the
 * watchdog stops it: the request fails with EIO, one line says so, and
 * the next request is served as usual.
 */
FIXTURE(wdog) {
	struct tfs_env env;
	struct tfs_mount *m;
	long long d_ino, e_ino;
};

FIXTURE_SETUP(wdog)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	self->m = &self->env.fuse;
	ASSERT_EQ(0, mkdir(tfs_ep(&self->env, "src"), 0755));
	ASSERT_EQ(0, mkdir(tfs_ep(&self->env, "src/d"), 0755));
	ASSERT_EQ(0, mkdir(tfs_ep(&self->env, "src/e"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/d/a"), "a", 1));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/top"), "top", 3));
	{
		struct tfs_mkfs_opts o = {
			.populate = tfs_ep(&self->env, "src"),
		};

		ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	}
	self->d_ino = tfs_inode_field(self->env.image, "/d", "Inode");
	self->e_ino = tfs_inode_field(self->env.image, "/e", "Inode");
	ASSERT_GT(self->d_ino, 0);
	ASSERT_GT(self->e_ino, 0);
}

FIXTURE_TEARDOWN_PARENT(wdog)
{
	tfs_env_cleanup(&self->env);
}

/* Mount with a one-second watchdog and the stall hook set to hook. */
static int mount_stalling(struct tfs_mount *m, const char *image,
			  const char *hook)
{
	int r;

	setenv("FUSE2FS_TEST_STALL", hook, 1);
	r = tfs_mount_fuse(m, image, "watchdog=1");
	unsetenv("FUSE2FS_TEST_STALL");
	return r;
}

/* What must still work after a request was cut. */
static void expect_still_serving(struct __test_metadata *_metadata,
				 struct tfs_mount *m)
{
	struct stat st;
	char *data;

	EXPECT_EQ(0, stat(m->dir, &st));
	data = tfs_read_file(tfs_p(m, "top"), NULL);
	EXPECT_STREQ("top", data ? data : "");
	free(data);
	EXPECT_EQ(0, mkdir(tfs_p(m, "new"), 0755));
	EXPECT_EQ(0, rmdir(tfs_p(m, "new")));
}

/* Our own loop: the checked directory walk (readdir and lookups). */
TEST_F(wdog, overrun_in_directory_walk)
{
	char hook[64];
	struct stat st;
	DIR *d;

	snprintf(hook, sizeof(hook), "dirwalk:%lld", self->d_ino);
	ASSERT_EQ(0, mount_stalling(self->m, self->env.image, hook));
	d = opendir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, d);
	errno = 0;
	EXPECT_EQ(NULL, readdir(d));
	EXPECT_EQ(EIO, errno);
	closedir(d);
	expect_still_serving(_metadata, self->m);
	TFS_EXPECT_ERRNO(EIO, stat(tfs_p(self->m, "d/a"), &st));
	expect_still_serving(_metadata, self->m);
	EXPECT_EQ(2, tfs_log_count(self->m, "failing it with EIO (watchdog)"));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* A libext2fs loop (ext2fs_dir_iterate), stopped by the read tap. */
TEST_F(wdog, overrun_inside_libext2fs)
{
	char hook[64];
	struct stat st;

	snprintf(hook, sizeof(hook), "dir_is_empty:%lld", self->e_ino);
	ASSERT_EQ(0, mount_stalling(self->m, self->env.image, hook));
	TFS_EXPECT_ERRNO(EIO, rmdir(tfs_p(self->m, "e")));
	EXPECT_EQ(0, stat(tfs_p(self->m, "e"), &st));
	expect_still_serving(_metadata, self->m);
	EXPECT_EQ(1, tfs_log_count(self->m, "failing it with EIO (watchdog)"));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
