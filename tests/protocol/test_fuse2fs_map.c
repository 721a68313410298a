// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's extent-tree work behind IOMAP_BEGIN/IOEND (fuse2fs/iomap_map.c),
 * driven directly on images through libext2fs, checked against debugfs's
 * own view of the extent tree ("ex FILE") and e2fsck -fn.
 *
 * Ground truth is per logical block: hole, written at P, or unwritten at
 * P.  Every run the mapper returns must agree block by block and must be
 * maximal: it may only stop at the requested end or where the next block
 * differs in type or is not physically contiguous.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "../../fuse2fs/iomap.h"

#define CMD_TIMEOUT_MS	60000

struct gt {
	blk64_t nblocks;	/* logical blocks described */
	int *type;		/* FUSE_IOMAP_TYPE_* per block */
	blk64_t *pblk;
	unsigned int nextents;
};

static void gt_free(struct gt *g)
{
	free(g->type);
	free(g->pblk);
	memset(g, 0, sizeof(*g));
}

/* Parse `debugfs -R "ex path"` leaf lines into per-block truth. */
static int gt_load(const char *image, const char *path, blk64_t nblocks,
		   struct gt *g)
{
	char cmd[256], *out = NULL, *line, *save;
	int rc;

	memset(g, 0, sizeof(*g));
	g->nblocks = nblocks;
	g->type = calloc(nblocks, sizeof(*g->type));
	g->pblk = calloc(nblocks, sizeof(*g->pblk));
	if (!g->type || !g->pblk)
		return -1;
	snprintf(cmd, sizeof(cmd), "ex %s", path);
	rc = tfs_runl(CMD_TIMEOUT_MS, &out, "debugfs", "-R", cmd, image, NULL);
	if (rc) {
		tfs_log_text("debugfs ex failed", out ? out : "");
		free(out);
		return -1;
	}
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v[5];
		int lvl, max, ent, nent, n = 0, pos;
		char *p, *tok, *s2;
		bool uninit = false;
		blk64_t l, ph, len, i;

		if (sscanf(line, " %d/ %d %d/ %d %n", &lvl, &max, &ent, &nent,
			   &pos) != 4 || lvl != max)
			continue;
		p = line + pos;
		for (tok = strtok_r(p, " ", &s2); tok;
		     tok = strtok_r(NULL, " ", &s2)) {
			if (!strcmp(tok, "-"))
				continue;
			if (!strcmp(tok, "Uninit")) {
				uninit = true;
				continue;
			}
			if (n < 5)
				v[n++] = strtoull(tok, NULL, 10);
		}
		if (n == 5) {		/* L1 - L2 P1 - P2 LEN */
			l = v[0];
			ph = v[2];
			len = v[4];
		} else if (n == 3) {	/* single block: L P LEN */
			l = v[0];
			ph = v[1];
			len = v[2];
		} else {
			continue;
		}
		g->nextents++;
		for (i = 0; i < len && l + i < nblocks; i++) {
			g->type[l + i] = uninit ? FUSE_IOMAP_TYPE_UNWRITTEN :
						  FUSE_IOMAP_TYPE_MAPPED;
			g->pblk[l + i] = ph + i;
		}
	}
	free(out);
	return 0;
}

static bool same_run(const struct gt *g, blk64_t a, blk64_t b)
{
	if (g->type[a] != g->type[b])
		return false;
	if (g->type[a] == FUSE_IOMAP_TYPE_HOLE)
		return true;
	return g->pblk[b] == g->pblk[a] + (b - a);
}

/*
 * Check one run against the truth; 0 or -1 with a message.  Past the
 * described range everything must be a hole.
 */
static int check_run(const struct gt *g, blk64_t lblk, blk64_t end,
		     const struct f2_run *r)
{
	blk64_t i, last;

	if (r->lblk != lblk || !r->len || lblk + r->len > end) {
		fprintf(stderr, "# run at %llu: lblk %llu len %llu end %llu\n",
			(unsigned long long)lblk, (unsigned long long)r->lblk,
			(unsigned long long)r->len, (unsigned long long)end);
		return -1;
	}
	for (i = lblk; i < lblk + r->len; i++) {
		int t = i < g->nblocks ? g->type[i] : FUSE_IOMAP_TYPE_HOLE;

		if (t != r->type ||
		    (t != FUSE_IOMAP_TYPE_HOLE &&
		     g->pblk[i] != r->pblk + (i - lblk))) {
			fprintf(stderr,
				"# block %llu: truth type %d pblk %llu, run type %d pblk %llu\n",
				(unsigned long long)i, t,
				(unsigned long long)(i < g->nblocks ?
						     g->pblk[i] : 0),
				r->type,
				(unsigned long long)(r->pblk + (i - lblk)));
			return -1;
		}
	}
	last = lblk + r->len;
	if (last < end && last < g->nblocks && same_run(g, last - 1, last)) {
		fprintf(stderr, "# run at %llu stops at %llu without reason\n",
			(unsigned long long)lblk, (unsigned long long)last);
		return -1;
	}
	if (last < end && last >= g->nblocks &&
	    r->type == FUSE_IOMAP_TYPE_HOLE) {
		fprintf(stderr, "# hole at %llu stops at %llu past the end\n",
			(unsigned long long)lblk, (unsigned long long)last);
		return -1;
	}
	return 0;
}

/* Walk [0, end) run by run, then random starts with random ends. */
static int walk_and_check(ext2_filsys fs, ext2_ino_t ino,
			  const struct gt *g, blk64_t end, unsigned int *runs)
{
	struct ext2_inode_large inode;
	struct f2_run r;
	blk64_t lblk;
	int i;

	if (ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&inode,
				   sizeof(inode)))
		return -1;
	*runs = 0;
	for (lblk = 0; lblk < end; lblk += r.len) {
		if (f2_map_run(fs, ino, &inode, lblk, end, &r) ||
		    check_run(g, lblk, end, &r))
			return -1;
		(*runs)++;
	}
	srandom(42);
	for (i = 0; i < 2000; i++) {
		blk64_t s = random() % end;
		blk64_t e = s + 1 + random() % (end - s);

		if (f2_map_run(fs, ino, &inode, s, e, &r) ||
		    check_run(g, s, e, &r))
			return -1;
	}
	/* Far beyond the last extent: one hole to the end of the request. */
	if (f2_map_run(fs, ino, &inode, end + 1000, F2_MAX_LBLK, &r) ||
	    r.type != FUSE_IOMAP_TYPE_HOLE ||
	    r.len != F2_MAX_LBLK - (end + 1000))
		return -1;
	return 0;
}

static int debugfs_script(const char *image, const char *script)
{
	char path[PATH_MAX], *out = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s.cmds", image);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(script, f);
	fclose(f);
	rc = tfs_runl(CMD_TIMEOUT_MS, &out, "debugfs", "-w", "-f", path,
		      image, NULL);
	if (rc)
		tfs_log_text("debugfs failed", out ? out : "");
	free(out);
	unlink(path);
	return rc ? -1 : 0;
}

static ext2_filsys open_fs(const char *image, bool rw)
{
	ext2_filsys fs = NULL;
	int flags = EXT2_FLAG_64BITS | (rw ? EXT2_FLAG_RW : 0);

	if (ext2fs_open(image, flags, 0, 0, unix_io_manager, &fs))
		return NULL;
	if (rw && (ext2fs_read_bitmaps(fs))) {
		ext2fs_close_free(&fs);
		return NULL;
	}
	return fs;
}

static ext2_ino_t lookup(ext2_filsys fs, const char *name)
{
	ext2_ino_t ino = 0;

	if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, name, &ino))
		return 0;
	return ino;
}

/* The inode number of @name in the root, read into @inode; 0 on failure. */
static ext2_ino_t lookup_and_read(ext2_filsys fs, const char *name,
				  struct ext2_inode_large *inode)
{
	ext2_ino_t ino = lookup(fs, name);

	if (!ino || ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)inode,
					   sizeof(*inode)))
		return 0;
	return ino;
}

/* Size-byte file of random-ish data at path. */
static int make_data(const char *path, size_t size)
{
	char *buf = malloc(size);
	int rc;

	if (!buf)
		return -1;
	tfs_pattern(buf, size, 0, 7);
	rc = tfs_write_file(path, buf, size);
	free(buf);
	return rc;
}

FIXTURE(img) {
	char dir[256];
	char image[PATH_MAX];
	char data[PATH_MAX];
};

FIXTURE_SETUP(img)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(self->dir, sizeof(self->dir), "%s/f2map.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->image, sizeof(self->image), "%s/fs.img", self->dir);
	snprintf(self->data, sizeof(self->data), "%s/data", self->dir);
	ASSERT_EQ(0, tfs_mkfs(self->image, NULL));
}

FIXTURE_TEARDOWN(img)
{
	tfs_sh(CMD_TIMEOUT_MS, NULL, "rm -rf '%s'", self->dir);
}

/* Punched holes, single-block extents, an unwritten tail: depth-1 tree. */
TEST_F(img, many_extents_match_debugfs)
{
	char script[16384];
	size_t n;
	unsigned int runs;
	ext2_filsys fs;
	struct gt g;
	int i;

	ASSERT_EQ(0, make_data(self->data, 4 << 20));
	n = snprintf(script, sizeof(script),
		     "write %s f\npunch f 16 31\npunch f 48 63\n"
		     "punch f 100 100\nfallocate f 2000 2100\n"
		     "fallocate f 2101 2101\n", self->data);
	for (i = 200; i < 900; i += 4)
		n += snprintf(script + n, sizeof(script) - n,
			      "punch f %d %d\n", i, i + (i % 3 ? 1 : 0));
	ASSERT_EQ(0, debugfs_script(self->image, script));
	ASSERT_EQ(0, gt_load(self->image, "f", 2300, &g));
	ASSERT_GT(g.nextents, 100);

	fs = open_fs(self->image, false);
	ASSERT_NE(NULL, fs);
	EXPECT_EQ(0, walk_and_check(fs, lookup(fs, "f"), &g, 2300, &runs));
	/* Runs are extents (or glued extents) and holes, not blocks. */
	EXPECT_LE(runs, 2 * g.nextents + 2);
	TH_LOG("%u extents, %u runs cover 2300 blocks", g.nextents, runs);
	ext2fs_close_free(&fs);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * A thousand extents with a hole after each: several leaves, so some
 * lookups land in the hole between the last extent of one leaf and the
 * first of the next, where libext2fs's goto leaves the handle on the
 * extent before and NEXT_LEAF first revisits that leaf.  The hole must
 * end where the next leaf starts, not at the end of the file's range.
 */
TEST_F(img, holes_between_leaves)
{
	char *script = malloc(65536);
	size_t n;
	unsigned int runs;
	ext2_filsys fs;
	struct gt g;
	int i;

	ASSERT_NE(NULL, script);
	ASSERT_EQ(0, make_data(self->data, 16 << 20));
	n = snprintf(script, 65536, "write %s f\n", self->data);
	for (i = 1; i < 4000; i += 4)
		n += snprintf(script + n, 65536 - n, "punch f %d %d\n", i,
			      i + 1);
	ASSERT_EQ(0, debugfs_script(self->image, script));
	free(script);
	ASSERT_EQ(0, gt_load(self->image, "f", 4096, &g));
	ASSERT_GT(g.nextents, 2 * 340);

	fs = open_fs(self->image, false);
	ASSERT_NE(NULL, fs);
	EXPECT_EQ(0, walk_and_check(fs, lookup(fs, "f"), &g, 4096, &runs));
	ext2fs_close_free(&fs);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* A sparse source copied in by mke2fs -d: holes everywhere, one at 0. */
TEST_F(img, sparse_file_from_mke2fs_d)
{
	char src[300];
	struct tfs_mkfs_opts o = { .populate = src };
	unsigned int runs;
	ext2_filsys fs;
	struct gt g;
	int fd, i;

	snprintf(src, sizeof(src), "%s/tree", self->dir);
	ASSERT_EQ(0, mkdir(src, 0755));
	snprintf(self->data, sizeof(self->data), "%s/sparse", src);
	fd = open(self->data, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	for (i = 1; i < 40; i += 3) {
		char blk[8192];

		memset(blk, 'a' + i % 26, sizeof(blk));
		ASSERT_EQ((ssize_t)sizeof(blk),
			  pwrite(fd, blk, sizeof(blk), (off_t)i * 65536));
	}
	ASSERT_EQ(0, ftruncate(fd, 40 * 65536 + 12345));
	close(fd);
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, gt_load(self->image, "sparse", 700, &g));
	ASSERT_GT(g.nextents, 5);
	ASSERT_EQ(FUSE_IOMAP_TYPE_HOLE, g.type[0]);

	fs = open_fs(self->image, false);
	ASSERT_NE(NULL, fs);
	EXPECT_EQ(0, walk_and_check(fs, lookup(fs, "sparse"), &g, 700, &runs));
	ext2fs_close_free(&fs);
	gt_free(&g);
}

/* Set i_size the way IOEND with APPEND does. */
static int set_size(ext2_filsys fs, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t size)
{
	if (ext2fs_inode_size_set(fs, (struct ext2_inode *)inode, size))
		return -1;
	return ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode,
				       sizeof(*inode)) ? -1 : 0;
}

/*
 * A 48 MiB streaming append in 1 MiB pieces, the way BEGIN and IOEND
 * drive it: allocate ahead on a hole, convert what was written, extend
 * i_size.  Ends with few, written, contiguous extents and a clean fsck.
 */
TEST_F(img, streaming_alloc_and_convert)
{
	const blk64_t mib = (1 << 20) / 4096, total = 48 * mib;
	const blk64_t ahead = 8 * mib;
	struct ext2_inode_large inode;
	unsigned int allocs = 0;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct f2_run r;
	struct gt g;
	blk64_t lblk, i;

	ASSERT_EQ(0, debugfs_script(self->image, "write /dev/null s\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = lookup_and_read(fs, "s", &inode);
	ASSERT_NE(0, ino);
	for (lblk = 0; lblk < total; lblk += mib) {
		ASSERT_EQ(0, f2_map_run(fs, ino, &inode, lblk, lblk + mib, &r));
		if (r.type == FUSE_IOMAP_TYPE_HOLE) {
			ASSERT_EQ(0, f2_alloc_unwritten(fs, ino, &inode, lblk,
							ahead, 0));
			allocs++;
			ASSERT_EQ(0, f2_map_run(fs, ino, &inode, lblk,
						lblk + mib, &r));
		}
		ASSERT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, r.type);
		ASSERT_EQ(mib, r.len);
		ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, lblk,
						lblk + mib));
		ASSERT_EQ(0, set_size(fs, ino, &inode, (lblk + mib) * 4096));
	}
	ASSERT_EQ(total / ahead, allocs);
	/* Reads of the whole file now take very few runs. */
	for (lblk = 0, i = 0; lblk < total; lblk += r.len, i++) {
		ASSERT_EQ(0, f2_map_run(fs, ino, &inode, lblk, total, &r));
		ASSERT_EQ(FUSE_IOMAP_TYPE_MAPPED, r.type);
	}
	TH_LOG("48 MiB written in 1 MiB steps: %u allocations, read in %llu runs",
	       allocs, (unsigned long long)i);
	EXPECT_LE(i, 4);
	ASSERT_EQ(0, ext2fs_close_free(&fs));

	ASSERT_EQ(0, gt_load(self->image, "s", total + 10, &g));
	for (lblk = 0; lblk < total; lblk++)
		ASSERT_EQ(FUSE_IOMAP_TYPE_MAPPED, g.type[lblk]);
	/* Merged as it went: one extent per 32768 blocks at most, +slack. */
	EXPECT_LE(g.nextents, 4);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * 2048 unwritten blocks converted in 4-block pieces in shuffled order:
 * splits, merges both ways, leaf splits; after every step the mapping
 * matches the expected written/unwritten pattern.
 */
TEST_F(img, convert_shuffled_pieces)
{
	const blk64_t nblk = 2048, piece = 4, npieces = nblk / piece;
	struct ext2_inode_large inode;
	blk64_t order[512], lblk, pblk0;
	bool *done;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct f2_run r;
	struct gt g;
	unsigned int i, j, step;

	ASSERT_EQ(0, debugfs_script(self->image, "write /dev/null u\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = lookup_and_read(fs, "u", &inode);
	ASSERT_NE(0, ino);
	ASSERT_EQ(0, f2_alloc_unwritten(fs, ino, &inode, 0, nblk, 0));
	ASSERT_EQ(0, set_size(fs, ino, &inode, nblk * 4096));
	ASSERT_EQ(0, f2_map_run(fs, ino, &inode, 0, nblk, &r));
	ASSERT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, r.type);
	pblk0 = r.pblk;
	/* ext2fs_fallocate may split at group boundaries; we need one run */
	ASSERT_EQ(nblk, r.len);

	done = calloc(nblk, sizeof(*done));
	ASSERT_NE(NULL, done);
	for (i = 0; i < npieces; i++)
		order[i] = i;
	srandom(1234);
	for (i = npieces - 1; i > 0; i--) {
		blk64_t t;

		j = random() % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (step = 0; step < npieces; step++) {
		lblk = order[step] * piece;
		ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, lblk,
						lblk + piece));
		for (j = 0; j < piece; j++)
			done[lblk + j] = true;
		if (step % 37 && step != npieces - 1)
			continue;
		/* Check every run against the expected pattern. */
		for (lblk = 0; lblk < nblk; lblk += r.len) {
			ASSERT_EQ(0, f2_map_run(fs, ino, &inode, lblk, nblk,
						&r));
			ASSERT_EQ(pblk0 + lblk, r.pblk);
			for (j = 0; j < r.len; j++)
				ASSERT_EQ(done[lblk + j] ?
					  FUSE_IOMAP_TYPE_MAPPED :
					  FUSE_IOMAP_TYPE_UNWRITTEN, r.type);
			ASSERT_TRUE(lblk + r.len == nblk ||
				    done[lblk + r.len] != done[lblk]);
		}
	}
	free(done);
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, gt_load(self->image, "u", nblk, &g));
	for (lblk = 0; lblk < nblk; lblk++) {
		ASSERT_EQ(FUSE_IOMAP_TYPE_MAPPED, g.type[lblk]);
		ASSERT_EQ(pblk0 + lblk, g.pblk[lblk]);
	}
	TH_LOG("after %llu shuffled conversions: %u extents",
	       (unsigned long long)npieces, g.nextents);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/* Conversion of ranges that start or end inside holes and extents. */
TEST_F(img, convert_across_holes)
{
	struct ext2_inode_large inode;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct gt g;
	blk64_t b;

	ASSERT_EQ(0, debugfs_script(self->image,
				    "write /dev/null h\n"
				    "fallocate h 10 19\nfallocate h 30 49\n"
				    "fallocate h 60 60\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = lookup_and_read(fs, "h", &inode);
	ASSERT_NE(0, ino);
	ASSERT_EQ(0, set_size(fs, ino, &inode, 61 * 4096));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 5, 15));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 25, 35));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 40, 70));
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, gt_load(self->image, "h", 80, &g));
	for (b = 0; b < 80; b++) {
		int want = FUSE_IOMAP_TYPE_HOLE;

		if ((b >= 10 && b < 20) || (b >= 30 && b < 50) || b == 60)
			want = ((b >= 5 && b < 15) || (b >= 25 && b < 35) ||
				b >= 40) ? FUSE_IOMAP_TYPE_MAPPED :
					   FUSE_IOMAP_TYPE_UNWRITTEN;
		ASSERT_EQ(want, g.type[b]) TH_LOG("block %llu",
						  (unsigned long long)b);
	}
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

struct want_extent {
	blk64_t lblk, len;
	bool written;
};

/*
 * Compare the in-memory extent tree of ino with want[0..n): every leaf
 * extent, in order, and the tree depth (0: all in the inode's 4 slots).
 * Physical blocks must follow pblk0 for logical blocks below 256.
 */
static int check_tree(ext2_filsys fs, ext2_ino_t ino,
		      struct ext2_inode_large *inode, blk64_t pblk0,
		      const struct want_extent *want, unsigned int n,
		      int depth)
{
	struct ext2_extent_info info;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	unsigned int i = 0;
	int op = EXT2_EXTENT_ROOT, rc = -1;

	if (ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h))
		return -1;
	if (ext2fs_extent_get_info(h, &info))
		goto out;
	if (info.max_depth != depth) {
		fprintf(stderr, "# tree depth %d, want %d\n", info.max_depth,
			depth);
		goto out;
	}
	while (!ext2fs_extent_get(h, op, &e)) {
		op = EXT2_EXTENT_NEXT;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_LEAF) ||
		    (e.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			continue;
		if (i >= n || e.e_lblk != want[i].lblk ||
		    e.e_len != want[i].len ||
		    !(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) != want[i].written ||
		    (e.e_lblk < 256 && e.e_pblk != pblk0 + e.e_lblk)) {
			fprintf(stderr,
				"# extent %u: %llu+%u %s at %llu unexpected\n",
				i, (unsigned long long)e.e_lblk, e.e_len,
				(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ?
				"unwritten" : "written",
				(unsigned long long)e.e_pblk);
			goto out;
		}
		i++;
	}
	if (i != n) {
		fprintf(stderr, "# %u extents, want %u\n", i, n);
		goto out;
	}
	rc = 0;
out:
	ext2fs_extent_free(h);
	return rc;
}

/*
 * fallocate(0, 1 MiB) and (2 MiB + 100, 10 KiB) on ext4, 4 KiB blocks:
 * unwritten blocks 0-255 and 512-514 in file name, i_size set.
 */
static ext2_ino_t prealloc_like_test_fallocate(ext2_filsys fs,
					       const char *name,
					       struct ext2_inode_large *inode,
					       blk64_t *pblk0)
{
	ext2_ino_t ino = lookup_and_read(fs, name, inode);
	struct f2_run r;

	if (!ino ||
	    f2_alloc_unwritten(fs, ino, inode, 0, 256, 0) ||
	    f2_alloc_unwritten(fs, ino, inode, 512, 3, 0) ||
	    set_size(fs, ino, inode, 2 * 1048576 + 100 + 10 * 1024) ||
	    f2_map_run(fs, ino, inode, 0, 256, &r) ||
	    r.type != FUSE_IOMAP_TYPE_UNWRITTEN || r.len != 256)
		return 0;
	*pblk0 = r.pblk;
	return ino;
}

#define WANT_TREE(fs, ino, inode, pblk0, depth, ...)			\
	({								\
		const struct want_extent w_[] = { __VA_ARGS__ };	\
		check_tree(fs, ino, inode, pblk0, w_,			\
			   ARRAY_SIZE(w_), depth);			\
	})

/*
 * A 9000-byte write at 300 KiB + 5 into that preallocated space reaches
 * fuse2fs as two requests, the partial first block alone: blocks 75,
 * then 76-77 (test_fallocate's preallocate_extends_size).  ext4 splits
 * the unwritten extent once and then moves the boundary into the
 * contiguous written extent on its left; it never needs a fifth extent,
 * so the tree stays in the inode (depth 0) and i_blocks counts only the
 * 259 data blocks.  The same from right to left moves the boundary into
 * the written extent on the right.  Converting the rest merges it all.
 */
TEST_F(img, convert_adjacent_pieces_like_ext4)
{
	struct ext2_inode_large inode;
	const blk64_t units = 259 * 8;
	blk64_t pblk0;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct gt g;

	ASSERT_EQ(0, debugfs_script(self->image,
				    "write /dev/null ltr\n"
				    "write /dev/null rtl\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);

	ino = prealloc_like_test_fallocate(fs, "ltr", &inode, &pblk0);
	ASSERT_NE(0, ino);
	ASSERT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 256, false }, { 512, 3, false }));
	ASSERT_EQ(units, ext2fs_get_stat_i_blocks(fs,
						  (struct ext2_inode *)&inode));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 75, 76));
	ASSERT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 75, false }, { 75, 1, true },
			       { 76, 180, false }, { 512, 3, false }));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 76, 78));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 75, false }, { 75, 3, true },
			       { 78, 178, false }, { 512, 3, false }));
	EXPECT_EQ(units, ext2fs_get_stat_i_blocks(fs,
						  (struct ext2_inode *)&inode));
	/* The rest of the extent, then its start: one written extent. */
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 78, 256));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 75, false }, { 75, 181, true },
			       { 512, 3, false }));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 0, 75));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 256, true }, { 512, 3, false }));
	EXPECT_EQ(units, ext2fs_get_stat_i_blocks(fs,
						  (struct ext2_inode *)&inode));

	ino = prealloc_like_test_fallocate(fs, "rtl", &inode, &pblk0);
	ASSERT_NE(0, ino);
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 77, 78));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 75, 77));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 75, false }, { 75, 3, true },
			       { 78, 178, false }, { 512, 3, false }));
	EXPECT_EQ(units, ext2fs_get_stat_i_blocks(fs,
						  (struct ext2_inode *)&inode));
	/* One range over the written extent and its unwritten neighbours. */
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 70, 80));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 70, false }, { 70, 10, true },
			       { 80, 176, false }, { 512, 3, false }));
	ASSERT_EQ(0, ext2fs_close_free(&fs));

	/* debugfs reads the same tree from the image. */
	ASSERT_EQ(0, gt_load(self->image, "rtl", 600, &g));
	EXPECT_EQ(4, g.nextents);
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, g.type[69]);
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, g.type[70]);
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, g.type[79]);
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, g.type[80]);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Three single blocks written in the middle of 256 preallocated ones make
 * seven extents: the tree needs a leaf block (depth 1, one more block in
 * i_blocks), on ext4 too.  Writing the gaps between them leaves three
 * extents, and ext4 then moves the leaf back into the inode and frees
 * the block; so must we.  The rest merges into one extent.
 */
TEST_F(img, converted_fragments_move_back_into_the_inode)
{
	struct ext2_inode_large inode;
	blk64_t pblk0, free0;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct gt g;

	ASSERT_EQ(0, debugfs_script(self->image, "write /dev/null frag\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = prealloc_like_test_fallocate(fs, "frag", &inode, &pblk0);
	ASSERT_NE(0, ino);
	free0 = ext2fs_free_blocks_count(fs->super);
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 10, 11));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 30, 31));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 50, 51));
	ASSERT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 1,
			       { 0, 10, false }, { 10, 1, true },
			       { 11, 19, false }, { 30, 1, true },
			       { 31, 19, false }, { 50, 1, true },
			       { 51, 205, false }, { 512, 3, false }));
	ASSERT_EQ(260 * 8, ext2fs_get_stat_i_blocks(fs,
						    (struct ext2_inode *)&inode));
	ASSERT_EQ(free0 - 1, ext2fs_free_blocks_count(fs->super));

	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 11, 50));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 10, false }, { 10, 41, true },
			       { 51, 205, false }, { 512, 3, false }));
	EXPECT_EQ(259 * 8, ext2fs_get_stat_i_blocks(fs,
						    (struct ext2_inode *)&inode));
	EXPECT_EQ(free0, ext2fs_free_blocks_count(fs->super));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 0, 256));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 256, true }, { 512, 3, false }));
	ASSERT_EQ(0, ext2fs_close_free(&fs));

	/* The image agrees: two extents, e2fsck finds the leaf free. */
	ASSERT_EQ(0, gt_load(self->image, "frag", 600, &g));
	EXPECT_EQ(2, g.nextents);
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, g.type[255]);
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, g.type[512]);
	gt_free(&g);
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * Writing into preallocated space must work on a full filesystem: that
 * is what fallocate is for.  The two requests of one write (blocks 75,
 * then 76-77) need no new block when the second one moves the boundary
 * of the written extent; a transient fifth extent would need a leaf
 * block and fail with ENOSPC, even if the tree collapsed right after.
 * Conversions that do need a block fail cleanly.
 */
/*
 * Takes every free block of @fs so that tests can run on a full disk;
 * returns the blocks taken (*@n of them, freed with give_back_all())
 * or NULL if the array cannot be allocated.
 */
static blk64_t *take_all_free_blocks(ext2_filsys fs, blk64_t *n)
{
	blk64_t cap = ext2fs_free_blocks_count(fs->super), b;
	blk64_t *taken = calloc(cap + 1, sizeof(*taken));

	*n = 0;
	if (!taken)
		return NULL;
	while (*n < cap && !ext2fs_new_block2(fs, 0, NULL, &b)) {
		ext2fs_block_alloc_stats2(fs, b, 1);
		taken[(*n)++] = b;
	}
	return taken;
}

/*
 * Frees again the taken blocks in [@lo, @end), zeroing their slots so
 * give_back_all() skips them; returns how many there were.
 */
static blk64_t give_back_range(ext2_filsys fs, blk64_t *taken, blk64_t n,
			       blk64_t lo, blk64_t end)
{
	blk64_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (taken[i] >= lo && taken[i] < end) {
			ext2fs_block_alloc_stats2(fs, taken[i], -1);
			taken[i] = 0;
			k++;
		}
	}
	return k;
}

/* Frees every block still taken and the array itself. */
static void give_back_all(ext2_filsys fs, blk64_t *taken, blk64_t n)
{
	blk64_t i;

	for (i = 0; i < n; i++)
		if (taken[i])
			ext2fs_block_alloc_stats2(fs, taken[i], -1);
	free(taken);
}

TEST_F(img, adjacent_pieces_convert_on_a_full_fs)
{
	struct ext2_inode_large inode;
	blk64_t pblk0, *taken, n;
	ext2_filsys fs;
	ext2_ino_t ino;

	ASSERT_EQ(0, debugfs_script(self->image, "write /dev/null full\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = prealloc_like_test_fallocate(fs, "full", &inode, &pblk0);
	ASSERT_NE(0, ino);
	/* Take every free block, and give them back before closing. */
	taken = take_all_free_blocks(fs, &n);
	ASSERT_NE(NULL, taken);
	EXPECT_EQ(0, ext2fs_free_blocks_count(fs->super));

	EXPECT_EQ(0, f2_convert_written(fs, ino, &inode, 75, 76));
	EXPECT_EQ(0, f2_convert_written(fs, ino, &inode, 76, 78));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 75, false }, { 75, 3, true },
			       { 78, 178, false }, { 512, 3, false }));
	/* Right to left into the same written extent. */
	EXPECT_EQ(0, f2_convert_written(fs, ino, &inode, 73, 75));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 73, false }, { 73, 5, true },
			       { 78, 178, false }, { 512, 3, false }));
	EXPECT_EQ(259 * 8, ext2fs_get_stat_i_blocks(fs,
						    (struct ext2_inode *)&inode));

	/*
	 * The inode's four slots are used: a split at the start, the end
	 * or in the middle of an unwritten extent needs a leaf block.  It
	 * fails and leaves the tree as it was, nothing lost or leaked.
	 */
	EXPECT_NE(0, f2_convert_written(fs, ino, &inode, 0, 1));
	EXPECT_NE(0, f2_convert_written(fs, ino, &inode, 250, 256));
	EXPECT_NE(0, f2_convert_written(fs, ino, &inode, 100, 101));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, pblk0, 0,
			       { 0, 73, false }, { 73, 5, true },
			       { 78, 178, false }, { 512, 3, false }));
	EXPECT_EQ(259 * 8, ext2fs_get_stat_i_blocks(fs,
						    (struct ext2_inode *)&inode));
	EXPECT_EQ(0, ext2fs_free_blocks_count(fs->super));

	give_back_all(fs, taken, n);
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * A file NAME whose one unwritten extent holds the disk's last 300
 * blocks, on a filesystem with no other free block (the rest is in
 * *taken, to give back with give_back_all()).  *r is that extent.
 * Returns the open filesystem, or NULL after a failed check.
 */
static ext2_filsys file_at_disk_end(struct __test_metadata *_metadata,
				    const char *image, const char *name,
				    ext2_ino_t *ino,
				    struct ext2_inode_large *inode,
				    blk64_t **taken, blk64_t *n,
				    struct f2_run *r)
{
	char script[64];
	ext2_filsys fs;
	blk64_t last, k;

	snprintf(script, sizeof(script), "write /dev/null %s\n", name);
	EXPECT_EQ(0, debugfs_script(image, script))
		return NULL;
	fs = open_fs(image, true);
	EXPECT_NE(NULL, fs)
		return NULL;
	*ino = lookup_and_read(fs, name, inode);
	EXPECT_NE(0, *ino)
		return NULL;
	last = ext2fs_blocks_count(fs->super) - 1;
	*taken = take_all_free_blocks(fs, n);
	EXPECT_NE(NULL, *taken)
		return NULL;
	k = give_back_range(fs, *taken, *n, last + 1 - 300, last + 1);
	EXPECT_EQ(300, k)
		return NULL;
	EXPECT_EQ(0, f2_alloc_unwritten(fs, *ino, inode, 0, k, 0))
		return NULL;
	EXPECT_EQ(0, f2_map_run(fs, *ino, inode, 0, k, r))
		return NULL;
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, r->type)
		return NULL;
	EXPECT_EQ(k, r->len)
		return NULL;
	EXPECT_EQ(last + 1, r->pblk + k)
		return NULL;
	EXPECT_EQ(0, ext2fs_free_blocks_count(fs->super))
		return NULL;
	return fs;
}

/*
 * Giving back unwritten blocks (the look-ahead past EOF) on a full
 * filesystem whose last blocks the file holds: whole unwritten extents
 * go, the ends of others are cut off, written blocks and an unwritten
 * middle (it would need a new extent) stay.  libext2fs 1.47.0's punch
 * failed on a range ending at the last block after taking it out of
 * the tree, and leaked it.
 */
TEST_F(img, unwritten_blocks_at_the_disk_end_are_freed)
{
	struct ext2_inode_large inode;
	blk64_t *taken, n, k;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct f2_run r;

	fs = file_at_disk_end(_metadata, self->image, "tail", &ino, &inode,
			      &taken, &n, &r);
	ASSERT_NE(NULL, fs);
	k = r.len;
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 100, 110));

	/* Tail of the first extent, the last one whole (to the disk end). */
	EXPECT_EQ(0, f2_free_unwritten(fs, ino, &inode, 50, k));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, r.pblk, 0,
			       { 0, 50, false }, { 100, 10, true }));
	EXPECT_EQ(k - 60, ext2fs_free_blocks_count(fs->super));
	EXPECT_EQ(60 * 8, ext2fs_get_stat_i_blocks(fs,
						   (struct ext2_inode *)&inode));
	/* A head; then a middle, which stays. */
	EXPECT_EQ(0, f2_free_unwritten(fs, ino, &inode, 0, 10));
	EXPECT_EQ(0, f2_free_unwritten(fs, ino, &inode, 20, 30));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, r.pblk, 0,
			       { 10, 40, false }, { 100, 10, true }));
	EXPECT_EQ(k - 50, ext2fs_free_blocks_count(fs->super));
	EXPECT_EQ(50 * 8, ext2fs_get_stat_i_blocks(fs,
						   (struct ext2_inode *)&inode));
	/* The written blocks are data: e2fsck wants them inside i_size. */
	EXPECT_EQ(0, set_size(fs, ino, &inode, 110 * fs->blocksize));

	give_back_all(fs, taken, n);
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * f2_free_range() frees written and unwritten blocks alike, at the disk's
 * last block too (where 1.47.0's ext2fs_punch() leaks them), and splits
 * an extent whose middle goes even when the split needs a leaf block on
 * a full disk: the leaf takes one of the blocks just freed.
 */
TEST_F(img, free_range_on_a_full_disk)
{
	struct ext2_inode_large inode;
	blk64_t *taken, n, k;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct f2_run r;

	fs = file_at_disk_end(_metadata, self->image, "f", &ino, &inode,
			      &taken, &n, &r);
	ASSERT_NE(NULL, fs);
	k = r.len;
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 100, 110));
	ASSERT_EQ(0, f2_convert_written(fs, ino, &inode, 200, 300));
	/* Four extents fill the inode's slots; no block is free. */
	ASSERT_EQ(0, WANT_TREE(fs, ino, &inode, r.pblk, 0,
			       { 0, 100, false }, { 100, 10, true },
			       { 110, 90, false }, { 200, 100, true }));
	ASSERT_EQ(0, ext2fs_free_blocks_count(fs->super));

	/* A middle: five extents need a leaf, taken from the ten freed. */
	EXPECT_EQ(0, f2_free_range(fs, ino, &inode, 20, 30, 0));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, r.pblk, 1,
			       { 0, 20, false }, { 30, 70, false },
			       { 100, 10, true }, { 110, 90, false },
			       { 200, 100, true }));
	EXPECT_EQ(9, ext2fs_free_blocks_count(fs->super));
	EXPECT_EQ((290 + 1) * 8, ext2fs_get_stat_i_blocks(fs,
				(struct ext2_inode *)&inode));
	/* The written tail ending at the disk's last block. */
	EXPECT_EQ(0, f2_free_range(fs, ino, &inode, 250, 300, 0));
	EXPECT_EQ(59, ext2fs_free_blocks_count(fs->super));
	/* A written tail, a whole unwritten and a whole written extent. */
	EXPECT_EQ(0, f2_free_range(fs, ino, &inode, 105, 260, 0));
	EXPECT_EQ(0, WANT_TREE(fs, ino, &inode, r.pblk, 1,
			       { 0, 20, false }, { 30, 70, false },
			       { 100, 5, true }));
	EXPECT_EQ(k - 95 - 1, ext2fs_free_blocks_count(fs->super));
	EXPECT_EQ((95 + 1) * 8, ext2fs_get_stat_i_blocks(fs,
				(struct ext2_inode *)&inode));
	EXPECT_EQ(EXT2_ET_INVALID_ARGUMENT,
		  f2_free_range(fs, ino, &inode, 0, 10, 1u << 7));
	EXPECT_EQ(0, set_size(fs, ino, &inode, 105 * fs->blocksize));

	give_back_all(fs, taken, n);
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

/*
 * A hole longer than one unwritten extent may be (32767 blocks) gets a
 * second extent part way; with the inode's slots full and no free block
 * for a leaf, that insert fails.  The blocks mapped before it stay the
 * file's, in the tree, the bitmap and i_blocks; exactly the others go
 * back.
 */
TEST_F(img, alloc_failing_mid_run_gives_back_only_unmapped_blocks)
{
	struct tfs_mkfs_opts o = { .size_mb = 512,
				     .features = "sparse_super2,^has_journal" };
	struct ext2_inode_large inode;
	blk64_t *taken, n, b, lo, k, i, iblocks;
	ext2_filsys fs;
	ext2_ino_t ino;
	struct f2_run r;

	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	ASSERT_EQ(0, debugfs_script(self->image, "write /dev/null long\n"));
	fs = open_fs(self->image, true);
	ASSERT_NE(NULL, fs);
	ino = lookup_and_read(fs, "long", &inode);
	ASSERT_NE(0, ino);
	/* Three single-block extents: one slot of the inode is left. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, f2_alloc_unwritten(fs, ino, &inode, 2 * i, 1, 0));
	iblocks = ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&inode);

	/* Leave free only the first 33000 blocks of a long free run. */
	for (lo = b = fs->super->s_first_data_block;
	     b < ext2fs_blocks_count(fs->super) && b - lo < 33000; b++)
		if (ext2fs_test_block_bitmap2(fs->block_map, b))
			lo = b + 1;
	ASSERT_EQ(33000, b - lo);
	taken = take_all_free_blocks(fs, &n);
	ASSERT_NE(NULL, taken);
	k = give_back_range(fs, taken, n, lo, lo + 33000);
	ASSERT_EQ(33000, k);

	EXPECT_NE(0, f2_alloc_unwritten(fs, ino, &inode, 10, 33000, 0));
	/* What was mapped is one extent at the start of the free run. */
	ASSERT_EQ(0, f2_map_run(fs, ino, &inode, 10, 33010, &r));
	EXPECT_EQ(FUSE_IOMAP_TYPE_UNWRITTEN, r.type);
	EXPECT_EQ(lo, r.pblk);
	EXPECT_LT(30000, r.len);
	EXPECT_GT(33000, r.len);
	EXPECT_EQ(33000 - r.len, ext2fs_free_blocks_count(fs->super));
	for (b = lo; b < lo + r.len; b++)
		if (!ext2fs_test_block_bitmap2(fs->block_map, b))
			break;
	EXPECT_EQ(lo + r.len, b);
	for (; b < lo + 33000; b++)
		if (ext2fs_test_block_bitmap2(fs->block_map, b))
			break;
	EXPECT_EQ(lo + 33000, b);
	EXPECT_EQ(iblocks + r.len * (fs->blocksize / 512),
		  ext2fs_get_stat_i_blocks(fs, (struct ext2_inode *)&inode));
	EXPECT_EQ(0, ext2fs_write_inode_full(fs, ino,
					     (struct ext2_inode *)&inode,
					     sizeof(inode)));

	give_back_all(fs, taken, n);
	ASSERT_EQ(0, ext2fs_close_free(&fs));
	ASSERT_EQ(0, tfs_fsck(self->image));
}

TEST_HARNESS_MAIN
