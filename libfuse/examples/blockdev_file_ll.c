// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * blockdev_file_ll: a lowlevel FUSE server whose one data file is a byte
 * range of a block device (or of an image file), served through fuse-iomap
 * when the kernel offers it and through classic FUSE_READ/WRITE otherwise.
 *
 * Usage:
 *   blockdev_file_ll [--iomap=off|auto|on] DEVICE OFFSET LENGTH MOUNTPOINT
 *                    [-f] [-d] [-o fuse_options]
 *
 *   DEVICE   block device or image file, opened read-write
 *   OFFSET   where the range starts on DEVICE, bytes, multiple of 4096
 *   LENGTH   size of the range and of /file, bytes, multiple of 4096, > 0
 *   --iomap  off: never ask for iomap; auto (default): use it if the kernel
 *            offers it; on: exit with status 1 right after FUSE_INIT if
 *            iomap could not be negotiated or DEVICE not registered
 *   MOUNTPOINT may be /dev/fd/N: N is an open /dev/fuse descriptor or, for
 *   tests/protocol, one end of a SOCK_SEQPACKET socket pair.
 *
 * The tree, fixed:
 *   /        directory, nodeid 1
 *   /file    nodeid 2, backing inode 12, size LENGTH; iomap mode when
 *            FUSE_IOMAP was negotiated and DEVICE could be registered.
 *            Every block is mapped (MAPPED at DEVICE offset OFFSET + pos);
 *            nothing is ever allocated, so the file never grows: writes at
 *            or past LENGTH fail with EFBIG, reads there see end of file.
 *   /hello   nodeid 3, backing inode 13, a short text kept in memory and
 *            always served classically (the per-inode fallback).
 *
 * CREATE of an existing name opens it (EEXIST with O_EXCL); new names get
 * EPERM.  Size changes other than to the current size, and O_TRUNC, get
 * EPERM: write into /file with dd conv=notrunc.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fuse_lowlevel.h>
#include "fuse_iomap_ll.h"

#define BLOCK_SIZE	4096
#define DIR_INO		1
#define FILE_NODEID	2
#define FILE_INO	12
#define HELLO_NODEID	3
#define HELLO_INO	13
#define TIMEOUT		1.0

static const char hello_text[] = "hello from blockdev_file_ll\n";

enum iomap_mode { IOMAP_OFF, IOMAP_AUTO, IOMAP_ON };

struct bdf {
	int dev_fd;
	uint64_t dev_off;
	uint64_t size;
	enum iomap_mode mode;
	struct fuse_session *se;
	struct fuse_iomap_session *is;
	bool file_iomap;	/* /file is served through iomap */
	uint32_t dev_id;
	struct timespec file_mtime, file_atime;
};

static struct bdf bdf;

static void fill_stat(fuse_ino_t nodeid, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_blksize = BLOCK_SIZE;
	st->st_uid = getuid();
	st->st_gid = getgid();
	switch (nodeid) {
	case DIR_INO:
		st->st_ino = DIR_INO;
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case FILE_NODEID:
		st->st_ino = FILE_INO;
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = bdf.size;
		st->st_blocks = bdf.size / 512;
		st->st_mtim = bdf.file_mtime;
		st->st_atim = bdf.file_atime;
		st->st_ctim = bdf.file_mtime;
		break;
	case HELLO_NODEID:
		st->st_ino = HELLO_INO;
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = sizeof(hello_text) - 1;
		st->st_blocks = 1;
		break;
	}
}

static uint32_t attr_flags(fuse_ino_t nodeid)
{
	return nodeid == FILE_NODEID && bdf.file_iomap ? FUSE_ATTR_IOMAP : 0;
}

static fuse_ino_t name_to_nodeid(const char *name)
{
	if (!strcmp(name, "file"))
		return FILE_NODEID;
	if (!strcmp(name, "hello"))
		return HELLO_NODEID;
	return 0;
}

static void fill_entry(fuse_ino_t nodeid, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nodeid;
	e->generation = 1;
	e->attr_timeout = TIMEOUT;
	e->entry_timeout = TIMEOUT;
	fill_stat(nodeid, &e->attr);
}

static bool valid_nodeid(fuse_ino_t nodeid)
{
	return nodeid == DIR_INO || nodeid == FILE_NODEID ||
	       nodeid == HELLO_NODEID;
}

static void bdf_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	(void)conn;
	if (bdf.mode != IOMAP_OFF && fuse_iomap_kernel_offered(bdf.is))
		fuse_iomap_want(bdf.is, true);
}

static void bdf_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	fuse_ino_t nodeid = name_to_nodeid(name);

	if (parent != DIR_INO) {
		fuse_reply_err(req, valid_nodeid(parent) ? ENOTDIR : ESTALE);
		return;
	}
	if (!nodeid) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_entry(nodeid, &e);
	fuse_iomap_reply_entry(req, &e, attr_flags(nodeid));
}

static void bdf_getattr(fuse_req_t req, fuse_ino_t nodeid,
			struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (!valid_nodeid(nodeid)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	fill_stat(nodeid, &st);
	fuse_iomap_reply_attr(req, &st, TIMEOUT, attr_flags(nodeid));
}

static void bdf_setattr(fuse_req_t req, fuse_ino_t nodeid, struct stat *attr,
			int to_set, struct fuse_file_info *fi)
{
	struct timespec now;
	struct stat st;

	(void)fi;
	if (!valid_nodeid(nodeid)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	fill_stat(nodeid, &st);
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID) ||
	    (to_set & FUSE_SET_ATTR_SIZE && attr->st_size != st.st_size) ||
	    (nodeid != FILE_NODEID && to_set)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_MTIME)
		bdf.file_mtime = attr->st_mtim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		bdf.file_mtime = now;
	if (to_set & FUSE_SET_ATTR_ATIME)
		bdf.file_atime = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		bdf.file_atime = now;
	fill_stat(nodeid, &st);
	fuse_iomap_reply_attr(req, &st, TIMEOUT, attr_flags(nodeid));
}

/*
 * The -errno for opening an existing nodeid with @flags, 0 if allowed:
 * the hello file is read-only, and O_TRUNC (libfuse asks for it to be
 * atomic) is refused because no size can change.
 */
static int open_flags_error(fuse_ino_t nodeid, int flags)
{
	if (nodeid == HELLO_NODEID && (flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	if (flags & O_TRUNC)
		return -EPERM;
	return 0;
}

static void bdf_open(fuse_req_t req, fuse_ino_t nodeid,
		     struct fuse_file_info *fi)
{
	int err;

	if (nodeid == DIR_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (!valid_nodeid(nodeid)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	err = open_flags_error(nodeid, fi->flags);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fuse_reply_open(req, fi);
}

static void bdf_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	fuse_ino_t nodeid = name_to_nodeid(name);
	int err;

	(void)mode;
	if (parent != DIR_INO) {
		fuse_reply_err(req, valid_nodeid(parent) ? ENOTDIR : ESTALE);
		return;
	}
	if (!nodeid) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fi->flags & O_EXCL) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	err = open_flags_error(nodeid, fi->flags);
	if (err) {
		fuse_reply_err(req, -err);
		return;
	}
	fill_entry(nodeid, &e);
	fuse_iomap_reply_create(req, &e, fi, attr_flags(nodeid));
}

/* Clamp [off, off + *size) to a file of length len; false past the end. */
static bool clamp(off_t off, size_t *size, uint64_t len)
{
	if (off < 0 || (uint64_t)off >= len) {
		*size = 0;
		return false;
	}
	if (*size > len - off)
		*size = len - off;
	return true;
}

static void bdf_read(fuse_req_t req, fuse_ino_t nodeid, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	char *buf;
	ssize_t n;

	(void)fi;
	if (nodeid == HELLO_NODEID) {
		clamp(off, &size, sizeof(hello_text) - 1);
		fuse_reply_buf(req, size ? hello_text + off : NULL, size);
		return;
	}
	if (nodeid != FILE_NODEID) {
		fuse_reply_err(req, nodeid == DIR_INO ? EISDIR : ESTALE);
		return;
	}
	if (!clamp(off, &size, bdf.size) || !size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/* never trust size beyond the range: it is clamped above */
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = pread(bdf.dev_fd, buf, size, bdf.dev_off + off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void bdf_write(fuse_req_t req, fuse_ino_t nodeid, const char *buf,
		      size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	(void)fi;
	if (nodeid != FILE_NODEID) {
		fuse_reply_err(req, valid_nodeid(nodeid) ? EBADF : ESTALE);
		return;
	}
	if (size && !clamp(off, &size, bdf.size)) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	n = pwrite(bdf.dev_fd, buf, size, bdf.dev_off + off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, n);
}

static void bdf_fsync(fuse_req_t req, fuse_ino_t nodeid, int datasync,
		      struct fuse_file_info *fi)
{
	(void)nodeid;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, fdatasync(bdf.dev_fd) ? errno : 0);
}

static void bdf_flush(fuse_req_t req, fuse_ino_t nodeid,
		      struct fuse_file_info *fi)
{
	(void)nodeid;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void bdf_opendir(fuse_req_t req, fuse_ino_t nodeid,
			struct fuse_file_info *fi)
{
	if (nodeid != DIR_INO) {
		fuse_reply_err(req, valid_nodeid(nodeid) ? ENOTDIR : ESTALE);
		return;
	}
	fuse_reply_open(req, fi);
}

static const char *const dir_names[] = { ".", "..", "file", "hello" };
static const fuse_ino_t dir_nodeids[] = {
	DIR_INO, DIR_INO, FILE_NODEID, HELLO_NODEID
};
#define DIR_ENTRIES	4

/* Directory offsets are entry indexes plus one. */
static void reply_dir(fuse_req_t req, fuse_ino_t nodeid, size_t size,
		      off_t off, bool plus)
{
	char *buf, *p;
	size_t used = 0, len;
	struct fuse_entry_param e;
	int i;

	if (nodeid != DIR_INO) {
		fuse_reply_err(req, valid_nodeid(nodeid) ? ENOTDIR : ESTALE);
		return;
	}
	if (off < 0 || off >= DIR_ENTRIES) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > 65536)
		size = 65536;
	buf = calloc(1, size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off; i < DIR_ENTRIES; i++) {
		p = buf + used;
		fill_entry(dir_nodeids[i], &e);
		if (plus)
			len = fuse_iomap_add_direntry_plus(req, p, size - used,
					dir_names[i], &e, i + 1,
					attr_flags(dir_nodeids[i]));
		else
			len = fuse_add_direntry(req, p, size - used,
						dir_names[i], &e.attr, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void bdf_readdir(fuse_req_t req, fuse_ino_t nodeid, size_t size,
			off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	reply_dir(req, nodeid, size, off, false);
}

static void bdf_readdirplus(fuse_req_t req, fuse_ino_t nodeid, size_t size,
			    off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	reply_dir(req, nodeid, size, off, true);
}

static const struct fuse_lowlevel_ops bdf_ops = {
	.init = bdf_init,
	.lookup = bdf_lookup,
	.getattr = bdf_getattr,
	.setattr = bdf_setattr,
	.open = bdf_open,
	.create = bdf_create,
	.read = bdf_read,
	.write = bdf_write,
	.flush = bdf_flush,
	.fsync = bdf_fsync,
	.opendir = bdf_opendir,
	.readdir = bdf_readdir,
	.readdirplus = bdf_readdirplus,
};

static void bdf_negotiated(void *userdata, bool iomap)
{
	int err;

	(void)userdata;
	if (iomap) {
		err = fuse_iomap_add_device(bdf.is, bdf.dev_fd, &bdf.dev_id);
		if (!err)
			bdf.file_iomap = true;
		else
			fprintf(stderr,
				"blockdev_file_ll: device registration: %s; /file stays classic\n",
				strerror(-err));
	}
	if (bdf.mode == IOMAP_ON && !bdf.file_iomap) {
		fprintf(stderr, "blockdev_file_ll: iomap=on but iomap unavailable\n");
		fuse_session_exit(bdf.se);
	}
}

/* An iomap request must name /file by nodeid and backing inode. */
static int check_iomap_inode(fuse_ino_t nodeid, uint64_t attr_ino)
{
	if (!valid_nodeid(nodeid))
		return -ESTALE;
	if (nodeid != FILE_NODEID || !bdf.file_iomap)
		return -EOPNOTSUPP;
	if (attr_ino != FILE_INO)
		return -ESTALE;
	return 0;
}

static void bdf_iomap_begin(fuse_iomap_req_t req, fuse_ino_t nodeid,
			    const struct fuse_iomap_begin_in *in)
{
	struct fuse_iomap_mapping map = { 0 };
	uint64_t start = in->pos - in->pos % BLOCK_SIZE;
	uint64_t end;
	int err = check_iomap_inode(nodeid, in->attr_ino);

	if (err) {
		fuse_iomap_reply_err(req, -err);
		return;
	}
	map.offset = start;
	if (start >= bdf.size) {
		/* past the range: no blocks, and no allocation either */
		if (in->opflags & FUSE_IOMAP_OP_WRITE &&
		    !(in->opflags & FUSE_IOMAP_OP_REPORT)) {
			fuse_iomap_reply_err(req, EFBIG);
			return;
		}
		/* to the end of the last block asked for, within loff_t */
		end = in->pos + in->count;
		if (end % BLOCK_SIZE) {
			if (end > INT64_MAX - BLOCK_SIZE)
				end = INT64_MAX;
			else
				end += BLOCK_SIZE - end % BLOCK_SIZE;
		}
		map.length = end - start;
		map.type = FUSE_IOMAP_TYPE_HOLE;
		map.addr = FUSE_IOMAP_NULL_ADDR;
		map.dev = 0;
	} else {
		map.length = bdf.size - start;
		map.type = FUSE_IOMAP_TYPE_MAPPED;
		map.addr = bdf.dev_off + start;
		map.dev = bdf.dev_id;
	}
	fuse_iomap_reply_begin(req, &map);
}

static void bdf_iomap_end(fuse_iomap_req_t req, fuse_ino_t nodeid,
			  const struct fuse_iomap_end_in *in)
{
	int err = check_iomap_inode(nodeid, in->attr_ino);

	/* nothing was reserved in BEGIN, so nothing to give back */
	if (err)
		fuse_iomap_reply_err(req, -err);
	else
		fuse_iomap_reply_end(req);
}

static void bdf_iomap_ioend(fuse_iomap_req_t req, fuse_ino_t nodeid,
			    const struct fuse_iomap_ioend_in *in)
{
	int err = check_iomap_inode(nodeid, in->attr_ino);

	/* every block is written already: no conversion, no growth */
	if (err)
		fuse_iomap_reply_err(req, -err);
	else
		fuse_iomap_reply_ioend(req, bdf.size);
}

static const struct fuse_iomap_ops bdf_iomap_ops = {
	.negotiated = bdf_negotiated,
	.begin = bdf_iomap_begin,
	.end = bdf_iomap_end,
	.ioend = bdf_iomap_ioend,
};

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"Usage: %s [--iomap=off|auto|on] DEVICE OFFSET LENGTH MOUNTPOINT [-f] [-d] [-o opts]\n",
		prog);
}

/* Leading options and the three positional arguments; rest to libfuse. */
static int parse_own_args(int *argc, char ***argv)
{
	char **av = *argv;
	int ac = *argc, i = 1;

	bdf.mode = IOMAP_AUTO;
	if (ac > 1 && !strncmp(av[1], "--iomap=", 8)) {
		const char *m = av[1] + 8;

		if (!strcmp(m, "off"))
			bdf.mode = IOMAP_OFF;
		else if (!strcmp(m, "auto"))
			bdf.mode = IOMAP_AUTO;
		else if (!strcmp(m, "on"))
			bdf.mode = IOMAP_ON;
		else
			return -1;
		i++;
	}
	if (ac - i < 4)
		return -1;
	bdf.dev_fd = open(av[i], O_RDWR | O_CLOEXEC);
	if (bdf.dev_fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", av[0], av[i], strerror(errno));
		return -1;
	}
	if (parse_u64(av[i + 1], &bdf.dev_off) ||
	    parse_u64(av[i + 2], &bdf.size) ||
	    bdf.dev_off % BLOCK_SIZE || bdf.size % BLOCK_SIZE || !bdf.size ||
	    bdf.dev_off > INT64_MAX || bdf.size > INT64_MAX - bdf.dev_off) {
		fprintf(stderr,
			"%s: OFFSET and LENGTH: multiples of %d, LENGTH > 0\n",
			av[0], BLOCK_SIZE);
		return -1;
	}
	/* keep argv[0], drop what we consumed */
	av[i + 2] = av[0];
	*argv = av + i + 2;
	*argc = ac - i - 2;
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args;
	struct fuse_cmdline_opts opts = { 0 };
	int ret = 1;

	if (parse_own_args(&argc, &argv)) {
		usage(argv[0]);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &bdf.file_mtime);
	bdf.file_atime = bdf.file_mtime;

	args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);
	if (fuse_parse_cmdline(&args, &opts) != 0 || !opts.mountpoint) {
		usage(argv[0]);
		goto out_args;
	}
	bdf.se = fuse_session_new(&args, &bdf_ops, sizeof(bdf_ops), &bdf);
	if (!bdf.se)
		goto out_opts;
	if (fuse_set_signal_handlers(bdf.se))
		goto out_session;
	if (fuse_session_mount(bdf.se, opts.mountpoint))
		goto out_signals;
	bdf.is = fuse_iomap_session_new(bdf.se, &bdf_iomap_ops, &bdf);
	if (!bdf.is) {
		perror("fuse_iomap_session_new");
		goto out_unmount;
	}
	fuse_daemonize(opts.foreground);
	ret = fuse_iomap_session_loop(bdf.is) ? 1 : 0;
	if (bdf.mode == IOMAP_ON && !bdf.file_iomap)
		ret = 1;
	fuse_iomap_session_destroy(bdf.is);
out_unmount:
	fuse_session_unmount(bdf.se);
out_signals:
	fuse_remove_signal_handlers(bdf.se);
out_session:
	fuse_session_destroy(bdf.se);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	close(bdf.dev_fd);
	return ret;
}
