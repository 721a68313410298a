// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bad input: damaged images, a journal flagged as needing recovery
 * (replayed at a read-write mount, untouched by a read-only one), features
 * fuse2fs cannot write, bad options, a missing device, a busy one, a
 * full filesystem, and -o iomap=on/auto on a kernel without FUSE iomap.
 * fuse2fs must refuse (or mount read-only) with a clear message, exit by
 * itself, never crash, never leave a mount behind and never write to an
 * image it refused; a full filesystem gives ENOSPC and stays fsck-clean.
 *
 * The damaged images (fixture "damaged") are made by debugfs -w and byte
 * edits of fresh mke2fs images.  Each refusal must say what is wrong,
 * what to do and what -o ro would change; what can be read is mounted
 * read-only, saying what that mount will not see.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define EXIT_WAIT_MS 15000

FIXTURE(bad) {
	struct tfs_env env;
	struct tfs_mount *m;
};

FIXTURE_SETUP(bad)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	self->m = &self->env.fuse;
}

FIXTURE_TEARDOWN_PARENT(bad)
{
	tfs_env_cleanup(&self->env);
}

/*
 * Run fuse2fs IMAGE MNT -f [-o opts], expecting it to refuse: it must
 * exit non-zero by itself, leave nothing mounted and say something that
 * contains each of the words (case-insensitive).
 */
static void expect_refusal(struct __test_metadata *_metadata,
			   struct tfs_mount *m, const char *image,
			   const char *opts, const char *const words[])
{
	const char *args[8];
	char *log;
	int n = 0, r;

	args[n++] = image;
	args[n++] = m->dir;
	args[n++] = "-f";
	if (opts) {
		args[n++] = "-o";
		args[n++] = opts;
	}
	args[n] = NULL;
	r = tfs_start_fuse(m, args);
	ASSERT_NE(-1, r);
	/* The mount may have appeared for a moment (iomap=on); wait. */
	r = tfs_wait_server(m, EXIT_WAIT_MS);
	EXPECT_NE(-1, r) TH_LOG("fuse2fs did not exit");
	EXPECT_NE(0, r) TH_LOG("fuse2fs exited with 0");
	EXPECT_LT(r, 128) TH_LOG("fuse2fs died from signal %d", r - 128);
	EXPECT_FALSE(m->left_mounted) TH_LOG("a mount was left behind");
	log = tfs_log_read(m);
	ASSERT_NE(NULL, log);
	tfs_log_text("fuse2fs said", log);
	for (; words && *words; words++) {
		EXPECT_NE(NULL, strcasestr(log, *words))
			TH_LOG("no \"%s\" in the message", *words);
	}
	free(log);
	/* Start the next run's log afresh. */
	unlink(m->log);
}

static uint64_t image_hash(struct __test_metadata *_metadata,
			   const char *image)
{
	uint64_t h = 0;

	EXPECT_EQ(0, tfs_file_hash(image, &h));
	return h;
}

/*
 * image is refused read-write (naming words), but mounts read-only,
 * saying ro_words (may be NULL); neither attempt changes a byte of it.
 */
static void expect_read_only_mount(struct __test_metadata *_metadata,
				   struct tfs_mount *m, const char *image,
				   const char *const words[],
				   const char *const ro_words[])
{
	uint64_t before = image_hash(_metadata, image);
	char *log;

	expect_refusal(_metadata, m, image, NULL, words);
	EXPECT_EQ(before, image_hash(_metadata, image));
	ASSERT_EQ(0, tfs_mount_fuse(m, image, "ro"));
	EXPECT_EQ(0, access(tfs_p(m, "lost+found"), F_OK));
	log = tfs_log_read(m);
	ASSERT_NE(NULL, log);
	for (; ro_words && *ro_words; ro_words++)
		EXPECT_NE(NULL, strcasestr(log, *ro_words))
			TH_LOG("no \"%s\" in the read-only mount's message",
			       *ro_words);
	free(log);
	ASSERT_EQ(0, tfs_umount(m));
	EXPECT_EQ(before, image_hash(_metadata, image));
	unlink(m->log);
}

TEST_F(bad, bad_options)
{
	static const char *const iomap_words[] = { "iomap", "bogus", NULL };
	static const char *const none[] = { NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	expect_refusal(_metadata, self->m, self->env.image, "iomap=bogus",
		       iomap_words);
	expect_refusal(_metadata, self->m, self->env.image,
		       "no_such_option_here", none);
	/* No mountpoint at all. */
	{
		const char *args[] = { self->env.image, NULL };

		ASSERT_NE(-1, tfs_start_fuse(self->m, args));
		EXPECT_GT(tfs_wait_server(self->m, EXIT_WAIT_MS), 0);
		EXPECT_FALSE(self->m->left_mounted);
	}
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

TEST_F(bad, missing_device)
{
	static const char *const words[] = { "nothere.img", "no such file",
					     NULL };
	static const char *const dir_words[] = { "directory", NULL };

	expect_refusal(_metadata, self->m, tfs_ep(&self->env, "nothere.img"),
		       NULL, words);
	expect_refusal(_metadata, self->m, self->env.dir, NULL, dir_words);
	/* An empty file is no filesystem either. */
	ASSERT_EQ(0, tfs_write_file(self->env.image, "", 0));
	expect_refusal(_metadata, self->m, self->env.image, NULL, NULL);
}

TEST_F(bad, damaged_inode_checksum)
{
	char *out = NULL, *p;
	long long itable, ino;
	uint64_t before;
	struct stat st;
	char c;
	int fd, r;

	ASSERT_EQ(0, mkdir(tfs_ep(&self->env, "src"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/victim"), "v", 1));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/other"), "o", 1));
	{
		struct tfs_mkfs_opts o = { .populate = tfs_ep(&self->env, "src") };

		ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	}
	ino = tfs_inode_field(self->env.image, "/victim", "Inode");
	ASSERT_GT(ino, 11);
	ASSERT_LT(ino, 100);	/* in group 0's inode table */
	r = tfs_sh(30000, &out, "dumpe2fs %s 2>/dev/null | grep -m1 'Inode table at'",
		   self->env.image);
	ASSERT_EQ(0, r);
	p = strstr(out, "at ");
	ASSERT_NE(NULL, p);
	itable = atoll(p + 3);
	free(out);
	ASSERT_GT(itable, 0);
	/* Flip a bit of the victim's mtime: only its checksum is wrong. */
	fd = open(self->env.image, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, pread(fd, &c, 1, itable * 4096 + (ino - 1) * 256 + 0x10));
	c ^= 1;
	ASSERT_EQ(1, pwrite(fd, &c, 1, itable * 4096 + (ino - 1) * 256 + 0x10));
	close(fd);
	before = image_hash(_metadata, self->env.image);

	r = tfs_mount_fuse(self->m, self->env.image, "ro");
	if (r == 0) {
		errno = 0;
		EXPECT_EQ(-1, stat(tfs_p(self->m, "victim"), &st));
		EXPECT_NE(0, errno);
		EXPECT_NE(ENOENT, errno);
		/* The rest of the filesystem still works. */
		EXPECT_EQ(0, stat(tfs_p(self->m, "other"), &st));
		ASSERT_EQ(0, tfs_umount(self->m));
	}
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));
	/* e2fsck sees the one damaged inode, nothing else changed. */
	EXPECT_EQ(4, tfs_fsck(self->env.image));
}

/*
 * needs_recovery with an empty log: a read-only mount warns and writes
 * nothing; a read-write mount replays (nothing here), clears the flag
 * and leaves a clean image.  A log with transactions in it is
 * tests/fs/test_journal.c's.
 */
TEST_F(bad, journal_needs_recovery)
{
	char *out = NULL, features[512];
	uint64_t before;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_runl(30000, &out, "debugfs", "-w", "-R",
			      "feature needs_recovery", self->env.image, NULL))
		TH_LOG("%s", out);
	free(out);
	before = image_hash(_metadata, self->env.image);
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "ro"));
	EXPECT_EQ(1, tfs_log_count(self->m, "the journal needs recovery"));
	ASSERT_EQ(0, tfs_umount(self->m));
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));

	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	EXPECT_EQ(1, tfs_log_count(self->m,
				   "recovered the journal: 0 transactions"));
	EXPECT_EQ(0, access(tfs_p(self->m, "lost+found"), F_OK));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Filesystem features",
				   features, sizeof(features)));
	EXPECT_EQ(NULL, strstr(features, "needs_recovery"));
}

TEST_F(bad, unsupported_feature_read_only)
{
	static const struct tfs_mkfs_opts bigalloc = {
		.features = "bigalloc", .cluster_size = 16384,
	};
	static const char *const words[] = { "bigalloc", NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, &bigalloc));
	expect_read_only_mount(_metadata, self->m, self->env.image, words,
			       words);
}

TEST_F(bad, busy_image)
{
	static const char *const words[] = { "busy", NULL };
	struct tfs_mount second = { 0 };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	/* Mounted by the kernel: fuse2fs must keep its hands off. */
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      NULL));
	expect_refusal(_metadata, self->m, self->env.image, NULL, words);
	ASSERT_EQ(0, tfs_umount(&self->env.kern));
	ASSERT_EQ(0, tfs_fsck(self->env.image));

	/* Served by another fuse2fs. */
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	snprintf(second.dir, sizeof(second.dir), "%s", self->env.kern.dir);
	snprintf(second.log, sizeof(second.log), "%s",
		 tfs_ep(&self->env, "second.log"));
	second.exit_status = -1;
	expect_refusal(_metadata, &second, self->env.image, NULL, words);
	EXPECT_EQ(0, mkdir(tfs_p(self->m, "still-works"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(bad, full_filesystem)
{
	static const struct tfs_mkfs_opts tiny = {
		.size_mb = 16, .inodes = 64, .features = "^has_journal",
	};
	char name[32], buf[65536] = { 1 };
	int fd, i, err = 0;
	ssize_t w;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, &tiny));
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));

	/* Data: write until the blocks run out. */
	fd = open(tfs_p(self->m, "filler"), O_CREAT | O_WRONLY, 0644);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 1000; i++) {
		w = write(fd, buf, sizeof(buf));
		if (w < 0) {
			err = errno;
			break;
		}
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	close(fd);
	EXPECT_EQ(ENOSPC, err);
	/* Freeing space makes room again (shrinking must work when full). */
	EXPECT_EQ(0, truncate(tfs_p(self->m, "filler"), 1 << 20))
		TH_LOG("truncate on a full fs: %s", strerror(errno));
	if (access(tfs_p(self->m, "filler"), F_OK) == 0)
		TFS_ASSERT_OK(unlink(tfs_p(self->m, "filler")));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "after"), 0, 100000, 1,
				       O_CREAT));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "after"), 0, 100000, 1));

	/* Inodes: create until they run out. */
	err = 0;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "i%d", i);
		fd = open(tfs_p(self->m, name), O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
	}
	EXPECT_EQ(ENOSPC, err);
	EXPECT_LT(i, 64);
	err = 0;
	if (mkdir(tfs_p(self->m, "onemore"), 0755) < 0)
		err = errno;
	EXPECT_EQ(ENOSPC, err);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(bad, iomap_on_without_kernel_support)
{
	static const char *const words[] = { "iomap", NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	expect_refusal(_metadata, self->m, self->env.image, "iomap=on", words);
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

/*
 * iomap=auto on a kernel without FUSE iomap: the mount works, every file
 * classic, and fuse2fs says nothing, as a kernel filesystem's mount says
 * nothing: fallback is the normal outcome there, and scripts and test
 * suites compare a mount's output.  Each file's user.fuse2fs.iomap_mode
 * attribute tells why it is classic.
 */
TEST_F(bad, iomap_auto_falls_back_quietly)
{
	char name[32], mode[64];
	ssize_t len;
	char *log;
	int i;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "iomap=auto"));
	/* Files of every kind of IO path still work, classic. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, name), 0,
					       i * 100000, i, O_CREAT));
		EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, name), 0,
					       i * 100000, i));
		len = getxattr(tfs_p(self->m, name), "user.fuse2fs.iomap_mode",
			       mode, sizeof(mode) - 1);
		ASSERT_LT(0, len);
		mode[len] = '\0';
		EXPECT_STREQ("classic (no kernel iomap)", mode);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	log = tfs_log_read(self->m);
	ASSERT_NE(NULL, log);
	tfs_log_text("fuse2fs said", log);
	EXPECT_STREQ("", log);
	free(log);
}

/*
 * Damaged images, one per variant: the damage, the words the read-write
 * refusal must contain, whether -o ro mounts it, and the words of the
 * read-only mount's warning (or of its refusal).
 */
FIXTURE(damaged) {
	struct tfs_env env;
	struct tfs_mount *m;
};

FIXTURE_VARIANT(damaged) {
	uint64_t size_mb;	/* 0: 64 MiB, one block group */
	const char *debugfs;	/* debugfs -w -f commands */
	long long poke_off;	/* byte edit: poke_len bytes of poke */
	const char *poke;
	size_t poke_len;
	uint64_t cut_mb;	/* truncate the image to this size */
	bool ro_mounts;
	const char *words[6];
	const char *ro_words[4];
};

/* s_magic is at byte 56 of the superblock, which starts at 1024. */
FIXTURE_VARIANT_ADD(damaged, bad_magic) {
	.poke_off = 1024 + 56, .poke = "\0\0", .poke_len = 2,
	.words = { "not an ext2/ext3/ext4 filesystem", "e2fsck -b",
		   "-o ro does not help" },
	.ro_words = { "not an ext2/ext3/ext4 filesystem",
		      "-o ro does not help" },
};

FIXTURE_VARIANT_ADD(damaged, superblock_geometry) {
	.debugfs = "ssv log_block_size 7",
	.words = { "superblock is corrupt", "block size", "e2fsck -b",
		   "-o ro does not help" },
	.ro_words = { "superblock is corrupt", "-o ro does not help" },
};

FIXTURE_VARIANT_ADD(damaged, descriptor_size) {
	.debugfs = "ssv desc_size 48",
	.words = { "group descriptor size (48 bytes)", "e2fsck -b",
		   "-o ro does not help" },
	.ro_words = { "group descriptor size", "-o ro does not help" },
};

/* A byte of the volume name, with the checksum left as it was. */
FIXTURE_VARIANT_ADD(damaged, superblock_checksum) {
	.poke_off = 1024 + 0x78, .poke = "X", .poke_len = 1,
	.ro_mounts = true,
	.words = { "superblock's checksum does not match", "e2fsck -fy",
		   "-o ro mounts it" },
	.ro_words = { "read-only although the superblock's checksum" },
};

/* Four groups; the second one's flags changed behind its checksum. */
FIXTURE_VARIANT_ADD(damaged, group_descriptor_checksum) {
	.size_mb = 256, .debugfs = "set_bg 1 flags 0", .ro_mounts = true,
	.words = { "group descriptor 1 has a bad checksum", "e2fsck -fy",
		   "-o ro mounts it" },
	.ro_words = { "read-only although group descriptor 1" },
};

/* Group 0's block bitmap moved by a flipped bit: anywhere on the disk. */
FIXTURE_VARIANT_ADD(damaged, group_descriptor_location) {
	.poke_off = 4096, .poke = "\x49", .poke_len = 1, .ro_mounts = true,
	.words = { "group descriptor 0", "e2fsck -fy", "-o ro mounts it" },
	.ro_words = { "read-only although group descriptor 0" },
};

FIXTURE_VARIANT_ADD(damaged, block_bitmap_checksum) {
	.debugfs = "set_bg 0 block_bitmap_csum 0\nset_bg 0 checksum calc",
	.ro_mounts = true,
	.words = { "block bitmap of group 0 fails its checksum",
		   "e2fsck -fy", "-o ro mounts it", "bitmaps are not read" },
};

FIXTURE_VARIANT_ADD(damaged, unknown_incompat_features) {
	.debugfs = "feature dirdata FEATURE_I31",
	.words = { "unsupported incompatible feature(s): dirdata, "
		   "FEATURE_I31", "-o ro does not help" },
	.ro_words = { "dirdata, FEATURE_I31", "-o ro does not help" },
};

FIXTURE_VARIANT_ADD(damaged, unwritable_incompat_features) {
	.debugfs = "feature mmp casefold", .ro_mounts = true,
	.words = { "cannot write incompatible feature(s): mmp, casefold",
		   "kernel ext4", "-o ro mounts it" },
	.ro_words = { "read-only although", "mmp, casefold" },
};

FIXTURE_VARIANT_ADD(damaged, unknown_ro_compat_features) {
	.debugfs = "feature FEATURE_R31 quota", .ro_mounts = true,
	.words = { "read-only-compatible feature(s): quota, FEATURE_R31",
		   "-o ro mounts it", "only to writers" },
	.ro_words = { "read-only although", "quota, FEATURE_R31" },
};

FIXTURE_VARIANT_ADD(damaged, marked_with_errors) {
	.debugfs = "ssv state 3", .ro_mounts = true,
	.words = { "marked with errors", "e2fsck -fy", "-o ro mounts it" },
	.ro_words = { "read-only although the filesystem is marked with "
		      "errors" },
};

FIXTURE_VARIANT_ADD(damaged, image_cut_short) {
	.cut_mb = 32, .ro_mounts = true,
	.words = { "holds 8192 of the filesystem's 16384 blocks",
		   "restore the rest", "-o ro mounts it" },
	.ro_words = { "read-only although the device holds 8192" },
};

FIXTURE_SETUP(damaged)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	self->m = &self->env.fuse;
}

FIXTURE_TEARDOWN_PARENT(damaged)
{
	tfs_env_cleanup(&self->env);
}

TEST_F(damaged, refused_or_read_only)
{
	struct tfs_mkfs_opts o = { .size_mb = variant->size_mb };
	const char *img = self->env.image;
	char *out = NULL;
	uint64_t before;
	int fd;

	ASSERT_EQ(0, tfs_mkfs(img, &o));
	if (variant->debugfs) {
		const char *cmds = tfs_ep(&self->env, "damage.cmd");

		ASSERT_EQ(0, tfs_write_file(cmds, variant->debugfs,
					    strlen(variant->debugfs)));
		ASSERT_EQ(0, tfs_runl(30000, &out, "debugfs", "-w", "-f",
				      cmds, img, NULL));
		tfs_log_text("debugfs", out);
		free(out);
	}
	if (variant->poke_len) {
		fd = open(img, O_WRONLY);
		ASSERT_GE(fd, 0);
		ASSERT_EQ((ssize_t)variant->poke_len,
			  pwrite(fd, variant->poke, variant->poke_len,
				 variant->poke_off));
		close(fd);
	}
	if (variant->cut_mb)
		ASSERT_EQ(0, truncate(img, (off_t)(variant->cut_mb << 20)));

	if (variant->ro_mounts) {
		expect_read_only_mount(_metadata, self->m, img,
				       variant->words, variant->ro_words);
		return;
	}
	before = image_hash(_metadata, img);
	expect_refusal(_metadata, self->m, img, NULL, variant->words);
	expect_refusal(_metadata, self->m, img, "ro", variant->ro_words);
	EXPECT_EQ(before, image_hash(_metadata, img));
}

TEST_HARNESS_MAIN
