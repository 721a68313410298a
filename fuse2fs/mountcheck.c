// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: deciding whether an image may be mounted, and saying why not.
 *
 * A refusal says three things: what is wrong, what to do about it, and
 * what -o ro would change: whether a read-only mount works, and what it
 * then cannot show.  Whatever can be read is mounted read-only: damage
 * that only matters to a writer (bitmaps, group descriptor checksums,
 * features fuse2fs cannot write, a journal to replay, a filesystem
 * marked with errors, an image shorter than the filesystem) refuses a
 * read-write mount only, and a read-only mount of such an image says
 * once what it will not see.  Nothing here writes to the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <e2p/e2p.h>
#include <et/com_err.h>

#include "fuse2fs.h"
#include "mountcheck.h"

/* Read-write support: anything outside these masks refuses rw. */
#define F2_INCOMPAT_RW (EXT2_FEATURE_INCOMPAT_FILETYPE |		\
			EXT2_FEATURE_INCOMPAT_META_BG |			\
			EXT3_FEATURE_INCOMPAT_EXTENTS |			\
			EXT4_FEATURE_INCOMPAT_64BIT |			\
			EXT4_FEATURE_INCOMPAT_FLEX_BG |			\
			EXT4_FEATURE_INCOMPAT_CSUM_SEED |		\
			EXT4_FEATURE_INCOMPAT_LARGEDIR |		\
			EXT4_FEATURE_INCOMPAT_INLINE_DATA |		\
			EXT4_FEATURE_INCOMPAT_ENCRYPT |			\
			EXT3_FEATURE_INCOMPAT_RECOVER)
#define F2_RO_COMPAT_RW (EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |		\
			 EXT2_FEATURE_RO_COMPAT_LARGE_FILE |		\
			 EXT4_FEATURE_RO_COMPAT_HUGE_FILE |		\
			 EXT4_FEATURE_RO_COMPAT_GDT_CSUM |		\
			 EXT4_FEATURE_RO_COMPAT_DIR_NLINK |		\
			 EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |		\
			 EXT4_FEATURE_RO_COMPAT_METADATA_CSUM |		\
			 EXT4_FEATURE_RO_COMPAT_VERITY)

/* The smallest and largest block sizes, as powers of two. */
#define F2_MIN_BLOCK_LOG	10
#define F2_MAX_BLOCK_LOG	16

static void f2_say(const char *device, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void f2_say(const char *device, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuse2fs: %s: ", device);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "name1, name2" for the feature bits of one word (e2p's names). */
static void f2_feature_list(char *buf, size_t len, int word, uint32_t bits)
{
	size_t used = 0;
	uint32_t bit;

	buf[0] = '\0';
	for (bit = 1; bits && bit; bit <<= 1) {
		if (!(bits & bit))
			continue;
		bits &= ~bit;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", used ? ", " : "",
				 e2p_feature2string(word, bit));
	}
}

/* The primary superblock as it is on disk, for explaining a refusal. */
static int f2_raw_super(const char *device, struct ext2_super_block *sb)
{
	int fd = open(device, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, sb, sizeof(*sb), SUPERBLOCK_OFFSET);
	close(fd);
	return n == (ssize_t)sizeof(*sb) ? 0 : -1;
}

/* Which of libext2fs's geometry checks does this superblock fail? */
static void f2_geometry_fault(const struct ext2_super_block *sb, char *buf,
			      size_t len)
{
	uint64_t blocks = sb->s_blocks_count |
			  ((uint64_t)sb->s_blocks_count_hi << 32);
	unsigned int log = sb->s_log_block_size, bs, isize, per;
	uint64_t groups;

	if (log > F2_MAX_BLOCK_LOG - F2_MIN_BLOCK_LOG) {
		snprintf(buf, len, "its block size (2^%u bytes) is not one "
			 "of 1 KiB to 64 KiB", log + F2_MIN_BLOCK_LOG);
		return;
	}
	bs = 1024U << log;
	if (sb->s_log_cluster_size < log ||
	    (!(sb->s_feature_ro_compat & EXT4_FEATURE_RO_COMPAT_BIGALLOC) &&
	     sb->s_log_cluster_size != log)) {
		snprintf(buf, len, "its cluster size (log %u) does not fit "
			 "its block size (log %u)", sb->s_log_cluster_size,
			 log);
		return;
	}
	isize = sb->s_rev_level ? sb->s_inode_size : EXT2_GOOD_OLD_INODE_SIZE;
	if (isize < EXT2_GOOD_OLD_INODE_SIZE || isize > bs ||
	    (isize & (isize - 1))) {
		snprintf(buf, len, "its inode size (%u) is not a power of two "
			 "from 128 to the block size", isize);
		return;
	}
	per = sb->s_blocks_per_group;
	if (per < 8 || per > 8 * bs) {
		snprintf(buf, len, "it has %u blocks per group (8 to %u)",
			 per, 8 * bs);
		return;
	}
	if (!sb->s_inodes_per_group ||
	    (uint64_t)sb->s_inodes_per_group * isize > (uint64_t)8 * bs * bs) {
		snprintf(buf, len, "it has %u inodes per group",
			 sb->s_inodes_per_group);
		return;
	}
	if (sb->s_first_data_block >= blocks) {
		snprintf(buf, len, "its first data block (%u) is past its "
			 "%llu blocks", sb->s_first_data_block,
			 (unsigned long long)blocks);
		return;
	}
	groups = (blocks - sb->s_first_data_block + per - 1) / per;
	if (groups * sb->s_inodes_per_group != sb->s_inodes_count) {
		snprintf(buf, len, "its inode count (%u) is not its %llu "
			 "groups times %u inodes per group", sb->s_inodes_count,
			 (unsigned long long)groups, sb->s_inodes_per_group);
		return;
	}
	snprintf(buf, len, "its geometry fields do not agree");
}

/* The repair for a damaged primary superblock. */
static void f2_say_backup(const char *device)
{
	f2_say(device, "if it holds an ext2/3/4 filesystem, `e2fsck -b 32768 "
	       "-B 4096 %s` repairs the superblock from its first backup "
	       "(other block sizes: `mke2fs -n %s` lists where the backups "
	       "are)", device, device);
}

void f2_explain_open_error(const char *device, errcode_t err, bool ro)
{
	struct ext2_super_block sb;
	char what[512];
	bool have_sb = !f2_raw_super(device, &sb);

	switch (err) {
	case EXT2_ET_BAD_MAGIC:
		f2_say(device, "cannot mount: not an ext2/ext3/ext4 "
		       "filesystem: no superblock magic number (0xEF53) at "
		       "byte 1080");
		f2_say_backup(device);
		f2_say(device, "-o ro does not help: nothing says how the "
		       "filesystem is laid out");
		return;
	case EXT2_ET_CORRUPT_SUPERBLOCK:
		if (have_sb)
			f2_geometry_fault(&sb, what, sizeof(what));
		else
			snprintf(what, sizeof(what), "it cannot be read");
		f2_say(device, "cannot mount: the superblock is corrupt: %s",
		       what);
		f2_say_backup(device);
		f2_say(device, "-o ro does not help: the layout of the "
		       "filesystem is unknown");
		return;
	case EXT2_ET_BAD_DESC_SIZE:
		f2_say(device, "cannot mount: the superblock is corrupt: its "
		       "group descriptor size (%u bytes) is not a power of two "
		       "from 64 to 1024, as a 64bit filesystem needs",
		       have_sb ? sb.s_desc_size : 0);
		f2_say_backup(device);
		f2_say(device, "-o ro does not help: the group descriptors "
		       "cannot be found");
		return;
	case EXT2_ET_SB_CSUM_INVALID:
		/* A read-only mount retries without the check (main.c). */
		f2_say(device, "cannot mount read-write: the superblock's "
		       "checksum does not match its contents");
		f2_say(device, "run `e2fsck -fy %s`", device);
		f2_say(device, "-o ro mounts it: the superblock is used as "
		       "it is, every other checksum is still checked");
		return;
	case EXT2_ET_UNKNOWN_CSUM:
		f2_say(device, "cannot mount: the superblock names checksum "
		       "type %u, which libext2fs does not know",
		       have_sb ? sb.s_checksum_type : 0);
		f2_say(device, "a newer e2fsprogs (e2fsck) may know it");
		f2_say(device, "-o ro does not help: no metadata could be "
		       "checked");
		return;
	case EXT2_ET_REV_TOO_HIGH:
		f2_say(device, "cannot mount: filesystem revision %u is newer "
		       "than libext2fs supports", have_sb ? sb.s_rev_level : 0);
		f2_say(device, "a newer e2fsprogs may read it");
		f2_say(device, "-o ro does not help");
		return;
	case EXT2_ET_UNSUPP_FEATURE:
		if (have_sb && (sb.s_feature_incompat &
				EXT3_FEATURE_INCOMPAT_JOURNAL_DEV)) {
			f2_say(device, "cannot mount: this is an external "
			       "journal (feature journal_dev), not a "
			       "filesystem");
			f2_say(device, "mount the filesystem that uses it");
			return;
		}
		f2_feature_list(what, sizeof(what), E2P_FEATURE_INCOMPAT,
				have_sb ? sb.s_feature_incompat &
					  ~EXT2_LIB_FEATURE_INCOMPAT_SUPP : 0);
		f2_say(device, "cannot mount: unsupported incompatible "
		       "feature(s): %s", what);
		f2_say(device, "only software that knows them can read "
		       "this filesystem (a newer kernel or e2fsprogs)");
		f2_say(device, "-o ro does not help: incompatible features "
		       "change how anything is read");
		return;
	case EXT2_ET_RO_UNSUPP_FEATURE:
		/* Those libext2fs does not know, and those we cannot write. */
		f2_feature_list(what, sizeof(what), E2P_FEATURE_RO_INCOMPAT,
				have_sb ? sb.s_feature_ro_compat &
					  ~F2_RO_COMPAT_RW : 0);
		f2_say(device, "cannot mount read-write: unsupported "
		       "read-only-compatible feature(s): %s", what);
		f2_say(device, "only software that knows them may write it");
		f2_say(device, "-o ro mounts it: such features matter only to "
		       "writers");
		return;
	case EXT2_ET_SHORT_READ:
		f2_say(device, "cannot mount: the image ends before the "
		       "group descriptors%s", ro ? "" : " (truncated?)");
		f2_say(device, "restore the rest of the image, or run "
		       "`e2fsck -fn %s` to see what is left", device);
		f2_say(device, "-o ro does not help");
		return;
	default:
		f2_say(device, "cannot mount: %s%s", error_message(err),
		       err == EBUSY ? " (device in use)" : "");
		f2_say(device, "`e2fsck -fn %s` tells more", device);
		return;
	}
}

/* One reason against writing: what, the fix, and what -o ro changes. */
struct f2_nowrite {
	char what[384];
	char todo[256];
	char ro[256];
};

/*
 * Fill @w and say yes.  A NULL @todo is the usual fix, an e2fsck run on
 * the device; @what is a format for the rest of the arguments.
 */
static bool __attribute__((format(printf, 5, 6)))
f2_nowrite_set(const struct fuse2fs *f2, struct f2_nowrite *w,
	       const char *todo, const char *ro, const char *what, ...)
{
	va_list ap;

	va_start(ap, what);
	vsnprintf(w->what, sizeof(w->what), what, ap);
	va_end(ap);
	if (todo)
		snprintf(w->todo, sizeof(w->todo), "%s", todo);
	else
		snprintf(w->todo, sizeof(w->todo), "run `e2fsck -fy %s`",
			 f2->device);
	snprintf(w->ro, sizeof(w->ro), "%s", ro);
	return true;
}

/* The first reason this filesystem may not be written, or false. */
static bool f2_why_not_rw(struct fuse2fs *f2, struct f2_nowrite *w)
{
	struct ext2_super_block *sb = f2->fs->super;
	char names[256], todo[256];
	uint32_t bad;

	if (ext2fs_has_feature_journal_needs_recovery(sb)) {
		snprintf(todo, sizeof(todo), "run `e2fsck -fy %s`, or mount "
			 "it once with kernel ext4", f2->device);
		return f2_nowrite_set(f2, w, todo, "the journal is not "
				      "replayed, so the last changes it holds "
				      "are not visible", "the journal needs "
				      "recovery (feature needs_recovery)");
	}
	/* The kernel frees these at mount; fuse2fs leaves it to e2fsck. */
	if (sb->s_last_orphan)
		return f2_nowrite_set(f2, w, NULL, "those inodes stay "
				      "allocated; nothing else changes",
				      "inodes unlinked while open at a crash "
				      "are left (orphan list)");
	bad = sb->s_feature_incompat & ~F2_INCOMPAT_RW;
	if (bad) {
		f2_feature_list(names, sizeof(names), E2P_FEATURE_INCOMPAT,
				bad);
		return f2_nowrite_set(f2, w, "mount it read-write with kernel "
				      "ext4", "libext2fs reads these features; "
				      "nothing is written", "fuse2fs cannot "
				      "write incompatible feature(s): %s",
				      names);
	}
	bad = sb->s_feature_ro_compat & ~F2_RO_COMPAT_RW;
	if (bad) {
		f2_feature_list(names, sizeof(names), E2P_FEATURE_RO_INCOMPAT,
				bad);
		return f2_nowrite_set(f2, w, "mount it read-write with kernel "
				      "ext4", "such features matter only to "
				      "writers", "fuse2fs cannot write "
				      "read-only-compatible feature(s): %s",
				      names);
	}
	if (sb->s_state & EXT2_ERROR_FS)
		return f2_nowrite_set(f2, w, NULL, "what the errors damaged "
				      "may not be readable", "the filesystem "
				      "is marked with errors");
	if (!(sb->s_state & EXT2_VALID_FS))
		return f2_nowrite_set(f2, w, NULL, "what was being changed may "
				      "be inconsistent", "the filesystem was "
				      "not cleanly unmounted (or is in use)");
	return false;
}

/*
 * The group descriptors say where every bitmap and inode table is: a
 * damaged one would send writes anywhere on the device.  Reads stay on
 * the device, so a read-only mount is still possible.
 */
static bool f2_desc_damage(struct fuse2fs *f2, struct f2_nowrite *w)
{
	ext2_filsys fs = f2->fs;
	errcode_t err;
	dgrp_t g;

	if (ext2fs_has_group_desc_csum(fs)) {
		for (g = 0; g < fs->group_desc_count; g++) {
			if (ext2fs_group_desc_csum_verify(fs, g))
				continue;
			return f2_nowrite_set(f2, w, NULL, "files whose inodes "
					      "or blocks are in that group may "
					      "read as damaged", "group "
					      "descriptor %u has a bad "
					      "checksum", g);
		}
	}
	err = ext2fs_check_desc(fs);
	if (err)
		return f2_nowrite_set(f2, w, NULL, "files in the damaged "
				      "groups may read as damaged", "the group "
				      "descriptors are damaged: %s",
				      error_message(err));
	return false;
}

/* Is the image (or device) shorter than the filesystem? */
static bool f2_too_short(struct fuse2fs *f2, struct f2_nowrite *w)
{
	blk64_t have, want = ext2fs_blocks_count(f2->fs->super);

	if (ext2fs_get_device_size2(f2->device, f2->fs->blocksize, &have) ||
	    have >= want)
		return false;
	return f2_nowrite_set(f2, w, "restore the rest of the image (or "
			      "resize2fs it after e2fsck if it was shrunk on "
			      "purpose)", "whatever lies past the end gives "
			      "I/O errors", "the device holds %llu of the "
			      "filesystem's %llu blocks",
			      (unsigned long long)have,
			      (unsigned long long)want);
}

/* The first group whose block (or inode) bitmap fails its checksum. */
static long f2_bad_bitmap_group(ext2_filsys fs, bool inodes)
{
	unsigned int size = inodes ? EXT2_INODES_PER_GROUP(fs->super) / 8 :
				     EXT2_CLUSTERS_PER_GROUP(fs->super) / 8;
	long found = -1;
	char *buf;
	blk64_t blk;
	dgrp_t g;

	buf = malloc(fs->blocksize);
	if (!buf)
		return -1;
	for (g = 0; g < fs->group_desc_count && found < 0; g++) {
		if (ext2fs_bg_flags_test(fs, g, inodes ? EXT2_BG_INODE_UNINIT :
							 EXT2_BG_BLOCK_UNINIT))
			continue;
		blk = inodes ? ext2fs_inode_bitmap_loc(fs, g) :
			       ext2fs_block_bitmap_loc(fs, g);
		if (io_channel_read_blk64(fs->io, blk, 1, buf))
			continue;
		if (inodes ? !ext2fs_inode_bitmap_csum_verify(fs, g, buf, size) :
			     !ext2fs_block_bitmap_csum_verify(fs, g, buf, size))
			found = g;
	}
	free(buf);
	return found;
}

/* Read-write needs the bitmaps; explain a failure to read them. */
static bool f2_bitmaps_unreadable(struct fuse2fs *f2, struct f2_nowrite *w)
{
	errcode_t err = ext2fs_read_bitmaps(f2->fs);
	bool inodes = err == EXT2_ET_INODE_BITMAP_CSUM_INVALID;
	const char *ro = "the bitmaps are not read: only writers need them";
	long g;

	if (!err)
		return false;
	if (inodes || err == EXT2_ET_BLOCK_BITMAP_CSUM_INVALID) {
		g = f2_bad_bitmap_group(f2->fs, inodes);
		return f2_nowrite_set(f2, w, NULL, ro, "the %s bitmap of group "
				      "%ld fails its checksum",
				      inodes ? "inode" : "block", g);
	}
	return f2_nowrite_set(f2, w, NULL, ro, "reading the bitmaps: %s",
			      error_message(err));
}

static void f2_say_ro(struct fuse2fs *f2, const struct f2_nowrite *w)
{
	f2_say(f2->device, "mounting read-only although %s: %s", w->what,
	       w->ro);
}

int f2_mount_checks(struct fuse2fs *f2)
{
	struct f2_nowrite w;

	if (f2->ro) {
		/* Say once what a read-only mount will not see. */
		if (f2_desc_damage(f2, &w))
			f2_say_ro(f2, &w);
		if (f2_too_short(f2, &w))
			f2_say_ro(f2, &w);
		if (f2_why_not_rw(f2, &w))
			f2_say_ro(f2, &w);
		return 0;
	}
	if (!f2_desc_damage(f2, &w) && !f2_too_short(f2, &w) &&
	    !f2_why_not_rw(f2, &w) && !f2_bitmaps_unreadable(f2, &w))
		return 0;
	f2_say(f2->device, "cannot mount read-write: %s", w.what);
	f2_say(f2->device, "%s", w.todo);
	f2_say(f2->device, "-o ro mounts it read-only: %s", w.ro);
	return -1;
}
