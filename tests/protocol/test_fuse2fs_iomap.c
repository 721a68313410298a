// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs as an iomap server, with the test playing the kernel over the
 * wire harness: the per-file policy reported at LOOKUP/READDIRPLUS/GETATTR,
 * every BEGIN mapping checked against `debugfs -R "ex"`, allocation and
 * IOEND sequences (the test does the kernel's data IO on the image, which
 * is the registered device here), errors, and fresh images that end
 * e2fsck -fn clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "f2_fixture.h"

#define BS		4096ULL
#define MIB		(1ULL << 20)

FIXTURE(f2) {
	char dir[200];
	char tree[256];
	char image[256];
	struct wire w;
	bool running;
};

FIXTURE_SETUP(f2)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(self->dir, sizeof(self->dir), "%s/f2iomap.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->tree, sizeof(self->tree), "%s/tree", self->dir);
	snprintf(self->image, sizeof(self->image), "%s/fs.img", self->dir);
	ASSERT_EQ(0, mkdir(self->tree, 0755));
	self->running = false;
}

FIXTURE_TEARDOWN(f2)
{
	if (self->running)
		wire_stop(&self->w);
	tfs_sh(F2_CMD_TIMEOUT_MS, NULL, "rm -rf '%s'", self->dir);
}

static int put_file(const char *dir, const char *name, size_t size)
{
	char path[512];
	char *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tfs_pattern(buf, size, 0, 3);
	rc = tfs_write_file(path, buf, size);
	free(buf);
	return rc;
}

static int start(struct _test_data_f2 *self, const char *opts, bool offer)
{
	struct fuse_init_out init;

	if (f2_start(&self->w, self->image, opts, offer, &init))
		return -1;
	self->running = true;
	if (offer && (!opts || !strstr(opts, "iomap=off")) &&
	    !wire_init_accepted_iomap(&init)) {
		fprintf(stderr, "# fuse2fs did not accept FUSE_IOMAP\n");
		return -1;
	}
	return 0;
}

static int stop(struct _test_data_f2 *self)
{
	int rc = wire_stop(&self->w);

	self->running = false;
	if (rc)
		fprintf(stderr, "# fuse2fs exited with %d\n", rc);
	return rc;
}

/* The policy fixture: one file of each kind. */
static int make_policy_image(struct _test_data_f2 *self)
{
	struct tfs_mkfs_opts o = {
		.features = "inline_data", .populate = self->tree,
	};
	char link[512];

	if (put_file(self->tree, "big", MIB) ||
	    put_file(self->tree, "small", 60) ||
	    put_file(self->tree, "enc", 65536) ||
	    put_file(self->tree, "ver", 65536) ||
	    put_file(self->tree, "jdata", 65536))
		return -1;
	snprintf(link, sizeof(link), "%s/sub", self->tree);
	if (mkdir(link, 0755))
		return -1;
	snprintf(link, sizeof(link), "%s/link", self->tree);
	if (symlink("big", link))
		return -1;
	if (tfs_mkfs(self->image, &o))
		return -1;
	/* Only the decision is tested: flags set without the real thing. */
	return f2_debugfs(self->image,
			  "set_inode_field enc flags 0x80800\n"
			  "set_inode_field ver flags 0x180000\n"
			  "set_inode_field jdata flags 0x84000\n");
}

/* Put the fake flags back so that e2fsck judges fuse2fs's work only. */
static int unflag_policy_image(struct _test_data_f2 *self)
{
	return f2_debugfs(self->image,
			  "set_inode_field enc flags 0x80000\n"
			  "set_inode_field ver flags 0x80000\n"
			  "set_inode_field jdata flags 0x80000\n");
}

struct expect {
	const char *name;
	bool iomap;
	const char *mode;
};

static const struct expect policy_auto[] = {
	{ "big", true, "iomap" },
	{ "small", false, "classic (inline data)" },
	{ "enc", false, "classic (encrypted)" },
	{ "ver", false, "classic (verity)" },
	{ "jdata", false, "classic (data journalling)" },
	{ "sub", false, "classic (not a regular file)" },
	{ "link", false, NULL },
};

static int check_mode_xattr(struct wire *w, uint64_t nodeid, const char *want)
{
	char buf[128];
	int n = f2_getxattr(w, nodeid, "user.fuse2fs.iomap_mode", buf,
			    sizeof(buf) - 1);

	if (n < 0) {
		fprintf(stderr, "# getxattr iomap_mode: %d\n", n);
		return -1;
	}
	buf[n] = '\0';
	if (strcmp(buf, want)) {
		fprintf(stderr, "# iomap_mode '%s', expected '%s'\n", buf, want);
		return -1;
	}
	return 0;
}

TEST_F(f2, policy_per_file_at_lookup_readdirplus_getattr)
{
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	static struct wire_reply r;
	struct fuse_direntplus dp;
	char name[256];
	unsigned int i, seen = 0;
	uint64_t fh, nodeid[8] = { 0 };
	size_t pos = 0;

	ASSERT_EQ(0, make_policy_image(self));
	ASSERT_EQ(0, start(self, "iomap=auto", true));

	for (i = 0; i < ARRAY_SIZE(policy_auto); i++) {
		const struct expect *x = &policy_auto[i];
		char path[64];
		ext2_ino_t ino;

		snprintf(path, sizeof(path), "/%s", x->name);
		ASSERT_EQ(0, f2_stat_image(self->image, path, &ino, NULL));
		ASSERT_EQ(0, wire_lookup(&self->w, 1, x->name, &e));
		nodeid[i] = e.nodeid;
		EXPECT_EQ(x->iomap, !!(e.attr.flags & FUSE_ATTR_IOMAP))
			TH_LOG("LOOKUP %s flags 0x%x", x->name, e.attr.flags);
		/* The backing inode number travels in fuse_attr.ino. */
		EXPECT_EQ(ino, e.attr.ino);
		ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
		EXPECT_EQ(x->iomap, !!(a.attr.flags & FUSE_ATTR_IOMAP))
			TH_LOG("GETATTR %s", x->name);
		if (x->mode)
			EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
						      x->mode));
	}

	ASSERT_EQ(0, wire_opendir(&self->w, 1, &fh));
	ASSERT_EQ(0, wire_readdirplus(&self->w, 1, fh, 0, 65536, &r));
	while (wire_next_direntplus(&r, &pos, &dp, name)) {
		for (i = 0; i < ARRAY_SIZE(policy_auto); i++) {
			if (strcmp(name, policy_auto[i].name))
				continue;
			seen++;
			EXPECT_EQ(policy_auto[i].iomap,
				  !!(dp.entry_out.attr.flags & FUSE_ATTR_IOMAP))
				TH_LOG("READDIRPLUS %s", name);
		}
	}
	EXPECT_EQ(ARRAY_SIZE(policy_auto), seen);
	ASSERT_EQ(0, wire_release(&self->w, 1, fh, true));

	/* BEGIN is refused on anything not in iomap mode... */
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(&self->w, nodeid[1],
						nodeid[1], 0, 4096, 0, NULL));
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(&self->w, nodeid[2],
						nodeid[2], 0, 4096, 0, NULL));
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(&self->w, nodeid[5],
						nodeid[5], 0, 4096, 0, NULL));
	/* ...or naming the wrong backing inode, or a free inode. */
	EXPECT_EQ(-ESTALE, wire_iomap_begin(&self->w, nodeid[0],
					    nodeid[1], 0, 4096, 0, NULL));
	EXPECT_EQ(-ESTALE, wire_iomap_begin(&self->w, 4000, 4000, 0, 4096, 0,
					    NULL));
	EXPECT_EQ(-ESTALE, wire_iomap_begin(&self->w, 1ULL << 40, 1ULL << 40,
					    0, 4096, 0, NULL));
	/* The mode attribute is read-only. */
	EXPECT_EQ(-EPERM, f2_setxattr(&self->w, nodeid[0],
				      "user.fuse2fs.iomap_mode", "iomap"));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, unflag_policy_image(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_F(f2, iomap_off_and_kernel_without_iomap_are_classic)
{
	struct fuse_entry_out e;

	ASSERT_EQ(0, make_policy_image(self));
	ASSERT_EQ(0, start(self, "iomap=off", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "big", &e));
	EXPECT_EQ(0, e.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
				      "classic (iomap=off)"));
	EXPECT_EQ(-ENOSYS, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
					    0, 4096, 0, NULL));
	/* The file's own reason wins over the mount's. */
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "small", &e));
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
				      "classic (inline data)"));
	ASSERT_EQ(0, stop(self));

	ASSERT_EQ(0, start(self, "iomap=auto", false));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "big", &e));
	EXPECT_EQ(0, e.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
				      "classic (no kernel iomap)"));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, unflag_policy_image(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_F(f2, iomap_on_fails_without_kernel_iomap)
{
	struct fuse_init_out init;
	struct tfs_mkfs_opts o = { .populate = self->tree };

	ASSERT_EQ(0, put_file(self->tree, "big", MIB));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	/* The server may answer INIT and then exit, or exit right away. */
	if (f2_start(&self->w, self->image, "iomap=on", false, &init) == 0)
		self->running = true;
	EXPECT_NE(0, self->running ? stop(self) : 1);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* ext3: indirect-block files stay classic (see fuse2fs/iomap_policy.c). */
TEST_F(f2, ext3_indirect_files_are_classic)
{
	struct tfs_mkfs_opts o = { .fstype = "ext3", .populate = self->tree };
	struct fuse_entry_out e;

	ASSERT_EQ(0, put_file(self->tree, "big", 3 * MIB));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "big", &e));
	EXPECT_EQ(0, e.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
				      "classic (indirect blocks)"));
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(&self->w, e.nodeid,
						e.attr.ino, 0, 4096, 0, NULL));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Walk [0, end) with BEGIN(opflags) like the kernel does (ask at pos, use
 * the mapping, ask again at its end) and check every mapping against the
 * truth.  Returns the number of BEGIN calls or -1.
 */
static int walk_file(struct wire *w, uint64_t nodeid, uint64_t ino,
		     uint64_t end, uint32_t opflags, uint32_t dev,
		     const struct f2_truth *t)
{
	struct fuse_iomap_mapping m;
	uint64_t pos = 0, b, first, last;
	int calls = 0, rc;

	while (pos < end) {
		rc = wire_iomap_begin(w, nodeid, ino, pos, end - pos, opflags,
				      &m);
		calls++;
		if (rc) {
			fprintf(stderr, "# BEGIN at %llu: %d\n",
				(unsigned long long)pos, rc);
			return -1;
		}
		if (m.offset > pos || m.offset + m.length <= pos ||
		    m.offset % BS || m.length % BS) {
			fprintf(stderr, "# mapping %llu+%llu misses %llu\n",
				(unsigned long long)m.offset,
				(unsigned long long)m.length,
				(unsigned long long)pos);
			return -1;
		}
		/* Blocks are the kernel's to keep; a hole may be filled. */
		if (!(m.flags & FUSE_IOMAP_F_CACHE) !=
		    (m.type == FUSE_IOMAP_TYPE_HOLE)) {
			fprintf(stderr, "# mapping type %u flags 0x%x\n",
				m.type, m.flags);
			return -1;
		}
		first = m.offset / BS;
		last = (m.offset + m.length) / BS;
		for (b = first; b < last; b++) {
			int type = b < t->nblocks ? t->type[b] :
				FUSE_IOMAP_TYPE_HOLE;
			uint64_t want = type == FUSE_IOMAP_TYPE_HOLE ?
				FUSE_IOMAP_NULL_ADDR :
				t->pblk[b] * BS - (b - first) * BS;

			if (type != m.type || want != m.addr ||
			    m.dev != (type == FUSE_IOMAP_TYPE_HOLE ? 0 : dev)) {
				fprintf(stderr,
					"# block %llu: truth type %d, mapping type %u addr %llu dev %u\n",
					(unsigned long long)b, type, m.type,
					(unsigned long long)m.addr, m.dev);
				return -1;
			}
			if (b >= t->nblocks)
				break;	/* a hole past the truth: fine */
		}
		/* Maximal: the next block must really be different. */
		if (last < t->nblocks && t->type[last] == m.type &&
		    (m.type == FUSE_IOMAP_TYPE_HOLE ||
		     t->pblk[last] * BS == m.addr + m.length)) {
			fprintf(stderr, "# mapping at %llu stops early at %llu\n",
				(unsigned long long)pos,
				(unsigned long long)last);
			return -1;
		}
		pos = m.offset + m.length;
	}
	return calls;
}

/* The device id fuse2fs registered: read it off any mapped BEGIN. */
static uint32_t dev_of(struct wire *w, uint64_t nodeid, uint64_t pos)
{
	struct fuse_iomap_mapping m;

	if (wire_iomap_begin(w, nodeid, nodeid, pos, BS, 0, &m))
		return 0;
	return m.dev;
}

TEST_F(f2, mappings_match_debugfs_extents)
{
	static const char *const files[] = { "frag", "sparse", "prealloc" };
	struct tfs_mkfs_opts o = { .populate = self->tree };
	char script[16384], src[512];
	struct fuse_entry_out e;
	struct f2_truth t;
	size_t n;
	unsigned int i;
	uint32_t dev;
	int fd, k;

	/* sparse: data every 192 KiB, a hole at 0, size not block aligned */
	snprintf(src, sizeof(src), "%s/sparse", self->tree);
	fd = open(src, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	for (k = 1; k < 40; k += 3) {
		char blk[8192];

		memset(blk, 'a' + k % 26, sizeof(blk));
		ASSERT_EQ((ssize_t)sizeof(blk),
			  pwrite(fd, blk, sizeof(blk), (off_t)k * 65536));
	}
	ASSERT_EQ(0, ftruncate(fd, 40 * 65536 + 12345));
	close(fd);
	ASSERT_EQ(0, put_file(self->dir, "src4m", 4 * MIB));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));

	/* frag: punched every few blocks, some unwritten ranges inside */
	n = snprintf(script, sizeof(script),
		     "write %s/src4m frag\npunch frag 16 31\n"
		     "punch frag 100 100\nwrite /dev/null prealloc\n"
		     "fallocate prealloc 0 300\nfallocate prealloc 400 401\n",
		     self->dir);
	for (k = 200; k < 900; k += 4)
		n += snprintf(script + n, sizeof(script) - n,
			      "punch frag %d %d\n", k, k + (k % 3 ? 1 : 0));
	ASSERT_EQ(0, f2_debugfs(self->image, script));

	ASSERT_EQ(0, start(self, "iomap=auto", true));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		char path[32];
		int calls, calls2;

		snprintf(path, sizeof(path), "/%s", files[i]);
		ASSERT_EQ(0, f2_truth_load(self->image, path, 2048, &t));
		ASSERT_EQ(0, wire_lookup(&self->w, 1, files[i], &e));
		ASSERT_TRUE(e.attr.flags & FUSE_ATTR_IOMAP);
		dev = dev_of(&self->w, e.nodeid, 0);
		if (!dev)	/* sparse starts with a hole */
			dev = dev_of(&self->w, e.nodeid, 65536);
		ASSERT_NE(0, dev);
		calls = walk_file(&self->w, e.nodeid, e.attr.ino, 2048 * BS,
				  0, dev, &t);
		ASSERT_GT(calls, 0);
		calls2 = walk_file(&self->w, e.nodeid, e.attr.ino, 2048 * BS,
				   FUSE_IOMAP_OP_REPORT, dev, &t);
		ASSERT_EQ(calls, calls2);
		/* One BEGIN per extent or hole, never per block. */
		EXPECT_LE((unsigned int)calls, 2 * t.nextents + 2);
		TH_LOG("%s: %u extents, %d BEGINs for 8 MiB", files[i],
		       t.nextents, calls);
		f2_truth_free(&t);
	}
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* The kernel's side of one write: BEGIN, data to the device, IOEND. */
static int kernel_write(struct wire *w, int imgfd, uint64_t nodeid,
			uint64_t pos, uint64_t count, uint32_t opflags,
			uint64_t *size, unsigned int *begins)
{
	struct fuse_iomap_ioend_in io = { .attr_ino = nodeid };
	struct fuse_iomap_mapping m;
	uint64_t end = pos + count, n;
	char *buf;
	int rc;

	while (pos < end) {
		rc = wire_iomap_begin(w, nodeid, nodeid, pos, end - pos,
				      opflags, &m);
		(*begins)++;
		if (rc)
			return rc;
		if (m.type != FUSE_IOMAP_TYPE_MAPPED &&
		    m.type != FUSE_IOMAP_TYPE_UNWRITTEN)
			return -EPROTO;
		n = m.offset + m.length - pos;
		if (n > end - pos)
			n = end - pos;
		if (imgfd >= 0) {
			buf = malloc(n);
			if (!buf)
				return -ENOMEM;
			tfs_pattern(buf, n, pos, 11);
			rc = pwrite(imgfd, buf, n, m.addr + (pos - m.offset));
			free(buf);
			if (rc != (int)n)
				return -EIO;
		}
		io.pos = pos;
		io.written = n;
		io.error = 0;
		io.flags = FUSE_IOMAP_IOEND_APPEND |
			(m.type == FUSE_IOMAP_TYPE_UNWRITTEN ?
			 FUSE_IOMAP_IOEND_UNWRITTEN : 0) |
			(opflags & FUSE_IOMAP_OP_DIRECT ?
			 FUSE_IOMAP_IOEND_DIRECT : FUSE_IOMAP_IOEND_WRITEBACK);
		rc = wire_iomap_ioend(w, nodeid, &io, size);
		if (rc)
			return rc;
		pos += n;
	}
	return 0;
}

/* Compare a file's bytes in the image (debugfs dump) with the pattern. */
static int check_dump(const char *dir, const char *image, const char *name,
		      uint64_t size)
{
	char out[512], cmd[600];
	int rc;

	snprintf(out, sizeof(out), "%s/dump.%s", dir, name);
	snprintf(cmd, sizeof(cmd), "dump %s %s", name, out);
	rc = tfs_runl(F2_CMD_TIMEOUT_MS, NULL, "debugfs", "-R", cmd, image,
		      NULL);
	if (rc)
		return -1;
	rc = tfs_check_pattern(out, 0, size, 11);
	unlink(out);
	return rc;
}

TEST_F_TIMEOUT(f2, streaming_write_allocates_ahead_and_converts, 300)
{
	struct tfs_mkfs_opts o = { .size_mb = 256 };
	struct fuse_entry_out e;
	struct fuse_open_out op;
	struct fuse_attr_out a;
	struct f2_truth t;
	uint64_t size = 0, b;
	unsigned int begins = 0;
	int imgfd, calls;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "s", O_RDWR, 0100644, &e, &op));
	ASSERT_TRUE(e.attr.flags & FUSE_ATTR_IOMAP);
	imgfd = open(self->image, O_RDWR);
	ASSERT_GE(imgfd, 0);
	/* 40 buffered writes of 1 MiB, each written back right away. */
	for (b = 0; b < 40; b++)
		ASSERT_EQ(0, kernel_write(&self->w, imgfd, e.nodeid, b * MIB,
					  MIB, FUSE_IOMAP_OP_WRITE |
					  FUSE_IOMAP_OP_WRITEBACK, &size,
					  &begins));
	EXPECT_EQ(40 * MIB, size);
	EXPECT_EQ(40, begins);
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_EQ(40 * MIB, a.attr.size);
	close(imgfd);
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	/* On disk: every block written, in a handful of extents. */
	ASSERT_EQ(0, f2_truth_load(self->image, "/s", 40 * MIB / BS, &t));
	for (b = 0; b < t.nblocks; b++)
		ASSERT_EQ(FUSE_IOMAP_TYPE_MAPPED, t.type[b]);
	EXPECT_LE(t.nextents, 4);
	ASSERT_EQ(0, check_dump(self->dir, self->image, "s", 40 * MIB));

	/* And after a remount the reads come back in few mappings. */
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "s", &e));
	calls = walk_file(&self->w, e.nodeid, e.attr.ino, 40 * MIB, 0,
			  dev_of(&self->w, e.nodeid, 0), &t);
	EXPECT_GT(calls, 0);
	EXPECT_LE(calls, 3);
	TH_LOG("40 MiB: %u extents on disk, %d read BEGINs", t.nextents, calls);
	f2_truth_free(&t);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_F(f2, ioend_converts_exactly_the_written_range)
{
	struct tfs_mkfs_opts o = { 0 };
	struct fuse_iomap_ioend_in io;
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_open_out op;
	struct f2_truth t;
	uint64_t size = 0, b;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "p", O_RDWR, 0100644, &e, &op));
	/* A direct write of 16 KiB at 0 into the empty file. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0,
				      16384, FUSE_IOMAP_OP_WRITE |
				      FUSE_IOMAP_OP_DIRECT, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	EXPECT_TRUE(m.flags & FUSE_IOMAP_F_NEW);
	EXPECT_TRUE(m.flags & FUSE_IOMAP_F_CACHE);
	EXPECT_EQ(0, m.offset);
	EXPECT_EQ(16384, m.length);
	/* Only blocks 1..2 completed. */
	io = (struct fuse_iomap_ioend_in){
		.attr_ino = e.attr.ino, .pos = BS, .written = 2 * BS,
		.flags = FUSE_IOMAP_IOEND_UNWRITTEN |
			 FUSE_IOMAP_IOEND_APPEND | FUSE_IOMAP_IOEND_DIRECT,
	};
	ASSERT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	EXPECT_EQ(3 * BS, size);
	/* Reads now see unwritten, written, unwritten. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0,
				      4 * BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	EXPECT_EQ(BS, m.length);
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, BS,
				      3 * BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	EXPECT_EQ(2 * BS, m.length);
	/* An IOEND that failed changes nothing, size included. */
	io.pos = 3 * BS;
	io.written = BS;
	io.error = -EIO;
	ASSERT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	EXPECT_EQ(3 * BS, size);
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 3 * BS,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	/* Zeroing never allocates: a hole far away stays a hole. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
				      100 * MIB, BS, FUSE_IOMAP_OP_ZERO |
				      FUSE_IOMAP_OP_WRITE, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	ASSERT_EQ(0, f2_truth_load(self->image, "/p", 8, &t));
	/* A first write at 0 allocates exactly what it covers. */
	for (b = 0; b < 8; b++)
		EXPECT_EQ(b == 1 || b == 2 ? FUSE_IOMAP_TYPE_MAPPED :
			  b < 4 ? FUSE_IOMAP_TYPE_UNWRITTEN :
			  FUSE_IOMAP_TYPE_HOLE, t.type[b])
			TH_LOG("block %llu", (unsigned long long)b);
	f2_truth_free(&t);
}

/*
 * The block map cookie of BEGIN replies (doc/protocol.md section 10.4):
 * the same while nothing changed and after blocks only filled a hole
 * (no mapping the kernel checks named it), higher after a conversion and
 * a punched hole, never lower.
 */
TEST_F(f2, begin_cookie_goes_up_when_blocks_convert_or_go)
{
	struct tfs_mkfs_opts o = { 0 };
	struct fuse_iomap_ioend_in io;
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_open_out op;
	struct fuse_fallocate_in fa;
	uint64_t c0, c1, c2, c3, c4, size;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "p", O_RDWR, 0100644, &e, &op));
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, BS, 0, &m, &c0));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, BS, 0, &m, &c1));
	EXPECT_EQ(c0, c1);
	/*
	 * A write allocates into the hole: the cookie stays, so that a
	 * second writer filling holes beside it keeps its mapping valid.
	 */
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, 4 * BS, FUSE_IOMAP_OP_WRITE |
					     FUSE_IOMAP_OP_DIRECT, &m, &c1));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	EXPECT_EQ(c1, c0);
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, BS, 0, &m, &c2));
	EXPECT_EQ(c1, c2);
	/* A conversion changes the block map without allocating. */
	io = (struct fuse_iomap_ioend_in){
		.attr_ino = e.attr.ino, .pos = 0, .written = BS,
		.flags = FUSE_IOMAP_IOEND_UNWRITTEN |
			 FUSE_IOMAP_IOEND_APPEND | FUSE_IOMAP_IOEND_DIRECT,
	};
	ASSERT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, BS, 0, &m, &c3));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	EXPECT_GT(c3, c2);
	/* A punched hole frees blocks. */
	fa = (struct fuse_fallocate_in){
		.fh = op.fh, .offset = 0, .length = BS,
		.mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	};
	ASSERT_EQ(0, wire_call_out(&self->w, FUSE_FALLOCATE, e.nodeid, &fa,
				   sizeof(fa), NULL, 0));
	ASSERT_EQ(0, wire_iomap_begin_cookie(&self->w, e.nodeid, e.attr.ino,
					     0, BS, 0, &m, &c4));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	EXPECT_GT(c4, c3);
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_F(f2, bad_requests_get_the_documented_errno)
{
	struct tfs_mkfs_opts o = { .populate = self->tree };
	struct fuse_iomap_ioend_in io = { 0 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	uint64_t size;

	ASSERT_EQ(0, put_file(self->tree, "f", 65536));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	/* Past what an ext4 extent file may hold ((2^32 - 1) blocks). */
	EXPECT_EQ(-EFBIG, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
					   ((1ULL << 32) - 1) * BS, BS,
					   FUSE_IOMAP_OP_WRITE, &m));
	EXPECT_EQ(-EFBIG, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
					   ((1ULL << 32) - 2) * BS, 2 * BS,
					   FUSE_IOMAP_OP_WRITE, &m));
	/* A read there is a plain hole up to the limit. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
				      ((1ULL << 32) - 2) * BS, 2 * BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	EXPECT_EQ(-ESTALE, wire_iomap_begin(&self->w, e.nodeid,
					    e.attr.ino + 1, 0, BS, 0, &m));
	io.attr_ino = e.attr.ino + 1;
	io.written = BS;
	EXPECT_EQ(-ESTALE, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	io.attr_ino = e.attr.ino;
	io.pos = ((1ULL << 32) - 1) * BS;
	EXPECT_EQ(-EFBIG, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	/* The very last block a file may have can be written. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
				      ((1ULL << 32) - 2) * BS, BS,
				      FUSE_IOMAP_OP_WRITE, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	EXPECT_EQ(BS, m.length);
	io.pos = ((1ULL << 32) - 2) * BS;
	io.flags = FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_APPEND;
	ASSERT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	EXPECT_EQ(((1ULL << 32) - 1) * BS, size);
	io.flags = 0;
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	/* Read-only mount: reads map, writes and IOENDs get EROFS. */
	ASSERT_EQ(0, start(self, "iomap=auto,ro", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0, BS,
				      0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	EXPECT_EQ(-EROFS, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
					   MIB, BS, FUSE_IOMAP_OP_WRITE, &m));
	io.pos = 0;
	io.flags = FUSE_IOMAP_IOEND_UNWRITTEN;
	EXPECT_EQ(-EROFS, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Wait up to ten seconds for at least n notifications (sent by a thread of
 * the server; a loaded CI machine running it under ASan can take a while).
 */
static unsigned int wait_notifications(struct wire *w, uint64_t nodeid,
				       unsigned int n)
{
	struct fuse_attr_out a;
	int i;

	for (i = 0; i < 500 && w->notifications < n; i++) {
		usleep(20000);
		wire_getattr(w, nodeid, &a);
	}
	return w->notifications;
}

TEST_F(f2, toggle_is_persistent_and_owner_only)
{
	struct tfs_mkfs_opts o = { .populate = self->tree };
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	char buf[64];
	int n;

	ASSERT_EQ(0, put_file(self->tree, "f", 65536));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	ASSERT_TRUE(e.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(-ENODATA, f2_getxattr(&self->w, e.nodeid,
					"user.fuse2fs.iomap", buf,
					sizeof(buf)));
	/* Bad values and other users are refused. */
	EXPECT_EQ(-EINVAL, f2_setxattr(&self->w, e.nodeid,
				       "user.fuse2fs.iomap", "fast"));
	self->w.uid = 4242;
	EXPECT_EQ(-EPERM, f2_setxattr(&self->w, e.nodeid,
				      "user.fuse2fs.iomap", "classic"));
	self->w.uid = 0;
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.fuse2fs.iomap",
				 "classic"));
	n = f2_getxattr(&self->w, e.nodeid, "user.fuse2fs.iomap", buf,
			sizeof(buf) - 1);
	ASSERT_EQ(7, n);
	EXPECT_EQ(0, memcmp(buf, "classic", 7));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_EQ(0, a.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid,
				      "classic (preference)"));
	/*
	 * Still served: a kernel that has the file open keeps it in iomap
	 * mode until the last file is released (doc/protocol.md 3.1).
	 */
	EXPECT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0, BS, 0,
				      NULL));
	/* The kernel is told to look the name up again. */
	EXPECT_LE(1, wait_notifications(&self->w, e.nodeid, 1));
	ASSERT_EQ(0, stop(self));

	/* Remount: still classic. */
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	EXPECT_EQ(0, e.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.fuse2fs.iomap",
				 NULL));
	EXPECT_EQ(-ENODATA, f2_setxattr(&self->w, e.nodeid,
					"user.fuse2fs.iomap", NULL));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_TRUE(a.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, stop(self));

	/* Remount: back to iomap; "auto" is the same as removing it. */
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	EXPECT_TRUE(e.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.fuse2fs.iomap",
				 "auto"));
	EXPECT_EQ(-ENODATA, f2_getxattr(&self->w, e.nodeid,
					"user.fuse2fs.iomap", buf,
					sizeof(buf)));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* Count BEGINs covering [0, end) for reads asking for the rest each time. */
static int count_read_begins(struct wire *w, uint64_t nodeid, uint64_t end)
{
	struct fuse_iomap_mapping m;
	uint64_t pos = 0;
	int calls = 0;

	while (pos < end) {
		if (wire_iomap_begin(w, nodeid, nodeid, pos, end - pos, 0, &m) ||
		    m.type != FUSE_IOMAP_TYPE_MAPPED)
			return -1;
		calls++;
		pos = m.offset + m.length;
	}
	return calls;
}

/*
 * The numbers for the report: BEGINs per MiB for a 1 GiB streaming write
 * (buffered: one BEGIN per 1 MiB write(); direct: the kernel asks for the
 * rest of the range each time) and for reading 1 GiB of a contiguous
 * file.  No data moves; the metadata must still end e2fsck clean.
 */
TEST_F_TIMEOUT(f2, begins_per_mib_for_1gib, 600)
{
	struct tfs_mkfs_opts o = { .size_mb = 2300 };
	struct fuse_entry_out e, e2;
	struct fuse_open_out op;
	uint64_t size = 0, b;
	unsigned int wbuf = 0, wdio = 0;
	int rbuf, rdio;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "buf", O_RDWR, 0100644, &e,
				 &op));
	for (b = 0; b < 1024; b++)
		ASSERT_EQ(0, kernel_write(&self->w, -1, e.nodeid, b * MIB, MIB,
					  FUSE_IOMAP_OP_WRITE, &size, &wbuf));
	ASSERT_EQ(1024 * MIB, size);
	ASSERT_EQ(0, wire_create(&self->w, 1, "dio", O_RDWR, 0100644, &e2,
				 &op));
	ASSERT_EQ(0, kernel_write(&self->w, -1, e2.nodeid, 0, 1024 * MIB,
				  FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_DIRECT,
				  &size, &wdio));
	ASSERT_EQ(1024 * MIB, size);
	rbuf = count_read_begins(&self->w, e.nodeid, 1024 * MIB);
	rdio = count_read_begins(&self->w, e2.nodeid, 1024 * MIB);
	ASSERT_GT(rbuf, 0);
	ASSERT_GT(rdio, 0);
	TH_LOG("1 GiB write, 1 MiB write() calls: %u BEGINs (%.3f per MiB)",
	       wbuf, wbuf / 1024.0);
	TH_LOG("1 GiB write, direct IO asking for the rest: %u BEGINs (%.4f per MiB)",
	       wdio, wdio / 1024.0);
	TH_LOG("1 GiB read of each file: %d and %d BEGINs (%.4f per MiB)",
	       rbuf, rdio, rbuf / 1024.0);
	/* One per write(), plus one where an extent breaks mid-write. */
	EXPECT_LE(wbuf, 1024 + 16);
	EXPECT_LE(wdio, 16);
	EXPECT_LE(rbuf, 16);
	EXPECT_LE(rdio, 16);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * The kernel of patch 15 as far as a streaming buffered writer's upcalls
 * go: it keeps the mappings marked F_CACHE (up to 16) and asks BEGIN
 * only for a write no kept mapping covers; writeback's IOENDs convert
 * what was written and trim the kept unwritten mappings to what stays
 * unwritten (a mapping the range would split is dropped).
 */
#define KEPT_MAX	16

struct kept {
	struct fuse_iomap_mapping m[KEPT_MAX];
	unsigned int n, next;
};

static const struct fuse_iomap_mapping *kept_find(const struct kept *k,
						  uint64_t pos)
{
	unsigned int i;

	for (i = 0; i < k->n; i++)
		if (k->m[i].length && pos >= k->m[i].offset &&
		    pos < k->m[i].offset + k->m[i].length)
			return &k->m[i];
	return NULL;
}

static void kept_add(struct kept *k, const struct fuse_iomap_mapping *m)
{
	if (!(m->flags & FUSE_IOMAP_F_CACHE))
		return;
	k->m[k->next] = *m;
	k->next = (k->next + 1) % KEPT_MAX;
	if (k->n < KEPT_MAX)
		k->n++;
}

static void kept_converted(struct kept *k, uint64_t pos, uint64_t len)
{
	uint64_t end = pos + len;
	unsigned int i;

	for (i = 0; i < k->n; i++) {
		struct fuse_iomap_mapping *m = &k->m[i];
		uint64_t m_end = m->offset + m->length;

		if (!m->length || m_end <= pos || m->offset >= end)
			continue;
		if (m->offset < pos || m_end <= end) {
			m->length = 0;
			continue;
		}
		m->addr += end - m->offset;
		m->length = m_end - end;
		m->offset = end;
	}
}

/*
 * A 1 GiB streaming buffered write in 1 MiB write() calls, written back
 * in 16 MiB pieces (iomap ends an ioend chain at 4096 folios), against a
 * kernel that keeps mappings: the server is asked for blocks about nine
 * times, not once per 8 MiB (133 BEGINs before the look-ahead grew with
 * the file, 14 while the look-ahead still took the free blocks nearest
 * the file and broke at every block group with a backup superblock).
 * Counts the BEGINs and IOENDs, data not moved.
 */
TEST_F_TIMEOUT(f2, streaming_write_with_kept_mappings_asks_rarely, 600)
{
	struct tfs_mkfs_opts o = { .size_mb = 2300 };
	struct fuse_iomap_ioend_in io = { 0 };
	const struct fuse_iomap_mapping *k;
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_open_out op;
	struct kept kept = { 0 };
	uint64_t pos, done = 0, size = 0;
	unsigned int begins = 0, ioends = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "s", O_RDWR, 0100644, &e, &op));
	io.attr_ino = e.nodeid;
	for (pos = 0; pos < 1024 * MIB;) {
		k = kept_find(&kept, pos);
		if (!k) {
			ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid,
						      e.nodeid, pos,
						      MIB - pos % MIB,
						      FUSE_IOMAP_OP_WRITE, &m));
			begins++;
			ASSERT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
			ASSERT_LE(m.offset, pos);
			ASSERT_LT(pos, m.offset + m.length);
			kept_add(&kept, &m);
			k = &m;
		}
		/* The part of this 1 MiB write() the mapping covers. */
		if (k->offset + k->length < pos - pos % MIB + MIB)
			pos = k->offset + k->length;
		else
			pos = pos - pos % MIB + MIB;
		if (pos - done >= 16 * MIB || pos == 1024 * MIB) {
			io.pos = done;
			io.written = pos - done;
			io.flags = FUSE_IOMAP_IOEND_WRITEBACK |
				   FUSE_IOMAP_IOEND_UNWRITTEN |
				   FUSE_IOMAP_IOEND_APPEND;
			ASSERT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io,
						      &size));
			ioends++;
			kept_converted(&kept, done, pos - done);
			done = pos;
		}
	}
	ASSERT_EQ(1024 * MIB, size);
	TH_LOG("1 GiB buffered write with kept mappings: %u BEGINs, %u IOENDs",
	       begins, ioends);
	EXPECT_LE(begins, 10);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Run fuse2fs on a fresh image through: a file of n one-block unwritten
 * extents, every other block (BEGINs that allocate exactly what they
 * cover), then, with convert, one IOEND over all of them.  Returns how
 * many times fuse2fs reached the image (FUSE2FS_FAULT=0 only counts: its
 * line in the server's stderr at unmount), or -1.
 */
static long image_calls_for_scattered_ioend(struct _test_data_f2 *self,
					    unsigned int n, bool convert)
{
	struct tfs_mkfs_opts o = { 0 };
	struct fuse_iomap_ioend_in io = { 0 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_open_out op;
	char log[300], text[4096], *at;
	uint64_t size = 0;
	long calls = -1;
	unsigned int i;
	int fd, saved, rc = -1;
	ssize_t got;

	snprintf(log, sizeof(log), "%s/server.log", self->dir);
	if (tfs_mkfs(self->image, &o))
		return -1;
	fd = open(log, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0)
		return -1;
	/* The server inherits stderr: point it at the log while it starts. */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	setenv("FUSE2FS_FAULT", "0", 1);
	rc = start(self, "iomap=auto", true);
	unsetenv("FUSE2FS_FAULT");
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (rc)
		goto out;
	rc = wire_create(&self->w, 1, "frag", O_RDWR, 0100644, &e, &op);
	for (i = 0; i < n && !rc; i++) {
		rc = wire_iomap_begin(&self->w, e.nodeid, e.nodeid, 2 * i * BS,
				      BS, FUSE_IOMAP_OP_WRITE, &m);
		if (!rc && (m.type != FUSE_IOMAP_TYPE_UNWRITTEN ||
			    m.length != BS))
			rc = -1;
	}
	if (!rc && convert) {
		io.attr_ino = e.nodeid;
		io.written = 2 * n * BS;
		io.flags = FUSE_IOMAP_IOEND_WRITEBACK |
			   FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_APPEND;
		rc = wire_iomap_ioend(&self->w, e.nodeid, &io, &size);
		if (!rc && size != 2 * n * BS)
			rc = -1;
	}
	if (stop(self) || rc || tfs_fsck(self->image))
		goto out;
	got = pread(fd, text, sizeof(text) - 1, 0);
	if (got <= 0)
		goto out;
	text[got] = 0;
	at = strstr(text, "fault injection: ");
	if (at)
		calls = strtol(at + strlen("fault injection: "), NULL, 10);
out:
	close(fd);
	return calls;
}

/*
 * One IOEND converting 200 extents of one leaf reaches the image a
 * handful of times: the leaf and the inode are written once each, not
 * once per extent edit (the io_channel batch, iochan.c).  Measured as
 * the difference between the same run with and without the IOEND.
 */
TEST_F(f2, one_ioend_writes_each_tree_block_once)
{
	long without, with;

	without = image_calls_for_scattered_ioend(self, 200, false);
	ASSERT_LT(0, without);
	with = image_calls_for_scattered_ioend(self, 200, true);
	ASSERT_LT(0, with);
	TH_LOG("IOEND over 200 extents: %ld image reads and writes",
	       with - without);
	EXPECT_GE(16, with - without);
}

/*
 * With the inode still known to the kernel, the look-ahead goes when the
 * last open file of the inode is released (the kernel keeps no mapping
 * from then on), not at the release of an earlier one.
 */
TEST_F(f2, lookahead_goes_with_the_last_open_file)
{
	struct tfs_mkfs_opts o = { 0 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out a;
	struct fuse_open_out op;
	uint64_t size = 0, fh2, i;
	unsigned int begins = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "a", O_RDWR, 0100644, &a, &op));
	ASSERT_EQ(0, wire_open(&self->w, a.nodeid, O_RDWR, &fh2));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, kernel_write(&self->w, -1, a.nodeid, i * MIB, MIB,
					  FUSE_IOMAP_OP_WRITE, &size, &begins));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 4 * MIB,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	ASSERT_EQ(0, wire_release(&self->w, a.nodeid, op.fh, false));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 4 * MIB,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	ASSERT_EQ(0, wire_release(&self->w, a.nodeid, fh2, false));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 4 * MIB,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	/* the data stays */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 0, BS, 0,
				      &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Blocks allocated ahead of a streaming writer are given back once the
 * kernel forgets the inode, or at unmount; a user's own unwritten
 * preallocation past EOF (fallocate KEEP_SIZE) stays.
 */
TEST_F(f2, lookahead_blocks_are_given_back)
{
	struct tfs_mkfs_opts o = { 0 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out a, b;
	struct fuse_open_out op;
	struct f2_truth t;
	uint64_t size = 0, i;
	unsigned int begins = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, f2_debugfs(self->image, "write /dev/null kept\n"
				"fallocate kept 0 99\n"));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "a", O_RDWR, 0100644, &a, &op));
	ASSERT_EQ(0, wire_release(&self->w, a.nodeid, op.fh, false));
	ASSERT_EQ(0, wire_create(&self->w, 1, "b", O_RDWR, 0100644, &b, &op));
	ASSERT_EQ(0, wire_release(&self->w, b.nodeid, op.fh, false));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, kernel_write(&self->w, -1, a.nodeid, i * MIB, MIB,
					  FUSE_IOMAP_OP_WRITE, &size, &begins));
		ASSERT_EQ(0, kernel_write(&self->w, -1, b.nodeid, i * MIB, MIB,
					  FUSE_IOMAP_OP_WRITE, &size, &begins));
	}
	/* Past EOF there are unwritten blocks allocated ahead. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 4 * MIB,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	ASSERT_EQ(0, wire_forget(&self->w, a.nodeid, 1));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "a", &a));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, a.nodeid, a.nodeid, 4 * MIB,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, m.type);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	ASSERT_EQ(0, f2_truth_load(self->image, "/a", 4096, &t));
	for (i = 0; i < t.nblocks; i++)
		ASSERT_EQ(i < 1024 ? FUSE_IOMAP_TYPE_MAPPED :
			  FUSE_IOMAP_TYPE_HOLE, t.type[i]);
	f2_truth_free(&t);
	/* b was never forgotten: unmount gave its look-ahead back. */
	ASSERT_EQ(0, f2_truth_load(self->image, "/b", 4096, &t));
	for (i = 0; i < t.nblocks; i++)
		ASSERT_EQ(i < 1024 ? FUSE_IOMAP_TYPE_MAPPED :
			  FUSE_IOMAP_TYPE_HOLE, t.type[i]);
	f2_truth_free(&t);
	ASSERT_EQ(0, f2_truth_load(self->image, "/kept", 100, &t));
	for (i = 0; i < 100; i++)
		ASSERT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, t.type[i]);
	f2_truth_free(&t);
}

/*
 * An inline file written past the inode's capacity moves into extents:
 * later replies carry FUSE_ATTR_IOMAP, its names are invalidated, and
 * once more when it is closed (the kernel ignores the flag while open).
 */
TEST_F(f2, inline_file_growing_into_extents_switches_to_iomap)
{
	struct tfs_mkfs_opts o = {
		.features = "inline_data", .populate = self->tree,
	};
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	char data[65536], back[4096];
	uint32_t written;
	uint64_t fh;
	int img;

	ASSERT_EQ(0, put_file(self->tree, "small", 60));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "small", &e));
	ASSERT_EQ(0, e.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, wire_open(&self->w, e.nodeid, O_RDWR, &fh));
	memset(data, 'q', sizeof(data));
	ASSERT_EQ(0, wire_write(&self->w, e.nodeid, fh, 0, data, sizeof(data),
				&written));
	ASSERT_EQ(sizeof(data), written);
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_TRUE(a.attr.flags & FUSE_ATTR_IOMAP);
	EXPECT_EQ(0, check_mode_xattr(&self->w, e.nodeid, "iomap"));
	EXPECT_LE(1, wait_notifications(&self->w, e.nodeid, 1));
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, fh, false));
	EXPECT_LE(2, wait_notifications(&self->w, e.nodeid, 2));
	/* The kernel's next instantiation reads it through iomap. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0,
				      sizeof(data), 0, &m));
	ASSERT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	img = open(self->image, O_RDONLY);
	ASSERT_GE(img, 0);
	ASSERT_EQ((ssize_t)sizeof(back), pread(img, back, sizeof(back), m.addr));
	close(img);
	EXPECT_EQ(0, memcmp(back, data, sizeof(back)));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* The preference is found among other attributes, in-inode or in a block. */
TEST_F(f2, preference_among_other_xattrs)
{
	struct tfs_mkfs_opts o = { .populate = self->tree };
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	static char big[3001];

	ASSERT_EQ(0, put_file(self->tree, "f", 65536));
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_lookup(&self->w, 1, "f", &e));
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.a", "1"));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_TRUE(a.attr.flags & FUSE_ATTR_IOMAP);
	memset(big, 'x', sizeof(big) - 1);
	/* Too big for the inode: goes to an EA block. */
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.big", big));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_TRUE(a.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.fuse2fs.iomap",
				 "classic"));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_EQ(0, a.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.a", NULL));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_EQ(0, a.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, f2_setxattr(&self->w, e.nodeid, "user.fuse2fs.iomap",
				 NULL));
	ASSERT_EQ(0, wire_getattr(&self->w, e.nodeid, &a));
	EXPECT_TRUE(a.attr.flags & FUSE_ATTR_IOMAP);
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Filling the filesystem: allocation ends with ENOSPC (the look-ahead
 * guess never causes it), everything allocated stays consistent.
 */
TEST_F(f2, enospc_is_clean)
{
	struct tfs_mkfs_opts o = { .size_mb = 16 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e;
	struct fuse_open_out op;
	uint64_t size = 0, pos = 0;
	unsigned int begins = 0;
	int rc = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "fill", O_RDWR, 0100644, &e,
				 &op));
	while (pos < 64 * MIB) {
		rc = kernel_write(&self->w, -1, e.nodeid, pos, 256 * 1024,
				  FUSE_IOMAP_OP_WRITE, &size, &begins);
		if (rc)
			break;
		pos += 256 * 1024;
	}
	EXPECT_EQ(-ENOSPC, rc);
	/* Most of the 16 MiB went to the file before that. */
	EXPECT_GT(pos, 8 * MIB);
	/* Reads and the failed range are still answered. */
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 0, BS,
				      0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, m.type);
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * The kernel's side of one direct write: BEGIN for every piece first,
 * then one IOEND for all of it, or none when a BEGIN failed (a direct
 * IO that could not be mapped completely completes nothing).
 */
static int direct_write(struct wire *w, uint64_t nodeid, uint64_t pos,
			uint64_t count, uint64_t *size, unsigned int *begins)
{
	struct fuse_iomap_ioend_in io = { .attr_ino = nodeid, .pos = pos };
	struct fuse_iomap_mapping m;
	uint64_t end = pos + count, at = pos;
	int rc;

	while (at < end) {
		rc = wire_iomap_begin(w, nodeid, nodeid, at, end - at,
				      FUSE_IOMAP_OP_WRITE |
				      FUSE_IOMAP_OP_DIRECT, &m);
		(*begins)++;
		if (rc)
			return rc;
		if (m.type != FUSE_IOMAP_TYPE_UNWRITTEN)
			return -EPROTO;
		at = m.offset + m.length;
	}
	io.written = count;
	io.flags = FUSE_IOMAP_IOEND_APPEND | FUSE_IOMAP_IOEND_UNWRITTEN |
		   FUSE_IOMAP_IOEND_DIRECT;
	return wire_iomap_ioend(w, nodeid, &io, size);
}

/*
 * 4 MiB direct writes until ENOSPC, as test_fuse2fs_dio's
 * direct_write_enospc does through the kernel: the last write maps the
 * look-ahead that reaches the filesystem's last block, then fails for
 * the rest, and those unwritten blocks past EOF are given back at
 * unmount.  libext2fs 1.47.0's ext2fs_punch() took them out of the
 * extent tree but refused to free a range ending at the last block,
 * leaking them (e2fsck: i_blocks and block bitmap differences).
 */
TEST_F(f2, direct_writes_to_enospc_give_back_the_lookahead)
{
	struct tfs_mkfs_opts o = { .size_mb = 64 };
	struct fuse_entry_out e;
	struct fuse_open_out op;
	uint64_t size = 0, pos = 0;
	unsigned int begins = 0;
	int rc = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "fill", O_RDWR, 0100644, &e,
				 &op));
	while (pos < 128 * MIB) {
		rc = direct_write(&self->w, e.nodeid, pos, 4 * MIB, &size,
				  &begins);
		if (rc)
			break;
		pos += 4 * MIB;
	}
	EXPECT_EQ(-ENOSPC, rc);
	EXPECT_GT(pos, 32 * MIB);
	EXPECT_EQ(pos, size);
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* One direct write of blocks [blk, blk + n) of nodeid, BEGIN to IOEND. */
static int write_blocks(struct wire *w, uint64_t nodeid, uint64_t blk,
			uint64_t n)
{
	unsigned int begins = 0;
	uint64_t size;

	return kernel_write(w, -1, nodeid, blk * BS, n * BS,
			    FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_DIRECT, &size,
			    &begins);
}

/*
 * Issue 13, E: a direct write lands in unwritten blocks while other
 * writes fill the disk; its IOEND then splits the extent, and with the
 * inode's four extent slots full that needs a tree block.  The BEGIN
 * that handed the unwritten blocks out kept enough back for that, so
 * the IOEND succeeds and the filler got ENOSPC a few blocks earlier.
 * Once the reserve is used and the disk is full, the next write BEGIN
 * into unwritten blocks is refused (before any data is written), and a
 * read of them is answered without F_CACHE, so the kernel cannot write
 * through it later either.
 */
TEST_F(f2, ioend_on_a_full_disk_uses_the_reserve_from_begin)
{
	struct tfs_mkfs_opts o = { .size_mb = 16 };
	struct fuse_iomap_ioend_in io = { 0 };
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e, fe;
	struct fuse_open_out op, fop;
	struct f2_truth t;
	uint64_t size = 0, b;
	int rc = 0;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	ASSERT_EQ(0, wire_create(&self->w, 1, "u", O_RDWR, 0100644, &e, &op));
	/* Three written extents, then a fourth, unwritten, in flight. */
	for (b = 0; b < 6; b += 2)
		ASSERT_EQ(0, write_blocks(&self->w, e.nodeid, b, 1));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 10 * BS,
				      8 * BS, FUSE_IOMAP_OP_WRITE |
				      FUSE_IOMAP_OP_DIRECT, &m));
	ASSERT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	ASSERT_EQ(8 * BS, m.length);

	/* Another file takes every block it can get. */
	ASSERT_EQ(0, wire_create(&self->w, 1, "fill", O_RDWR, 0100644, &fe,
				 &fop));
	for (b = 0; !rc; b++)
		rc = write_blocks(&self->w, fe.nodeid, b, 1);
	EXPECT_EQ(-ENOSPC, rc);

	/* The write's IOEND: block 12 only, the middle of the extent. */
	io.attr_ino = e.attr.ino;
	io.pos = 12 * BS;
	io.written = BS;
	io.flags = FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_APPEND |
		   FUSE_IOMAP_IOEND_DIRECT;
	EXPECT_EQ(0, wire_iomap_ioend(&self->w, e.nodeid, &io, &size));
	EXPECT_EQ(13 * BS, size);

	/* Reserve spent, disk full: no promise for another conversion. */
	EXPECT_EQ(-ENOSPC, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino,
					    14 * BS, BS, FUSE_IOMAP_OP_WRITE |
					    FUSE_IOMAP_OP_DIRECT, &m));
	ASSERT_EQ(0, wire_iomap_begin(&self->w, e.nodeid, e.attr.ino, 14 * BS,
				      BS, 0, &m));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, m.type);
	EXPECT_FALSE(m.flags & FUSE_IOMAP_F_CACHE);
	ASSERT_EQ(0, wire_release(&self->w, fe.nodeid, fop.fh, false));
	ASSERT_EQ(0, wire_release(&self->w, e.nodeid, op.fh, false));
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	ASSERT_EQ(0, f2_truth_load(self->image, "/u", 18, &t));
	for (b = 0; b < 18; b++)
		EXPECT_EQ(b < 6 ? (b % 2 ? FUSE_IOMAP_TYPE_HOLE :
				   FUSE_IOMAP_TYPE_MAPPED) :
			  b < 10 ? FUSE_IOMAP_TYPE_HOLE :
			  b == 12 ? FUSE_IOMAP_TYPE_MAPPED :
			  FUSE_IOMAP_TYPE_UNWRITTEN, t.type[b])
			TH_LOG("block %llu", (unsigned long long)b);
	f2_truth_free(&t);
}

/*
 * Random BEGIN/IOEND/ZERO/FORGET sequences over three files, some IOs
 * failing or completing partly: the image stays e2fsck clean, sizes only
 * grow by successful APPENDs, and after a remount every mapping matches
 * debugfs.
 */
TEST_F_TIMEOUT(f2, random_sequences_stay_consistent, 300)
{
	struct tfs_mkfs_opts o = { .size_mb = 128 };
	static const char *const names[] = { "r0", "r1", "r2" };
	struct fuse_iomap_ioend_in io;
	struct fuse_iomap_mapping m;
	struct fuse_entry_out e[3];
	struct fuse_open_out op;
	uint64_t want_size[3] = { 0 }, size;
	struct f2_truth t;
	unsigned int i, f;
	int rc;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, start(self, "iomap=auto", true));
	for (f = 0; f < 3; f++) {
		ASSERT_EQ(0, wire_create(&self->w, 1, names[f], O_RDWR,
					 0100644, &e[f], &op));
		ASSERT_EQ(0, wire_release(&self->w, e[f].nodeid, op.fh,
					  false));
	}
	srandom(20261126);
	for (i = 0; i < 3000; i++) {
		uint64_t pos = (random() % (16 * MIB / 512)) * 512;
		uint64_t count = 512 + random() % MIB;
		uint32_t op_flags;
		int what = random() % 10;

		f = random() % 3;
		if (what == 0) {
			/* The kernel evicts the inode and looks it up again. */
			ASSERT_EQ(0, wire_forget(&self->w, e[f].nodeid, 1));
			ASSERT_EQ(0, wire_lookup(&self->w, 1, names[f], &e[f]));
			continue;
		}
		op_flags = what < 3 ? 0 : what == 3 ? FUSE_IOMAP_OP_ZERO :
			   what == 4 ? FUSE_IOMAP_OP_REPORT :
			   FUSE_IOMAP_OP_WRITE | (random() % 2 ?
				FUSE_IOMAP_OP_DIRECT : FUSE_IOMAP_OP_WRITEBACK);
		rc = wire_iomap_begin(&self->w, e[f].nodeid, e[f].attr.ino,
				      pos, count, op_flags, &m);
		ASSERT_EQ(0, rc) TH_LOG("op %u: begin 0x%x at %llu", i,
					 op_flags, (unsigned long long)pos);
		ASSERT_TRUE(m.offset <= pos && pos < m.offset + m.length);
		if (!(op_flags & FUSE_IOMAP_OP_WRITE))
			continue;
		ASSERT_NE(FUSE_IOMAP_TYPE_HOLE, m.type);
		/* Complete part of what the mapping covers, maybe failing. */
		io = (struct fuse_iomap_ioend_in){ .attr_ino = e[f].attr.ino };
		io.pos = pos;
		io.written = m.offset + m.length - pos;
		if (io.written > count)
			io.written = count;
		io.written = 1 + random() % io.written;
		io.error = random() % 8 ? 0 : -EIO;
		io.flags = FUSE_IOMAP_IOEND_APPEND |
			(m.type == FUSE_IOMAP_TYPE_UNWRITTEN ?
			 FUSE_IOMAP_IOEND_UNWRITTEN : 0);
		ASSERT_EQ(0, wire_iomap_ioend(&self->w, e[f].nodeid, &io,
					      &size));
		if (!io.error && io.pos + io.written > want_size[f])
			want_size[f] = io.pos + io.written;
		ASSERT_EQ(want_size[f], size) TH_LOG("op %u", i);
	}
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));

	ASSERT_EQ(0, start(self, "iomap=auto", true));
	for (f = 0; f < 3; f++) {
		char path[8];
		uint32_t dev = 0;
		uint64_t b;

		snprintf(path, sizeof(path), "/%s", names[f]);
		ASSERT_EQ(0, f2_truth_load(self->image, path, 5000, &t));
		ASSERT_EQ(0, wire_lookup(&self->w, 1, names[f], &e[f]));
		EXPECT_EQ(want_size[f], e[f].attr.size);
		for (b = 0; b < t.nblocks && !dev; b++)
			if (t.type[b] != FUSE_IOMAP_TYPE_HOLE)
				dev = dev_of(&self->w, e[f].nodeid, b * BS);
		EXPECT_LT(0, walk_file(&self->w, e[f].nodeid, e[f].attr.ino,
				       5000 * BS, 0, dev, &t));
		TH_LOG("%s: size %llu, %u extents", names[f],
		       (unsigned long long)want_size[f], t.nextents);
		EXPECT_LT(0, t.nextents);
		f2_truth_free(&t);
	}
	ASSERT_EQ(0, stop(self));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_HARNESS_MAIN
