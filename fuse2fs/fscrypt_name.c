// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Encrypted file names and symlink targets, and the "no-key" names shown
 * without the key (fscrypt.rst, "Filenames encryption" and "No-key
 * names").
 *
 * A name is padded with NULs to at least 16 bytes and to a multiple of the
 * policy's padding (4 << (flags & 3)), at most 255, and encrypted with
 * AES-CBC-CTS (ciphertext stealing with the last two blocks swapped:
 * OpenSSL's CS3) and an all-zero IV (the directory's inode number in its
 * upper half with IV_INO_LBLK_64) under the directory's names key.
 *
 * Without the key a name is shown as the URL-safe base64 (no padding) of
 * { le32 hash, le32 minor_hash, the ciphertext } when the ciphertext has
 * at most 149 bytes, else { the hashes, its first 149 bytes, SHA-256 of
 * the rest }.  The hashes are what ext4's htree readdir computes over the
 * ciphertext, and zero in its linear readdir, so the same entry gets the
 * same name here as on kernel ext4.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "fscrypt.h"

#define F2C_MIN_MSG_LEN		16
#define NOKEY_HASHES		8
#define NOKEY_BYTES		149
#define NOKEY_MAX		(NOKEY_HASHES + NOKEY_BYTES + SHA256_DIGEST_LENGTH)

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(const uint8_t *in, size_t len, char *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	if (bits)
		out[n++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[n] = '\0';
	return n;
}

/* Decoded length, or -1 for a character outside the alphabet or stray bits. */
static long b64_decode(const char *in, size_t len, uint8_t *out)
{
	unsigned int acc = 0, bits = 0;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		const char *p = memchr(b64url, in[i], 64);

		if (!p || !in[i])
			return -1;
		acc = (acc << 6) | (unsigned int)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)n;
}

static const char *cts_cipher(uint8_t mode)
{
	return mode == F2C_MODE_AES_128_CTS ? "AES-128-CBC-CTS" :
					       "AES-256-CBC-CTS";
}

/* AES-CBC-CTS (CS3) with a zero IV over len >= 16 bytes, in place. */
static int cts_crypt(const struct f2c_keys *k, uint8_t *buf, size_t len,
		     bool enc)
{
	uint8_t iv[16];
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *c;
	OSSL_PARAM p[2];
	int out = 0, ok;

	cipher = EVP_CIPHER_fetch(NULL, cts_cipher(k->ctx.filenames_mode),
				  NULL);
	c = cipher ? EVP_CIPHER_CTX_new() : NULL;
	f2c_iv(k, 0, iv);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_CIPHER_PARAM_CTS_MODE,
						"CS3", 0);
	p[1] = OSSL_PARAM_construct_end();
	ok = c && EVP_CipherInit_ex2(c, cipher, k->names_key, iv, enc, p) &&
	     EVP_CipherUpdate(c, buf, &out, buf, (int)len) &&
	     (size_t)out == len;
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(cipher);
	return ok ? 0 : EIO;
}

int f2c_name_pad(const struct f2c_keys *keys, const char *name,
		 size_t max, uint8_t *out, size_t *out_len)
{
	unsigned int pad = 4u << (keys->ctx.flags & F2C_FLAGS_PAD_MASK);
	size_t len = strlen(name), n;

	if (len > max)
		return ENAMETOOLONG;
	n = len < F2C_MIN_MSG_LEN ? F2C_MIN_MSG_LEN : len;
	n = (n + pad - 1) / pad * pad;
	if (n > max)
		n = max;
	memset(out, 0, n);
	memcpy(out, name, len);
	*out_len = n;
	return 0;
}

int f2c_name_encrypt_buf(const struct f2c_keys *keys, uint8_t *buf,
			 size_t len)
{
	if (!keys->has_key)
		return ENOKEY;
	return cts_crypt(keys, buf, len, true);
}

int f2c_name_encrypt(const struct f2c_keys *dir_keys, const char *name,
		     uint8_t *disk, size_t *disk_len)
{
	int ret;

	if (!dir_keys->has_key)
		return ENOKEY;
	ret = f2c_name_pad(dir_keys, name, EXT2_NAME_LEN, disk, disk_len);
	return ret ? ret : f2c_name_encrypt_buf(dir_keys, disk, *disk_len);
}

static size_t nokey_encode(uint32_t hash, uint32_t minor_hash,
			   const uint8_t *disk, size_t len, char *out)
{
	uint8_t raw[NOKEY_MAX];
	size_t n;

	raw[0] = hash;
	raw[1] = hash >> 8;
	raw[2] = hash >> 16;
	raw[3] = hash >> 24;
	raw[4] = minor_hash;
	raw[5] = minor_hash >> 8;
	raw[6] = minor_hash >> 16;
	raw[7] = minor_hash >> 24;
	if (len <= NOKEY_BYTES) {
		memcpy(raw + NOKEY_HASHES, disk, len);
		n = NOKEY_HASHES + len;
	} else {
		memcpy(raw + NOKEY_HASHES, disk, NOKEY_BYTES);
		SHA256(disk + NOKEY_BYTES, len - NOKEY_BYTES,
		       raw + NOKEY_HASHES + NOKEY_BYTES);
		n = NOKEY_MAX;
	}
	return b64_encode(raw, n, out);
}

int f2c_name_present(const struct f2c_keys *dir_keys, uint32_t hash,
		     uint32_t minor_hash, const uint8_t *disk, size_t len,
		     char *out, size_t *out_len)
{
	if ((len == 1 && disk[0] == '.') ||
	    (len == 2 && disk[0] == '.' && disk[1] == '.')) {
		memcpy(out, disk, len);
		out[len] = '\0';
		*out_len = len;
		return 0;
	}
	if (len < F2C_MIN_MSG_LEN || len > EXT2_NAME_LEN)
		return EUCLEAN;
	if (dir_keys->has_key) {
		uint8_t plain[EXT2_NAME_LEN];
		int ret;

		memcpy(plain, disk, len);
		ret = cts_crypt(dir_keys, plain, len, false);
		if (ret)
			return ret;
		*out_len = strnlen((char *)plain, len);
		/* A name the VFS cannot carry would break the listing. */
		if (*out_len && !memchr(plain, '/', *out_len)) {
			memcpy(out, plain, *out_len);
			out[*out_len] = '\0';
			return 0;
		}
	}
	*out_len = nokey_encode(hash, minor_hash, disk, len, out);
	return 0;
}

int f2c_nokey_hash_version(struct fuse2fs *f2,
			   const struct ext2_inode_large *dir)
{
	struct ext2_super_block *sb = f2->fs->super;
	int version = sb->s_def_hash_version;

	/* ext4's is_dx_dir(): only those list through the htree code. */
	if (!ext2fs_has_feature_dir_index(sb) ||
	    !((dir->i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL)) ||
	      EXT2_I_SIZE(dir) == f2->fs->blocksize))
		return -1;
	if (dir->i_flags & EXT2_INDEX_FL) {
		/* The root's hash version, at byte 28 of block 0. */
		blk64_t pblk;
		char *buf = malloc(f2->fs->blocksize);

		if (!buf)
			return -1;
		if (!ext2fs_bmap2(f2->fs, 0, (struct ext2_inode *)dir, NULL,
				  0, 0, NULL, &pblk) && pblk &&
		    !io_channel_read_blk64(f2->fs->io, pblk, 1, buf))
			version = (unsigned char)buf[28];
		free(buf);
	}
	if (version <= EXT2_HASH_TEA &&
	    (sb->s_flags & EXT2_FLAGS_UNSIGNED_HASH))
		version += 3;
	return version;
}

void f2c_nokey_hash(struct fuse2fs *f2, int version, const uint8_t *disk,
		    size_t len, uint32_t *hash, uint32_t *minor_hash)
{
	ext2_dirhash_t h = 0, mh = 0;

	*hash = *minor_hash = 0;
	if (version < 0 ||
	    ext2fs_dirhash2(version, (const char *)disk, (int)len, NULL, 0,
			    f2->fs->super->s_hash_seed, &h, &mh))
		return;
	*hash = h;
	*minor_hash = mh;
}

struct nokey_match {
	const uint8_t *prefix;		/* first NOKEY_BYTES of the name */
	const uint8_t *digest;		/* SHA-256 of the rest */
	ext2_ino_t ino;
	uint8_t *disk;
	size_t disk_len;
};

static int nokey_match_proc(ext2_ino_t dir, int entry,
			    struct ext2_dir_entry *d, int offset,
			    int blocksize, char *buf, void *priv)
{
	struct nokey_match *m = priv;
	size_t len = ext2fs_dirent_name_len(d);
	uint8_t digest[SHA256_DIGEST_LENGTH];

	if (!d->inode || len <= NOKEY_BYTES ||
	    memcmp(d->name, m->prefix, NOKEY_BYTES))
		return 0;
	SHA256((uint8_t *)d->name + NOKEY_BYTES, len - NOKEY_BYTES, digest);
	if (memcmp(digest, m->digest, sizeof(digest)))
		return 0;
	m->ino = d->inode;
	memcpy(m->disk, d->name, len);
	m->disk_len = len;
	return DIRENT_ABORT;
}

int f2c_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
	       ext2_ino_t *ino, uint8_t *disk, size_t *disk_len)
{
	size_t len = strlen(name);
	uint8_t raw[NOKEY_MAX + 3];
	struct f2c_keys keys;
	long n;
	int ret;

	ret = f2c_inode_keys(f2, dir, &keys);
	if (ret)
		return ret;
	if (keys.has_key) {
		ret = f2c_name_encrypt(&keys, name, disk, disk_len);
		f2c_keys_wipe(&keys);
		return ret ? ret :
			f2_lookup_disk(f2, dir, (char *)disk, *disk_len, ino);
	}
	/* A no-key name: what fscrypt_setup_filename() accepts. */
	if (len > (NOKEY_MAX * 4 + 2) / 3)
		return ENOENT;
	n = b64_decode(name, len, raw);
	if (n < NOKEY_HASHES + 1 ||
	    (n > NOKEY_HASHES + NOKEY_BYTES && n != NOKEY_MAX))
		return ENOENT;
	if (n != NOKEY_MAX) {
		*disk_len = (size_t)n - NOKEY_HASHES;
		memcpy(disk, raw + NOKEY_HASHES, *disk_len);
		return f2_lookup_disk(f2, dir, (char *)disk, *disk_len, ino);
	} else {
		struct nokey_match m = {
			.prefix = raw + NOKEY_HASHES,
			.digest = raw + NOKEY_HASHES + NOKEY_BYTES,
			.disk = disk,
		};
		errcode_t err;

		err = ext2fs_dir_iterate2(f2->fs, dir, 0, NULL,
					  nokey_match_proc, &m);
		if (err)
			return f2_errno(err);
		if (!m.ino)
			return ENOENT;
		*ino = m.ino;
		*disk_len = m.disk_len;
		return 0;
	}
}

int f2c_symlink_target(struct fuse2fs *f2, ext2_ino_t ino,
		       const uint8_t *disk, size_t size, char **target)
{
	char out[F2C_NAME_MAX + 1];
	struct f2c_keys keys;
	size_t clen, n;
	int ret;

	/* NULL on every failure: the caller frees what it gets */
	*target = NULL;
	if (size < 2)
		return EUCLEAN;
	clen = disk[0] | (disk[1] << 8);
	if (clen + 2 > size || clen < F2C_MIN_MSG_LEN)
		return EUCLEAN;
	ret = f2c_inode_keys(f2, ino, &keys);
	if (ret)
		return ret;
	if (keys.has_key) {
		*target = malloc(clen + 1);
		if (!*target) {
			ret = ENOMEM;
		} else {
			memcpy(*target, disk + 2, clen);
			ret = cts_crypt(&keys, (uint8_t *)*target, clen, false);
			(*target)[clen] = '\0';
			if (!ret && !(*target)[0])
				ret = EUCLEAN;
			if (ret) {
				free(*target);
				*target = NULL;
			}
		}
		f2c_keys_wipe(&keys);
		return ret;
	}
	n = nokey_encode(0, 0, disk + 2, clen, out);
	*target = strndup(out, n);
	return *target ? 0 : ENOMEM;
}

void f2c_symlink_size(struct fuse2fs *f2, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, struct stat *st)
{
	struct ext2_inode_large copy = *inode;
	char *raw, *target;

	/* Like ext4: the length readlink() gives; the stored one on error. */
	if (f2_symlink_read(f2, ino, &copy, &raw))
		return;
	if (!f2c_symlink_target(f2, ino, (uint8_t *)raw, EXT2_I_SIZE(inode),
				&target)) {
		st->st_size = strlen(target);
		free(target);
	}
	free(raw);
}
