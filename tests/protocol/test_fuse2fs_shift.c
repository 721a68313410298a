// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE in fuse2fs (classic,
 * the test playing the kernel: the host's FUSE refuses both before asking
 * the server), against kernel ext4 on a copy of the same image, a file
 * that ext4 fragmented first (holes, one at the start, a tree with a
 * leaf block, unwritten blocks inside and past EOF): the same sequence
 * of shifts across
 * extents, holes, unwritten blocks and blocks past EOF, then every
 * refusal, must give the same result code each time (the host kernel's
 * VFS for flags combined with collapse or insert: EOPNOTSUPP since Linux
 * 6.13), and leave the file with the same
 * size, the same block count, the same bytes and every logical block on
 * the same physical block with the same written/unwritten state.  A
 * block-mapped (ext3) and an inline file are compared the same way.  On a
 * full disk an insert whose split needs a tree block fails with ENOSPC
 * and leaves the file as it was.  Every image ends e2fsck -fn clean.
 * Needs root for the loop mount (else SKIP).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "f2_fixture.h"

#define KIB		1024LL
#define MIB		(1024LL * 1024)
#define TRUTH_BLOCKS	4096	/* 16 MiB: the file and what lies past EOF */

struct shift_op {
	int mode;
	long long off, len;
};

#define P	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define C	FALLOC_FL_COLLAPSE_RANGE
#define I	FALLOC_FL_INSERT_RANGE

/*
 * Kernel ext4 shapes the 4 MiB file of written blocks first (holes, a
 * tree with a leaf block, unwritten blocks inside and past EOF), so that
 * both sides then start from the same image: the shifts allocate no data
 * block, and every block must end up in the same place.
 */
static const struct shift_op prep[] = {
	/* a hole at the start: the first collapses lie in it */
	{ P, 0, 64 * KIB },
	{ P, 40 * KIB, 8 * KIB }, { P, 200 * KIB, 40 * KIB },
	{ P, MIB, 4 * KIB }, { P, 2 * MIB + 100, 10000 },
	{ P, 3 * MIB, 64 * KIB }, { P, 3 * MIB + 512 * KIB, 4 * KIB },
	{ FALLOC_FL_KEEP_SIZE, 4 * MIB, 64 * KIB },
	{ FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 500 * KIB, 12 * KIB },
};

static const struct shift_op ops[] = {
	/* inside one extent, across a hole, over unwritten blocks */
	{ C, 16 * KIB, 8 * KIB }, { C, 180 * KIB, 64 * KIB },
	{ C, 480 * KIB, 24 * KIB },
	{ I, 100 * KIB, 12 * KIB }, { I, 0, 4 * KIB },
	{ I, MIB + 4 * KIB, MIB }, { C, 0, 4 * KIB },
	{ I, 3 * MIB, 3 * MIB }, { C, 2 * MIB, 2 * MIB + 256 * KIB },
	/* refusals: alignment, other flags, EOF, the size limit */
	{ C, 1000, 4 * KIB }, { C, 4 * KIB, 100 }, { I, 4 * KIB, 6000 },
	{ C | FALLOC_FL_KEEP_SIZE, 0, 4 * KIB }, { I | P, 0, 4 * KIB },
	{ C, 64 * KIB, 64 * MIB }, { I, 64 * MIB, 4 * KIB },
	{ I, 4 * KIB, 1LL << 44 },
};

/* Small: the full-disk test fills it */
static const struct tfs_mkfs_opts ext4_opts = { .size_mb = 64 };
static const struct tfs_mkfs_opts ext3_opts = {
	.fstype = "ext3", .size_mb = 64,
};
static const struct tfs_mkfs_opts inline_opts = {
	.features = "inline_data", .size_mb = 64,
};

FIXTURE(sh) {
	struct tfs_env env;
	char tree[TFS_PATH_MAX + 8];
	struct wire w;
	bool running;
};

FIXTURE_VARIANT(sh) {
	const struct tfs_mkfs_opts *mkfs;
	long long size;		/* of the file "f" */
	bool shape;		/* apply prep[] with kernel ext4 first */
};

FIXTURE_VARIANT_ADD(sh, ext4) {
	.mkfs = &ext4_opts, .size = 4 * MIB, .shape = true,
};

FIXTURE_VARIANT_ADD(sh, ext3) {
	.mkfs = &ext3_opts, .size = 4 * MIB, .shape = true,
};

FIXTURE_VARIANT_ADD(sh, inline_data) {
	.mkfs = &inline_opts, .size = 60,
};

/*
 * A fresh test directory with an image holding one file, name, of size
 * bytes of pattern 9 (populated by mke2fs -d); 0 or -1.
 */
static int image_with_file(struct tfs_env *env, char *tree, size_t tree_len,
			   struct tfs_mkfs_opts o, const char *name,
			   size_t size)
{
	char path[TFS_PATH_MAX + 16];

	if (tfs_env_init(env))
		return -1;
	snprintf(tree, tree_len, "%s/tree", env->dir);
	snprintf(path, sizeof(path), "%s/%s", tree, name);
	if (mkdir(tree, 0755) || tfs_write_pattern(path, 0, size, 9, O_CREAT))
		return -1;
	o.populate = tree;
	return tfs_mkfs(env->image, &o);
}

FIXTURE_SETUP(sh)
{
	const char *why = tfs_can_mount();

	self->running = false;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, image_with_file(&self->env, self->tree,
				     sizeof(self->tree), *variant->mkfs, "f",
				     variant->size));
	if (variant->shape) {
		struct tfs_mount *m = &self->env.kern;
		size_t i;
		int fd;

		ASSERT_EQ(0, tfs_mount_kernel(m, self->env.image, NULL, NULL));
		fd = open(tfs_p(m, "f"), O_RDWR);
		ASSERT_LE(0, fd);
		/* ext3 refuses what needs extents: shaped less, that's all */
		for (i = 0; i < sizeof(prep) / sizeof(prep[0]); i++)
			fallocate(fd, prep[i].mode, prep[i].off, prep[i].len);
		close(fd);
		ASSERT_EQ(0, tfs_umount_kernel(m));
	}
	ASSERT_EQ(0, tfs_sh(F2_CMD_TIMEOUT_MS, NULL, "cp --sparse=always '%s' '%s'",
			    self->env.image, self->env.kimage));
}

FIXTURE_TEARDOWN(sh)
{
	if (self->running)
		wire_stop(&self->w);
	tfs_env_cleanup(&self->env);
}

static int f2_fallocate(struct wire *w, uint64_t nodeid, uint64_t fh,
			const struct shift_op *op)
{
	struct fuse_fallocate_in in = {
		.fh = fh, .offset = op->off, .length = op->len,
		.mode = op->mode,
	};

	return wire_call(w, FUSE_FALLOCATE, nodeid, &in, sizeof(in), NULL);
}

/* fuse2fs on the image, "f" looked up and opened; 0 or -1 */
static int f2_open_f(struct _test_data_sh *self, uint64_t *nodeid,
		     uint64_t *fh)
{
	struct fuse_init_out init;
	struct fuse_entry_out e;

	if (f2_start(&self->w, self->env.image, NULL, false, &init))
		return -1;
	self->running = true;
	if (wire_lookup(&self->w, 1, "f", &e) ||
	    wire_open(&self->w, e.nodeid, O_RDWR, fh))
		return -1;
	*nodeid = e.nodeid;
	return 0;
}

static int f2_stop(struct wire *w, bool *running)
{
	*running = false;
	return wire_stop(w);
}

/* The file's bytes, size and blocks as kernel ext4 sees them */
struct seen {
	char *data;
	size_t size;
	blkcnt_t blocks;
};

static int ext4_look(struct _test_data_sh *self, const char *image,
		     struct seen *s)
{
	struct tfs_mount *m = &self->env.kern;
	struct stat st;
	int rc = -1;

	if (tfs_mount_kernel(m, image, NULL, "ro"))
		return -1;
	if (!stat(tfs_p(m, "f"), &st)) {
		s->blocks = st.st_blocks;
		s->data = tfs_read_file(tfs_p(m, "f"), &s->size);
		rc = s->data ? 0 : -1;
	}
	return tfs_umount_kernel(m) ? -1 : rc;
}

/* Every logical block on the same physical block, in the same state */
static void expect_same_blocks(struct __test_metadata *_metadata,
			       const char *a, const char *b, bool extents)
{
	struct f2_truth ta, tb;
	uint64_t i;

	if (!extents)
		return;
	ASSERT_EQ(0, f2_truth_load(a, "/f", TRUTH_BLOCKS, &ta));
	ASSERT_EQ(0, f2_truth_load(b, "/f", TRUTH_BLOCKS, &tb));
	for (i = 0; i < TRUTH_BLOCKS; i++) {
		bool same = ta.type[i] == tb.type[i] &&
			    ta.pblk[i] == tb.pblk[i];

		EXPECT_TRUE(same) {
			TH_LOG("block %llu: fuse2fs type %d pblk %llu, ext4 type %d pblk %llu",
			       (unsigned long long)i, ta.type[i],
			       (unsigned long long)ta.pblk[i], tb.type[i],
			       (unsigned long long)tb.pblk[i]);
		}
		if (!same)
			break;
	}
	f2_truth_free(&ta);
	f2_truth_free(&tb);
}

TEST_F(sh, same_as_kernel_ext4)
{
	const size_t n = sizeof(ops) / sizeof(ops[0]);
	struct seen f2 = { 0 }, k4 = { 0 };
	int f2_rc[sizeof(ops) / sizeof(ops[0])];
	struct tfs_mount *m = &self->env.kern;
	uint64_t nodeid, fh;
	bool extents;
	size_t i;
	int fd;

	ASSERT_EQ(0, f2_open_f(self, &nodeid, &fh));
	for (i = 0; i < n; i++)
		f2_rc[i] = f2_fallocate(&self->w, nodeid, fh, &ops[i]);
	ASSERT_EQ(0, f2_stop(&self->w, &self->running));

	ASSERT_EQ(0, tfs_mount_kernel(m, self->env.kimage, NULL, NULL));
	fd = open(tfs_p(m, "f"), O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < n; i++) {
		int rc = fallocate(fd, ops[i].mode, ops[i].off, ops[i].len);

		rc = rc ? -errno : 0;
		EXPECT_EQ(rc, f2_rc[i]) {
			TH_LOG("op %zu (mode %#x, %lld, %lld): fuse2fs %d, ext4 %d",
			       i, ops[i].mode, ops[i].off, ops[i].len,
			       f2_rc[i], rc);
		}
	}
	close(fd);
	ASSERT_EQ(0, tfs_umount_kernel(m));

	EXPECT_EQ(0, tfs_fsck(self->env.image));
	EXPECT_EQ(0, tfs_fsck(self->env.kimage));
	ASSERT_EQ(0, ext4_look(self, self->env.image, &f2));
	ASSERT_EQ(0, ext4_look(self, self->env.kimage, &k4));
	EXPECT_EQ(k4.size, f2.size);
	EXPECT_EQ(k4.blocks, f2.blocks);
	EXPECT_TRUE(f2.size == k4.size && !memcmp(f2.data, k4.data, f2.size));
	free(f2.data);
	free(k4.data);
	extents = tfs_inode_field(self->env.image, "/f", "Flags") & 0x80000;
	expect_same_blocks(_metadata, self->env.image, self->env.kimage,
			   extents);
}

/* fuse2fs alone, on a small image with a 1 MiB file "g" */
FIXTURE(full) {
	struct tfs_env env;
	char tree[TFS_PATH_MAX + 8];
	struct wire w;
	bool running;
};

FIXTURE_SETUP(full)
{
	const struct tfs_mkfs_opts o = { .size_mb = 16 };
	const char *why = tfs_can_mount();
	struct fuse_init_out init;

	self->running = false;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, image_with_file(&self->env, self->tree,
				     sizeof(self->tree), o, "g", MIB));
	ASSERT_EQ(0, f2_start(&self->w, self->env.image, NULL, false, &init));
	self->running = true;
}

FIXTURE_TEARDOWN(full)
{
	if (self->running)
		wire_stop(&self->w);
	tfs_env_cleanup(&self->env);
}

/*
 * "g" in four extents (a full extent root in the inode), the rest of the
 * disk preallocated to "fill": an insert inside an extent must split it,
 * which needs a leaf block there is none of.  ENOSPC, and "g" keeps its
 * bytes, size and blocks; the image stays e2fsck clean.
 */
TEST_F(full, insert_needing_a_tree_block_on_a_full_disk)
{
	const struct shift_op holes[] = {
		{ P, 100 * KIB, 8 * KIB }, { P, 400 * KIB, 8 * KIB },
		{ P, 700 * KIB, 8 * KIB },
	};
	const struct shift_op insert = { I, 200 * KIB, 4 * KIB };
	struct fuse_entry_out g, fill;
	struct fuse_open_out fill_open;
	long long off = 0, len = 16 * MIB, blocks;
	char *want = malloc(MIB), *got;
	uint64_t gfh;
	size_t i, size;

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "g", &g));
	ASSERT_EQ(0, wire_open(&self->w, g.nodeid, O_RDWR, &gfh));
	tfs_pattern(want, MIB, 0, 9);
	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		ASSERT_EQ(0, f2_fallocate(&self->w, g.nodeid, gfh, &holes[i]));
		memset(want + holes[i].off, 0, holes[i].len);
	}
	ASSERT_EQ(0, wire_create(&self->w, 1, "fill", O_RDWR, 0100644, &fill,
				 &fill_open));
	while (len >= 4 * KIB) {
		const struct shift_op grow = { 0, off, len };

		if (f2_fallocate(&self->w, fill.nodeid, fill_open.fh, &grow))
			len /= 2;
		else
			off += len;
	}
	EXPECT_EQ(-ENOSPC, f2_fallocate(&self->w, g.nodeid, gfh, &insert));
	ASSERT_EQ(0, f2_stop(&self->w, &self->running));

	EXPECT_EQ(0, tfs_fsck(self->env.image));
	blocks = tfs_inode_field(self->env.image, "/g", "Blockcount");
	/* 256 blocks less the three holes, 8 sectors each, no tree block */
	EXPECT_EQ((256 - 6) * 8, blocks);
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      "ro"));
	got = tfs_read_file(tfs_p(&self->env.kern, "g"), &size);
	EXPECT_EQ(0, tfs_umount_kernel(&self->env.kern));
	ASSERT_NE(NULL, got);
	EXPECT_EQ((size_t)MIB, size);
	EXPECT_TRUE(size == MIB && !memcmp(want, got, MIB));
	free(got);
	free(want);
}

/*
 * A file with a size but no extent at all (the guest exerciser met one:
 * O_TRUNC, then truncate up): an insert has nothing to split or move and
 * only grows the file, as in kernel ext4.  It once walked the empty
 * extent root as if it held an extent and failed with ENOENT.
 */
TEST_F(full, insert_into_a_file_without_extents)
{
	const struct shift_op all = { P, 0, MIB };
	const struct shift_op insert = { I, 200 * KIB, 8 * KIB };
	struct fuse_entry_out g;
	char *got;
	uint64_t gfh;
	size_t size, i;

	ASSERT_EQ(0, wire_lookup(&self->w, 1, "g", &g));
	ASSERT_EQ(0, wire_open(&self->w, g.nodeid, O_RDWR, &gfh));
	ASSERT_EQ(0, f2_fallocate(&self->w, g.nodeid, gfh, &all));
	EXPECT_EQ(0, f2_fallocate(&self->w, g.nodeid, gfh, &insert));
	ASSERT_EQ(0, f2_stop(&self->w, &self->running));

	EXPECT_EQ(0, tfs_fsck(self->env.image));
	EXPECT_EQ(0, tfs_inode_field(self->env.image, "/g", "Blockcount"));
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      "ro"));
	got = tfs_read_file(tfs_p(&self->env.kern, "g"), &size);
	EXPECT_EQ(0, tfs_umount_kernel(&self->env.kern));
	ASSERT_NE(NULL, got);
	EXPECT_EQ((size_t)(MIB + 8 * KIB), size);
	for (i = 0; i < size && !got[i]; i++)
		;
	EXPECT_EQ(size, i);
	free(got);
}

TEST_HARNESS_MAIN
