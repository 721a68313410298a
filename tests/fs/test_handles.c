// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File handles: name_to_handle_at(2) and open_by_handle_at(2), what an
 * NFS server and backup or indexing tools use.  A handle must still open
 * its file after the kernel has forgotten the inode (FUSE then asks the
 * server for "." in the handle's node, and for ".." to reconnect a
 * directory), must stop working once the file is gone, and a forged one
 * must never open what no path reaches: the journal and the other
 * reserved inodes.  The common part runs on fuse2fs and on kernel ext4.
 */
#include <fcntl.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "fsext.h"

FSEXT_FIXTURE(fh, NULL);
/* fuse2fs alone: forged handles need its handle layout. */
TFS_FIXTURE_FUSE(fh_fuse, NULL, NULL);
/* An orphan file: a special inode with an ordinary number. */
static const struct tfs_mkfs_opts orphan_file_opts = {
	.features = "orphan_file",
};
TFS_FIXTURE_FUSE(fh_orphan, &orphan_file_opts, NULL);

#define HANDLE_BYTES_MAX 128

struct handle {
	struct file_handle fh;
	unsigned char bytes[HANDLE_BYTES_MAX];
};

static int get_handle(const char *path, struct handle *h)
{
	int mount_id;

	h->fh.handle_bytes = HANDLE_BYTES_MAX;
	return name_to_handle_at(AT_FDCWD, path, &h->fh, &mount_id, 0);
}

/* Make the kernel forget every unused dentry and inode. */
static int forget_inodes(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ret;

	sync();
	if (fd < 0)
		return -1;
	ret = write(fd, "2", 1) == 1 ? 0 : -1;
	close(fd);
	return ret;
}

static int open_handle(const struct tfs_mount *m, struct handle *h, int flags)
{
	int mfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd, e;

	if (mfd < 0)
		return -1;
	fd = open_by_handle_at(mfd, &h->fh, flags | O_CLOEXEC);
	e = errno;
	close(mfd);
	errno = e;
	return fd;
}

TEST_F(fh, handles_outlive_the_inode_cache)
{
	struct handle file, other_name, dir, deep;
	struct stat want, st;
	char buf[8] = "", *data;
	int fd;

	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d"), 0755));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d/e"), 0755));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d/e/g"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "d/e/g/f"), "content", 7));
	ASSERT_EQ(0, link(tfs_p(self->m, "d/e/g/f"), tfs_p(self->m, "l")));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "d/e/g/f"), &file));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "l"), &other_name));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "d/e"), &dir));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "d/e/g"), &deep));
	ASSERT_EQ(0, stat(tfs_p(self->m, "d/e/g/f"), &want));
	ASSERT_EQ(0, forget_inodes());

	fd = open_handle(self->m, &file, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("open_by_handle_at: %s", strerror(errno));
	EXPECT_EQ(7, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "content", 7));
	EXPECT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(want.st_ino, st.st_ino);
	close(fd);
	/* Both names of one inode give one handle's worth of file. */
	fd = open_handle(self->m, &other_name, O_RDWR);
	ASSERT_LE(0, fd) TH_LOG("open_by_handle_at: %s", strerror(errno));
	EXPECT_EQ(4, pwrite(fd, "CONT", 4, 0));
	close(fd);
	data = tfs_read_file(tfs_p(self->m, "d/e/g/f"), NULL);
	EXPECT_STREQ("CONTent", data ? data : "(none)");
	free(data);

	/* Directories are reconnected to the tree through "..". */
	ASSERT_EQ(0, forget_inodes());
	fd = open_handle(self->m, &deep, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd) TH_LOG("open_by_handle_at: %s", strerror(errno));
	EXPECT_EQ(0, faccessat(fd, "f", R_OK, 0));
	close(fd);
	fd = open_handle(self->m, &dir, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd) TH_LOG("open_by_handle_at: %s", strerror(errno));
	EXPECT_EQ(0, faccessat(fd, "g/f", R_OK, 0));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fh, handle_of_a_removed_file_is_stale)
{
	struct handle gone, dir;
	struct stat st;
	ino_t gone_ino;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "gone"), "x", 1));
	ASSERT_EQ(0, stat(tfs_p(self->m, "gone"), &st));
	gone_ino = st.st_ino;
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "dir"), 0755));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "gone"), &gone));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "dir"), &dir));
	ASSERT_EQ(0, unlink(tfs_p(self->m, "gone")));
	ASSERT_EQ(0, rmdir(tfs_p(self->m, "dir")));
	ASSERT_EQ(0, forget_inodes());
	TFS_EXPECT_ERRNO(ESTALE, open_handle(self->m, &gone, O_RDONLY));
	TFS_EXPECT_ERRNO(ESTALE, open_handle(self->m, &dir, O_RDONLY));
	/* The same inode number, reused: the generation tells them apart. */
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "new"), "y", 1));
	ASSERT_EQ(0, stat(tfs_p(self->m, "new"), &st));
	EXPECT_EQ(gone_ino, st.st_ino) TH_LOG("inode number not reused");
	ASSERT_EQ(0, forget_inodes());
	TFS_EXPECT_ERRNO(ESTALE, open_handle(self->m, &gone, O_RDONLY));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * FUSE's handle: node id (high word, low word) and generation, 32 bits
 * each; fuse2fs's node id is the inode number (the root's is 1).
 */
static void set_fuse_handle(struct handle *h, uint64_t nodeid, uint32_t gen)
{
	uint32_t words[3] = { (uint32_t)(nodeid >> 32), (uint32_t)nodeid, gen };

	memcpy(h->fh.f_handle, words, sizeof(words));
}

TEST_F(fh_fuse, forged_handles_open_nothing_hidden)
{
	static const uint64_t hidden[] = {
		0, 3, 4, 5, 6, 7, 8, 9, 10,	/* reserved inodes */
		2,				/* the root's other id */
		65536 + 1,			/* past the last inode */
		(1ULL << 32) + 12,		/* wraps to an inode number */
		UINT64_MAX,
	};
	struct handle h;
	struct stat st;
	uint32_t words[3];
	size_t i;
	int fd, e;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "f"), "x", 1));
	ASSERT_EQ(0, stat(tfs_p(self->m, "f"), &st));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "f"), &h));
	/* The layout assumed below, checked on a real handle. */
	ASSERT_EQ(sizeof(words), h.fh.handle_bytes);
	memcpy(words, h.fh.f_handle, sizeof(words));
	ASSERT_EQ(0, words[0]);
	ASSERT_EQ(st.st_ino, words[1]);

	for (i = 0; i < ARRAY_SIZE(hidden); i++) {
		/* Reserved inodes have generation 0: a guess that fits. */
		set_fuse_handle(&h, hidden[i], 0);
		ASSERT_EQ(0, forget_inodes());
		fd = open_handle(self->m, &h, O_RDONLY);
		e = errno;
		EXPECT_EQ(-1, fd) TH_LOG("node %llu opened",
					 (unsigned long long)hidden[i]);
		EXPECT_EQ(ESTALE, e) TH_LOG("node %llu: %s",
					    (unsigned long long)hidden[i],
					    strerror(e));
		if (fd >= 0)
			close(fd);
	}
	/* The right inode with the wrong generation. */
	set_fuse_handle(&h, st.st_ino, words[2] + 1);
	ASSERT_EQ(0, forget_inodes());
	TFS_EXPECT_ERRNO(ESTALE, open_handle(self->m, &h, O_RDONLY));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* The orphan file's inode has an ordinary number; no handle opens it. */
TEST_F(fh_orphan, forged_handle_to_the_orphan_file_is_stale)
{
	char num[32] = "";
	struct handle h;

	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Orphan file inode", num,
				   sizeof(num)));
	ASSERT_LT(0, atoi(num));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "f"), "x", 1));
	TFS_ASSERT_OK(get_handle(tfs_p(self->m, "f"), &h));
	set_fuse_handle(&h, (uint64_t)atoi(num), 0);
	ASSERT_EQ(0, forget_inodes());
	TFS_EXPECT_ERRNO(ESTALE, open_handle(self->m, &h, O_RDONLY));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
