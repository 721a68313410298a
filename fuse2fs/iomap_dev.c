// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block device fuse2fs hands to the kernel, and keeping libext2fs's
 * view of the device coherent with the kernel's direct IO on it.
 *
 * After FUSE_INIT negotiated FUSE_IOMAP we open the device (an image file
 * becomes a loop device, configured with LO_FLAGS_AUTOCLEAR so it vanishes
 * once both we and the kernel close it) and register it.  Any failure
 * means classic FUSE for every file, with one message; -o iomap=on turns
 * that into a failed mount.
 *
 * Coherence.  The kernel writes only data blocks we mapped for it, but
 * libext2fs reads and writes the same device:
 *  - libext2fs's unix_io keeps a private write-back cache of a few blocks;
 *    we switch it off ("cache=off") once iomap is active, so every
 *    libext2fs access is a plain pread/pwrite.
 *  - On a loop device over an image file the loop driver does buffered IO
 *    on the image, so the kernel's IO and libext2fs's pread/pwrite meet in
 *    the image's page cache: coherent with nothing more to do.  (We do not
 *    ask for LO_FLAGS_DIRECT_IO for exactly this reason.)
 *  - On a real block device the kernel's bios bypass the device's page
 *    cache, which libext2fs's pread/pwrite use.  So (1) before handing out
 *    a mapping, if libext2fs wrote anything since the last full flush (a
 *    tap on the io_channel's write functions tells us), we write back the
 *    device's dirty pages in the mapped range: neither a stale read of
 *    data libext2fs wrote (an inline file that moved into blocks) nor a
 *    late write-back of a freed metadata block can hit the kernel's data;
 *    (2) when a file leaves iomap mode, f2_iomap_drop_caches() drops the
 *    device's clean cached pages, so libext2fs rereads what the kernel
 *    wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/loop.h>
#include <et/com_err.h>

#include "iomap.h"

struct fuse2fs *f2_iomap_fs;

/* io_channel tap: did libext2fs write since the last sync? */
static struct struct_io_manager tap_mgr;
static io_manager tap_orig;
static bool tap_dirty;

static errcode_t tap_write_blk(io_channel ch, unsigned long blk, int count,
			       const void *buf)
{
	tap_dirty = true;
	return tap_orig->write_blk(ch, blk, count, buf);
}

static errcode_t tap_write_blk64(io_channel ch, unsigned long long blk,
				 int count, const void *buf)
{
	tap_dirty = true;
	return tap_orig->write_blk64(ch, blk, count, buf);
}

static errcode_t tap_write_byte(io_channel ch, unsigned long off, int count,
				const void *buf)
{
	tap_dirty = true;
	return tap_orig->write_byte(ch, off, count, buf);
}

static errcode_t tap_zeroout(io_channel ch, unsigned long long blk,
			     unsigned long long count)
{
	tap_dirty = true;
	return tap_orig->zeroout(ch, blk, count);
}

static void tap_install(ext2_filsys fs)
{
	if (tap_orig)
		return;
	tap_orig = fs->io->manager;
	tap_mgr = *tap_orig;
	if (tap_orig->write_blk)
		tap_mgr.write_blk = tap_write_blk;
	if (tap_orig->write_blk64)
		tap_mgr.write_blk64 = tap_write_blk64;
	if (tap_orig->write_byte)
		tap_mgr.write_byte = tap_write_byte;
	if (tap_orig->zeroout)
		tap_mgr.zeroout = tap_zeroout;
	fs->io->manager = &tap_mgr;
	tap_dirty = true;
}

int f2_iomap_sync_for_kernel(struct fuse2fs *f2)
{
	errcode_t err;

	if (!tap_orig || !tap_dirty)
		return 0;
	err = io_channel_flush(f2->fs->io);
	if (err)
		return f2_errno(err);
	tap_dirty = false;
	return 0;
}

int f2_iomap_sync_range(struct fuse2fs *f2, uint64_t addr, uint64_t len)
{
	unsigned int how = SYNC_FILE_RANGE_WAIT_BEFORE |
			   SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

	if (!tap_orig || !tap_dirty || f2->iomap_bdev_fd < 0)
		return 0;
	/* Dirty device pages there would later overwrite the kernel's bios. */
	if (sync_file_range(f2->iomap_bdev_fd, addr, len, how) < 0)
		return errno;
	return 0;
}

void f2_iomap_drop_caches(struct fuse2fs *f2, ext2_ino_t ino)
{
	(void)ino;
	f2_io_forget_blocks();	/* the copies iochan.c keeps, too */
	if (!tap_orig || f2->iomap_bdev_fd < 0)
		return;
	/* Dirty pages are libext2fs's own: write them, then drop all. */
	if (f2_iomap_sync_for_kernel(f2) == 0)
		posix_fadvise(f2->iomap_bdev_fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* Attach path to a free loop device; returns the open loop fd or -errno. */
static int loop_attach(const char *path, bool ro, char *name, size_t len)
{
	int mode = ro ? O_RDONLY : O_RDWR;
	struct loop_config cfg;
	int ctl, backing, fd = -ENODEV;
	int tries, nr;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	backing = open(path, mode | O_CLOEXEC);
	if (backing < 0) {
		fd = -errno;
		goto out_ctl;
	}
	/* Another process may grab the device between GET_FREE and us. */
	for (tries = 0; tries < 8; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			fd = -errno;
			break;
		}
		snprintf(name, len, "/dev/loop%d", nr);
		fd = open(name, mode | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = backing;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR |
				    (ro ? LO_FLAGS_READ_ONLY : 0);
		if (ioctl(fd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		close(fd);
		fd = -errno;
		if (fd != -EBUSY)
			break;
	}
	close(backing);
out_ctl:
	close(ctl);
	return fd;
}

/* Open and register fd; -errno on failure (fd is closed then). */
static int register_fd(struct fuse2fs *f2, int fd)
{
	int ret = fuse_iomap_add_device(f2->iomap, fd, &f2->iomap_dev);

	if (ret < 0)
		close(fd);
	return ret < 0 ? ret : fd;
}

/*
 * Open and register the device; the registered fd or -errno with a
 * message.  An image file is offered as is first: a transport that is not
 * /dev/fuse (the protocol test harness) takes regular files, the kernel
 * answers -ENOTBLK and then gets a loop device.
 */
static int open_device(struct fuse2fs *f2, bool *is_loop)
{
	int mode = (f2->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	char loopname[32];
	struct stat st;
	int fd;

	*is_loop = false;
	if (!f2->device || stat(f2->device, &st) < 0) {
		fd = f2->device ? -errno : -ENOENT;
		fprintf(stderr, "fuse2fs: iomap: cannot stat %s: %s\n",
			f2->device ? f2->device : "(no device)",
			strerror(-fd));
		return fd;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		fprintf(stderr,
			"fuse2fs: iomap: %s is neither a block device nor an image file\n",
			f2->device);
		return -ENOTBLK;
	}
	/* A descriptor handed over may not be ours to reopen by path. */
	fd = f2_inherited_fd(f2->device);
	fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : open(f2->device, mode);
	if (fd < 0) {
		fd = -errno;
		fprintf(stderr, "fuse2fs: iomap: cannot open %s: %s\n",
			f2->device, strerror(-fd));
		return fd;
	}
	fd = register_fd(f2, fd);
	if (fd >= 0 || S_ISBLK(st.st_mode) || fd != -ENOTBLK)
		goto out;

	fd = loop_attach(f2->device, f2->ro, loopname, sizeof(loopname));
	if (fd < 0) {
		fprintf(stderr,
			"fuse2fs: iomap: cannot set up a loop device for %s: %s\n",
			f2->device, strerror(-fd));
		return fd;
	}
	*is_loop = true;
	if (f2->debug)
		fprintf(stderr, "fuse2fs: iomap: %s attached to %s\n",
			f2->device, loopname);
	fd = register_fd(f2, fd);
out:
	if (fd < 0)
		fprintf(stderr, "fuse2fs: iomap: registering %s failed: %s\n",
			f2->device, strerror(-fd));
	return fd;
}

static bool is_blockdev(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISBLK(st.st_mode);
}

/*
 * The exclusive open main.c leaves to us on a block device that iomap
 * would have claimed: nothing mounts it or uses it as swap while this
 * server writes it, with or without iomap.  The sandbox keeps it open.
 */
static void claim_device(struct fuse2fs *f2)
{
	struct stat st;

	if (f2->ro || f2->claim_fd >= 0 || !f2->device ||
	    stat(f2->device, &st) || !S_ISBLK(st.st_mode))
		return;
	f2->claim_fd = open(f2->device, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (f2->claim_fd < 0)
		fprintf(stderr, "fuse2fs: warning: %s: cannot open it exclusively: %s\n",
			f2->device, strerror(errno));
}

/*
 * expected: the kernel offers no iomap, the normal outcome of
 * iomap=auto on most kernels; anything else (a kernel that offers iomap
 * but no device for it) is worth a line.
 */
static void fall_back(struct fuse2fs *f2, const char *why, bool expected)
{
	claim_device(f2);
	f2->iomap_active = false;
	if (f2->iomap_mode == F2_IOMAP_ON) {
		fprintf(stderr, "fuse2fs: -o iomap=on but %s; giving up\n",
			why);
		/* The server then exits non-zero, like init() refusing. */
		f2->init_failed = true;
		if (f2->se)
			fuse_session_exit(f2->se);
		return;
	}
	/*
	 * iomap=auto asked for exactly this: the best path the kernel has.
	 * A kernel without iomap is the normal case, and a mount that
	 * writes to stderr breaks scripts and test suites comparing output;
	 * each file's user.fuse2fs.iomap_mode attribute says why.
	 */
	if (f2->debug || !expected)
		fprintf(stderr,
			"fuse2fs: %s; classic FUSE read/write for all files\n",
			why);
}

void f2_iomap_negotiated(void *userdata, bool iomap)
{
	struct fuse2fs *f2 = userdata;
	bool is_loop;
	errcode_t err;
	int fd;

	f2_iomap_fs = f2;
	f2->iomap_negotiated = iomap;
	f2->iomap_active = false;
	f2->iomap_bdev_fd = -1;
	if (f2->iomap_mode == F2_IOMAP_OFF)
		return;
	if (!iomap) {
		/* iomap=on without kernel support already failed in init(). */
		if (f2->iomap_mode == F2_IOMAP_AUTO)
			fall_back(f2, "the kernel does not offer FUSE_IOMAP", true);
		return;
	}
	/* Said when iomap was required or asked about, as above. */
	if ((f2->iomap_mode == F2_IOMAP_ON || f2->debug) &&
	    (ext2fs_has_feature_bigalloc(f2->fs->super) ||
	     !ext2fs_has_feature_extents(f2->fs->super)))
		fprintf(stderr,
			"fuse2fs: iomap: no extent files here (%s); classic FUSE for all files\n",
			ext2fs_has_feature_bigalloc(f2->fs->super) ?
			"bigalloc" : "no extents feature");

	fd = open_device(f2, &is_loop);
	if (fd < 0) {
		fall_back(f2, "no block device for iomap", false);
		return;
	}
	/* From now on libext2fs must not hide writes from the kernel. */
	err = io_channel_set_options(f2->fs->io, "cache=off");
	if (err) {
		fprintf(stderr, "fuse2fs: iomap: cannot disable libext2fs's block cache: %s\n",
			error_message(err));
		close(fd);
		fall_back(f2, "libext2fs cache cannot be made coherent", false);
		return;
	}
	if (!is_loop && is_blockdev(fd))
		tap_install(f2->fs);
	f2->iomap_bdev_fd = fd;
	f2->iomap_active = true;
	if (f2->debug)
		fprintf(stderr, "fuse2fs: iomap active, device id %u\n",
			f2->iomap_dev);
}

void f2_iomap_release_device(struct fuse2fs *f2)
{
	if (!f2)
		return;
	f2_iomap_notify_drain();
	if (f2->claim_fd >= 0) {
		close(f2->claim_fd);
		f2->claim_fd = -1;
	}
	/* The kernel is gone: give back unused look-ahead blocks. */
	if (f2->fs)
		f2_iomap_forget_all(f2);
	if (f2->iomap_bdev_fd < 0)
		return;
	if (f2->fs)
		f2_iomap_sync_for_kernel(f2);
	/* Autoclear detaches a loop device once the kernel lets go too. */
	close(f2->iomap_bdev_fd);
	f2->iomap_bdev_fd = -1;
	f2->iomap_active = false;
}
