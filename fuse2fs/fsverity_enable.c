// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FS_IOC_ENABLE_VERITY: hash the file, build its Merkle tree in memory
 * (8 MiB for 1 GiB of data with SHA-256 and 4 KiB blocks), store tree,
 * descriptor and descriptor size past EOF where ext4 keeps them (see
 * fsverity.h), then mark the inode EXT4_VERITY_FL with its old size.
 * The kernel's FUSE forwards this ioctl's argument, salt and signature.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fsverity.h>

#include "fsverity.h"
#include "iomap.h"

#define F2V_CHUNK	(1U << 20)

/* Blocks in tree level (levels are stored from the top one down). */
static uint64_t level_blocks(const struct f2v_info *vi, int level)
{
	uint64_t end = level ? vi->level_start[level - 1] :
			       vi->tree_size / vi->block_size;

	return end - vi->level_start[level];
}

/*
 * Hash every block of level (the data when level is -1) into the level
 * above it, or into root for the top one.
 */
static int hash_level(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, struct f2v_info *vi,
		      uint8_t *tree, int level, uint8_t *root)
{
	uint8_t digest[F2V_MAX_DIGEST], block[4096], *chunk = NULL, *dst;
	uint64_t nblocks, i, chunk_first = 0;
	size_t chunk_len = 0, skip = 0;
	int ret = 0;

	nblocks = level < 0 ? (vi->data_size + vi->block_size - 1) /
			      vi->block_size : level_blocks(vi, level);
	dst = level + 1 < (int)vi->num_levels ?
		tree + vi->level_start[level + 1] * vi->block_size : NULL;
	for (i = 0; i < nblocks; i++) {
		const uint8_t *src;

		if (level < 0) {
			uint64_t pos = i * vi->block_size;

			if (!chunk || pos >= chunk_first + chunk_len) {
				size_t want = F2V_CHUNK;

				free(chunk);
				chunk = NULL;
				if (want > vi->data_size - pos)
					want = vi->data_size - pos;
				ret = f2_block_read(f2, ino, inode,
						    (char **)&chunk, want,
						    (off_t)pos, &skip);
				if (ret)
					break;
				chunk_first = pos;
				chunk_len = want;
			}
			/* The last block hashes zero-padded. */
			memset(block, 0, vi->block_size);
			memcpy(block, chunk + skip + (pos - chunk_first),
			       pos + vi->block_size > vi->data_size ?
			       vi->data_size - pos : vi->block_size);
			src = block;
		} else {
			src = tree + (vi->level_start[level] + i) *
				     vi->block_size;
		}
		ret = f2v_hash(vi, src, vi->block_size, digest);
		if (ret)
			break;
		if (dst)
			memcpy(dst + i * vi->digest_size, digest,
			       vi->digest_size);
		else
			memcpy(root, digest, vi->digest_size);
	}
	free(chunk);
	return ret;
}

/* Write buf at byte pos of the file, past its end. */
static int write_past_eof(struct fuse2fs *f2, ext2_ino_t ino,
			  struct ext2_inode_large *inode, uint64_t pos,
			  const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = len > F2V_CHUNK ? F2V_CHUNK : len;
		int ret = f2_block_write(f2, ino, inode, (const char *)buf, n,
					 (off_t)pos);

		if (ret)
			return ret;
		buf += n;
		pos += n;
		len -= n;
	}
	return 0;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

int f2v_enable(struct fuse2fs *f2, ext2_ino_t ino, const void *in,
	       size_t in_size)
{
	unsigned int bs = f2->fs->blocksize;
	struct fsverity_enable_arg arg;
	struct ext2_inode_large inode;
	uint64_t desc_pos, size_pos, orig;
	uint8_t *tree = NULL, le[4];
	struct f2v_info vi;
	size_t i;
	int level, ret;

	if (in_size < sizeof(arg))
		return EINVAL;
	memcpy(&arg, in, sizeof(arg));
	if (arg.version != 1 || arg.__reserved1 ||
	    in_size < sizeof(arg) + arg.salt_size + arg.sig_size)
		return EINVAL;
	for (i = 0; i < sizeof(arg.__reserved2) / 8; i++)
		if (arg.__reserved2[i])
			return EINVAL;
	if (arg.salt_size > F2V_MAX_SALT)
		return EMSGSIZE;
	if (arg.sig_size)
		return EINVAL;	/* no built-in signature support */
	if (f2->ro)
		return EROFS;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return EINVAL;
	if (inode.i_flags & EXT4_VERITY_FL)
		return EEXIST;
	if (!ext2fs_has_feature_verity(f2->fs->super) ||
	    !(inode.i_flags & EXT4_EXTENTS_FL) ||
	    (inode.i_flags & (EXT4_INLINE_DATA_FL | EXT4_ENCRYPT_FL)))
		return EOPNOTSUPP;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;

	memset(&vi, 0, sizeof(vi));
	vi.hash_alg = (uint8_t)arg.hash_algorithm;
	vi.block_size = arg.block_size;
	vi.data_size = orig = EXT2_I_SIZE(&inode);
	vi.salt_size = arg.salt_size;
	memcpy(vi.salt, (const uint8_t *)in + sizeof(arg), arg.salt_size);
	if (arg.hash_algorithm > 255 || arg.block_size > 65536)
		return EINVAL;
	ret = f2v_geometry(&vi, bs);
	if (ret)
		return ret;
	if (vi.tree_size) {
		tree = calloc(1, vi.tree_size);
		if (!tree)
			return ENOMEM;
	}
	/* Data into level 0, each level into the one above, the top into
	 * the root hash; an empty file's root hash is all zeroes. */
	if (vi.data_size) {
		for (level = -1; level < (int)vi.num_levels; level++) {
			ret = hash_level(f2, ino, &inode, &vi, tree, level,
					 vi.root_hash);
			if (ret)
				goto out;
		}
	}
	vi.desc[0] = 1;
	vi.desc[1] = vi.hash_alg;
	vi.desc[2] = (uint8_t)__builtin_ctz(vi.block_size);
	vi.desc[3] = (uint8_t)vi.salt_size;
	for (i = 0; i < 8; i++)
		vi.desc[8 + i] = (uint8_t)(vi.data_size >> (8 * i));
	memcpy(vi.desc + 16, vi.root_hash, vi.digest_size);
	memcpy(vi.desc + 80, vi.salt, vi.salt_size);

	desc_pos = round_up(vi.tree_pos + vi.tree_size, bs);
	size_pos = round_up(desc_pos + F2V_DESC_SIZE + 4, bs) - 4;
	for (i = 0; i < 4; i++)
		le[i] = (uint8_t)(F2V_DESC_SIZE >> (8 * i));
	ret = write_past_eof(f2, ino, &inode, vi.tree_pos, tree,
			     vi.tree_size);
	if (!ret)
		ret = write_past_eof(f2, ino, &inode, desc_pos, vi.desc,
				     F2V_DESC_SIZE);
	if (!ret)
		ret = write_past_eof(f2, ino, &inode, size_pos, le, 4);
	if (!ret)
		ret = f2_read_inode(f2, ino, &inode);
	if (!ret) {
		/* The metadata stays past i_size, as on ext4. */
		ext2fs_inode_size_set(f2->fs, (struct ext2_inode *)&inode,
				      orig);
		inode.i_flags |= EXT4_VERITY_FL;
		f2_touch(&inode, F2_CTIME);
		ret = f2_write_inode(f2, ino, &inode);
	}
	if (ret) {
		/* Give back what was written past the old end. */
		if (!f2_read_inode(f2, ino, &inode))
			f2_block_truncate(f2, ino, &inode, orig);
		goto out;
	}
	f2_iomap_mode_changed(f2, ino);
out:
	free(tree);
	return ret;
}
