// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: options, opening and checking the filesystem, the session and
 * the clean unmount.
 *
 * Threading model: one thread serves every request, in arrival order.
 * libext2fs keeps caches and allocation state without locks, so nothing
 * else may touch the ext2_filsys; the kernel's page cache and large
 * requests (max_write, readahead) carry the throughput instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <et/com_err.h>

#include "fuse2fs.h"
#include "iomap.h"
#include "journal.h"
#include "sandbox.h"
#include "fscrypt.h"
#include "fsverity.h"
#include "fscrypt_kdf.h"
#include "imagelock.h"
#include "mountcheck.h"
#include "remount.h"
#include "watchdog.h"

#define F2_VERSION	"0.1"
/* The largest request libfuse 3.14's buffer takes: 256 pages. */
#define F2_MAX_WRITE	(1U << 20)
/* Every change goes through this mount, so the kernel may cache long. */
#define F2_TIMEOUT	86400.0
/* How long a backgrounding fuse2fs waits for the mount to come up. */
#define F2_INIT_WAIT_MS	30000

struct f2_cli {
	char *device;
	char *mountpoint;
	char *iomap;
	char *sandbox;
	char *user;
	char *keyfile;
	unsigned int watchdog;
	int writeback_cache;
	int remount;
	int foreground;
	int debug;
	int ro;
	int fsname;
	int subtype;
	int help;
	int version;
};

enum {
	F2_KEY_HELP,
	F2_KEY_VERSION,
	F2_KEY_FOREGROUND,
	F2_KEY_DEBUG,
	F2_KEY_RO,
	F2_KEY_RW,
	F2_KEY_FSNAME,
	F2_KEY_SUBTYPE,
	F2_KEY_SINGLE,
};

#define F2_OPT(t, p) { t, offsetof(struct f2_cli, p), 1 }

static const struct fuse_opt f2_opt_spec[] = {
	F2_OPT("iomap=%s", iomap),
	F2_OPT("sandbox=%s", sandbox),
	F2_OPT("user=%s", user),
	F2_OPT("keyfile=%s", keyfile),
	F2_OPT("watchdog=%u", watchdog),
	F2_OPT("writeback_cache", writeback_cache),
	F2_OPT("remount", remount),
	FUSE_OPT_KEY("-h", F2_KEY_HELP),
	FUSE_OPT_KEY("--help", F2_KEY_HELP),
	FUSE_OPT_KEY("-V", F2_KEY_VERSION),
	FUSE_OPT_KEY("--version", F2_KEY_VERSION),
	FUSE_OPT_KEY("-f", F2_KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", F2_KEY_DEBUG),
	FUSE_OPT_KEY("debug", F2_KEY_DEBUG),
	FUSE_OPT_KEY("-s", F2_KEY_SINGLE),
	FUSE_OPT_KEY("ro", F2_KEY_RO),
	FUSE_OPT_KEY("rw", F2_KEY_RW),
	FUSE_OPT_KEY("fsname=", F2_KEY_FSNAME),
	FUSE_OPT_KEY("subtype=", F2_KEY_SUBTYPE),
	FUSE_OPT_END
};

static void f2_usage(const char *prog)
{
	printf("usage: %s [options] <device|image> <mountpoint>\n\n"
"Mount an ext2, ext3 or ext4 filesystem through FUSE.\n\n"
"options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           foreground, and log every request\n"
"    -o ro                  mount read-only\n"
"    -o rw                  mount read-write (the default)\n"
"    -o allow_other         let other users access the mount\n"
"    -o default_permissions the kernel checks permissions (always on)\n"
"    -o fsname=NAME         source shown in /proc/mounts (default: the\n"
"                           device's absolute path)\n"
"    -o writeback_cache     let the kernel cache writes\n"
"    -o remount[,ro|rw...]  change the flags of the mount at MOUNTPOINT\n"
"                           (what mount -o remount runs); no new server\n"
"    -o iomap=off|auto|on   kernel-mapped file IO (default: auto); 'on'\n"
"                           fails the mount without kernel support\n"
"    -o user=NAME           the user to serve as once mounted, when\n"
"                           started as root (default: nobody)\n"
"    -o sandbox=on|nofilter|off\n"
"                           once mounted: no privileges, no files, a\n"
"                           system call allow-list (on, the default);\n"
"                           without the allow-list; nothing (debugging)\n"
"    DEVICE as /dev/fd/N    serve the device or image already open as N\n"
"    MOUNTPOINT as /dev/fd/N  /dev/fuse already open and mounted as N\n"
"    -o keyfile=FILE[:FILE] fscrypt master keys (raw, 16-64 bytes); a v1\n"
"                           key as DESCRIPTOR=FILE (16 hex digits)\n"
"    -o watchdog=SECONDS    fail a request that reads for longer with EIO\n"
"                           (default: %d; 0: never)\n\n"
"A journal that needs recovery is replayed at a read-write mount.\n"
"Unsupported filesystem features or an unclean filesystem refuse a\n"
"read-write mount; -o ro may still work.\n\n"
"Low-level FUSE options:\n", prog, F2_WD_DEFAULT_SECS);
	fuse_lowlevel_help();
}

static int f2_opt_proc(void *data, const char *arg, int key,
		       struct fuse_args *outargs)
{
	struct f2_cli *cli = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!cli->device) {
			cli->device = strdup(arg);
			return 0;
		}
		if (!cli->mountpoint) {
			cli->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "fuse2fs: unexpected argument '%s'\n", arg);
		return -1;
	case F2_KEY_HELP:
		cli->help = 1;
		return 0;
	case F2_KEY_VERSION:
		cli->version = 1;
		return 0;
	case F2_KEY_FOREGROUND:
	case F2_KEY_SINGLE:
		cli->foreground |= key == F2_KEY_FOREGROUND;
		return 0;
	case F2_KEY_DEBUG:
		cli->debug = 1;
		cli->foreground = 1;
		return 1;	/* libfuse logs the requests too */
	case F2_KEY_RO:
		cli->ro = 1;
		return 1;	/* the kernel mount is read-only too */
	case F2_KEY_RW:
		cli->ro = 0;
		return 1;
	case F2_KEY_FSNAME:
		cli->fsname = 1;
		return 1;
	case F2_KEY_SUBTYPE:
		cli->subtype = 1;
		return 1;
	default:
		return 1;
	}
}

/*
 * The device as an absolute path: the default source (fsname) of the
 * mount, and what imagelock.c looks for among mounts.  A /dev/fd/N name
 * stays as it is (it means a descriptor of this process).
 */
static const char *f2_device_path(const char *device, char *buf)
{
	if (!strncmp(device, "/dev/fd/", 8) || !realpath(device, buf))
		return device;
	return buf;
}

/* An open(2) for f2_wait_for_release() to retry while it says EBUSY. */
struct f2_excl_open {
	const char *path;
	int flags;
	int fd;
	int err;
};

static bool f2_try_open(void *arg)
{
	struct f2_excl_open *o = arg;

	o->fd = open(o->path, o->flags);
	o->err = o->fd < 0 ? errno : 0;
	return o->fd >= 0 || o->err != EBUSY;
}

/*
 * open(2), and with O_EXCL on a block device held by the last mount's
 * server, waiting for it to let go (imagelock.c).
 */
static int f2_open_excl(struct fuse2fs *f2, int flags, const struct stat *st)
{
	struct f2_excl_open o = { f2->device, flags, -1, 0 };

	if (f2_try_open(&o) || !(flags & O_EXCL)) {
		errno = o.err;
		return o.fd;
	}
	if (!f2_wait_for_release(st, f2->device_path, f2_try_open, &o))
		o.err = EBUSY;
	errno = o.err;
	return o.fd;
}

static bool f2_try_flock(void *arg)
{
	const int *lock = arg;

	return !flock(lock[0], lock[1] | LOCK_NB);
}

/*
 * The device or image as a descriptor for libext2fs (unixfd_io_manager):
 * one handed over as /dev/fd/N (a privileged helper opened it; reopening
 * the path could be refused to us), else opened here.
 */
static int f2_open_device(struct fuse2fs *f2, const struct stat *st)
{
	int mode = f2->ro ? O_RDONLY : O_RDWR;
	int fd, fl;

	fd = f2_inherited_fd(f2->device);
	if (fd >= 0) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (!f2->ro && (fl & O_ACCMODE) != O_RDWR)) {
			fprintf(stderr, "fuse2fs: %s: %s\n", f2->device,
				fl < 0 ? strerror(errno) :
				"not open for reading and writing");
			return -1;
		}
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	} else {
		/*
		 * Like unix_io: O_EXCL keeps a block device to ourselves.
		 * Not with iomap, whose registration claims the device for
		 * the connection and would be refused by our claim
		 * (doc/protocol.md, section 6); iomap_dev.c claims it itself
		 * if the mount ends up classic.
		 */
		if (!f2->ro && S_ISBLK(st->st_mode) &&
		    f2->iomap_mode == F2_IOMAP_OFF)
			mode |= O_EXCL;
		fd = f2_open_excl(f2, mode | O_CLOEXEC, st);
	}
	if (fd < 0 && errno == EBUSY)
		fprintf(stderr, "fuse2fs: %s: busy: the device is mounted or "
			"in use\n", f2->device);
	else if (fd < 0)
		fprintf(stderr, "fuse2fs: %s: %s\n", f2->device,
			strerror(errno));
	return fd;
}

/* Replay what kernel ext4 left in the journal (journal.c). */
static int f2_replay_journal(struct fuse2fs *f2)
{
	struct f2_journal_stats js;
	char why[256];

	if (f2_journal_recover(f2->dev_fd, &js, why, sizeof(why))) {
		fprintf(stderr, "fuse2fs: %s: journal recovery failed: %s\n",
			f2->device, why);
		fprintf(stderr, "fuse2fs: -o ro may still mount it\n");
		return -1;
	}
	if (js.replayed)
		fprintf(stderr, "fuse2fs: %s: recovered the journal: %u "
			"transactions, %lu blocks written, %lu revoked, %lu "
			"with a bad checksum skipped\n", f2->device,
			js.transactions, js.replayed_blocks,
			js.skipped_revoked, js.bad_csum_blocks);
	return 0;
}

/*
 * Open and check the filesystem.  Nothing is written here, but for the
 * replay of a journal that needs recovery: an image that fails a check
 * is left exactly as it was.
 */
static int f2_open_fs(struct fuse2fs *f2)
{
	int flags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	int lock[2];		/* for f2_try_flock(): fd, LOCK_SH or LOCK_EX */
	char fdname[16];
	int mflags = 0, spare;
	errcode_t err;
	struct stat st;

	if (stat(f2->device, &st)) {
		fprintf(stderr, "fuse2fs: %s: %s\n", f2->device,
			strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "fuse2fs: %s: is a directory, not a device "
			"or image\n", f2->device);
		return -1;
	}
	f2->dev_fd = f2_open_device(f2, &st);
	if (f2->dev_fd < 0)
		return -1;

	/*
	 * One server per image; a kernel mount is refused below.  The lock
	 * is on the open file that libext2fs uses, so it holds while that
	 * does, whatever else gets closed.
	 */
	f2->lock_fd = fcntl(f2->dev_fd, F_DUPFD_CLOEXEC, 3);
	if (f2->lock_fd < 0) {
		fprintf(stderr, "fuse2fs: %s: %s\n", f2->device,
			strerror(errno));
		close(f2->dev_fd);
		return -1;
	}
	/* The last mount's server may be writing it back still. */
	lock[0] = f2->lock_fd;
	lock[1] = f2->ro ? LOCK_SH : LOCK_EX;
	if (!f2_try_flock(lock) &&
	    !f2_wait_for_release(&st, f2->device_path, f2_try_flock, lock)) {
		fprintf(stderr, "fuse2fs: %s: busy: another fuse2fs uses it\n",
			f2->device);
		goto out_fd;
	}
	err = ext2fs_check_if_mounted(f2->device, &mflags);
	if (!err && (mflags & EXT2_MF_MOUNTED) && !f2->ro) {
		fprintf(stderr, "fuse2fs: %s: busy: it is mounted already\n",
			f2->device);
		goto out_fd;
	}

	if (!f2->ro && f2_journal_needs_recovery(f2->dev_fd) &&
	    f2_replay_journal(f2))
		goto out_fd;
	if (!f2->ro)
		flags |= EXT2_FLAG_RW;
	/*
	 * From here on the descriptor is libext2fs's: it closes it, also
	 * when the open fails.  A read-only mount keeps a spare for the
	 * second try below.
	 */
	spare = f2->ro ? fcntl(f2->dev_fd, F_DUPFD_CLOEXEC, 3) : -1;
	snprintf(fdname, sizeof(fdname), "%d", f2->dev_fd);
	err = ext2fs_open2(fdname, NULL, flags, 0, 0, unixfd_io_manager,
			   &f2->fs);
	if (err == EXT2_ET_SB_CSUM_INVALID && spare >= 0) {
		/*
		 * Read-only, a superblock whose checksum fails is used as
		 * it is; every other checksum is checked as usual.
		 */
		f2->dev_fd = spare;
		spare = -1;
		snprintf(fdname, sizeof(fdname), "%d", f2->dev_fd);
		err = ext2fs_open2(fdname, NULL,
				   flags | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0,
				   unixfd_io_manager, &f2->fs);
		if (!err) {
			f2->fs->flags &= ~EXT2_FLAG_IGNORE_CSUM_ERRORS;
			fprintf(stderr, "fuse2fs: %s: mounting read-only "
				"although the superblock's checksum does not "
				"match: it is used as it is\n", f2->device);
		}
	}
	if (spare >= 0)
		close(spare);
	if (err) {
		f2->fs = NULL;
		f2->dev_fd = -1;
		f2_explain_open_error(f2->device, err, f2->ro);
		return -1;
	}
	f2_io_install(f2->fs->io);
	f2_alloc_install(f2);
	if (f2_mount_checks(f2))
		goto fail;
	if (!f2->ro) {
		/*
		 * Ordered writes: without libext2fs's write-back block cache
		 * every block goes to the image when it is written, in the
		 * order fuse2fs writes them (new blocks are allocated
		 * unwritten, filled, then converted; a new inode is written
		 * before the entry naming it).  A killed server then loses
		 * only the bitmaps, counters and superblock, which e2fsck
		 * rebuilds, and the request it was serving; never a file it
		 * had finished writing, never stale blocks.  iomap mode
		 * needs the cache off anyway (iomap_dev.c).
		 */
		err = io_channel_set_options(f2->fs->io, "cache=off");
		if (err) {
			fprintf(stderr, "fuse2fs: %s: write-through: %s\n",
				f2->device, error_message(err));
			goto fail;
		}
	}
	return 0;
fail:
	/* ext2fs_free(), not close: nothing may reach the image. */
	ext2fs_free(f2->fs);
	f2->fs = NULL;
	f2->dev_fd = -1;
	return -1;
out_fd:
	close(f2->dev_fd);
	f2->dev_fd = -1;
	return -1;
}

/* Mark the filesystem in use, as the kernel does while mounted. */
static int f2_mark_mounted(struct fuse2fs *f2)
{
	struct ext2_super_block *sb = f2->fs->super;
	errcode_t err;

	if (f2->ro)
		return 0;
	/* Like ext4, only the primary superblock tracks mount state. */
	f2->fs->flags |= EXT2_FLAG_MASTER_SB_ONLY;
	f2->clean_at_mount = true;
	sb->s_state &= ~EXT2_VALID_FS;
	sb->s_mnt_count++;
	sb->s_mtime = (uint32_t)time(NULL);
	/* Only a path says where: not /dev/fd/N from a helper. */
	if (f2->mountpoint && f2_inherited_fd(f2->mountpoint) < 0) {
		/* A fixed-size field, NUL-padded, as ext4 writes it. */
		memset(sb->s_last_mounted, 0, sizeof(sb->s_last_mounted));
		snprintf((char *)sb->s_last_mounted,
			 sizeof(sb->s_last_mounted), "%s", f2->mountpoint);
	}
	ext2fs_mark_super_dirty(f2->fs);
	err = ext2fs_flush2(f2->fs, 0);
	if (err) {
		fprintf(stderr, "fuse2fs: %s: marking the filesystem in use: "
			"%s\n", f2->device, error_message(err));
		return -1;
	}
	return 0;
}

/* Free what the kernel no longer references, mark clean, close. */
static int f2_close_fs(struct fuse2fs *f2)
{
	errcode_t err;

	if (!f2->fs)
		return 0;
	f2_iomap_release_device(f2);
	if (!f2->ro) {
		f2_itab_release_all(f2);
		if (f2->clean_at_mount)
			f2->fs->super->s_state |= EXT2_VALID_FS;
		ext2fs_mark_super_dirty(f2->fs);
	}
	err = ext2fs_close_free(&f2->fs);
	if (err) {
		fprintf(stderr, "fuse2fs: %s: closing: %s\n", f2->device,
			error_message(err));
		return -1;
	}
	return 0;
}

/*
 * Once detached, what would go to stderr goes to syslog instead, through
 * a socket of our own rather than syslog(3): its descriptor is known, so
 * the sandbox keeps it, and a datagram is all it takes to send a line,
 * even from the SIGSYS handler (sandbox_filter.c).
 */
static ssize_t f2_syslog_write(void *cookie, const char *buf, size_t size)
{
	struct fuse2fs *f2 = cookie;
	int len = size > 900 ? 900 : (int)size;
	char line[1024];
	int n;

	while (len > 0 && buf[len - 1] == '\n')
		len--;
	if (!len)
		return size;
	/* LOG_DAEMON | LOG_ERR; the daemon adds the time. */
	n = snprintf(line, sizeof(line), "<27>fuse2fs[%d]: %.*s",
		     (int)getpid(), len, buf);
	/* Without a syslog daemon the line is lost, as with syslog(3). */
	if (n > 0 && send(f2->syslog_fd, line, n, MSG_NOSIGNAL) < 0)
		n = 0;
	return size;
}

/* Before detaching, while files can still be opened. */
static void f2_open_syslog(struct fuse2fs *f2)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	f2->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/dev/log");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		close(fd);
		return;		/* messages go to /dev/null then */
	}
	f2->syslog_fd = fd;
}

static void f2_log_to_syslog(struct fuse2fs *f2)
{
	cookie_io_functions_t io = { .write = f2_syslog_write };
	FILE *f;

	if (f2->syslog_fd < 0)
		return;
	f = fopencookie(f2, "w", io);
	if (!f)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	stderr = f;
}

/* Tell the parent waiting in f2_daemonize() how the mount went. */
static void f2_report_status(struct fuse2fs *f2, char status)
{
	int fd = f2->null_fd;

	if (f2->status_fd < 0)
		return;
	if (write(f2->status_fd, &status, 1) != 1)
		perror("fuse2fs: status pipe");
	close(f2->status_fd);
	f2->status_fd = -1;
	/* From now on nobody reads our terminal output. */
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
		f2->null_fd = -1;
	}
	f2_log_to_syslog(f2);
}

/*
 * Go to the background, but keep the caller waiting until FUSE_INIT has
 * been answered, so that a refused mount (iomap=on without kernel support)
 * fails the command instead of a detached server.
 */
static int f2_daemonize(struct fuse2fs *f2)
{
	int fds[2];
	pid_t pid;
	char st;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC)) {
		perror("fuse2fs: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fuse2fs: fork");
		return -1;
	}
	if (pid > 0) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };

		close(fds[1]);
		/* The kernel sends FUSE_INIT at mount time: do not wait long. */
		if (poll(&pfd, 1, F2_INIT_WAIT_MS) <= 0) {
			fprintf(stderr, "fuse2fs: no FUSE_INIT from the kernel "
				"within %d s; giving up\n",
				F2_INIT_WAIT_MS / 1000);
			kill(pid, SIGTERM);
			_exit(1);
		}
		do {
			n = read(fds[0], &st, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 ? st : 1);
	}
	close(fds[0]);
	f2->status_fd = fds[1];
	f2_open_syslog(f2);
	setsid();
	if (chdir("/"))
		perror("fuse2fs: chdir /");
	return 0;
}

void f2_op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fuse2fs *f2 = userdata;
	bool offered = f2->iomap && fuse_iomap_kernel_offered(f2->iomap);

	conn->max_write = F2_MAX_WRITE;
	conn->time_gran = 1;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/*
	 * POSIX ACLs: the kernel enforces them, the server inherits default
	 * ACLs on create and so must see the mode before the umask.
	 */
	if (ext2fs_has_feature_xattr(f2->fs->super) &&
	    (conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK)) {
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
		f2->posix_acl = true;
	}
	/* The kernel sends the cleared mode itself (see attr.c). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	if (f2->writeback_cache) {
		if (conn->capable & FUSE_CAP_WRITEBACK_CACHE)
			conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		else
			fprintf(stderr, "fuse2fs: the kernel has no writeback "
				"cache; writes go straight through\n");
	}

	if (f2->iomap_mode != F2_IOMAP_OFF && offered) {
		fuse_iomap_want(f2->iomap, true);
	} else if (f2->iomap_mode == F2_IOMAP_ON) {
		fprintf(stderr, "fuse2fs: -o iomap=on: the kernel does not "
			"offer FUSE iomap; not mounting\n");
		f2->init_failed = true;
		fuse_session_exit(f2->se);
	}
	/* iomap=auto's one-line fallback notice is f2_iomap_negotiated()'s. */
	/*
	 * Success is reported by f2_negotiated(), after the iomap side has
	 * said what it does; a failure once the mount is gone (f2_serve()).
	 */
}

/*
 * The last step that needs privileges is done (the device is registered
 * with the kernel): keep the open files, drop the rest (sandbox.c).
 */
static int f2_contain(struct fuse2fs *f2)
{
	int keep[9];

	/* Who unmounts when we are told to stop (unmounter.c). */
	if (f2->sandbox.level != F2_SANDBOX_OFF &&
	    f2_inherited_fd(f2->mountpoint) < 0) {
		f2->unmount_fd = f2_unmounter_start(f2->mountpoint);
		if (f2->unmount_fd < 0)
			fprintf(stderr, "fuse2fs: no unmount helper (%s): a "
				"signal will leave %s to be unmounted by "
				"hand\n", strerror(errno), f2->mountpoint);
	}
	keep[0] = fuse_session_fd(f2->se);
	keep[1] = f2->dev_fd;
	keep[2] = f2->lock_fd;
	keep[3] = f2->iomap_bdev_fd;
	keep[4] = f2->status_fd;
	keep[5] = f2->null_fd;
	keep[6] = f2->syslog_fd;
	keep[7] = f2->unmount_fd;
	keep[8] = f2->claim_fd;

	/* A forbidden system call is reported where messages go. */
	if (f2_sandbox_enter(&f2->sandbox, keep, ARRAY_SIZE(keep),
			     f2->syslog_fd >= 0 ? f2->syslog_fd : 2))
		return -1;
	if (f2->debug && f2->sandbox.entered)
		fprintf(stderr, "fuse2fs: sandbox entered (%s)\n",
			f2->sandbox.level == F2_SANDBOX_ON ?
			"system call filter on" : "no system call filter");
	return 0;
}

/*
 * After the INIT reply: the iomap side first, then the sandbox, then
 * release the caller.
 */
static void f2_negotiated(void *userdata, bool iomap)
{
	struct fuse2fs *f2 = userdata;

	if (f2_iomap_ops.negotiated)
		f2_iomap_ops.negotiated(userdata, iomap);
	if (f2->init_failed)
		return;
	if (f2_contain(f2)) {
		f2->init_failed = true;
		fuse_session_exit(f2->se);
		return;
	}
	f2_report_status(f2, 0);
}

static int f2_parse_iomap(struct fuse2fs *f2, const char *s)
{
	if (!s || !strcmp(s, "auto"))
		f2->iomap_mode = F2_IOMAP_AUTO;
	else if (!strcmp(s, "on"))
		f2->iomap_mode = F2_IOMAP_ON;
	else if (!strcmp(s, "off"))
		f2->iomap_mode = F2_IOMAP_OFF;
	else
		return -1;
	return 0;
}

static int f2_add_fsname(struct fuse_args *args, const char *device)
{
	char *opts = NULL, *opt;
	int ret;

	if (asprintf(&opt, "fsname=%s", device) < 0)
		return -1;
	ret = fuse_opt_add_opt_escaped(&opts, opt);
	free(opt);
	if (!ret) {
		ret = fuse_opt_add_arg(args, "-o");
		if (!ret)
			ret = fuse_opt_add_arg(args, opts);
	}
	free(opts);
	return ret;
}

/*
 * A sandboxed server cannot unmount (no privileges, no fusermount3, and
 * the system call filter would kill it for trying): when the kernel has
 * not unmounted already, the helper forked before the sandbox does it;
 * without one, closing /dev/fuse (in fuse_session_destroy()) aborts the
 * connection and the mount's owner detaches it.
 */
static void f2_unmount(struct fuse2fs *f2)
{
	struct pollfd pfd = { .fd = fuse_session_fd(f2->se) };
	int fd = f2->unmount_fd;

	f2->unmount_fd = -1;
	if (!f2->sandbox.entered || f2_inherited_fd(f2->mountpoint) >= 0) {
		if (fd >= 0)
			close(fd);
		fuse_session_unmount(f2->se);
		return;
	}
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) {
		/* Unmounted already: fuse_session_unmount() only closes. */
		if (fd >= 0)
			close(fd);
		fuse_session_unmount(f2->se);
		return;
	}
	if (fd < 0 || f2_unmounter_run(fd))
		fprintf(stderr, "fuse2fs: stopping while %s is mounted, and "
			"the sandboxed server cannot unmount it; run "
			"fusermount3 -u %s\n", f2->mountpoint,
			f2->mountpoint);
}

/* Before each request: its block copies (iochan.c), its watchdog. */
static void f2_request(void *userdata, uint32_t opcode)
{
	f2_io_request_begin();
	f2_wd_request(userdata, opcode);
}

static int f2_serve(struct fuse2fs *f2, struct fuse_args *args)
{
	static struct fuse_iomap_ops iomap_ops;
	int ret = 1;

	f2->se = fuse_session_new(args, &f2_ops, sizeof(f2_ops), f2);
	if (!f2->se)
		return 1;	/* libfuse said why (unknown option...) */
	if (fuse_session_mount(f2->se, f2->mountpoint))
		goto out_destroy;
	if (f2_mark_mounted(f2))
		goto out_unmount;
	if (!f2->foreground && f2_daemonize(f2))
		goto out_close;
	if (fuse_set_signal_handlers(f2->se))
		goto out_close;
	iomap_ops = f2_iomap_ops;
	iomap_ops.negotiated = f2_negotiated;
	iomap_ops.request = f2_request;
	f2->iomap = fuse_iomap_session_new(f2->se, &iomap_ops, f2);
	if (!f2->iomap) {
		fprintf(stderr, "fuse2fs: starting the session: %s\n",
			strerror(errno));
		goto out_signals;
	}
	fuse_iomap_enable_tmpfile(f2->iomap);
	ret = fuse_iomap_session_loop(f2->iomap) ? 1 : 0;
	/* The unmount's own work is not a request: never cut it. */
	f2_wd_idle();
	f2_io_request_none();
	if (f2->init_failed)
		ret = 1;
	fuse_iomap_session_destroy(f2->iomap);
	f2->iomap = NULL;
out_signals:
	fuse_remove_signal_handlers(f2->se);
out_close:
	/* Write the clean state before the mount point lets go. */
	if (f2_close_fs(f2))
		ret = 1;
out_unmount:
	f2_unmount(f2);
out_destroy:
	fuse_session_destroy(f2->se);
	f2->se = NULL;
	f2_report_status(f2, 1);	/* no-op once init() reported */
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct f2_cli cli = { .watchdog = F2_WD_DEFAULT_SECS };
	struct fuse2fs f2 = {
		.timeout = F2_TIMEOUT,
		.iomap_bdev_fd = -1,
		.claim_fd = -1,
		.dev_fd = -1,
		.lock_fd = -1,
		.status_fd = -1,
		.null_fd = -1,
		.syslog_fd = -1,
		.unmount_fd = -1,
	};
	char abs_device[PATH_MAX];
	int ret = 1;

	initialize_ext2_error_table();
	if (fuse_opt_parse(&args, &cli, f2_opt_spec, f2_opt_proc)) {
		fprintf(stderr, "fuse2fs: bad arguments; see %s --help\n",
			argv[0]);
		goto out;
	}
	if (cli.help) {
		f2_usage(argv[0]);
		ret = 0;
		goto out;
	}
	if (cli.version) {
		printf("fuse2fs %s (libext2fs, libfuse %s)\n", F2_VERSION,
		       fuse_pkgversion());
		fuse_lowlevel_version();
		ret = 0;
		goto out;
	}
	if (!cli.device || !cli.mountpoint) {
		fprintf(stderr, "fuse2fs: need a device (or image) and a "
			"mountpoint; see %s --help\n", argv[0]);
		goto out;
	}
	if (cli.remount) {
		ret = f2_remount(argc, argv, cli.mountpoint) ? 1 : 0;
		goto out;
	}
	if (f2_parse_iomap(&f2, cli.iomap)) {
		fprintf(stderr, "fuse2fs: -o iomap=%s: expected off, auto or "
			"on\n", cli.iomap);
		goto out;
	}
	f2.sandbox.level = f2_sandbox_default_level();
	if (cli.sandbox &&
	    f2_sandbox_parse_level(cli.sandbox, &f2.sandbox.level)) {
		fprintf(stderr, "fuse2fs: -o sandbox=%s: expected on, nofilter "
			"or off\n", cli.sandbox);
		goto out;
	}
	if (f2_sandbox_prepare(&f2.sandbox, cli.user))
		goto out;
	f2.device = cli.device;
	f2.device_path = f2_device_path(cli.device, abs_device);
	/* The unmount helper works from "/" (daemonized): a full path. */
	if (f2_inherited_fd(cli.mountpoint) < 0) {
		char *real = realpath(cli.mountpoint, NULL);

		if (real) {
			free(cli.mountpoint);
			cli.mountpoint = real;
		}
	}
	f2.mountpoint = cli.mountpoint;
	f2.ro = cli.ro;
	f2.debug = cli.debug;
	f2.foreground = cli.foreground;
	f2.writeback_cache = cli.writeback_cache;
	f2.default_permissions = true;
	srandom((unsigned int)time(NULL) ^ (unsigned int)getpid());

	/*
	 * The server trusts the kernel's permission checks (attr.c).  The
	 * mount's type is fuse.fuse2fs-iomap, the type mount(8) and fstab
	 * name it by (the fuse2fs of e2fsprogs owns fuse.fuse2fs).
	 */
	if (fuse_opt_add_arg(&args, "-odefault_permissions") ||
	    (!cli.subtype &&
	     fuse_opt_add_arg(&args, "-osubtype=fuse2fs-iomap")) ||
	    (!cli.fsname && f2_add_fsname(&args, f2.device_path))) {
		fprintf(stderr, "fuse2fs: out of memory\n");
		goto out;
	}
	f2.itab = f2_itab_new();
	f2.dcache = f2_dcache_new();
	f2.keys = f2c_keyring_new();
	f2.vcache = f2v_cache_new();
	if (!f2.itab || !f2.dcache || !f2.keys || !f2.vcache) {
		fprintf(stderr, "fuse2fs: out of memory\n");
		goto out;
	}
	if (f2c_crypto_init()) {
		fprintf(stderr, "fuse2fs: libcrypto did not initialise\n");
		goto out;
	}
	if (cli.keyfile && f2c_load_keyfiles(f2.keys, cli.keyfile))
		goto out;
	if (f2_open_fs(&f2))
		goto out;
	f2_wd_setup(&f2, cli.watchdog);
	ret = f2_serve(&f2, &args);
	if (f2.fs) {
		/* The session never started: nothing was written. */
		ext2fs_free(f2.fs);
		f2.fs = NULL;
	}
out:
	if (f2.lock_fd >= 0)
		close(f2.lock_fd);
	f2_itab_free(f2.itab);
	f2_dcache_free(f2.dcache);
	f2c_keyring_free(f2.keys);
	f2v_cache_free(f2.vcache);
	fuse_opt_free_args(&args);
	free(cli.device);
	free(cli.mountpoint);
	free(cli.iomap);
	free(cli.sandbox);
	free(cli.user);
	free(cli.keyfile);
	return ret;
}
