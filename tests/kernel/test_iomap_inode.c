// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the kernel keeps per inode on an iomap connection, and what it
 * must not keep: the size of an iomap inode is the kernel's (attribute
 * replies and short classic reads do not shrink it); an inode kept
 * classic on purpose is not evicted at every attribute refresh; the
 * mapping cache is allocated at the first open, charged to the opener;
 * privileges are dropped on write for classic inodes whose attributes
 * the server changed on its own, and for iomap inodes after chmod +s;
 * the trace events fire.
 * With hostile_server (its request log) and fuse2fs.  Runs inside the
 * UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "hsguest.h"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* hostile_server                                                      */

FIXTURE(ino) {
	struct hsg hs;
	char *buf;
};

FIXTURE_SETUP(ino)
{
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, hsg_start(&self->hs));
}

FIXTURE_TEARDOWN(ino)
{
	hsg_stop(&self->hs);
	free(self->buf);
}

static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/*
 * "grow" is 1 MiB for the server whatever happens.  After a direct write
 * grew it, neither a SETATTR reply (chmod), nor a buffered read (through
 * iomap since kernel patch 15: no FUSE_READ), nor a later GETATTR may
 * take the kernel's size back.
 */
TEST_F(ino, kernel_keeps_the_size)
{
	const off_t grown = (1 << 20) + 65536;
	int fd = open(hsg_file(&self->hs, HOSTILE_GROW), O_RDWR | O_DIRECT);
	int bfd = open(hsg_file(&self->hs, HOSTILE_GROW), O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, bfd);
	kt_fill(self->buf, 65536, 1 << 20, 9);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 1 << 20));
	EXPECT_EQ(grown, size_of(fd));

	ASSERT_EQ(0, fchmod(fd, 0600));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_GROW, "SETATTR"));
	EXPECT_EQ(grown, size_of(fd)) {
		TH_LOG("a SETATTR reply took the size back");
	}

	/* the page cache reads the device, the server sees no READ */
	EXPECT_EQ(65536, pread(bfd, self->buf, 65536, 1 << 20));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_GROW, "READ"));
	EXPECT_EQ(grown, size_of(fd)) {
		TH_LOG("a buffered read took the size back");
	}

	sleep_ms(1100);
	EXPECT_EQ(grown, size_of(fd));
	EXPECT_LE(1, hsg_count(&self->hs, HOSTILE_GROW, "GETATTR"));
	close(bfd);
	close(fd);
}

/*
 * "blksize_odd" asks for iomap with a block size the kernel cannot use,
 * so it stays classic.  Its attributes never change: refreshing them must
 * not mark the inode for eviction (which the kernel does for an inode
 * whose mode really changes, 3.1), or every stat would cost a FORGET and
 * a new LOOKUP.
 */
TEST_F(ino, classic_on_purpose_stays_cached)
{
	const char *path = hsg_file(&self->hs, HOSTILE_BLKSIZE_ODD);
	struct stat st;
	int i, fd;

	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	close(fd);
	for (i = 0; i < 3; i++) {
		/* attributes and entry expire after 1 s: refreshed each time */
		sleep_ms(1100);
		ASSERT_EQ(0, stat(path, &st));
	}
	sleep_ms(300);
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_BLKSIZE_ODD, "FORGET"));
}

static const char *const kmalloc_event[] = { "kmem/kmalloc", NULL };
static const char *const iomap_alloc[] = { "call_site=fuse_iomap", NULL };

/*
 * The kept mappings of an iomap inode cost memory only once it is opened
 * (looking files up must not allocate it), once per inode, charged to the
 * opener's memory cgroup (__GFP_ACCOUNT).
 */
TEST_F(ino, mapping_cache_allocated_at_first_open)
{
	static const int kinds[] = {
		HOSTILE_GOOD, HOSTILE_CACHED, HOSTILE_WANT_END, HOSTILE_NEW,
	};
	const char *const accounted[] = { "call_site=fuse_iomap", "ACCOUNT",
					  NULL };
	struct stat st;
	char *trace;
	unsigned int i;
	int fd[2];

	ASSERT_EQ(0, kt_trace_start(kmalloc_event));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		EXPECT_EQ(0, stat(hsg_file(&self->hs, kinds[i]), &st));
	trace = kt_trace_stop(kmalloc_event);
	ASSERT_NE(NULL, trace);
	EXPECT_LT(0, kt_trace_count(trace, (const char *const[]){
		"kmalloc", NULL })) {
		TH_LOG("the kmalloc event recorded nothing");
	}
	EXPECT_EQ(0, kt_trace_count(trace, iomap_alloc)) {
		TH_LOG("looking iomap files up allocated iomap memory");
	}
	free(trace);

	ASSERT_EQ(0, kt_trace_start(kmalloc_event));
	fd[0] = open(hsg_file(&self->hs, HOSTILE_GOOD), O_RDONLY);
	fd[1] = open(hsg_file(&self->hs, HOSTILE_GOOD), O_RDONLY);
	trace = kt_trace_stop(kmalloc_event);
	ASSERT_LE(0, fd[0]);
	ASSERT_LE(0, fd[1]);
	ASSERT_NE(NULL, trace);
	EXPECT_EQ(1, kt_trace_count(trace, iomap_alloc));
	EXPECT_EQ(1, kt_trace_count(trace, accounted));
	free(trace);
	close(fd[0]);
	close(fd[1]);
}

/*
 * The server gave "classic_cap" a security.capability attribute on its
 * own, without any attribute of the file changing for the kernel (another
 * client of a network file system can do that).  A classic inode's writes
 * go through the server, which may change them: each write must check
 * again and remove the capability (S_NOSEC is only for iomap inodes, not
 * SB_NOSEC for the mount).
 */
TEST_F(ino, classic_inode_drops_capability_on_every_write)
{
	const char *path = hsg_file(&self->hs, HOSTILE_CLASSIC_CAP);
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	memset(self->buf, 1, 4096);
	ASSERT_EQ(4096, pwrite(fd, self->buf, 4096, 0));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_CLASSIC_CAP, "REMOVEXATTR"));
	EXPECT_NE(0, stat(kt_path(&self->hs.srv, HOSTILE_SETCAP_TRIGGER), &st));
	ASSERT_EQ(4096, pwrite(fd, self->buf, 4096, 4096));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_CLASSIC_CAP,
			       "REMOVEXATTR security.capability"));
	close(fd);
}

static const char *const iomap_events[] = {
	"fuse_iomap/fuse_iomap_begin", "fuse_iomap/fuse_iomap_end",
	"fuse_iomap/fuse_iomap_ioend", "fuse_iomap/fuse_iomap_cache", NULL,
};

/* Lines of an event about one of hostile_server's files. */
static int events_of(const char *trace, const char *event, int kind,
		     const char *what)
{
	char nodeid[32];
	const char *const needles[] = { event, nodeid, what, NULL };

	snprintf(nodeid, sizeof(nodeid), "nodeid %d ", 2 + kind);
	return kt_trace_count(trace, needles);
}

/*
 * A known workload and the events it must produce: BEGIN answered by the
 * server and by a kept mapping, the insertion of that mapping, END for a
 * server that wants it, an IOEND with its conversion, a deferred
 * conversion and its flush, and the mappings forgotten by a truncate.
 */
TEST_F(ino, trace_events_fire)
{
	int cached = open(hsg_file(&self->hs, HOSTILE_CACHED), O_RDWR | O_DIRECT);
	int want = open(hsg_file(&self->hs, HOSTILE_WANT_END), O_RDWR | O_DIRECT);
	int stream = open(hsg_file(&self->hs, HOSTILE_STREAM), O_RDWR | O_DIRECT);
	char *trace;

	ASSERT_LE(0, cached);
	ASSERT_LE(0, want);
	ASSERT_LE(0, stream);
	ASSERT_EQ(0, kt_trace_start(iomap_events));
	EXPECT_EQ(4096, pread(cached, self->buf, 4096, 0));
	EXPECT_EQ(4096, pread(cached, self->buf, 4096, 8192));
	EXPECT_EQ(4096, pread(want, self->buf, 4096, 0));
	kt_fill(self->buf, 65536, 0, 13);
	/* extending, at the start of the unwritten run the server maps */
	EXPECT_EQ(65536, pwrite(stream, self->buf, 65536, 1 << 20));
	EXPECT_EQ(0, fsync(stream));
	/* inside the file: converted at once */
	EXPECT_EQ(65536, pwrite(stream, self->buf, 65536, 0));
	EXPECT_EQ(0, ftruncate(stream, 1 << 20));
	trace = kt_trace_stop(iomap_events);
	ASSERT_NE(NULL, trace);

	EXPECT_EQ(1, events_of(trace, "fuse_iomap_begin:", HOSTILE_CACHED,
			       " server: "));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_begin:", HOSTILE_CACHED,
			       " kept: "));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_cache:", HOSTILE_CACHED,
			       " insert pos 0 len 1048576 kept 1"));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_end:", HOSTILE_WANT_END,
			       "pos 0 count 4096 written 4096"));
	/* direct, unwritten: converted in the kept mapping */
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_ioend:", HOSTILE_STREAM,
			       "pos 0 written 65536 io_error 0 flags 0x5 error 0"));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_cache:", HOSTILE_STREAM,
			       " convert pos 0 len 65536"));
	/* extending: deferred, then sent by fsync */
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_cache:", HOSTILE_STREAM,
			       " defer pos 1048576 len 65536"));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_cache:", HOSTILE_STREAM,
			       " flush pos 1048576 len 65536"));
	EXPECT_EQ(1, events_of(trace, "fuse_iomap_ioend:", HOSTILE_STREAM,
			       "pos 1048576 written 65536 io_error 0 flags 0x7 error 0"));
	EXPECT_LE(1, events_of(trace, "fuse_iomap_cache:", HOSTILE_STREAM,
			       " forget pos 0 len "));
	if (_metadata->exit_code)
		fprintf(stderr, "# trace:\n%s", trace);
	free(trace);
	close(cached);
	close(want);
	close(stream);
}

/* ------------------------------------------------------------------ */
/* fuse2fs: setuid and capabilities of an iomap inode                 */

FIXTURE(f2) {
	struct kt_server srv;
};

FIXTURE_SETUP(f2)
{
	/* new files are born inline (classic) and become iomap as they grow */
	ASSERT_EQ(0, f2g_mkfs("inline_data"));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(f2)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/*
 * pwrite through fd without CAP_FSETID (still uid 0: the mount lets no
 * other user in); true when it wrote.
 */
static bool write_unprivileged(int fd, const void *buf, size_t len, off_t off)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct data[2];

		if (syscall(SYS_capget, &hdr, data))
			_exit(2);
		data[CAP_FSETID / 32].effective &= ~(1u << (CAP_FSETID % 32));
		if (syscall(SYS_capset, &hdr, data))
			_exit(3);
		_exit(pwrite(fd, buf, len, off) == (ssize_t)len ? 0 : 1);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* security.capability, VFS_CAP_REVISION_2, cap_net_raw+ep */
static const uint32_t cap_value[5] = { 0x02000001, 1 << 13, 0, 0, 0 };

static bool has_cap(const char *path)
{
	return getxattr(path, "security.capability", NULL, 0) > 0;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : st.st_mode & 07777;
}

/*
 * An iomap inode of fuse2fs: setuid and setgid bits and
 * security.capability go at the write of a user without CAP_FSETID, also
 * after its first write marked it as having none (S_NOSEC) and root wrote
 * it while setuid.  Nothing may look at the attributes between root's
 * write and the other one (a refresh clears S_NOSEC and hides a wrong
 * mark).  (Classic inodes keep fs/fuse's behaviour: classic_cap above.)
 */
TEST_F(f2, iomap_inode_drops_privileges)
{
	const char *path = kt_path(&self->srv, "big");
	const size_t len = 65536;
	char *buf = kt_alloc(len);
	int fd;

	ASSERT_NE(NULL, buf);
	memset(buf, 0x61, len);
	/*
	 * Files are born inline on this file system: write it, let the
	 * inode go, and find it in iomap mode.
	 */
	fd = open(path, O_CREAT | O_RDWR, 0755);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, kt_sh(30, "echo 3 > /proc/sys/vm/drop_caches"));
	fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	/* the first write finds no privileges to drop */
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));

	ASSERT_EQ(0, fchmod(fd, 06755));
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	EXPECT_TRUE(write_unprivileged(fd, buf, len, 0));
	EXPECT_EQ(0755, mode_of(path)) {
		TH_LOG("mode %o after an unprivileged write", mode_of(path));
	}

	ASSERT_EQ(0, fchmod(fd, 06755));
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	EXPECT_EQ(06755, mode_of(path)) {
		TH_LOG("root's write dropped the bits");
	}

	ASSERT_EQ(0, setxattr(path, "security.capability", cap_value,
			      sizeof(cap_value), 0));
	ASSERT_TRUE(has_cap(path));
	ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, 0));
	EXPECT_FALSE(has_cap(path));
	close(fd);
	free(buf);
}

TEST_HARNESS_MAIN
