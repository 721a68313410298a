/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fs-verity in fuse2fs (Documentation/filesystems/fsverity.rst): ext4
 * keeps a verity file's Merkle tree past its end, from the first 64 KiB
 * boundary beyond i_size, the levels from the root down; then, at a block
 * boundary, the fsverity_descriptor; the descriptor's size is the last
 * four bytes (le32) of the file's last allocated block.
 *
 * fsverity_read.c  descriptor, tree geometry, verification of reads,
 *                  FS_IOC_MEASURE_VERITY, FS_IOC_READ_VERITY_METADATA
 * fsverity_enable.c FS_IOC_ENABLE_VERITY: building and storing the tree
 *
 * Hooks return 0 or a positive errno.
 */
#ifndef FUSE2FS_FSVERITY_H
#define FUSE2FS_FSVERITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse2fs.h"

#define F2V_HASH_SHA256		1
#define F2V_HASH_SHA512		2
#define F2V_MAX_DIGEST		64
#define F2V_MAX_SALT		32
#define F2V_MAX_LEVELS		8
#define F2V_DESC_SIZE		256
#define F2V_METADATA_ALIGN	65536

/* A verity file's parameters, from its descriptor. */
struct f2v_info {
	uint8_t hash_alg;
	unsigned int digest_size;
	unsigned int block_size;	/* Merkle tree block = data block */
	unsigned int hashes_per_block;
	unsigned int num_levels;
	uint64_t level_start[F2V_MAX_LEVELS];	/* in tree blocks */
	uint64_t tree_pos;		/* byte offset of the tree in the file */
	uint64_t tree_size;		/* bytes */
	uint64_t data_size;
	uint8_t salt[F2V_MAX_SALT];
	unsigned int salt_size;
	uint8_t root_hash[F2V_MAX_DIGEST];
	uint8_t desc[F2V_DESC_SIZE];	/* the descriptor, signature cut */
	size_t desc_size;		/* with the signature, as stored */
	uint64_t desc_pos;		/* its byte offset in the file */
};

/* Hash buf (salted when the info has a salt) into out. */
int f2v_hash(const struct f2v_info *vi, const void *buf, size_t len,
	     uint8_t *out);
/* Read bytes [pos, pos + len) of ino's blocks (past EOF too). */
int f2v_read_bytes(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, uint64_t pos, void *out,
		   size_t len);
/* Tree geometry from the descriptor fields already in *vi. */
int f2v_geometry(struct f2v_info *vi, unsigned int fs_block_size);
/*
 * Read and check ino's descriptor: EINVAL for a descriptor fs-verity
 * rejects, EUCLEAN when it cannot be found or the tree does not fit.
 */
int f2v_load(struct fuse2fs *f2, ext2_ino_t ino,
	     struct ext2_inode_large *inode, struct f2v_info *vi);
/*
 * READ of a verity file: buf holds whole blocks from byte off (a block
 * boundary) through off + len; EIO when one does not match its tree.
 */
int f2v_verify_read(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t off, char *buf,
		    size_t len);
/* FS_IOC_MEASURE_VERITY: the file digest into out (F2V_MAX_DIGEST). */
int f2v_measure(struct fuse2fs *f2, ext2_ino_t ino, uint16_t *alg,
		uint16_t *size, uint8_t *out);
/* FS_IOC_ENABLE_VERITY with the ioctl's input (arg, salt, signature). */
int f2v_enable(struct fuse2fs *f2, ext2_ino_t ino, const void *in,
	       size_t in_size);
/* OPEN of a verity file: its descriptor must be sound. */
int f2v_open_check(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode);
/*
 * FS_IOC_READ_VERITY_METADATA with the ioctl's argument: up to out_size
 * bytes into out, their number in *got (0 past the end).
 */
int f2v_read_metadata(struct fuse2fs *f2, ext2_ino_t ino, const void *in,
		      size_t in_size, uint8_t *out, size_t out_size,
		      size_t *got);
/* The verity ioctls; false when cmd is not one of them. */
bool f2v_ioctl(fuse_req_t req, fuse_ino_t nodeid, unsigned int cmd,
	       unsigned int flags, const void *in_buf, size_t in_bufsz,
	       size_t out_bufsz);
/* The verified tree-block cache of the mount. */
struct f2v_cache *f2v_cache_new(void);
void f2v_cache_free(struct f2v_cache *c);

#endif /* FUSE2FS_FSVERITY_H */
