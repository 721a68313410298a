// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * O_TMPFILE (FUSE_TMPFILE, which libfuse 3.14 does not know; the library
 * hands it to fuse2fs's create()): a file with no name and no link that
 * can be written, read, and named with linkat(); unless O_EXCL forbids
 * it; deleted with its blocks once the last descriptor closes without a
 * link; owned by the caller, with the directory's setgid group; refused
 * in an immutable directory.  Each test runs on fuse2fs and on kernel
 * ext4 and ends with `e2fsck -fn`.
 */
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "fsext.h"
#include "free_counts.h"

FSEXT_FIXTURE(tmp, NULL);

#define DATA_SIZE	(300 * 1024)

/* Name the open O_TMPFILE fd at path, as root may (no /proc needed). */
static int link_fd(int fd, const char *path)
{
	return linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH);
}

/* The file at path holds exactly DATA_SIZE bytes of the pattern seed? */
static bool holds(const char *path, unsigned int seed)
{
	struct stat st;

	return !stat(path, &st) && st.st_size == DATA_SIZE &&
	       !tfs_check_pattern(path, 0, DATA_SIZE, seed);
}

/* Entries of dir other than ".", ".." and lost+found. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "lost+found"))
			n++;
	closedir(d);
	return n;
}

TEST_F(tmp, written_then_linked_keeps_its_data)
{
	static unsigned char buf[DATA_SIZE], back[DATA_SIZE];
	const char *dir = self->m->dir;
	struct stat st;
	int fd;

	tfs_pattern(buf, sizeof(buf), 0, 1);
	fd = open(dir, O_TMPFILE | O_RDWR, 0640);
	ASSERT_LE(0, fd) TH_LOG("O_TMPFILE: %s", strerror(errno));
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	EXPECT_EQ(DATA_SIZE, st.st_size);
	EXPECT_EQ(S_IFREG | 0640, st.st_mode);
	/* nameless: the directory shows nothing */
	EXPECT_EQ(0, count_entries(dir));
	ASSERT_EQ((ssize_t)sizeof(back), pread(fd, back, sizeof(back), 0));
	EXPECT_EQ(0, memcmp(buf, back, sizeof(buf)));

	ASSERT_EQ(0, link_fd(fd, tfs_p(self->m, "named")));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(1, st.st_nlink);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(1, count_entries(dir));
	EXPECT_TRUE(holds(tfs_p(self->m, "named"), 1));

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_TRUE(holds(tfs_p(self->m, "named"), 1));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * Closed without a link, the file goes with its blocks (fuse2fs deletes
 * it when the kernel's FORGET comes, in the background: poll).
 */
TEST_F(tmp, closed_without_a_link_gives_everything_back)
{
	static unsigned char buf[DATA_SIZE];
	const char *dir = self->m->dir;
	struct statvfs before, during, after;
	int fd;

	ASSERT_EQ(0, statvfs(dir, &before));
	tfs_pattern(buf, sizeof(buf), 0, 2);
	fd = open(dir, O_TMPFILE | O_WRONLY, 0600);
	ASSERT_LE(0, fd) TH_LOG("O_TMPFILE: %s", strerror(errno));
	ASSERT_EQ((ssize_t)sizeof(buf), write(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, statvfs(dir, &during));
	EXPECT_GT(before.f_bfree, during.f_bfree);
	EXPECT_EQ(before.f_ffree - 1, during.f_ffree);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, tfs_wait_free_counts(dir, &before, &after));
	EXPECT_EQ(before.f_bfree, after.f_bfree);
	EXPECT_EQ(before.f_ffree, after.f_ffree);
	EXPECT_EQ(0, count_entries(dir));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Still open at unmount time: the unmount frees it, e2fsck agrees. */
TEST_F(tmp, open_at_unmount_is_not_leaked)
{
	static unsigned char buf[DATA_SIZE];
	pid_t pid;
	int status, pipefd[2];
	char c;

	tfs_pattern(buf, sizeof(buf), 0, 3);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open(self->m->dir, O_TMPFILE | O_WRONLY, 0600);

		close(pipefd[0]);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
			_exit(1);
		/* tell the parent, then die with the file still open */
		_exit(write(pipefd[1], "x", 1) == 1 ? 0 : 1);
	}
	close(pipefd[1]);
	EXPECT_EQ(1, read(pipefd[0], &c, 1));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(tmp, o_excl_forbids_a_link)
{
	int fd = open(self->m->dir, O_TMPFILE | O_EXCL | O_RDWR, 0600);

	ASSERT_LE(0, fd) TH_LOG("O_TMPFILE: %s", strerror(errno));
	EXPECT_EQ(5, write(fd, "hello", 5));
	EXPECT_EQ(-1, link_fd(fd, tfs_p(self->m, "never")));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, count_entries(self->m->dir));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* As the user, in a setgid directory the user may write to. */
static int make_as_user(void *arg)
{
	struct stat st;
	int fd;

	fd = open(arg, O_TMPFILE | O_WRONLY, 0666);
	if (fd < 0) {
		fprintf(stderr, "# O_TMPFILE as the user: %s\n",
			strerror(errno));
		return 1;
	}
	if (fstat(fd, &st))
		return 2;
	/* umask 0 (the fixture's) */
	if (st.st_uid != FSEXT_UID || st.st_gid != 4242 ||
	    (st.st_mode & 07777) != 0666) {
		fprintf(stderr, "# owner %u:%u mode %o\n", st.st_uid,
			st.st_gid, st.st_mode & 07777);
		return 3;
	}
	return close(fd) ? 4 : 0;
}

TEST_F(tmp, owned_by_the_caller_with_the_setgid_group)
{
	const char *sub = tfs_p(self->m, "shared");

	ASSERT_EQ(0, mkdir(sub, 0777));
	ASSERT_EQ(0, chown(sub, 0, 4242));
	ASSERT_EQ(0, chmod(sub, 02777));
	EXPECT_EQ(0, fsext_as_user(make_as_user, (void *)sub));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static int set_flags(const char *path, unsigned int flags)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	close(fd);
	return ret;
}

/* Not in an immutable directory (fuse2fs checks that), not in a file. */
TEST_F(tmp, refused_where_nothing_may_be_made)
{
	const char *sub = tfs_p(self->m, "frozen");
	int fd;

	ASSERT_EQ(0, fsext_create(tfs_p(self->m, "file"), 0644));
	errno = 0;
	EXPECT_EQ(-1, open(tfs_p(self->m, "file"), O_TMPFILE | O_RDWR, 0600));
	EXPECT_EQ(ENOTDIR, errno);
	ASSERT_EQ(0, mkdir(sub, 0755));
	ASSERT_EQ(0, set_flags(sub, FS_IMMUTABLE_FL));
	errno = 0;
	fd = open(sub, O_TMPFILE | O_RDWR, 0600);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EPERM, errno);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, set_flags(sub, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
