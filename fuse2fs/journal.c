// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Journal recovery at mount: replaying an ext3/ext4 (jbd2) journal that
 * kernel ext4 left needing recovery, instead of refusing the mount.
 * libext2fs 1.47 has no recovery code of its own (e2fsck carries it), so
 * this reads the on-disk jbd2 format directly, as the kernel writes it:
 *
 *  journal superblock: where the log starts (s_start, 0 = nothing to do)
 *    and the sequence number of its first transaction (s_sequence);
 *  the log, a ring of blocks [s_first, s_maxlen) in the journal inode:
 *    descriptor blocks (tags naming the filesystem block each following
 *    log block belongs to), commit blocks (the transaction is complete),
 *    revoke blocks (earlier copies of these blocks must not be written).
 *
 * Three walks from s_start, as every jbd2 implementation does: find the
 * last committed transaction; collect revoke records; write every logged
 * block of the committed transactions to its place unless a revoke of
 * the same or a later transaction cancels it.  Checksums (csum v2/v3) are
 * verified: a log whose descriptor, revoke or commit block fails stops
 * there (that transaction and later ones are not replayed); a data block
 * that fails is skipped and counted.  Then the journal is marked empty,
 * needs_recovery cleared and the superblock's free counts recomputed
 * (ext4 does not journal them).  Everything is written before the
 * filesystem is opened for serving; a failure leaves the image as the
 * replay left it, which e2fsck can still recover from the log.
 *
 * Not handled (the mount is refused with a message, as before): external
 * journal devices, fast commits, v1 and async-commit checksums.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <et/com_err.h>

#include "journal.h"

#define JBD2_MAGIC		0xc03b3998U
#define JBD2_DESCRIPTOR		1
#define JBD2_COMMIT		2
#define JBD2_SB_V1		3
#define JBD2_SB_V2		4
#define JBD2_REVOKE		5

#define JBD2_COMPAT_CHECKSUM	0x1
#define JBD2_INCOMPAT_REVOKE	0x1
#define JBD2_INCOMPAT_64BIT	0x2
#define JBD2_INCOMPAT_ASYNC	0x4
#define JBD2_INCOMPAT_CSUM_V2	0x8
#define JBD2_INCOMPAT_CSUM_V3	0x10
#define JBD2_INCOMPAT_FAST	0x20
#define JBD2_INCOMPAT_KNOWN	(JBD2_INCOMPAT_REVOKE | JBD2_INCOMPAT_64BIT | \
				 JBD2_INCOMPAT_CSUM_V2 | JBD2_INCOMPAT_CSUM_V3)

#define JBD2_FLAG_ESCAPE	0x1
#define JBD2_FLAG_SAME_UUID	0x2
#define JBD2_FLAG_LAST_TAG	0x8

/* Byte offsets in the journal superblock (big-endian fields). */
#define JSB_BLOCKSIZE		12
#define JSB_MAXLEN		16
#define JSB_FIRST		20
#define JSB_SEQUENCE		24
#define JSB_START		28
#define JSB_FEAT_COMPAT		36
#define JSB_FEAT_INCOMPAT	40
#define JSB_UUID		48
#define JSB_CHECKSUM		0xfc
#define JSB_SIZE		1024

/* Block header: magic, type, sequence. */
#define HDR_SIZE		12
#define COMMIT_CSUM		16	/* h_chksum[0] of a commit block */
#define REVOKE_COUNT		12	/* r_count: bytes used, header included */
#define REVOKE_FIRST		16

struct revoke {
	uint64_t block;
	uint32_t seq;		/* the latest transaction revoking it */
};

struct jr {
	ext2_filsys fs;
	ext2_ino_t ino;
	struct ext2_inode inode;
	unsigned int bs;
	uint32_t first, maxlen;
	uint32_t incompat;
	bool csum;		/* v2 or v3 */
	uint32_t seed;		/* crc32c of the journal's uuid */
	unsigned int tag_bytes;
	unsigned char *buf, *data;
	struct revoke *revokes;
	size_t nrevokes, cap;
	struct f2_journal_stats *st;
	char *why;
	size_t len;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int fail(struct jr *j, errcode_t err, const char *fmt, const char *arg)
{
	int n = snprintf(j->why, j->len, fmt, arg);

	if (err && n >= 0 && (size_t)n < j->len)
		snprintf(j->why + n, j->len - n, ": %s", error_message(err));
	return -1;
}

/* Read or write journal block nr (log position) through the inode. */
static errcode_t jblock_io(struct jr *j, uint32_t nr, unsigned char *buf,
			   bool write)
{
	blk64_t pblk = 0;
	errcode_t err;

	err = ext2fs_bmap2(j->fs, j->ino, &j->inode, NULL, 0, nr, NULL,
			   &pblk);
	if (err)
		return err;
	if (!pblk || pblk >= ext2fs_blocks_count(j->fs->super))
		return EXT2_ET_BAD_BLOCK_NUM;
	return write ? io_channel_write_blk64(j->fs->io, pblk, 1, buf) :
		       io_channel_read_blk64(j->fs->io, pblk, 1, buf);
}

/* The log position k blocks after pos, around the ring. */
static uint32_t wrap(const struct jr *j, uint32_t pos, uint32_t k)
{
	uint32_t size = j->maxlen - j->first;

	return j->first + (uint32_t)(((uint64_t)pos - j->first + k) % size);
}

static uint32_t crc(uint32_t seed, const void *p, size_t len)
{
	return ext2fs_crc32c_le(seed, p, len);
}

/* Checksum over the block with the 4 bytes at off taken as zero. */
static uint32_t block_csum(const struct jr *j, unsigned char *b,
			   unsigned int off)
{
	unsigned char save[4];
	uint32_t c;

	memcpy(save, b + off, 4);
	memset(b + off, 0, 4);
	c = crc(j->seed, b, j->bs);
	memcpy(b + off, save, 4);
	return c;
}

/* Descriptor and revoke blocks end with a checksum tail. */
static bool tail_ok(const struct jr *j, unsigned char *b)
{
	return !j->csum || block_csum(j, b, j->bs - 4) == be32(b + j->bs - 4);
}

static bool commit_ok(const struct jr *j, unsigned char *b)
{
	return !j->csum || block_csum(j, b, COMMIT_CSUM) ==
			   be32(b + COMMIT_CSUM);
}

struct tag {
	uint64_t block;
	uint32_t flags;
	uint32_t csum;
};

/* The next tag of a descriptor at *off; false after the last one. */
static bool next_tag(const struct jr *j, const unsigned char *b,
		     unsigned int *off, bool *last, struct tag *t)
{
	unsigned int end = j->bs - (j->csum ? 4 : 0);
	const unsigned char *p = b + *off;

	if (*last || *off + j->tag_bytes > end)
		return false;
	t->block = be32(p);
	if (j->incompat & JBD2_INCOMPAT_CSUM_V3) {
		t->flags = be32(p + 4);
		if (j->incompat & JBD2_INCOMPAT_64BIT)
			t->block |= (uint64_t)be32(p + 8) << 32;
		t->csum = be32(p + 12);
	} else {
		t->csum = be16(p + 4);
		t->flags = be16(p + 6);
		if (j->incompat & JBD2_INCOMPAT_64BIT)
			t->block |= (uint64_t)be32(p + 8) << 32;
	}
	*off += j->tag_bytes;
	if (!(t->flags & JBD2_FLAG_SAME_UUID))
		*off += 16;
	*last = t->flags & JBD2_FLAG_LAST_TAG;
	return true;
}

static unsigned int count_tags(const struct jr *j, const unsigned char *b)
{
	unsigned int off = HDR_SIZE, n = 0;
	bool last = false;
	struct tag t;

	while (next_tag(j, b, &off, &last, &t))
		n++;
	return n;
}

static int note_revoke(struct jr *j, uint64_t block, uint32_t seq)
{
	size_t i;

	for (i = 0; i < j->nrevokes; i++) {
		if (j->revokes[i].block == block) {
			if ((int32_t)(seq - j->revokes[i].seq) > 0)
				j->revokes[i].seq = seq;
			return 0;
		}
	}
	if (j->nrevokes == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 256;
		struct revoke *r = realloc(j->revokes, cap * sizeof(*r));

		if (!r)
			return -1;
		j->revokes = r;
		j->cap = cap;
	}
	j->revokes[j->nrevokes].block = block;
	j->revokes[j->nrevokes++].seq = seq;
	return 0;
}

static bool revoked(const struct jr *j, uint64_t block, uint32_t seq)
{
	size_t i;

	for (i = 0; i < j->nrevokes; i++)
		if (j->revokes[i].block == block)
			return (int32_t)(j->revokes[i].seq - seq) >= 0;
	return false;
}

static int read_revokes(struct jr *j, const unsigned char *b, uint32_t seq)
{
	unsigned int rsize = j->incompat & JBD2_INCOMPAT_64BIT ? 8 : 4;
	uint32_t used = be32(b + REVOKE_COUNT);
	unsigned int off;
	uint64_t block;

	if (used > j->bs - (j->csum ? 4 : 0))
		return fail(j, 0, "%s", "journal: a revoke block overflows");
	for (off = REVOKE_FIRST; off + rsize <= used; off += rsize) {
		block = rsize == 8 ? (uint64_t)be32(b + off) << 32 |
				     be32(b + off + 4) : be32(b + off);
		if (note_revoke(j, block, seq))
			return fail(j, ENOMEM, "%s", "journal: revokes");
		j->st->revoked_records++;
	}
	return 0;
}

/* Write (or not) the logged copies of one descriptor's blocks. */
static int replay_descriptor(struct jr *j, uint32_t pos, uint32_t seq)
{
	unsigned int off = HDR_SIZE, k = 0;
	bool last = false;
	unsigned char seqbuf[4];
	struct tag t;
	uint32_t c;
	errcode_t err;

	put_be32(seqbuf, seq);
	while (next_tag(j, j->buf, &off, &last, &t)) {
		k++;
		if (revoked(j, t.block, seq)) {
			j->st->skipped_revoked++;
			continue;
		}
		err = jblock_io(j, wrap(j, pos, k), j->data, false);
		if (err)
			return fail(j, err, "%s", "journal: reading a block");
		if (j->csum) {
			c = crc(crc(j->seed, seqbuf, 4), j->data, j->bs);
			if (!(j->incompat & JBD2_INCOMPAT_CSUM_V3))
				c &= 0xffff;
			if (c != t.csum) {
				j->st->bad_csum_blocks++;
				continue;
			}
		}
		if (t.flags & JBD2_FLAG_ESCAPE)
			put_be32(j->data, JBD2_MAGIC);
		if (t.block >= ext2fs_blocks_count(j->fs->super))
			return fail(j, 0, "%s", "journal: a logged block lies "
				    "outside the filesystem");
		err = io_channel_write_blk64(j->fs->io, t.block, 1, j->data);
		if (err)
			return fail(j, err, "%s", "journal: replaying a block");
		j->st->replayed_blocks++;
	}
	return 0;
}

enum walk_pass { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

/*
 * One walk of the log from start/seq; the scan returns in *end_seq the
 * first transaction that is not complete, the others stop there.
 */
static int walk(struct jr *j, enum walk_pass pass, uint32_t start,
		uint32_t seq, uint32_t *end_seq)
{
	uint32_t pos = start, steps = 0, size = j->maxlen - j->first;
	errcode_t err;

	for (;;) {
		if (pass != PASS_SCAN && seq == *end_seq)
			return 0;
		if (steps++ > size)
			return fail(j, 0, "%s", "journal: the log loops");
		err = jblock_io(j, pos, j->buf, false);
		if (err)
			return fail(j, err, "%s", "journal: reading the log");
		if (be32(j->buf) != JBD2_MAGIC || be32(j->buf + 8) != seq)
			break;
		switch (be32(j->buf + 4)) {
		case JBD2_DESCRIPTOR:
			if (!tail_ok(j, j->buf))
				goto end;
			if (pass == PASS_REPLAY &&
			    replay_descriptor(j, pos, seq))
				return -1;
			pos = wrap(j, pos, 1 + count_tags(j, j->buf));
			continue;
		case JBD2_REVOKE:
			if (!tail_ok(j, j->buf))
				goto end;
			if (pass == PASS_REVOKE && read_revokes(j, j->buf, seq))
				return -1;
			pos = wrap(j, pos, 1);
			continue;
		case JBD2_COMMIT:
			if (!commit_ok(j, j->buf))
				goto end;
			if (pass == PASS_SCAN)
				j->st->transactions++;
			seq++;
			pos = wrap(j, pos, 1);
			continue;
		default:
			goto end;
		}
	}
end:
	if (pass == PASS_SCAN)
		*end_seq = seq;
	return 0;
}

static int load(struct jr *j, unsigned char *jsb)
{
	struct ext2_super_block *sb = j->fs->super;
	uint32_t type;
	errcode_t err;

	if (ext2fs_has_feature_journal_dev(sb) || !sb->s_journal_inum ||
	    !ext2fs_has_feature_journal(sb))
		return fail(j, 0, "%s", "the journal is on another device; "
			    "run e2fsck");
	j->ino = sb->s_journal_inum;
	err = ext2fs_read_inode(j->fs, j->ino, &j->inode);
	if (err)
		return fail(j, err, "%s", "journal inode");
	j->bs = j->fs->blocksize;
	j->buf = malloc(j->bs);
	j->data = malloc(j->bs);
	if (!j->buf || !j->data)
		return fail(j, ENOMEM, "%s", "journal");
	err = jblock_io(j, 0, j->buf, false);
	if (err)
		return fail(j, err, "%s", "journal superblock");
	memcpy(jsb, j->buf, JSB_SIZE);
	type = be32(jsb + 4);
	if (be32(jsb) != JBD2_MAGIC || (type != JBD2_SB_V1 && type != JBD2_SB_V2))
		return fail(j, 0, "%s", "the journal superblock is damaged; "
			    "run e2fsck");
	if (be32(jsb + JSB_BLOCKSIZE) != j->bs)
		return fail(j, 0, "%s", "journal block size differs");
	j->maxlen = be32(jsb + JSB_MAXLEN);
	j->first = be32(jsb + JSB_FIRST);
	if (!j->first || j->first >= j->maxlen ||
	    (uint64_t)j->maxlen * j->bs > EXT2_I_SIZE(&j->inode))
		return fail(j, 0, "%s", "journal geometry is damaged; "
			    "run e2fsck");
	if (type == JBD2_SB_V2) {
		j->incompat = be32(jsb + JSB_FEAT_INCOMPAT);
		if (j->incompat & ~JBD2_INCOMPAT_KNOWN ||
		    (be32(jsb + JSB_FEAT_COMPAT) & JBD2_COMPAT_CHECKSUM))
			return fail(j, 0, "%s", "the journal uses a feature "
				    "fuse2fs cannot replay (fast commit, "
				    "async commit or v1 checksums); run "
				    "e2fsck");
	}
	j->csum = j->incompat & (JBD2_INCOMPAT_CSUM_V2 |
				 JBD2_INCOMPAT_CSUM_V3);
	if (j->csum)
		j->seed = crc(~0U, jsb + JSB_UUID, 16);
	j->tag_bytes = j->incompat & JBD2_INCOMPAT_CSUM_V3 ? 16 :
		       8 + (j->incompat & JBD2_INCOMPAT_64BIT ? 4 : 0) +
		       (j->incompat & JBD2_INCOMPAT_CSUM_V2 ? 2 : 0);
	return 0;
}

/* The journal superblock's own checksum: crc32c(~0) with it zeroed. */
static bool jsb_csum_ok(const struct jr *j, unsigned char *jsb)
{
	unsigned char save[4];
	uint32_t c;

	if (!j->csum)
		return true;
	memcpy(save, jsb + JSB_CHECKSUM, 4);
	memset(jsb + JSB_CHECKSUM, 0, 4);
	c = crc(~0U, jsb, JSB_SIZE);
	memcpy(jsb + JSB_CHECKSUM, save, 4);
	return c == be32(save);
}

/* Mark the log empty: s_start 0, s_sequence the next transaction. */
static int reset_log(struct jr *j, unsigned char *jsb, uint32_t next_seq)
{
	errcode_t err;

	memset(j->buf, 0, j->bs);
	memcpy(j->buf, jsb, JSB_SIZE);
	put_be32(j->buf + JSB_SEQUENCE, next_seq);
	put_be32(j->buf + JSB_START, 0);
	if (j->csum) {
		memset(j->buf + JSB_CHECKSUM, 0, 4);
		put_be32(j->buf + JSB_CHECKSUM, crc(~0U, j->buf, JSB_SIZE));
	}
	err = jblock_io(j, 0, j->buf, true);
	if (!err)
		err = io_channel_flush(j->fs->io);
	return err ? fail(j, err, "%s", "journal: marking it empty") : 0;
}

/* A filesystem on a duplicate of fd: libext2fs closes what it is given. */
static errcode_t open_dup(int fd, ext2_filsys *fs)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP | EXT2_FLAG_RW;
	char name[16];
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	errcode_t err;

	if (dup < 0)
		return errno;
	snprintf(name, sizeof(name), "%d", dup);
	err = ext2fs_open2(name, NULL, flags, 0, 0, unixfd_io_manager, fs);
	if (err)
		*fs = NULL;
	return err;
}

int f2_journal_recover(int fd, struct f2_journal_stats *st, char *why,
		       size_t len)
{
	unsigned char jsb[JSB_SIZE];
	struct jr j = { .st = st, .why = why, .len = len };
	uint32_t start, seq, end_seq = 0;
	ext2_filsys fs = NULL;
	errcode_t err;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	err = open_dup(fd, &j.fs);
	if (err)
		return fail(&j, err, "%s", "opening for journal recovery");
	if (!ext2fs_has_feature_journal_needs_recovery(j.fs->super)) {
		ret = 0;
		goto out;
	}
	if (load(&j, jsb))
		goto out;
	if (!jsb_csum_ok(&j, jsb)) {
		fail(&j, 0, "%s", "the journal superblock checksum is wrong; "
		     "run e2fsck");
		goto out;
	}
	start = be32(jsb + JSB_START);
	seq = be32(jsb + JSB_SEQUENCE);
	if (start) {
		if (start < j.first || start >= j.maxlen) {
			fail(&j, 0, "%s", "the journal start is out of range; "
			     "run e2fsck");
			goto out;
		}
		if (walk(&j, PASS_SCAN, start, seq, &end_seq) ||
		    walk(&j, PASS_REVOKE, start, seq, &end_seq) ||
		    walk(&j, PASS_REPLAY, start, seq, &end_seq))
			goto out;
		err = io_channel_flush(j.fs->io);
		if (err) {
			fail(&j, err, "%s", "journal: writing the replay");
			goto out;
		}
	} else {
		end_seq = seq;
	}
	if (reset_log(&j, jsb, end_seq))
		goto out;
	/*
	 * The replay may have rewritten the superblock and descriptors:
	 * read them afresh, then clear the flag and recount the totals.
	 */
	ext2fs_free(j.fs);
	j.fs = NULL;
	err = open_dup(fd, &fs);
	if (!err)
		err = ext2fs_read_bitmaps(fs);
	if (!err)
		err = ext2fs_calculate_summary_stats(fs, 1);
	if (err) {
		fail(&j, err, "%s", "reopening after the journal replay");
		goto out;
	}
	ext2fs_clear_feature_journal_needs_recovery(fs->super);
	fs->flags &= ~EXT2_FLAG_SUPER_ONLY;
	ext2fs_mark_super_dirty(fs);
	err = ext2fs_close_free(&fs);
	if (err) {
		fail(&j, err, "%s", "writing the superblock after recovery");
		goto out;
	}
	st->replayed = true;
	ret = 0;
out:
	if (fs)
		ext2fs_free(fs);
	if (j.fs)
		ext2fs_free(j.fs);
	free(j.buf);
	free(j.data);
	free(j.revokes);
	return ret;
}

bool f2_journal_needs_recovery(int fd)
{
	struct ext2_super_block sb;

	if (pread(fd, &sb, sizeof(sb), SUPERBLOCK_OFFSET) != sizeof(sb))
		return false;
	return ext2fs_le16_to_cpu(sb.s_magic) == EXT2_SUPER_MAGIC &&
	       (ext2fs_le32_to_cpu(sb.s_feature_incompat) &
		EXT3_FEATURE_INCOMPAT_RECOVER);
}
