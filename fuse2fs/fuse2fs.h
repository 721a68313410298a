/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuse2fs: an ext2/3/4 server on libext2fs and the libfuse3 lowlevel API.
 *
 * Shared state and the helpers every operation file uses.  The FUSE nodeid
 * of an inode is its ext2 inode number, except the FUSE root (nodeid 1),
 * which is ext2 inode 2; see f2_ino() and f2_nodeid().
 *
 * Threading: libext2fs is not thread-safe, so the server runs one
 * single-threaded request loop and no operation needs a lock.
 */
#ifndef FUSE2FS_H
#define FUSE2FS_H

#define FUSE_USE_VERSION 314

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <fuse_lowlevel.h>

#include "fuse_iomap_ll.h"
#include "sandbox.h"

/* Elements of an array (not of a pointer); kselftest's is the same. */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

enum f2_iomap_mode {
	F2_IOMAP_OFF,	/* classic FUSE for every file */
	F2_IOMAP_AUTO,	/* per file; classic for all if the kernel lacks it */
	F2_IOMAP_ON,	/* like auto, but fail the mount without kernel support */
};

struct f2_inode_table;	/* lookup and open counts, see inode_table.c */
struct f2_dcache;	/* directory name index, see dircache.c */
struct f2c_keyring;	/* fscrypt master keys, see fscrypt_keys.c */
struct f2v_cache;	/* verified fs-verity blocks, see fsverity_read.c */

struct fuse2fs {
	ext2_filsys fs;
	const char *device;		/* image file or block device */
	const char *device_path;	/* device as an absolute path */
	const char *mountpoint;
	bool ro;
	bool debug;
	bool writeback_cache;
	double timeout;			/* entry and attr validity, seconds */

	struct fuse_session *se;
	struct f2_inode_table *itab;

	enum f2_iomap_mode iomap_mode;
	struct fuse_iomap_session *iomap;
	bool iomap_active;		/* FUSE_IOMAP negotiated and a device registered */
	/*
	 * FUSE_IOMAP negotiated, device or not: the kernel then applies
	 * FUSE_ATTR_IOMAP_IMMUTABLE/APPEND and keeps the rules they bring.
	 */
	bool iomap_negotiated;
	uint32_t iomap_dev;		/* device id named in mappings */
	int iomap_bdev_fd;		/* block device given to the kernel, or -1 */
	int claim_fd;			/* O_EXCL open of a classic block device, or -1 */

	/* Mount plumbing (main.c). */
	bool foreground;
	bool default_permissions;
	bool clean_at_mount;		/* s_state was valid: restore at unmount */
	bool init_failed;		/* init() refused the connection */
	int dev_fd;			/* libext2fs's descriptor, or -1 */
	int lock_fd;			/* flock()ed image, or -1 */
	int status_fd;			/* pipe to the waiting parent, or -1 */
	int null_fd;			/* /dev/null for detaching, or -1 */
	int syslog_fd;			/* socket to /dev/log once detached, or -1 */
	int unmount_fd;			/* unmounter.c's helper, or -1 */
	struct f2_sandbox sandbox;	/* sandbox.c */
	struct f2_dcache *dcache;
	bool posix_acl;			/* FUSE_CAP_POSIX_ACL + DONT_MASK in use */
	/* Blocks held back for conversions at IOEND (alloc.c). */
	blk64_t resv_total;
	ext2_ino_t alloc_owner;		/* may use its own reserve, or 0 */
	uint64_t overhead;		/* metadata blocks, statfs.c */
	struct f2c_keyring *keys;	/* fscrypt master keys */
	struct f2v_cache *vcache;	/* fs-verity verified blocks */
};

static inline struct fuse2fs *f2_get(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static inline ext2_ino_t f2_ino(fuse_ino_t nodeid)
{
	return nodeid == FUSE_ROOT_ID ? EXT2_ROOT_INO : (ext2_ino_t)nodeid;
}

static inline fuse_ino_t f2_nodeid(ext2_ino_t ino)
{
	return ino == EXT2_ROOT_INO ? FUSE_ROOT_ID : (fuse_ino_t)ino;
}

/*
 * iochan.c: replace the manager of a unix io_channel (the filesystem's)
 * with one whose block cache stays coherent with writes that go around it.
 */
void f2_io_install(io_channel ch);
/*
 * Between these, single-block writes are held and each block is written
 * once, with its last contents, when the batch ends (or fills, or a
 * larger request needs the image up to date); reads see the held
 * contents.  f2_io_batch_end() returns the first write error.  A batch
 * ends before a transaction around it does (txn.c rolls back with raw
 * writes that a later flush would overwrite).
 */
void f2_io_batch_begin(void);
errcode_t f2_io_batch_end(io_channel ch);
/*
 * The single blocks read or written during a request are kept for that
 * request only (iochan.c): f2_io_request_begin() starts a request,
 * f2_io_request_none() says none runs (nothing is kept), and
 * f2_io_forget_blocks() voids what is kept (the device's page cache was
 * dropped).
 */
void f2_io_request_begin(void);
void f2_io_request_none(void);
void f2_io_forget_blocks(void);
/* One block straight to the image: no fault injection, no transaction. */
errcode_t f2_io_write_raw(io_channel ch, unsigned long long blk,
			  const void *buf);

/*
 * txn.c: an update made of several writes inside libext2fs, undone as a
 * whole when it fails: f2_txn_begin(), then f2_txn_end(ret) with the
 * update's result, which rolls back the blocks written and the block
 * bitmap changed since the begin when ret is not 0, and returns ret.
 * Nested pairs belong to the outermost.  Take no inodes in between.
 */
void f2_txn_install(struct fuse2fs *f2);
void f2_txn_begin(void);
int f2_txn_end(int ret);
/* For iochan.c: is a transaction recording, and record a write. */
bool f2_txn_active(void);
void f2_txn_note_write(io_channel ch, blk64_t blk, blk64_t count,
		       errcode_t (*read)(io_channel, unsigned long long, int,
					 void *));

/*
 * alloc.c: the allocation gate and the blocks it keeps back for the
 * conversions of unwritten extents at IOEND.  f2_resv_take() makes sure
 * ino (referenced by the kernel) holds enough for one conversion of its
 * tree, or returns ENOSPC; f2_resv_drop() gives a reserve back.  Around
 * a conversion, f2_alloc_as(ino) lets allocations use ino's reserve and
 * f2_resv_used() ends that, charging what the conversion took (the free
 * count before it is given) and topping the reserve up if it can.
 */
void f2_alloc_install(struct fuse2fs *f2);
int f2_resv_take(struct fuse2fs *f2, ext2_ino_t ino,
		 const struct ext2_inode_large *inode);
void f2_resv_drop(struct fuse2fs *f2, uint32_t *have);
void f2_alloc_as(struct fuse2fs *f2, ext2_ino_t ino);
void f2_resv_used(struct fuse2fs *f2, ext2_ino_t ino, blk64_t free_before,
		  const struct ext2_inode_large *inode);

/*
 * fault.c, for tests: FUSE2FS_FAULT=N fails the Nth io_channel or
 * allocator call.  f2_fault() says whether this call is the one;
 * f2_fault_report() stops counting and logs the count.
 */
void f2_fault_setup(void);
bool f2_fault(const char *what);
void f2_fault_report(void);

/* A positive errno for a libext2fs error code. */
int f2_errno(errcode_t err);

/* Inode I/O with the full (large) inode; 0 or a positive errno. */
int f2_read_inode(struct fuse2fs *f2, ext2_ino_t ino,
		  struct ext2_inode_large *inode);
int f2_write_inode(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode);

/*
 * Write a new inode: the whole on-disk inode, zeroes past *inode, so
 * nothing of a deleted inode that had the number (in-inode xattrs and
 * ACLs, extra fields) survives.
 */
int f2_write_new_inode(struct fuse2fs *f2, ext2_ino_t ino,
		       const struct ext2_inode_large *inode);

/*
 * undo.c: whole on-disk inodes saved before a multi-step update changes
 * them, written back when a later step fails.
 */
#define F2_UNDO_MAX	4
struct f2_undo {
	unsigned int n;
	struct {
		ext2_ino_t ino;
		char *raw;
	} saved[F2_UNDO_MAX];
};
/* Save ino (once) before changing it; 0 or a positive errno. */
int f2_undo_save(struct fuse2fs *f2, struct f2_undo *u, ext2_ino_t ino);
/* Write every saved inode back, the last saved first, and forget them. */
void f2_undo_restore(struct fuse2fs *f2, struct f2_undo *u);
/* The update went through: forget the saved inodes. */
void f2_undo_done(struct f2_undo *u);

/* Timestamps, nanoseconds and the extra epoch bits included. */
#define F2_ATIME (1 << 0)
#define F2_MTIME (1 << 1)
#define F2_CTIME (1 << 2)
void f2_set_times(struct ext2_inode_large *inode, int which,
		  const struct timespec *ts);
/* Set the named timestamps to now. */
void f2_touch(struct ext2_inode_large *inode, int which);

void f2_inode_to_stat(struct fuse2fs *f2, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, struct stat *st);
/* The creation time, where the inode has room for it. */
void f2_set_crtime(struct ext2_inode_large *inode, const struct timespec *ts);
void f2_get_times(const struct ext2_inode_large *inode, struct timespec *atime,
		  struct timespec *mtime, struct timespec *ctime);
/* Owner, group and device number with their high bits. */
uid_t f2_inode_uid(const struct ext2_inode_large *inode);
gid_t f2_inode_gid(const struct ext2_inode_large *inode);
void f2_set_inode_uid(struct ext2_inode_large *inode, uid_t uid);
void f2_set_inode_gid(struct ext2_inode_large *inode, gid_t gid);
dev_t f2_inode_rdev(const struct ext2_inode_large *inode);
void f2_set_inode_rdev(struct ext2_inode_large *inode, dev_t rdev);
/* Write everything libext2fs holds to the image; 0 or a positive errno. */
int f2_sync(struct fuse2fs *f2);

/*
 * fuse_attr.flags for an inode: FUSE_ATTR_IOMAP when the file is served
 * through iomap under the mount's policy (iomap_policy.c); on an iomap
 * connection, also FUSE_ATTR_IOMAP_IMMUTABLE and FUSE_ATTR_IOMAP_APPEND.
 */
uint32_t f2_attr_flags(struct fuse2fs *f2, ext2_ino_t ino,
		       const struct ext2_inode_large *inode);

/*
 * Reply to a request that creates a lookup reference (LOOKUP, MKNOD,
 * MKDIR, SYMLINK, LINK) with ino's entry, attr flags included, and count
 * the reference; or reply with an error.
 */
void f2_reply_entry(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino);
/* The same with the entry valid for entry_timeout seconds at most. */
void f2_reply_entry_ttl(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
			double entry_timeout);
/* Fill an entry for ino; 0 or a positive errno. */
int f2_fill_entry(struct fuse2fs *f2, ext2_ino_t ino,
		  struct fuse_entry_param *e, uint32_t *attr_flags);

/* Lookup and open reference counts (inode_table.c). */
int f2_lookup_ref(struct fuse2fs *f2, ext2_ino_t ino);
void f2_lookup_unref(struct fuse2fs *f2, ext2_ino_t ino, uint64_t n);
int f2_open_ref(struct fuse2fs *f2, ext2_ino_t ino);
void f2_open_unref(struct fuse2fs *f2, ext2_ino_t ino);
/* Free ino's blocks and the inode itself if it has no links and no refs. */
int f2_maybe_free_inode(struct fuse2fs *f2, ext2_ino_t ino);
/* Call fn for every inode the kernel holds a reference to. */
void f2_itab_foreach(struct fuse2fs *f2, void (*fn)(struct fuse2fs *f2,
						   ext2_ino_t ino));
/* Unmount: try again the deletions that could not start. */
void f2_free_retry(struct fuse2fs *f2);
/* True while the kernel holds a lookup or open reference to ino. */
bool f2_inode_referenced(struct fuse2fs *f2, ext2_ino_t ino);
/* ino's conversion reserve in blocks, or NULL if it is not referenced. */
uint32_t *f2_itab_resv(struct fuse2fs *f2, ext2_ino_t ino);
struct f2_inode_table *f2_itab_new(void);
void f2_itab_free(struct f2_inode_table *t);
/* Unmount: drop every reference and free the unlinked inodes. */
void f2_itab_release_all(struct fuse2fs *f2);

/*
 * dircache.c: name -> inode of recently used directories.  Lookups answer
 * ENOENT authoritatively; every change to a directory's entries must be
 * reported with set/remove (or forget, when in doubt).
 */
struct f2_dcache *f2_dcache_new(void);
void f2_dcache_free(struct f2_dcache *dc);
int f2_dcache_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t *ino);
/* The same for an on-disk name of len bytes (encrypted names hold NULs). */
int f2_lookup_disk(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   size_t len, ext2_ino_t *ino);
/* Block hints: the logical block of an entry, when known. */
#define F2_LBLK_UNKNOWN		UINT32_MAX
#define F2_LBLK_KEEP		(UINT32_MAX - 1)	/* set: leave it */
void f2_dcache_set(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t ino, uint32_t lblk);
uint32_t f2_dcache_where(struct fuse2fs *f2, ext2_ino_t dir, const char *name);
/*
 * dirent.c: one-block entry changes in linear directories; EAGAIN when
 * libext2fs must do it (ext2fs_link/ext2fs_unlink).
 */
int f2_dirent_add(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		  ext2_ino_t ino, int ftype, uint32_t *lblk);
/* The same for an on-disk name of len bytes (may hold NULs). */
int f2_dirent_add_len(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		      size_t len, ext2_ino_t ino, int ftype, uint32_t *lblk);
int f2_dirent_remove(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t ino, uint32_t lblk);
void f2_dcache_remove(struct fuse2fs *f2, ext2_ino_t dir, const char *name);
void f2_dcache_forget(struct fuse2fs *f2, ext2_ino_t dir);

/* Name-space helpers (lookup.c, namespace.c); 0 or a positive errno. */
int f2_lookup_name(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t *ino);
int f2_mode_to_ftype(mode_t mode);
/* A symlink's stored target (*bufp malloc()ed, NUL-terminated). */
int f2_symlink_read(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, char **bufp);
/* Add an entry, growing a linear or inline directory as needed. */
int f2_add_link(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		ext2_ino_t ino, int ftype);
/* Give back an inode made for a name (or a reply) that never came. */
void f2_abandon_inode(struct fuse2fs *f2, ext2_ino_t ino);
/* Create and link a regular file, device, fifo or socket; O_TMPFILE. */
int f2_make_node(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t parent,
		 const char *name, mode_t mode, dev_t rdev, ext2_ino_t *ino);
void f2_dir_inc_nlink(struct fuse2fs *f2, struct ext2_inode_large *inode);
void f2_dir_dec_nlink(struct ext2_inode_large *inode);

/* Lowlevel operations, one file per concern; the table is in ops.c. */
extern const struct fuse_lowlevel_ops f2_ops;
/* main.c */
void f2_op_init(void *userdata, struct fuse_conn_info *conn);
/* N for a path "/dev/fd/N" naming an open descriptor, else -1. */
int f2_inherited_fd(const char *path);
/* lookup.c / attr.c */
void f2_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void f2_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void f2_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets);
void f2_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void f2_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi);
/* namespace.c */
void f2_op_readlink(fuse_req_t req, fuse_ino_t ino);
void f2_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev);
void f2_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode);
void f2_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void f2_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void f2_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name);
void f2_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags);
void f2_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname);
/* dir.c */
void f2_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void f2_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi);
void f2_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi);
void f2_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi);
void f2_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
/* statfs.c */
void f2_op_statfs(fuse_req_t req, fuse_ino_t ino);
/* file.c */
void f2_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi);
void f2_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void f2_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		struct fuse_file_info *fi);
void f2_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		 size_t size, off_t off, struct fuse_file_info *fi);
void f2_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void f2_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void f2_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		 struct fuse_file_info *fi);
/* Change a regular file's size (setattr, O_TRUNC); 0 or a positive errno. */
int f2_truncate(struct fuse2fs *f2, ext2_ino_t ino, uint64_t size);
/* inline.c: inline-data files; EAGAIN means "now in blocks, go on". */
int f2_inline_read(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, char *out, size_t size,
		   off_t off, size_t *got);
int f2_inline_write(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, const char *data,
		    size_t size, off_t off);
int f2_inline_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, uint64_t size);
/*
 * blockio.c: whole-run IO.  f2_block_read returns a malloc()ed buffer of
 * whole blocks whose data starts at *skip; f2_block_write is for extent
 * files and writes *inode.
 */
int f2_block_read(struct fuse2fs *f2, ext2_ino_t ino,
		  struct ext2_inode_large *inode, char **bufp, size_t size,
		  off_t off, size_t *skip);
int f2_block_write(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, const char *data,
		   size_t size, off_t off);
/*
 * Give exactly the holes of logical blocks [lblk, end) of an extent file
 * new unwritten blocks (ext2fs_fallocate() in 1.47.0 fills from lblk up
 * to the first extent when lblk lies before it).  Updates *inode (blocks,
 * extent root) without writing it.
 */
errcode_t f2_alloc_holes(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode, blk64_t lblk,
			 blk64_t end);
/* Change an extent file's size, freeing what lies past it; writes *inode. */
int f2_block_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t size);
/* fallocate.c */
void f2_op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
		     off_t length, struct fuse_file_info *fi);
/* seek.c */
void f2_op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		 struct fuse_file_info *fi);
/* ioctl.c */
void f2_op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		 struct fuse_file_info *fi, unsigned int flags,
		 const void *in_buf, size_t in_bufsz, size_t out_bufsz);
/* xattr.c */
void f2_op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags);
void f2_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size);
void f2_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void f2_op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/* iomap_*.c: FUSE_IOMAP_* callbacks and device registration. */
extern const struct fuse_iomap_ops f2_iomap_ops;

#endif /* FUSE2FS_H */
