// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: one input is an ext2/3/4 image.  fuse2fs runs in
 * this process (its main(), compiled as f2_fuzz_main(), in a thread) on
 * the image held in a memfd ("/dev/fd/N"), behind the protocol test
 * client (tests/protocol/wire.c) on a socket pair; the harness plays the
 * kernel: INIT offering iomap, then a bounded walk of the tree that asks
 * for everything a kernel would (LOOKUP via READDIRPLUS, GETATTR,
 * READLINK, LISTXATTR/GETXATTR, OPEN/READ/WRITE, IOMAP_BEGIN/IOEND on
 * iomap files, STATFS) and changes the namespace (CREATE, WRITE, SETXATTR,
 * MKDIR, SYMLINK, LINK, RENAME, UNLINK, RMDIR, FALLOCATE, SETATTR size).
 * An image whose superblock says errors=remount-ro is mounted read-only.
 * Built with ASan and UBSan: any report, leak or hang is a finding.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "wire.h"

int f2_fuzz_main(int argc, char *argv[]);

/* Bounds that keep one run short whatever the image holds. */
#define FZ_MAX_IMAGE	(4u << 20)
#define FZ_MAX_NODES	48
#define FZ_MAX_DEPTH	4
#define FZ_DIR_BYTES	(32u << 10)
#define FZ_READ_BYTES	(64u << 10)

struct server {
	char *argv[8];
	char dev[32], mnt[32];
	int sfd;		/* the server's end of the socket pair */
	struct stat sock_st;
	int ret;
};

/* Close the server's socket end unless fuse2fs did (a refused image). */
static void close_if_same(int fd, const struct stat *orig)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && st.st_ino == orig->st_ino &&
	    st.st_dev == orig->st_dev)
		close(fd);
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	s->ret = f2_fuzz_main(6, s->argv);
	/* The client sees end of file now, instead of waiting. */
	close_if_same(s->sfd, &s->sock_st);
	return NULL;
}

struct node {
	uint64_t nodeid;
	uint64_t ino;
	uint32_t mode;
	uint32_t flags;		/* fuse_attr.flags: FUSE_ATTR_IOMAP */
	uint64_t size;
	int depth;
};

struct walk {
	struct wire *w;
	struct node nodes[FZ_MAX_NODES];
	int count;
	struct wire_reply *r;
};

static int call_name(struct wire *w, uint32_t op, uint64_t nodeid,
		     const void *in, size_t inlen, const char *name,
		     struct wire_reply *r)
{
	struct iovec iov[2] = {
		{ (void *)in, inlen },
		{ (void *)name, strlen(name) + 1 },
	};

	return wire_callv(w, op, nodeid, iov, 2, r);
}

static void xattrs(struct walk *wk, const struct node *n)
{
	struct fuse_getxattr_in in = { .size = 4096 };
	struct wire_reply *r = wk->r;
	char names[4096];
	size_t len, pos;

	if (wire_call(wk->w, FUSE_LISTXATTR, n->nodeid, &in, sizeof(in), r))
		return;
	len = r->body_len < sizeof(names) ? r->body_len : sizeof(names) - 1;
	memcpy(names, r->body, len);
	names[len] = '\0';
	for (pos = 0; pos < len; pos += strlen(names + pos) + 1) {
		if (!names[pos])
			continue;
		call_name(wk->w, FUSE_GETXATTR, n->nodeid, &in, sizeof(in),
			  names + pos, r);
	}
}

/* The kernel's view of an iomap file: map, write through, convert. */
static void iomap_io(struct walk *wk, const struct node *n, uint64_t fh)
{
	struct fuse_iomap_mapping map;
	struct fuse_iomap_ioend_in ioend = {
		.attr_ino = n->ino,
		.pos = 0,
		.written = 4096,
		.flags = FUSE_IOMAP_IOEND_UNWRITTEN,
	};
	uint64_t size;

	(void)fh;
	wire_iomap_begin(wk->w, n->nodeid, n->ino, 0, 1 << 20, 0, &map);
	wire_iomap_begin(wk->w, n->nodeid, n->ino, n->size, 1 << 20,
			 FUSE_IOMAP_OP_REPORT, &map);
	if (wire_iomap_begin(wk->w, n->nodeid, n->ino, 0, 8192,
			     FUSE_IOMAP_OP_WRITE, &map) == 0) {
		struct fuse_iomap_end_in end = {
			.attr_ino = n->ino, .count = 8192, .written = 4096,
			.opflags = FUSE_IOMAP_OP_WRITE, .map = map,
		};

		wire_iomap_ioend(wk->w, n->nodeid, &ioend, &size);
		wire_iomap_end(wk->w, n->nodeid, &end);
	}
	ioend.pos = n->size;
	ioend.flags = FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_APPEND;
	if (wire_iomap_begin(wk->w, n->nodeid, n->ino, n->size, 4096,
			     FUSE_IOMAP_OP_WRITE, &map) == 0)
		wire_iomap_ioend(wk->w, n->nodeid, &ioend, &size);
}

static void file_io(struct walk *wk, const struct node *n)
{
	static const char data[4096] = "fuzz";
	uint64_t fh;
	uint32_t written;

	if (wire_open(wk->w, n->nodeid, O_RDWR, &fh) &&
	    wire_open(wk->w, n->nodeid, O_RDONLY, &fh))
		return;
	wire_read(wk->w, n->nodeid, fh, 0, FZ_READ_BYTES, wk->r);
	if (n->size > FZ_READ_BYTES)
		wire_read(wk->w, n->nodeid, fh, n->size - 100, 4096, wk->r);
	if (n->flags & FUSE_ATTR_IOMAP)
		iomap_io(wk, n, fh);
	else
		wire_write(wk->w, n->nodeid, fh, n->size / 2, data,
			   sizeof(data), &written);
	{
		struct fuse_lseek_in ls = { .fh = fh, .whence = SEEK_DATA };
		struct fuse_fsync_in fs = { .fh = fh };

		wire_call(wk->w, FUSE_LSEEK, n->nodeid, &ls, sizeof(ls), wk->r);
		ls.whence = SEEK_HOLE;
		wire_call(wk->w, FUSE_LSEEK, n->nodeid, &ls, sizeof(ls), wk->r);
		wire_call(wk->w, FUSE_FSYNC, n->nodeid, &fs, sizeof(fs), wk->r);
	}
	wire_release(wk->w, n->nodeid, fh, false);
}

static void add_node(struct walk *wk, const struct fuse_entry_out *e,
		     int depth)
{
	struct node *n;

	if (wk->count == FZ_MAX_NODES || !e->nodeid)
		return;
	n = &wk->nodes[wk->count++];
	n->nodeid = e->nodeid;
	n->ino = e->attr.ino;
	n->mode = e->attr.mode;
	n->flags = e->attr.flags;
	n->size = e->attr.size;
	n->depth = depth;
}

static void list_dir(struct walk *wk, const struct node *dir)
{
	struct fuse_direntplus dp;
	uint64_t fh, off = 0;
	char name[256];
	size_t pos;
	int rounds;

	if (wire_opendir(wk->w, dir->nodeid, &fh))
		return;
	for (rounds = 0; rounds < 4; rounds++) {
		if (wire_readdirplus(wk->w, dir->nodeid, fh, off, FZ_DIR_BYTES,
				     wk->r) || !wk->r->body_len)
			break;
		pos = 0;
		while (wire_next_direntplus(wk->r, &pos, &dp, name)) {
			off = dp.dirent.off;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			add_node(wk, &dp.entry_out, dir->depth + 1);
		}
	}
	/* The kernel's other ways in: plain READDIR, LOOKUP, FORGET. */
	{
		struct fuse_read_in rd = { .fh = fh, .size = 4096 };
		struct fuse_entry_out e;
		int i;

		wire_call(wk->w, FUSE_READDIR, dir->nodeid, &rd, sizeof(rd),
			  wk->r);
		for (i = 0; i < 4 && i < wk->count; i++) {
			if (wire_lookup(wk->w, dir->nodeid, i ? "small" :
					"lost+found", &e) == 0)
				wire_forget(wk->w, e.nodeid, 1);
		}
		wire_lookup(wk->w, dir->nodeid, "no such name", &e);
	}
	wire_release(wk->w, dir->nodeid, fh, true);
}

static void visit(struct walk *wk, const struct node *n)
{
	struct fuse_attr_out attr;

	wire_getattr(wk->w, n->nodeid, &attr);
	xattrs(wk, n);
	if (S_ISLNK(n->mode))
		wire_call(wk->w, FUSE_READLINK, n->nodeid, NULL, 0, wk->r);
	else if (S_ISREG(n->mode))
		file_io(wk, n);
	else if (S_ISDIR(n->mode) && n->depth < FZ_MAX_DEPTH)
		list_dir(wk, n);
}

static void set_xattr(struct walk *wk, uint64_t nodeid, const char *name,
		      const void *value, uint32_t size)
{
	struct { uint32_t size, flags; } sx = { .size = size };
	struct iovec iov[3] = {
		{ &sx, sizeof(sx) },
		{ (void *)name, strlen(name) + 1 },
		{ (void *)value, size },
	};

	wire_callv(wk->w, FUSE_SETXATTR, nodeid, iov, 3, wk->r);
}

/* An ACL, the iomap preference, a node, a truncate to nothing. */
static void more_changes(struct walk *wk, uint64_t dir,
			 const struct fuse_entry_out *e)
{
	/* version 2; user::rw- user:1000:rw- group::r-- mask::rw- other::r-- */
	static const unsigned char acl[] = {
		2, 0, 0, 0,
		1, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 6, 0, 0xe8, 3, 0, 0,
		4, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
	};
	struct fuse_mknod_in mn = { .mode = 010644 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };
	struct fuse_getxattr_in gx = { .size = 256 };

	set_xattr(wk, e->nodeid, "system.posix_acl_access", acl, sizeof(acl));
	set_xattr(wk, e->nodeid, "user.fuse2fs.iomap", "classic", 7);
	call_name(wk->w, FUSE_GETXATTR, e->nodeid, &gx, sizeof(gx),
		  "user.fuse2fs.iomap_mode", wk->r);
	wire_call(wk->w, FUSE_REMOVEXATTR, e->nodeid, "user.fuse2fs.iomap",
		  19, wk->r);
	wire_call(wk->w, FUSE_REMOVEXATTR, e->nodeid, "user.fz", 8, wk->r);
	wire_call(wk->w, FUSE_SETATTR, e->nodeid, &sa, sizeof(sa), wk->r);
	if (call_name(wk->w, FUSE_MKNOD, dir, &mn, sizeof(mn), "fz.fifo",
		      wk->r) == 0)
		wire_call(wk->w, FUSE_UNLINK, dir, "fz.fifo", 8, wk->r);
}

/* Namespace changes in the root, and in the first directory found. */
static void change(struct walk *wk, uint64_t dir)
{
	struct fuse_mkdir_in mk = { .mode = 040755 };
	/* No FUSE_SETXATTR_EXT at INIT: the 8-byte compat request. */
	struct { uint32_t size, flags; } sx = { .size = 5 };
	struct fuse_fallocate_in fa = { .length = 1 << 20 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 12345 };
	struct fuse_entry_out e, d;
	struct fuse_open_out o;
	struct fuse_link_in li;
	struct fuse_rename_in rn;
	uint32_t written;
	struct iovec iov[3];

	if (wire_create(wk->w, dir, "fz.new", O_RDWR, 0100644, &e, &o))
		return;
	wire_write(wk->w, e.nodeid, o.fh, 4000, "data", 4, &written);
	iov[0] = (struct iovec){ &sx, sizeof(sx) };
	iov[1] = (struct iovec){ "user.fz", 8 };
	iov[2] = (struct iovec){ "value", 5 };
	wire_callv(wk->w, FUSE_SETXATTR, e.nodeid, iov, 3, wk->r);
	fa.fh = o.fh;
	wire_call(wk->w, FUSE_FALLOCATE, e.nodeid, &fa, sizeof(fa), wk->r);
	sa.fh = o.fh;
	wire_call(wk->w, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa), wk->r);
	more_changes(wk, dir, &e);
	wire_release(wk->w, e.nodeid, o.fh, false);
	if (call_name(wk->w, FUSE_MKDIR, dir, &mk, sizeof(mk), "fz.dir",
		      (struct wire_reply *)wk->r) == 0) {
		memcpy(&d, wk->r->body, sizeof(d));
		li.oldnodeid = e.nodeid;
		call_name(wk->w, FUSE_LINK, d.nodeid, &li, sizeof(li),
			  "fz.link", wk->r);
		rn.newdir = d.nodeid;
		iov[0] = (struct iovec){ &rn, sizeof(rn) };
		iov[1] = (struct iovec){ "fz.new", 7 };
		iov[2] = (struct iovec){ "fz.moved", 9 };
		wire_callv(wk->w, FUSE_RENAME, dir, iov, 3, wk->r);
		iov[0] = (struct iovec){ "fz.sym", 7 };
		iov[1] = (struct iovec){ "../fz.target", 13 };
		wire_callv(wk->w, FUSE_SYMLINK, d.nodeid, iov, 2, wk->r);
		wire_call(wk->w, FUSE_UNLINK, d.nodeid, "fz.moved", 9, wk->r);
		wire_call(wk->w, FUSE_UNLINK, d.nodeid, "fz.link", 8, wk->r);
		wire_call(wk->w, FUSE_UNLINK, d.nodeid, "fz.sym", 7, wk->r);
		/* A directory moves into another and back. */
		if (call_name(wk->w, FUSE_MKDIR, d.nodeid, &mk, sizeof(mk),
			      "fz.sub", wk->r) == 0) {
			rn.newdir = dir;
			iov[0] = (struct iovec){ &rn, sizeof(rn) };
			iov[1] = (struct iovec){ "fz.sub", 7 };
			iov[2] = (struct iovec){ "fz.up", 6 };
			wire_callv(wk->w, FUSE_RENAME, d.nodeid, iov, 3, wk->r);
			wire_call(wk->w, FUSE_RMDIR, dir, "fz.up", 6, wk->r);
		}
		wire_call(wk->w, FUSE_RMDIR, dir, "fz.dir", 7, wk->r);
	} else {
		wire_call(wk->w, FUSE_UNLINK, dir, "fz.new", 7, wk->r);
	}
}

static void exercise(struct wire *w)
{
	static struct wire_reply reply;
	static struct walk wk;
	struct fuse_attr_out root;
	uint64_t first_dir = 0;
	int i;

	memset(&wk, 0, sizeof(wk));
	wk.w = w;
	wk.r = &reply;
	if (wire_getattr(w, 1, &root))
		return;
	wk.nodes[0] = (struct node){ .nodeid = 1, .ino = root.attr.ino,
				     .mode = root.attr.mode };
	wk.count = 1;
	wire_call(w, FUSE_STATFS, 1, NULL, 0, &reply);
	for (i = 0; i < wk.count; i++) {
		visit(&wk, &wk.nodes[i]);
		if (!first_dir && i && S_ISDIR(wk.nodes[i].mode))
			first_dir = wk.nodes[i].nodeid;
	}
	change(&wk, 1);
	if (first_dir)
		change(&wk, first_dir);
	wire_call(w, FUSE_STATFS, 1, NULL, 0, &reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_init_out init;
	struct server srv = { .ret = 0 };
	struct wire w;
	pthread_t t;
	int img;

	if (size < 2048 || size > FZ_MAX_IMAGE)
		return -1;	/* not even a superblock: not worth keeping */
	img = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (img < 0 || write(img, data, size) != (ssize_t)size) {
		perror("fuzz: memfd");
		abort();
	}
	if (wire_pair(&w, &srv.sfd) || fstat(srv.sfd, &srv.sock_st)) {
		perror("fuzz: socketpair");
		abort();
	}
	snprintf(srv.dev, sizeof(srv.dev), "/dev/fd/%d", img);
	snprintf(srv.mnt, sizeof(srv.mnt), "/dev/fd/%d", srv.sfd);
	srv.argv[0] = "fuse2fs";
	srv.argv[1] = "-f";
	srv.argv[2] = "-o";
	/* s_errors (le16 at 1024 + 60) = remount-ro: mount read-only. */
	srv.argv[3] = data[1024 + 60] == 2 ? "iomap=auto,sandbox=off,ro" :
					     "iomap=auto,sandbox=off";
	srv.argv[4] = srv.dev;
	srv.argv[5] = srv.mnt;
	srv.argv[6] = NULL;
	if (pthread_create(&t, NULL, server_main, &srv))
		abort();
	w.timeout_ms = 10000;
	if (wire_init(&w, true, &init) == 0)
		exercise(&w);
	wire_stop(&w);		/* end of file: the server unmounts */
	pthread_join(t, NULL);
	close(img);
	return 0;
}
