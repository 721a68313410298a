// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Encrypted file contents: each filesystem block (fscrypt's "data unit"
 * when the policy leaves log2_data_unit_size at 0) is encrypted on its
 * own, with the IV { le64 logical block number, zeroes } (with
 * IV_INO_LBLK_64: the block number in the low 32 bits of that le64, the
 * inode number in the high 32):
 *   AES-256-XTS, the IV as the tweak;
 *   AES-128-CBC-ESSIV, the IV first encrypted with AES-256 under the
 *   SHA-256 of the file key.
 * Holes are not encrypted: they read as zeroes, as on ext4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fscrypt.h"
#include "iomap.h"

void f2c_iv(const struct f2c_keys *keys, uint64_t index, uint8_t iv[16])
{
	uint64_t v = index | keys->iv_ino;
	int i;

	memset(iv, 0, 16);
	for (i = 0; i < 8; i++)
		iv[i] = (uint8_t)(v >> (8 * i));
}

/* ESSIV: the IV encrypted with AES-256-ECB keyed by SHA-256(key). */
static int essiv(const struct f2c_keys *k, uint8_t iv[16])
{
	uint8_t salt[SHA256_DIGEST_LENGTH];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	SHA256(k->contents_key, k->contents_key_size, salt);
	ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, salt, NULL) &&
	     EVP_CIPHER_CTX_set_padding(c, 0) &&
	     EVP_EncryptUpdate(c, iv, &len, iv, 16) && len == 16;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(salt, sizeof(salt));
	return ok ? 0 : EIO;
}

int f2c_crypt_blocks(struct fuse2fs *f2, const struct f2c_keys *keys,
		     ext2_ino_t ino, uint64_t lblk, char *buf,
		     size_t nblocks, const bool *hole, bool enc)
{
	unsigned int bs = f2->fs->blocksize;
	bool xts = keys->ctx.contents_mode == F2C_MODE_AES_256_XTS;
	const EVP_CIPHER *cipher = xts ? EVP_aes_256_xts() :
					 EVP_aes_128_cbc();
	EVP_CIPHER_CTX *c;
	uint8_t iv[16];
	size_t i;
	int ret = 0;

	if (!keys->has_key || !keys->contents_key_size)
		return ENOKEY;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return ENOMEM;
	if (!EVP_CipherInit_ex(c, cipher, NULL, keys->contents_key, NULL,
			       enc) ||
	    !EVP_CIPHER_CTX_set_padding(c, 0))
		ret = EIO;
	for (i = 0; !ret && i < nblocks; i++) {
		uint8_t *p = (uint8_t *)buf + i * bs;
		int out = 0;

		if (hole && hole[i])
			continue;
		f2c_iv(keys, lblk + i, iv);
		if (!xts)
			ret = essiv(keys, iv);
		if (!ret && (!EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) ||
			     !EVP_CipherUpdate(c, p, &out, p, (int)bs) ||
			     (unsigned int)out != bs))
			ret = EIO;
	}
	EVP_CIPHER_CTX_free(c);
	(void)ino;
	return ret;
}

int f2c_read_decrypt(struct fuse2fs *f2, ext2_ino_t ino,
		     struct ext2_inode_large *inode, uint64_t lblk,
		     char *buf, size_t nblocks)
{
	struct f2c_keys keys;
	struct f2_run run;
	bool *hole;
	size_t i = 0;
	int ret;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return EUCLEAN;	/* ext4 encrypts extent files only */
	hole = calloc(nblocks, sizeof(*hole));
	if (!hole)
		return ENOMEM;
	/* Holes and unwritten blocks read as zeroes, never decrypted. */
	while (i < nblocks) {
		errcode_t err = f2_map_run(f2->fs, ino, inode, lblk + i,
					   lblk + nblocks, &run);
		size_t j;

		if (!err && !run.len)
			err = EXT2_ET_FILESYSTEM_CORRUPTED;
		if (err) {
			free(hole);
			return f2_errno(err);
		}
		for (j = 0; j < run.len && i + j < nblocks; j++)
			hole[i + j] = run.type != FUSE_IOMAP_TYPE_MAPPED;
		i += j;
	}
	ret = f2c_require_keys(f2, ino, &keys);
	if (!ret)
		ret = f2c_crypt_blocks(f2, &keys, ino, lblk, buf, nblocks,
				       hole, false);
	f2c_keys_wipe(&keys);
	free(hole);
	return ret;
}

int f2c_open_check(struct fuse2fs *f2, ext2_ino_t ino, int flags)
{
	struct f2c_keys keys;
	int ret;

	ret = f2c_require_keys(f2, ino, &keys);
	f2c_keys_wipe(&keys);
	return ret;
}

int f2c_write(struct fuse2fs *f2, ext2_ino_t ino,
	      struct ext2_inode_large *inode, const char *data, size_t size,
	      off_t off)
{
	unsigned int bs = f2->fs->blocksize;
	uint64_t lb0 = off / bs, lb1 = (off + size + bs - 1) / bs;
	uint64_t old = EXT2_I_SIZE(inode), end = off + size;
	size_t n = lb1 - lb0, skip;
	struct f2c_keys keys;
	char *buf;
	int ret;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		return EOPNOTSUPP;
	/* Whole blocks: old plaintext around the new bytes, then encrypt. */
	ret = f2_block_read(f2, ino, inode, &buf, n * bs, lb0 * bs, &skip);
	if (ret)
		return ret;
	ret = f2c_read_decrypt(f2, ino, inode, lb0, buf, n);
	if (!ret) {
		memcpy(buf + (off - lb0 * bs), data, size);
		ret = f2c_require_keys(f2, ino, &keys);
	}
	if (!ret)
		ret = f2c_crypt_blocks(f2, &keys, ino, lb0, buf, n, NULL, true);
	f2c_keys_wipe(&keys);
	if (!ret)
		ret = f2_block_write(f2, ino, inode, buf, n * bs, lb0 * bs);
	free(buf);
	/* f2_block_write() sized the file to whole blocks. */
	if (!ret && EXT2_I_SIZE(inode) != (old > end ? old : end)) {
		ext2fs_inode_size_set(f2->fs, (struct ext2_inode *)inode,
				      old > end ? old : end);
		ret = f2_write_inode(f2, ino, inode);
	}
	return ret;
}

int f2c_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		 struct ext2_inode_large *inode, uint64_t size)
{
	unsigned int bs = f2->fs->blocksize;
	struct f2c_keys keys;
	struct f2_run run;
	char *buf;
	int ret;

	if (size >= EXT2_I_SIZE(inode) || !(size % bs))
		return f2_block_truncate(f2, ino, inode, size);
	/*
	 * The block that keeps part of the file holds ciphertext: cut at
	 * its end, then zero its tail in plaintext.
	 */
	ret = f2_block_truncate(f2, ino, inode, (size + bs - 1) / bs * bs);
	if (!ret)
		ret = f2_errno(f2_map_run(f2->fs, ino, inode, size / bs,
					  size / bs + 1, &run));
	if (!ret && run.type == FUSE_IOMAP_TYPE_MAPPED) {
		buf = malloc(bs);
		if (!buf)
			return ENOMEM;
		ret = f2c_require_keys(f2, ino, &keys);
		if (!ret)
			ret = f2_errno(io_channel_read_blk64(f2->fs->io,
							     run.pblk, 1,
							     buf));
		if (!ret)
			ret = f2c_crypt_blocks(f2, &keys, ino, size / bs, buf,
					       1, NULL, false);
		if (!ret) {
			memset(buf + size % bs, 0, bs - size % bs);
			ret = f2c_crypt_blocks(f2, &keys, ino, size / bs, buf,
					       1, NULL, true);
		}
		if (!ret)
			ret = f2_errno(io_channel_write_blk64(f2->fs->io,
							      run.pblk, 1,
							      buf));
		f2c_keys_wipe(&keys);
		free(buf);
	}
	if (!ret) {
		ext2fs_inode_size_set(f2->fs, (struct ext2_inode *)inode,
				      size);
		ret = f2_write_inode(f2, ino, inode);
	}
	return ret;
}
