// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading verity files: every data block a READ returns is hashed and
 * checked against the Merkle tree, whose blocks are checked up to the
 * root hash in the descriptor, whose own hash is the file digest that
 * FS_IOC_MEASURE_VERITY reports.
 *
 * Tree blocks, once checked, are kept (their bytes, not a "verified"
 * mark) in a small direct-mapped cache keyed by inode, generation, root
 * hash and block index: a later change of that block on the image is
 * never read, so it cannot pass; data blocks are hashed on every read.
 * The descriptor read at the last open is kept for the reads after it,
 * as the kernel keeps a file's fsverity_info while the inode lives.
 *
 * Geometry (fsverity.rst): level 0 hashes the data blocks (the last one
 * zero-padded), each level above hashes the one below, until one block
 * remains; the tree stores the top level first.  Hashes are salted by
 * hashing the salt, zero-padded to the hash's block size, first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fsverity.h>
#include <openssl/evp.h>

#include "fsverity.h"

#define F2V_CACHE_SLOTS	4096

struct f2v_slot {
	ext2_ino_t ino;
	uint32_t generation;
	uint64_t root;			/* first bytes of the root hash */
	uint64_t index;			/* tree block */
	unsigned int size;
	uint8_t *data;
};

struct f2v_cache {
	struct f2v_slot slots[F2V_CACHE_SLOTS];
	/* The descriptor last checked at open, for the reads that follow. */
	bool info_valid;
	ext2_ino_t info_ino;
	uint32_t info_gen;
	struct f2v_info info;
};

struct f2v_cache *f2v_cache_new(void)
{
	return calloc(1, sizeof(struct f2v_cache));
}

void f2v_cache_free(struct f2v_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < F2V_CACHE_SLOTS; i++)
		free(c->slots[i].data);
	free(c);
}

/*
 * The digests and one context are fetched once and reused: OpenSSL 3's
 * implicit fetch on every EVP_sha256() digest costs more than hashing a
 * 4 KiB block (the server is single-threaded).
 */
static EVP_MD *md_sha256, *md_sha512;
static EVP_MD_CTX *md_ctx;

int f2v_hash(const struct f2v_info *vi, const void *buf, size_t len,
	     uint8_t *out)
{
	bool big = vi->hash_alg == F2V_HASH_SHA512;
	EVP_MD **md = big ? &md_sha512 : &md_sha256;
	uint8_t pad[128] = { 0 };

	if (!*md)
		*md = EVP_MD_fetch(NULL, big ? "SHA512" : "SHA256", NULL);
	if (!md_ctx)
		md_ctx = EVP_MD_CTX_new();
	if (!*md || !md_ctx)
		return ENOMEM;
	memcpy(pad, vi->salt, vi->salt_size);
	return EVP_DigestInit_ex2(md_ctx, *md, NULL) &&
	       (!vi->salt_size ||
		EVP_DigestUpdate(md_ctx, pad, EVP_MD_get_block_size(*md))) &&
	       EVP_DigestUpdate(md_ctx, buf, len) &&
	       EVP_DigestFinal_ex(md_ctx, out, NULL) ? 0 : EIO;
}

int f2v_geometry(struct f2v_info *vi, unsigned int fs_block_size)
{
	uint64_t blocks, per_level[F2V_MAX_LEVELS], off = 0;
	int level;

	if (vi->hash_alg != F2V_HASH_SHA256 && vi->hash_alg != F2V_HASH_SHA512)
		return EINVAL;
	vi->digest_size = vi->hash_alg == F2V_HASH_SHA512 ? 64 : 32;
	/* 1 KiB up to the page and the filesystem block, as fs-verity. */
	if (vi->block_size < 1024 || vi->block_size > 4096 ||
	    vi->block_size > fs_block_size ||
	    (vi->block_size & (vi->block_size - 1)) ||
	    vi->block_size < 2 * vi->digest_size)
		return EINVAL;
	vi->hashes_per_block = vi->block_size / vi->digest_size;
	vi->num_levels = 0;
	blocks = (vi->data_size + vi->block_size - 1) / vi->block_size;
	while (blocks > 1) {
		if (vi->num_levels >= F2V_MAX_LEVELS)
			return EFBIG;
		blocks = (blocks + vi->hashes_per_block - 1) /
			 vi->hashes_per_block;
		per_level[vi->num_levels++] = blocks;
	}
	for (level = (int)vi->num_levels - 1; level >= 0; level--) {
		vi->level_start[level] = off;
		off += per_level[level];
	}
	vi->tree_size = off * vi->block_size;
	vi->tree_pos = (vi->data_size + F2V_METADATA_ALIGN - 1) /
		       F2V_METADATA_ALIGN * F2V_METADATA_ALIGN;
	return 0;
}

int f2v_read_bytes(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, uint64_t pos, void *out,
		   size_t len)
{
	size_t skip;
	char *buf;
	int ret;

	ret = f2_block_read(f2, ino, inode, &buf, len, (off_t)pos, &skip);
	if (ret)
		return ret;
	memcpy(out, buf + skip, len);
	free(buf);
	return 0;
}

/* One past the last block the file's extents map. */
static int extent_end(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t *end)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	errcode_t err;

	err = ext2fs_extent_open2(f2->fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return f2_errno(err);
	err = ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, &e);
	ext2fs_extent_free(h);
	if (err)
		return EUCLEAN;	/* no extents: no descriptor */
	*end = e.e_lblk + (uint64_t)e.e_len;
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | ((uint64_t)le32(p + 4) << 32);
}

int f2v_load(struct fuse2fs *f2, ext2_ino_t ino,
	     struct ext2_inode_large *inode, struct f2v_info *vi)
{
	unsigned int bs = f2->fs->blocksize;
	uint64_t end = 0, size_pos, desc_pos;
	uint8_t raw[4];
	uint32_t desc_size, sig_size;
	size_t i;
	int ret;

	memset(vi, 0, sizeof(*vi));
	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return EUCLEAN;
	ret = extent_end(f2, ino, inode, &end);
	if (ret)
		return ret;
	size_pos = end * bs;
	if (size_pos < sizeof(raw))
		return EUCLEAN;
	size_pos -= sizeof(raw);
	ret = f2v_read_bytes(f2, ino, inode, size_pos, raw, sizeof(raw));
	if (ret)
		return ret;
	desc_size = le32(raw);
	vi->data_size = EXT2_I_SIZE(inode);
	if (desc_size < F2V_DESC_SIZE || desc_size > size_pos)
		return EUCLEAN;
	desc_pos = (size_pos - desc_size) / bs * bs;
	vi->tree_pos = (vi->data_size + F2V_METADATA_ALIGN - 1) /
		       F2V_METADATA_ALIGN * F2V_METADATA_ALIGN;
	if (desc_pos < vi->tree_pos)
		return EUCLEAN;
	ret = f2v_read_bytes(f2, ino, inode, desc_pos, vi->desc,
			     F2V_DESC_SIZE);
	if (ret)
		return ret;
	vi->desc_size = desc_size;
	vi->desc_pos = desc_pos;
	/* validate_fsverity_descriptor(), then the tree's parameters. */
	if (vi->desc[0] != 1 || vi->desc[3] > F2V_MAX_SALT ||
	    le64(vi->desc + 8) != vi->data_size)
		return EINVAL;
	for (i = 112; i < F2V_DESC_SIZE; i++)
		if (vi->desc[i])
			return EINVAL;
	sig_size = le32(vi->desc + 4);
	if (sig_size > desc_size - F2V_DESC_SIZE)
		return EINVAL;
	vi->hash_alg = vi->desc[1];
	vi->block_size = vi->desc[2] < 16 ? 1u << vi->desc[2] : 0;
	vi->salt_size = vi->desc[3];
	memcpy(vi->salt, vi->desc + 80, vi->salt_size);
	ret = f2v_geometry(vi, bs);
	if (ret)
		return ret;
	memcpy(vi->root_hash, vi->desc + 16, vi->digest_size);
	/* The tree must lie before the descriptor (a truncated tree). */
	if (vi->tree_pos + vi->tree_size > desc_pos)
		return EUCLEAN;
	return 0;
}

static struct f2v_slot *cache_slot(struct fuse2fs *f2, ext2_ino_t ino,
				   uint32_t gen, uint64_t root,
				   uint64_t index)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (index * 0xc2b2ae35ULL) ^
		     root;

	return &f2->vcache->slots[(h ^ (h >> 29)) % F2V_CACHE_SLOTS];
}

/*
 * The verified bytes of tree block index (level level) into out: from the
 * cache, or read and checked against its parent (or the root hash).
 */
static int tree_block(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode,
		      const struct f2v_info *vi, unsigned int level,
		      uint64_t index, uint8_t *out)
{
	uint64_t root, pos_in_level = index - vi->level_start[level];
	uint8_t digest[F2V_MAX_DIGEST], *want, *parent = NULL;
	struct f2v_slot *s = NULL;
	int ret;

	memcpy(&root, vi->root_hash, sizeof(root));
	if (f2->vcache) {
		s = cache_slot(f2, ino, inode->i_generation, root, index);
		if (s->data && s->ino == ino &&
		    s->generation == inode->i_generation && s->root == root &&
		    s->index == index && s->size == vi->block_size) {
			memcpy(out, s->data, vi->block_size);
			return 0;
		}
	}
	ret = f2v_read_bytes(f2, ino, inode, vi->tree_pos +
			     index * vi->block_size, out, vi->block_size);
	if (ret)
		return ret;
	if (level + 1 == vi->num_levels) {
		want = (uint8_t *)vi->root_hash;
	} else {
		uint64_t pidx = vi->level_start[level + 1] +
				pos_in_level / vi->hashes_per_block;

		parent = malloc(vi->block_size);
		if (!parent)
			return ENOMEM;
		ret = tree_block(f2, ino, inode, vi, level + 1, pidx, parent);
		if (ret) {
			free(parent);
			return ret;
		}
		want = parent + (pos_in_level % vi->hashes_per_block) *
				vi->digest_size;
	}
	ret = f2v_hash(vi, out, vi->block_size, digest);
	if (!ret && memcmp(digest, want, vi->digest_size))
		ret = EIO;
	free(parent);
	if (!ret && s) {
		if (!s->data || s->size != vi->block_size) {
			free(s->data);
			s->data = malloc(vi->block_size);
		}
		if (s->data) {
			memcpy(s->data, out, vi->block_size);
			s->ino = ino;
			s->generation = inode->i_generation;
			s->root = root;
			s->index = index;
			s->size = vi->block_size;
		}
	}
	return ret;
}

int f2v_verify_read(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t off, char *buf,
		    size_t len)
{
	uint8_t digest[F2V_MAX_DIGEST], *hblock = NULL, *block = NULL;
	uint64_t first, last, i, cur = UINT64_MAX;
	struct f2v_cache *vc = f2->vcache;
	struct f2v_info vi;
	int ret = 0;

	if (vc && vc->info_valid && vc->info_ino == ino &&
	    vc->info_gen == inode->i_generation &&
	    vc->info.data_size == EXT2_I_SIZE(inode))
		vi = vc->info;
	else
		ret = f2v_load(f2, ino, inode, &vi);
	if (ret)
		return ret == EINVAL ? EIO : ret;
	if (!len || off >= vi.data_size)
		return 0;
	if (len > vi.data_size - off)
		len = vi.data_size - off;
	hblock = malloc(vi.block_size);
	block = malloc(vi.block_size);
	if (!hblock || !block) {
		ret = ENOMEM;
		goto out;
	}
	first = off / vi.block_size;
	last = (off + len - 1) / vi.block_size;
	for (i = first; !ret && i <= last; i++) {
		uint64_t pos = i * vi.block_size;
		size_t n = vi.block_size;
		uint64_t hidx;

		/* Bytes past EOF hash as zeroes, whatever the disk holds. */
		memset(block, 0, vi.block_size);
		if (pos + n > vi.data_size)
			n = vi.data_size - pos;
		memcpy(block, buf + (pos - off), n);
		if (!vi.num_levels) {
			/* One block: its hash is the root hash. */
			ret = f2v_hash(&vi, block, vi.block_size, digest);
			if (!ret && memcmp(digest, vi.root_hash,
					   vi.digest_size))
				ret = EIO;
			continue;
		}
		hidx = vi.level_start[0] + i / vi.hashes_per_block;
		if (hidx != cur) {
			ret = tree_block(f2, ino, inode, &vi, 0, hidx, hblock);
			if (ret)
				break;
			cur = hidx;
		}
		ret = f2v_hash(&vi, block, vi.block_size, digest);
		if (!ret && memcmp(digest, hblock + (i % vi.hashes_per_block) *
				   vi.digest_size, vi.digest_size))
			ret = EIO;
	}
out:
	free(hblock);
	free(block);
	return ret;
}

int f2v_measure(struct fuse2fs *f2, ext2_ino_t ino, uint16_t *alg,
		uint16_t *size, uint8_t *out)
{
	struct ext2_inode_large inode;
	struct f2v_info vi;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (!(inode.i_flags & EXT4_VERITY_FL))
		return ENODATA;
	ret = f2v_load(f2, ino, &inode, &vi);
	if (ret)
		return ret;
	/* The digest covers the descriptor with sig_size zeroed. */
	memset(vi.desc + 4, 0, 4);
	*alg = vi.hash_alg;
	*size = vi.digest_size;
	return f2v_hash(&(struct f2v_info){ .hash_alg = vi.hash_alg },
			vi.desc, F2V_DESC_SIZE, out);
}

int f2v_open_check(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode)
{
	struct f2v_cache *vc = f2->vcache;
	struct f2v_info vi;
	int ret;

	/* Verity data of encrypted files is encrypted: not implemented. */
	if (inode->i_flags & EXT4_ENCRYPT_FL)
		return EOPNOTSUPP;
	ret = f2v_load(f2, ino, inode, &vi);
	/* Reads after this open use the descriptor checked here. */
	if (!ret && vc) {
		vc->info = vi;
		vc->info_ino = ino;
		vc->info_gen = inode->i_generation;
		vc->info_valid = true;
	}
	return ret;
}

bool f2v_ioctl(fuse_req_t req, fuse_ino_t nodeid, unsigned int cmd,
	       unsigned int flags, const void *in_buf, size_t in_bufsz,
	       size_t out_bufsz)
{
	struct fuse2fs *f2 = f2_get(req);
	uint8_t out[4 + F2V_MAX_DIGEST];
	uint16_t alg, size, room;
	uint8_t *meta;
	size_t got;
	int ret;

	switch (cmd) {
	case FS_IOC_MEASURE_VERITY:
		if (in_bufsz < 4 || out_bufsz < 4) {
			ret = EINVAL;
			break;
		}
		memcpy(&room, (const uint8_t *)in_buf + 2, sizeof(room));
		ret = f2v_measure(f2, f2_ino(nodeid), &alg, &size, out + 4);
		if (!ret && (room < size || out_bufsz < 4u + size))
			ret = EOVERFLOW;
		if (ret)
			break;
		memcpy(out, &alg, 2);
		memcpy(out + 2, &size, 2);
		fuse_reply_ioctl(req, 0, out, 4 + size);
		return true;
	case FS_IOC_ENABLE_VERITY:
		ret = f2v_enable(f2, f2_ino(nodeid), in_buf, in_bufsz);
		if (!ret) {
			fuse_reply_ioctl(req, 0, NULL, 0);
			/* The kernel must see the new flag and read-only size. */
			if (f2->se)
				fuse_lowlevel_notify_inval_inode(f2->se, nodeid,
								 0, 0);
			return true;
		}
		break;
	case FS_IOC_READ_VERITY_METADATA:
		/*
		 * Only a kernel that says so sends the caller's buffer as the
		 * output; others send the argument itself, which metadata
		 * must not overwrite (doc/protocol.md section 14).
		 * fsverity_metadata.c has the rest.
		 */
		ret = EOPNOTSUPP;
		if (!(flags & FUSE_IOCTL_VERITY_METADATA))
			break;
		meta = malloc(out_bufsz ? out_bufsz : 1);
		ret = ENOMEM;
		if (!meta)
			break;
		ret = f2v_read_metadata(f2, f2_ino(nodeid), in_buf, in_bufsz,
					meta, out_bufsz, &got);
		if (!ret)
			fuse_reply_ioctl(req, (int)got, meta, got);
		free(meta);
		if (!ret)
			return true;
		break;
	default:
		return false;
	}
	fuse_reply_err(req, ret);
	return true;
}
