// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hostile_server: a fuse-iomap server that answers FUSE_IOMAP_BEGIN with
 * a deliberately bad mapping, one kind per file, to show that the kernel
 * refuses each of them (EIO to the caller, a rate-limited message, no IO).
 *
 * usage: hostile_server DEVICE MOUNTPOINT RESULTS [-f]
 *
 * Built on libfuse3-iomap for everything (INIT negotiation, device
 * registration, lookups, attributes with FUSE_ATTR_IOMAP) except the BEGIN
 * replies: the library checks mappings itself, so this server writes those
 * replies to /dev/fuse on its own to get the bad ones past it.
 *
 * Every file is 1 MiB, block size 4096, in iomap mode (but see hostile.h
 * for the files whose attributes the kernel must refuse).  "good" maps to
 * DEVICE at HOSTILE_DEV_OFF; its classic FUSE_READ returns 0x5a bytes, so a
 * reader can tell which path the data took.  The other files are named
 * after what is wrong with their mapping.
 *
 * When FUSE_IOMAP is negotiated the server also tries the registration
 * ioctl with bad arguments and writes "name errno" lines to RESULTS.
 *
 * Some files are not hostile at all but let a test see what the kernel
 * sends and when (hostile.h): the log of $HOSTILE_LOG, replies held back
 * while a FUSE_NOTIFY_INVAL_INODE barrier is under way, an attribute the
 * server adds behind the kernel's back.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/fs.h>
#include <linux/fsverity.h>
#include <fuse_lowlevel.h>

#include "fuse_iomap_ll.h"
#include "iomap_priv.h"		/* the request's unique, see above */
#include "hostile.h"

#define FILE_SIZE	(1ULL << 20)
#define BLOCK		4096
/* "grow_fail" and "stream_fail" map this much, beyond their size */
#define GROW_SIZE	(64ULL << 20)

static struct {
	struct fuse_session *se;
	struct fuse_iomap_session *is;
	const char *device;
	const char *mountpoint;
	const char *results;
	int dev_fd;
	uint64_t dev_size;
	uint32_t dev_id;
	bool flipped;		/* "flip" is classic now */
	unsigned int cached_begins;	/* BEGINs "cached" got so far */
	int log_fd;		/* $HOSTILE_LOG, or -1 */
	bool has_cap;		/* "classic_cap" has security.capability */
	bool barrier_started[2];	/* barrier_begin, barrier_ioend */
	atomic_bool barrier_replied;	/* the held reply went out */
	bool copied;		/* "good" was copied into "copy_dst" */
	bool short_write;	/* $HOSTILE_SHORT_WRITE */
	int setattr_delay_ms;	/* $HOSTILE_SETATTR_DELAY_MS */
	off_t barrier_off;	/* $HOSTILE_BARRIER_OFFSET */
	atomic_bool moved;		/* "moving" is at HOSTILE_MOVE_TO */
	bool move_started;		/* "moving_src" was read */
	bool cookie_back_started;	/* "cookie_back" answered once */
	uint64_t stale_size;	/* the size of "stale_size" */
	bool stale_held_once;	/* its first IOEND came */
	fuse_iomap_req_t stale_req;	/* held until HOSTILE_RELEASE_TRIGGER */
	uint64_t stale_reply;	/* and the size it is answered with */
} hs = { .log_fd = -1, .stale_size = FILE_SIZE };

/* A valid security.capability value (VFS_CAP_REVISION_2: cap_net_raw+ep) */
static const uint32_t hs_cap_value[5] = { 0x02000001, 1 << 13, 0, 0, 0 };


/* nodeid 1 is the root; file i has nodeid 2 + i, backing inode 100 + i. */
static int kind_of(fuse_ino_t nodeid)
{
	if (nodeid < 2 || nodeid >= 2 + HOSTILE_NR_FILES)
		return -1;
	return nodeid - 2;
}

/* One line "NAME WHAT..." in the log, written at once (threads). */
static void hs_log(fuse_ino_t nodeid, const char *fmt, ...)
{
	int kind = kind_of(nodeid);
	char line[160];
	va_list ap;
	int n;

	if (hs.log_fd < 0 || kind < 0)
		return;
	n = snprintf(line, sizeof(line), "%s ", hostile_kinds[kind]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(hs.log_fd, line, n) != n)
		perror("hostile_server: log");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint32_t attr_flags(fuse_ino_t nodeid)
{
	if (nodeid == FUSE_ROOT_ID)
		return 0;
	if (kind_of(nodeid) == HOSTILE_FLIP && hs.flipped)
		return 0;
	if (kind_of(nodeid) == HOSTILE_CLASSIC_CAP ||
	    kind_of(nodeid) == HOSTILE_MOVING_SRC ||
	    kind_of(nodeid) == HOSTILE_DEVCACHE_SRC)
		return 0;
	return FUSE_ATTR_IOMAP;
}

static void fill_stat(fuse_ino_t nodeid, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_blksize = BLOCK;
	st->st_nlink = 1;
	if (nodeid == FUSE_ROOT_ID) {
		st->st_ino = 1;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	st->st_ino = 100 + kind_of(nodeid);
	if (kind_of(nodeid) == HOSTILE_INO_ZERO)
		st->st_ino = 0;
	else if (kind_of(nodeid) == HOSTILE_BLKSIZE_ODD)
		st->st_blksize = 1000;
	else if (kind_of(nodeid) == HOSTILE_BLKSIZE_BIG)
		st->st_blksize = 1 << 16;
	st->st_mode = S_IFREG | 0644;
	st->st_size = FILE_SIZE;
	if (kind_of(nodeid) == HOSTILE_STALE_SIZE)
		st->st_size = hs.stale_size;
	st->st_blocks = FILE_SIZE / 512;
}

static void register_late(void);
static void release_stale_ioend(void);
static void dirty_device_page(void);

/* FUSE_NOTIFY_STORE or FUSE_NOTIFY_RETRIEVE of 4 KiB at 0 for "good". */
static void notify_store_or_retrieve(bool store)
{
	static char buf[BLOCK];
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(BLOCK);
	fuse_ino_t nodeid = 2 + HOSTILE_GOOD;

	if (!store) {
		hs_log(nodeid, "retrieve error=%d",
		       fuse_lowlevel_notify_retrieve(hs.se, nodeid, BLOCK, 0,
						     NULL));
		return;
	}
	memset(buf, HOSTILE_STORE_BYTE, sizeof(buf));
	bv.buf[0].mem = buf;
	hs_log(nodeid, "store error=%d",
	       fuse_lowlevel_notify_store(hs.se, nodeid, 0, &bv, 0));
}

static void hs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int i;

	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_FLIP_TRIGGER)) {
		hs.flipped = true;
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_SETCAP_TRIGGER)) {
		hs.has_cap = true;
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_LATE_TRIGGER)) {
		register_late();
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_INVAL_GOOD_TRIGGER)) {
		hs_log(2 + HOSTILE_GOOD, "barrier error=%d",
		       fuse_lowlevel_notify_inval_inode(hs.se,
							2 + HOSTILE_GOOD,
							0, 0));
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_STORE_TRIGGER) ||
	    !strcmp(name, HOSTILE_RETRIEVE_TRIGGER)) {
		notify_store_or_retrieve(!strcmp(name, HOSTILE_STORE_TRIGGER));
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_RELEASE_TRIGGER)) {
		release_stale_ioend();
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_DEVDIRTY_TRIGGER)) {
		dirty_device_page();
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (!strcmp(name, HOSTILE_INVAL_TRIGGER)) {
		/*
		 * A data range: the barrier of doc/protocol.md section 10,
		 * which waits for the file's lock and direct IO.  Safe from
		 * a handler here only because the test does no IO on
		 * "cached" while it looks this name up.
		 */
		fuse_lowlevel_notify_inval_inode(hs.se, 2 + HOSTILE_CACHED,
						 0, 0);
		fuse_reply_err(req, ENOENT);
		return;
	}
	for (i = 0; i < HOSTILE_NR_FILES; i++)
		if (!strcmp(name, hostile_kinds[i]))
			break;
	if (i == HOSTILE_NR_FILES) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = 2 + i;
	e.attr_timeout = 1.0;
	e.entry_timeout = 1.0;
	/* nothing may refresh its attributes while a test runs */
	if (i == HOSTILE_CLASSIC_CAP)
		e.attr_timeout = e.entry_timeout = 600.0;
	fill_stat(e.ino, &e.attr);
	hs_log(e.ino, "LOOKUP");
	fuse_iomap_reply_entry(req, &e, attr_flags(e.ino));
}

static void hs_getattr(fuse_req_t req, fuse_ino_t nodeid,
		       struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (nodeid != FUSE_ROOT_ID && kind_of(nodeid) < 0) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	fill_stat(nodeid, &st);
	hs_log(nodeid, "GETATTR");
	fuse_iomap_reply_attr(req, &st, 1.0, attr_flags(nodeid));
}

/*
 * Attributes do not change (the size stays 1 MiB but for a truncate): the
 * kernel keeps the size of iomap inodes and must not take the server's.
 */
static void hs_setattr(fuse_req_t req, fuse_ino_t nodeid, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (kind_of(nodeid) < 0) {
		fuse_reply_err(req, EPERM);
		return;
	}
	hs_log(nodeid, "SETATTR size=%lld", to_set & FUSE_SET_ATTR_SIZE ?
	       (long long)attr->st_size : -1LL);
	sleep_ms(hs.setattr_delay_ms);
	if (kind_of(nodeid) == HOSTILE_SETATTR_FAIL &&
	    (to_set & FUSE_SET_ATTR_SIZE)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (kind_of(nodeid) == HOSTILE_STALE_SIZE &&
	    (to_set & FUSE_SET_ATTR_SIZE)) {
		hs.stale_size = attr->st_size;
		hs_log(nodeid, "size %llu", (unsigned long long)hs.stale_size);
	}
	fill_stat(nodeid, &st);
	if (to_set & FUSE_SET_ATTR_SIZE)
		st.st_size = attr->st_size;
	fuse_iomap_reply_attr(req, &st, 1.0, attr_flags(nodeid));
}

static void hs_getxattr(fuse_req_t req, fuse_ino_t nodeid, const char *name,
			size_t size)
{
	hs_log(nodeid, "GETXATTR %s", name);
	if (kind_of(nodeid) != HOSTILE_CLASSIC_CAP || !hs.has_cap ||
	    strcmp(name, "security.capability")) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (!size)
		fuse_reply_xattr(req, sizeof(hs_cap_value));
	else if (size < sizeof(hs_cap_value))
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)hs_cap_value,
			       sizeof(hs_cap_value));
}

static void hs_removexattr(fuse_req_t req, fuse_ino_t nodeid,
			   const char *name)
{
	hs_log(nodeid, "REMOVEXATTR %s", name);
	if (kind_of(nodeid) != HOSTILE_CLASSIC_CAP || !hs.has_cap ||
	    strcmp(name, "security.capability")) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	hs.has_cap = false;
	fuse_reply_err(req, 0);
}

static void hs_forget(fuse_req_t req, fuse_ino_t nodeid, uint64_t nlookup)
{
	(void)nlookup;
	hs_log(nodeid, "FORGET");
	fuse_reply_none(req);
}

static void hs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		hs_log(forgets[i].ino, "FORGET");
	fuse_reply_none(req);
}

/*
 * Logged under both names.  From "good" into "copy_dst" the server copies
 * the blocks on the device and "copy_dst" is mapped (written) from then
 * on, and with $HOSTILE_COPY_FAIL it answers EIO after the copy (a copy
 * that failed half way); otherwise it copies nothing.
 */
static void hs_copy_file_range(fuse_req_t req, fuse_ino_t in,
			       off_t off_in, struct fuse_file_info *fi_in,
			       fuse_ino_t out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len,
			       int flags)
{
	static char buf[FILE_SIZE];

	(void)fi_in;
	(void)fi_out;
	(void)flags;
	hs_log(in, "COPY_FILE_RANGE from");
	hs_log(out, "COPY_FILE_RANGE to");
	if (kind_of(in) == HOSTILE_GOOD && kind_of(out) == HOSTILE_COPY_DST) {
		if ((uint64_t)off_in + len > FILE_SIZE ||
		    (uint64_t)off_out + len > FILE_SIZE ||
		    pread(hs.dev_fd, buf, len, HOSTILE_DEV_OFF + off_in) !=
		    (ssize_t)len ||
		    pwrite(hs.dev_fd, buf, len, HOSTILE_COPY_DEV_OFF +
			   off_out) != (ssize_t)len || fdatasync(hs.dev_fd)) {
			fuse_reply_err(req, EIO);
			return;
		}
		hs.copied = true;
		if (getenv("HOSTILE_COPY_FAIL")) {
			fuse_reply_err(req, EIO);
			return;
		}
	}
	fuse_reply_write(req, len);
}

/*
 * FS_IOC_READ_VERITY_METADATA on any file, by metadata type (hostile.h):
 * 1 claims 100 bytes more than it sends, 2 sends 4 KiB more than the
 * kernel has room for, 3 answers honestly with as many 0x5a bytes as
 * there is room for (EPROTO when the kernel did not set
 * FUSE_IOCTL_VERITY_METADATA), 4 sends 100 bytes more than there is room
 * for, 5 claims half the bytes it sends, 6 sends data with -EPERM.
 */
static void hs_ioctl(fuse_req_t req, fuse_ino_t nodeid, unsigned int cmd,
		     void *arg, struct fuse_file_info *fi, unsigned int flags,
		     const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fsverity_read_metadata_arg rm;
	size_t room = out_bufsz;
	char *buf;

	(void)arg;
	(void)fi;
	hs_log(nodeid, "IOCTL in_size=%zu out_size=%zu", in_bufsz, out_bufsz);
	if (cmd != FS_IOC_READ_VERITY_METADATA || in_bufsz < sizeof(rm)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	memcpy(&rm, in_buf, sizeof(rm));
	if (rm.length < room)
		room = rm.length;
	buf = malloc(room + 4096);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(buf, 0x5a, room + 4096);
	if (rm.metadata_type == 1)
		fuse_reply_ioctl(req, room + 100, buf, room);
	else if (rm.metadata_type == 2)
		fuse_reply_ioctl(req, room, buf, out_bufsz + 4096);
	else if (rm.metadata_type == 4)
		fuse_reply_ioctl(req, room + 100, buf, room + 100);
	else if (rm.metadata_type == 5)
		fuse_reply_ioctl(req, room / 2, buf, room);
	else if (rm.metadata_type == 6)
		fuse_reply_ioctl(req, -EPERM, buf, room);
	else if (!(flags & FUSE_IOCTL_VERITY_METADATA))
		fuse_reply_err(req, EPROTO);
	else
		fuse_reply_ioctl(req, room, buf, room);
	free(buf);
}

static void hs_open(fuse_req_t req, fuse_ino_t nodeid,
		    struct fuse_file_info *fi)
{
	if (kind_of(nodeid) < 0) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fuse_reply_open(req, fi);
}

/* The classic path: recognisable bytes that are not on the device. */
static void reply_classic(fuse_req_t req, size_t size, off_t off)
{
	static char buf[128 << 10];

	if (off >= (off_t)FILE_SIZE)
		size = 0;
	else if (size > FILE_SIZE - off)
		size = FILE_SIZE - off;
	if (size > sizeof(buf))
		size = sizeof(buf);
	memset(buf, HOSTILE_CLASSIC_BYTE, size);
	fuse_reply_buf(req, buf, size);
}

static bool spawn(void *(*fn)(void *), void *arg);

/* The held read of "moving_src" (see hostile.h) */
struct held_read {
	fuse_req_t req;
	size_t size;
	off_t off;
};

/*
 * Read "moving" through the mount: its BEGIN (served by the main loop
 * meanwhile) tells the kernel the new cookie.  Then let the reader of
 * "moving_src" go on.
 */
static void *move_announce_thread(void *arg)
{
	struct held_read *h = arg;
	char path[512], *buf = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", hs.mountpoint,
		 hostile_kinds[HOSTILE_MOVING]);
	fd = open(path, O_RDONLY);
	if (fd < 0 || !(buf = malloc(BLOCK)) ||
	    pread(fd, buf, BLOCK, FILE_SIZE / 2) != BLOCK)
		hs_log(2 + HOSTILE_MOVING, "announce failed");
	else
		hs_log(2 + HOSTILE_MOVING, "announced");
	reply_classic(h->req, h->size, h->off);
	free(h);
	/* After the reply: the close (flush) waits for the writer's lock */
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Copy "moving" to its new place and spoil the old one. */
static int move_blocks(void)
{
	char *buf = malloc(FILE_SIZE);
	int ret = -1;

	if (!buf)
		return -1;
	if (pread(hs.dev_fd, buf, FILE_SIZE, HOSTILE_MOVE_FROM) != FILE_SIZE ||
	    pwrite(hs.dev_fd, buf, FILE_SIZE, HOSTILE_MOVE_TO) != FILE_SIZE)
		goto out;
	memset(buf, HOSTILE_MOVED_BYTE, FILE_SIZE);
	if (pwrite(hs.dev_fd, buf, FILE_SIZE, HOSTILE_MOVE_FROM) != FILE_SIZE)
		goto out;
	/* The kernel's bios do not see our page cache: put it on the disk */
	ret = fdatasync(hs.dev_fd);
out:
	free(buf);
	return ret;
}

static void hs_read(fuse_req_t req, fuse_ino_t nodeid, size_t size,
		    off_t off, struct fuse_file_info *fi)
{
	struct held_read *h;

	(void)fi;
	hs_log(nodeid, "READ off=%lld size=%zu", (long long)off, size);
	if (kind_of(nodeid) == HOSTILE_DEVCACHE_SRC) {
		/* The server's view of "good", now in the device's cache */
		char blk[BLOCK];

		if (pread(hs.dev_fd, blk, BLOCK, HOSTILE_DEV_OFF) != BLOCK)
			hs_log(nodeid, "device read failed");
	}
	if (kind_of(nodeid) == HOSTILE_MOVING_SRC && !hs.move_started) {
		hs.move_started = true;
		if (move_blocks()) {
			hs_log(2 + HOSTILE_MOVING, "move failed");
		} else {
			atomic_store(&hs.moved, true);
			h = malloc(sizeof(*h));
			if (h) {
				*h = (struct held_read){ req, size, off };
				if (spawn(move_announce_thread, h))
					return;
				free(h);
			}
		}
	}
	reply_classic(req, size, off);
}

static void hs_write(fuse_req_t req, fuse_ino_t nodeid, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)buf;
	(void)off;
	(void)fi;
	hs_log(nodeid, "WRITE size=%zu", size);
	fuse_reply_write(req, hs.short_write && size > 1 ? size / 2 : size);
}

static void hs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (getenv("HOSTILE_WRITEBACK_CACHE") &&
	    (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	if (getenv("HOSTILE_NO_ATOMIC_O_TRUNC"))
		conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	/* an asynchronous direct write turns a short answer into EIO */
	if (hs.short_write)
		conn->want &= ~FUSE_CAP_ASYNC_DIO;
	/* HOSTILE_MAX_READAHEAD=BYTES: ask for less readahead than offered */
	if (getenv("HOSTILE_MAX_READAHEAD"))
		conn->max_readahead = atoi(getenv("HOSTILE_MAX_READAHEAD"));
	fuse_iomap_want(hs.is, fuse_iomap_kernel_offered(hs.is));
}

static const struct fuse_lowlevel_ops hs_ops = {
	.init = hs_init,
	.lookup = hs_lookup,
	.getattr = hs_getattr,
	.setattr = hs_setattr,
	.open = hs_open,
	.read = hs_read,
	.write = hs_write,
	.getxattr = hs_getxattr,
	.removexattr = hs_removexattr,
	.forget = hs_forget,
	.forget_multi = hs_forget_multi,
	.copy_file_range = hs_copy_file_range,
	.ioctl = hs_ioctl,
};

static void note(FILE *f, const char *name, int ret)
{
	fprintf(f, "%s %d\n", name, ret < 0 ? errno : 0);
}

/* The registration ioctl with bad arguments, straight to the kernel. */
static void try_bad_registrations(void)
{
	int fuse_fd = fuse_session_fd(hs.se);
	struct fuse_iomap_dev_map map = { 0 };
	char path[256];
	FILE *f = fopen(hs.results, "w");
	int fd;

	if (!f)
		return;
	snprintf(path, sizeof(path), "%s/hostile-regular.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	map.fd = fd;
	note(f, "regular_file", ioctl(fuse_fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
	close(fd);
	unlink(path);

	fd = open(hs.device, O_RDONLY);
	map.fd = fd;
	note(f, "read_only", ioctl(fuse_fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
	close(fd);

	map.fd = hs.dev_fd;
	map.flags = 1;
	note(f, "flags", ioctl(fuse_fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
	map.flags = 0;
	map.padding = 1;
	note(f, "padding", ioctl(fuse_fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
	map.padding = 0;
	map.fd = 1 << 30;
	note(f, "bad_fd", ioctl(fuse_fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
	fclose(f);
}

/*
 * HOSTILE_EXTRA_DEVS="name:path ...": register each device too and note
 * the outcome under its name.  A name starting with "ro" is set
 * read-only (BLKROSET) after it was opened read-write.
 */
static void try_extra_registrations(void)
{
	const char *env = getenv("HOSTILE_EXTRA_DEVS");
	char *list, *tok, *save = NULL;
	FILE *f;

	if (!env)
		return;
	f = fopen(hs.results, "a");
	list = strdup(env);
	if (!f || !list)
		goto out;
	for (tok = strtok_r(list, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *path = strchr(tok, ':');
		struct fuse_iomap_dev_map map = { 0 };
		int one = 1, fd;

		if (!path)
			continue;
		*path++ = 0;
		fd = open(path, O_RDWR);
		if (fd < 0) {
			note(f, tok, -1);
			continue;
		}
		if (!strncmp(tok, "ro", 2) && ioctl(fd, BLKROSET, &one))
			perror("hostile_server: BLKROSET");
		map.fd = fd;
		note(f, tok, ioctl(fuse_session_fd(hs.se),
				   FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
		close(fd);
	}
out:
	free(list);
	if (f)
		fclose(f);
}

/* HOSTILE_RELEASE_TRIGGER: see hostile.h */
static void release_stale_ioend(void)
{
	fuse_iomap_req_t req = hs.stale_req;

	hs.stale_req = NULL;
	if (req)
		fuse_iomap_reply_ioend(req, hs.stale_reply);
}

/* HOSTILE_DEVDIRTY_TRIGGER: see hostile.h */
static void dirty_device_page(void)
{
	char buf[BLOCK];

	memset(buf, HOSTILE_DEVDIRTY_BYTE, sizeof(buf));
	if (pwrite(hs.dev_fd, buf, sizeof(buf), HOSTILE_DEVDIRTY_OFF) !=
	    (ssize_t)sizeof(buf))
		perror("hostile_server: dirtying the device");
}

/* HOSTILE_LATE_TRIGGER: see hostile.h */
static void register_late(void)
{
	const char *path = getenv("HOSTILE_LATE_DEV");
	struct fuse_iomap_dev_map map = { 0 };
	FILE *f = fopen(hs.results, "a");
	int fd;

	if (!f)
		return;
	fd = path ? open(path, O_RDWR) : -1;
	if (fd < 0) {
		note(f, "late", -1);
	} else {
		map.fd = fd;
		note(f, "late", ioctl(fuse_session_fd(hs.se),
				      FUSE_DEV_IOC_IOMAP_DEV_ADD, &map));
		close(fd);
	}
	fclose(f);
}

static void hs_negotiated(void *userdata, bool iomap)
{
	int err;

	(void)userdata;
	if (!iomap) {
		fprintf(stderr, "hostile_server: iomap not negotiated\n");
		fuse_session_exit(hs.se);
		return;
	}
	try_bad_registrations();
	try_extra_registrations();
	err = fuse_iomap_add_device(hs.is, hs.dev_fd, &hs.dev_id);
	if (err) {
		fprintf(stderr, "hostile_server: registration: %s\n",
			strerror(-err));
		fuse_session_exit(hs.se);
	}
}

/* Write a BEGIN reply without the library's checks. */
static void reply_raw(fuse_iomap_req_t req,
		      const struct fuse_iomap_mapping *map, uint64_t cookie)
{
	struct fuse_iomap_begin_out out = { .map = *map, .cookie = cookie };
	struct fuse_out_header oh = {
		.len = sizeof(oh) + sizeof(out),
		.unique = req->unique,
	};
	struct iovec iov[2] = {
		{ &oh, sizeof(oh) },
		{ &out, sizeof(out) },
	};

	if (writev(fuse_session_fd(hs.se), iov, 2) < 0)
		perror("hostile_server: reply");
	free(req);
}

/*
 * The barrier files (hostile.h): the first BEGIN or IOEND is answered
 * 500 ms late from a thread of its own, while another thread sends
 * FUSE_NOTIFY_INVAL_INODE with a data range for the file.  The IO in
 * flight needs the held reply, so a real barrier returns only after it
 * went out; the log says which came first.
 */
struct held_reply {
	fuse_iomap_req_t req;
	bool begin;
	struct fuse_iomap_mapping map;	/* for a BEGIN */
};

static void reply_raw(fuse_iomap_req_t req,
		      const struct fuse_iomap_mapping *map, uint64_t cookie);

static void *held_reply_thread(void *arg)
{
	struct held_reply *h = arg;

	sleep_ms(500);
	atomic_store(&hs.barrier_replied, true);
	if (h->begin)
		reply_raw(h->req, &h->map, 0);
	else
		fuse_iomap_reply_ioend(h->req, FILE_SIZE);
	free(h);
	return NULL;
}

static void *barrier_thread(void *arg)
{
	fuse_ino_t nodeid = (uintptr_t)arg;
	int err;

	err = fuse_lowlevel_notify_inval_inode(hs.se, nodeid, hs.barrier_off,
					       hs.barrier_off ? BLOCK : 0);
	hs_log(nodeid, "barrier waited=%d error=%d",
	       atomic_load(&hs.barrier_replied), err);
	return NULL;
}

static bool spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg))
		return false;
	pthread_detach(t);
	return true;
}

/*
 * Hold this reply back and start the barrier, once per barrier file;
 * false when the reply is for the caller to send now.
 */
static bool hold_for_barrier(fuse_iomap_req_t req, fuse_ino_t nodeid,
			     const struct fuse_iomap_mapping *map)
{
	int kind = kind_of(nodeid);
	bool *started = &hs.barrier_started[kind == HOSTILE_BARRIER_IOEND];
	struct held_reply *h;

	if (*started)
		return false;
	h = calloc(1, sizeof(*h));
	if (!h)
		return false;
	*started = true;
	h->req = req;
	h->begin = map != NULL;
	if (map)
		h->map = *map;
	if (!spawn(barrier_thread, (void *)(uintptr_t)nodeid))
		hs_log(nodeid, "barrier not started");
	if (!spawn(held_reply_thread, h)) {
		free(h);
		return false;
	}
	return true;
}

static void hs_begin(fuse_iomap_req_t req, fuse_ino_t nodeid,
		     const struct fuse_iomap_begin_in *in)
{
	struct fuse_iomap_mapping map = {
		.offset = 0,
		.length = FILE_SIZE,
		.addr = HOSTILE_DEV_OFF,
		.type = FUSE_IOMAP_TYPE_MAPPED,
		.dev = hs.dev_id,
	};
	const struct fuse_ctx *ctx = fuse_iomap_req_ctx(req);
	int kind = kind_of(nodeid);
	uint64_t cookie = 0;

	if (kind < 0) {
		fuse_iomap_reply_err(req, ESTALE);
		return;
	}
	hs_log(nodeid, "BEGIN opflags=0x%x uid=%u pid=%u", in->opflags,
	       ctx ? (unsigned int)ctx->uid : ~0u,
	       ctx ? (unsigned int)ctx->pid : ~0u);
	if (kind == HOSTILE_ENOSYS ||
	    (kind == HOSTILE_NO_REPORT &&
	     (in->opflags & FUSE_IOMAP_OP_REPORT))) {
		fuse_iomap_reply_err(req, ENOSYS);
		return;
	}
	if (kind == HOSTILE_WB_BEGIN_EINTR &&
	    (in->opflags & FUSE_IOMAP_OP_WRITEBACK)) {
		fuse_iomap_reply_err(req, EINTR);
		return;
	}
	switch (kind) {
	case HOSTILE_GOOD:
	case HOSTILE_WB_BEGIN_EINTR:
		break;
	case HOSTILE_OUTSIDE:
		map.addr = hs.dev_size;
		break;
	case HOSTILE_OUTSIDE_CACHED:
		map.addr = hs.dev_size;
		map.flags = FUSE_IOMAP_F_CACHE;
		break;
	case HOSTILE_CACHED:
		/* Only the kernel's kept copy can serve later IO. */
		if (hs.cached_begins++) {
			fuse_iomap_reply_err(req, EIO);
			return;
		}
		map.flags = FUSE_IOMAP_F_CACHE;
		break;
	case HOSTILE_PAST_END:
		map.addr = hs.dev_size - BLOCK;
		break;
	case HOSTILE_NOT_COVERING:
		map.offset = (in->pos & ~(uint64_t)(BLOCK - 1)) + BLOCK;
		break;
	case HOSTILE_ZERO_LENGTH:
		map.length = 0;
		break;
	case HOSTILE_FILE_OVERFLOW:
		map.length = ~(uint64_t)(BLOCK - 1);
		break;
	case HOSTILE_DEV_OVERFLOW:
		map.addr = ~(uint64_t)(BLOCK - 1);
		break;
	case HOSTILE_MISALIGNED:
		map.addr += 512;
		break;
	case HOSTILE_BAD_TYPE:
		map.type = FUSE_IOMAP_TYPE_MAX + 1;
		break;
	case HOSTILE_BAD_DEVICE:
		map.dev = hs.dev_id + 7;
		break;
	case HOSTILE_BAD_FLAGS:
		map.flags = 0x80;
		break;
	case HOSTILE_HOLE_WRITE:
	case HOSTILE_HOLE_ADDR:
		map.type = FUSE_IOMAP_TYPE_HOLE;
		map.dev = 0;
		map.addr = kind == HOSTILE_HOLE_ADDR ? HOSTILE_DEV_OFF :
			   FUSE_IOMAP_NULL_ADDR;
		break;
	case HOSTILE_IOEND_FAIL:
		map.type = FUSE_IOMAP_TYPE_UNWRITTEN;
		break;
	case HOSTILE_GROW_FAIL:
	case HOSTILE_STALE_SIZE:
		map.type = FUSE_IOMAP_TYPE_UNWRITTEN;
		map.length = GROW_SIZE;
		break;
	case HOSTILE_BARRIER_BEGIN:
		map.flags = FUSE_IOMAP_F_CACHE;
		if (hold_for_barrier(req, nodeid, &map))
			return;
		break;
	case HOSTILE_BARRIER_IOEND:
	case HOSTILE_IOEND_ENOSYS:
	case HOSTILE_IOEND_EAGAIN:
		map.type = FUSE_IOMAP_TYPE_UNWRITTEN;
		break;
	case HOSTILE_GROW:
		map.length = GROW_SIZE;
		break;
	case HOSTILE_WANT_END:
		map.flags = FUSE_IOMAP_F_WANT_END;
		break;
	case HOSTILE_NEW:
		map.flags = FUSE_IOMAP_F_NEW;
		break;
	case HOSTILE_STREAM:
	case HOSTILE_STREAM_FAIL:
		/* what the kernel defers: a kept run starting where it writes */
		map.type = FUSE_IOMAP_TYPE_UNWRITTEN;
		map.flags = FUSE_IOMAP_F_CACHE;
		map.offset = in->pos & ~(uint64_t)(BLOCK - 1);
		map.length = GROW_SIZE - map.offset;
		map.addr += map.offset;
		break;
	case HOSTILE_COPY_DST:
		/* unwritten and kept until the copy wrote it */
		map.addr = HOSTILE_COPY_DEV_OFF;
		if (!hs.copied) {
			map.type = FUSE_IOMAP_TYPE_UNWRITTEN;
			map.flags = FUSE_IOMAP_F_CACHE;
		}
		break;
	case HOSTILE_INLINE_DIRECT:
		map.type = FUSE_IOMAP_TYPE_INLINE;
		map.length = BLOCK;
		map.dev = 0;
		map.addr = FUSE_IOMAP_NULL_ADDR;
		break;
	case HOSTILE_MOVING:
		cookie = atomic_load(&hs.moved) ? 2 : 1;
		map.addr = cookie == 2 ? HOSTILE_MOVE_TO : HOSTILE_MOVE_FROM;
		break;
	case HOSTILE_COOKIE_BACK:
		cookie = hs.cookie_back_started ? 1 : 1000;
		hs.cookie_back_started = true;
		break;
	}
	reply_raw(req, &map, cookie);
}

static void hs_end(fuse_iomap_req_t req, fuse_ino_t nodeid,
		   const struct fuse_iomap_end_in *in)
{
	hs_log(nodeid, "END written=%llu count=%llu",
	       (unsigned long long)in->written, (unsigned long long)in->count);
	fuse_iomap_reply_end(req);
}

/*
 * "stale_size": the size grows with APPEND, as a real server's; the first
 * answer is held and then given with the size of when the IOEND came,
 * as a server answers that computed it before a truncate overtook it.
 */
static void stale_size_ioend(fuse_iomap_req_t req, fuse_ino_t nodeid,
			     const struct fuse_iomap_ioend_in *in)
{
	if ((in->flags & FUSE_IOMAP_IOEND_APPEND) &&
	    in->pos + in->written > hs.stale_size) {
		hs.stale_size = in->pos + in->written;
		hs_log(nodeid, "size %llu", (unsigned long long)hs.stale_size);
	}
	if (hs.stale_held_once) {
		fuse_iomap_reply_ioend(req, hs.stale_size);
		return;
	}
	hs.stale_held_once = true;
	hs.stale_req = req;
	hs.stale_reply = hs.stale_size;
}

static void hs_ioend(fuse_iomap_req_t req, fuse_ino_t nodeid,
		     const struct fuse_iomap_ioend_in *in)
{
	int kind = kind_of(nodeid);

	hs_log(nodeid, "IOEND pos=%llu written=%llu flags=0x%x error=%d",
	       (unsigned long long)in->pos, (unsigned long long)in->written,
	       in->flags, in->error);
	if (kind == HOSTILE_STALE_SIZE) {
		stale_size_ioend(req, nodeid, in);
		return;
	}
	if (kind == HOSTILE_IOEND_FAIL || kind == HOSTILE_GROW_FAIL ||
	    kind == HOSTILE_STREAM_FAIL)
		fuse_iomap_reply_err(req, EIO);
	else if (kind == HOSTILE_IOEND_ENOSYS)
		fuse_iomap_reply_err(req, ENOSYS);
	else if (kind == HOSTILE_IOEND_EAGAIN)
		fuse_iomap_reply_err(req, EAGAIN);
	else if (kind != HOSTILE_BARRIER_IOEND ||
		 !hold_for_barrier(req, nodeid, NULL))
		fuse_iomap_reply_ioend(req, FILE_SIZE);
}

static const struct fuse_iomap_ops hs_iomap_ops = {
	.negotiated = hs_negotiated,
	.begin = hs_begin,
	.end = hs_end,
	.ioend = hs_ioend,
};

int main(int argc, char *argv[])
{
	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	int ret = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: %s DEVICE MOUNTPOINT RESULTS [-f]\n",
			argv[0]);
		return 2;
	}
	hs.device = argv[1];
	hs.mountpoint = argv[2];
	hs.results = argv[3];
	hs.short_write = getenv("HOSTILE_SHORT_WRITE") != NULL;
	if (getenv("HOSTILE_BARRIER_OFFSET"))
		hs.barrier_off = atoll(getenv("HOSTILE_BARRIER_OFFSET"));
	if (getenv("HOSTILE_SETATTR_DELAY_MS"))
		hs.setattr_delay_ms = atoi(getenv("HOSTILE_SETATTR_DELAY_MS"));
	if (getenv("HOSTILE_LOG")) {
		hs.log_fd = open(getenv("HOSTILE_LOG"),
				 O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (hs.log_fd < 0)
			perror(getenv("HOSTILE_LOG"));
	}
	hs.dev_fd = open(hs.device, O_RDWR);
	if (hs.dev_fd < 0 || ioctl(hs.dev_fd, BLKGETSIZE64, &hs.dev_size)) {
		perror(hs.device);
		return 1;
	}

	hs.se = fuse_session_new(&args, &hs_ops, sizeof(hs_ops), NULL);
	if (!hs.se)
		goto out;
	if (fuse_session_mount(hs.se, argv[2]))
		goto out_session;
	hs.is = fuse_iomap_session_new(hs.se, &hs_iomap_ops, NULL);
	if (!hs.is)
		goto out_unmount;
	ret = fuse_iomap_session_loop(hs.is) ? 1 : 0;
	fuse_iomap_session_destroy(hs.is);
out_unmount:
	fuse_session_unmount(hs.se);
out_session:
	fuse_session_destroy(hs.se);
out:
	fuse_opt_free_args(&args);
	close(hs.dev_fd);
	return ret;
}
