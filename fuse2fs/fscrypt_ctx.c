// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The encryption context of an inode and the keys derived from it.
 *
 * ext4 keeps the context in the extended attribute of name index 9 and
 * name "c" (libext2fs, knowing no prefix for index 9, calls it "c").  Its
 * format, and the derivation of the per-file keys from the master key and
 * the context's 16-byte nonce, are fscrypt's:
 *   v1: key = AES-128-ECB encryption of the master key's first bytes,
 *       with the nonce as the AES key;
 *   v2: key = HKDF-SHA512(master key, info "fscrypt\0" 0x02 nonce).
 * Both derivations give the longer key's prefix for a shorter length, so
 * one inode's contents key and names key come from the same call.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fscrypt.h"
#include "fscrypt_kdf.h"
#include "xattr.h"

#define F2C_XATTR_CONTEXT	"c"

static unsigned int mode_key_size(uint8_t mode)
{
	switch (mode) {
	case F2C_MODE_AES_256_XTS:
		return 64;
	case F2C_MODE_AES_256_CTS:
		return 32;
	case F2C_MODE_AES_128_CBC:
	case F2C_MODE_AES_128_CTS:
		return 16;
	default:
		return 0;
	}
}

/* The pairs fscrypt accepts, among those fuse2fs implements. */
static bool modes_supported(const struct f2c_ctx *c)
{
	return (c->contents_mode == F2C_MODE_AES_256_XTS &&
		c->filenames_mode == F2C_MODE_AES_256_CTS) ||
	       (c->contents_mode == F2C_MODE_AES_128_CBC &&
		c->filenames_mode == F2C_MODE_AES_128_CTS);
}

int f2c_ctx_parse(const void *value, size_t size, struct f2c_ctx *ctx)
{
	const uint8_t *v = value;

	/* Bad sizes, unknown versions and modes: EINVAL, as fscrypt says. */
	memset(ctx, 0, sizeof(*ctx));
	if (size < 1)
		return EINVAL;
	ctx->version = v[0];
	if (ctx->version == F2C_CTX_V1) {
		if (size != F2C_CTX_V1_SIZE)
			return EINVAL;
		memcpy(ctx->key_spec, v + 4, F2C_DESCRIPTOR_SIZE);
		memcpy(ctx->nonce, v + 12, F2C_NONCE_SIZE);
	} else if (ctx->version == F2C_CTX_V2) {
		if (size != F2C_CTX_V2_SIZE)
			return EINVAL;
		ctx->log2_data_unit_size = v[4];
		memcpy(ctx->key_spec, v + 8, F2C_IDENTIFIER_SIZE);
		memcpy(ctx->nonce, v + 24, F2C_NONCE_SIZE);
	} else {
		return EINVAL;
	}
	ctx->contents_mode = v[1];
	ctx->filenames_mode = v[2];
	ctx->flags = v[3];
	/* What the kernel would refuse as an unsupported policy. */
	if (!modes_supported(ctx) || ctx->log2_data_unit_size ||
	    (ctx->flags & ~(F2C_FLAGS_PAD_MASK | F2C_FLAG_IV_INO_LBLK_64)) ||
	    (ctx->version == F2C_CTX_V1 &&
	     (ctx->flags & F2C_FLAG_IV_INO_LBLK_64)))
		return EINVAL;
	return 0;
}

static int derive_v1(const uint8_t *master, size_t msize,
		     const struct f2c_ctx *ctx, uint8_t *out, size_t n)
{
	EVP_CIPHER_CTX *c;
	int len = 0, ok;

	if (msize < n)
		return EINVAL;	/* the kernel: key too short for the mode */
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return ENOMEM;
	ok = EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, ctx->nonce,
				NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
	     EVP_EncryptUpdate(c, out, &len, master, (int)n) == 1 &&
	     (size_t)len == n;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : EIO;
}

static int derive_v2(const uint8_t *master, size_t msize,
		     const struct f2c_ctx *ctx, uint8_t *out, size_t n)
{
	return f2c_hkdf(master, msize, F2C_HKDF_PER_FILE_ENC_KEY, ctx->nonce,
			F2C_NONCE_SIZE, out, n) ? EIO : 0;
}

/*
 * IV_INO_LBLK_64: one key per mode and filesystem, HKDF context 4 with
 * info { mode number, filesystem UUID }; the inode number goes into IVs.
 */
static int derive_ino_lblk_64(struct fuse2fs *f2, const uint8_t *master,
			      size_t msize, uint8_t mode, uint8_t *out,
			      size_t n)
{
	uint8_t info[17];

	info[0] = mode;
	memcpy(info + 1, f2->fs->super->s_uuid, 16);
	return f2c_hkdf(master, msize, F2C_HKDF_IV_INO_LBLK_64_KEY, info,
			sizeof(info), out, n) ? EIO : 0;
}

/*
 * Every READ and WRITE of an encrypted file needs its keys; deriving them
 * (an xattr read, HKDF) costs as much as decrypting 128 KiB.  The last
 * inodes' keys are kept, keyed by inode, generation and the keyring's
 * generation, so a key added or removed is seen at once.
 */
#define F2C_KEY_CACHE	16

struct key_cache_slot {
	ext2_ino_t ino;
	uint32_t generation;
	unsigned long keyring_gen;
	struct f2c_keys keys;
};

static struct key_cache_slot key_cache[F2C_KEY_CACHE];

static int derive_keys(struct fuse2fs *f2, ext2_ino_t ino,
		       struct f2c_keys *keys);

int f2c_inode_keys(struct fuse2fs *f2, ext2_ino_t ino, struct f2c_keys *keys)
{
	struct key_cache_slot *s = &key_cache[ino % F2C_KEY_CACHE];
	unsigned long kgen = f2c_keyring_gen(f2->keys);
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (s->ino == ino && s->generation == inode.i_generation &&
	    s->keyring_gen == kgen) {
		*keys = s->keys;
		return 0;
	}
	ret = derive_keys(f2, ino, keys);
	if (!ret) {
		OPENSSL_cleanse(s, sizeof(*s));
		s->ino = ino;
		s->generation = inode.i_generation;
		s->keyring_gen = kgen;
		s->keys = *keys;
	}
	return ret;
}

void f2c_forget_keys(void)
{
	OPENSSL_cleanse(key_cache, sizeof(key_cache));
}

static int derive_keys(struct fuse2fs *f2, ext2_ino_t ino,
		       struct f2c_keys *keys)
{
	uint8_t derived[F2C_MAX_KEY_SIZE];
	const uint8_t *master;
	unsigned int n;
	size_t msize;
	void *val;
	size_t len;
	int ret;

	memset(keys, 0, sizeof(*keys));
	ret = f2_xattr_read(f2, ino, F2C_XATTR_CONTEXT, &val, &len);
	if (ret == ENODATA)
		return EUCLEAN;	/* encrypted, but no context: corrupt */
	if (ret)
		return ret;
	ret = f2c_ctx_parse(val, len, &keys->ctx);
	ext2fs_free_mem(&val);
	if (ret)
		return ret;
	master = f2c_key_find(f2->keys, keys->ctx.version, keys->ctx.key_spec,
			      &msize);
	if (!master)
		return 0;
	keys->contents_key_size = mode_key_size(keys->ctx.contents_mode);
	keys->names_key_size = mode_key_size(keys->ctx.filenames_mode);
	n = keys->contents_key_size > keys->names_key_size ?
		keys->contents_key_size : keys->names_key_size;
	/* A v1 master key too short for contents may still do names. */
	if (keys->ctx.version == F2C_CTX_V1 && msize < n) {
		keys->contents_key_size = 0;
		n = keys->names_key_size;
	}
	if (keys->ctx.flags & F2C_FLAG_IV_INO_LBLK_64) {
		keys->iv_ino = (uint64_t)ino << 32;
		ret = derive_ino_lblk_64(f2, master, msize,
					 keys->ctx.contents_mode,
					 keys->contents_key,
					 keys->contents_key_size);
		if (!ret)
			ret = derive_ino_lblk_64(f2, master, msize,
						 keys->ctx.filenames_mode,
						 keys->names_key,
						 keys->names_key_size);
		keys->has_key = !ret;
		return ret;
	}
	if (keys->ctx.version == F2C_CTX_V1)
		ret = derive_v1(master, msize, &keys->ctx, derived, n);
	else
		ret = derive_v2(master, msize, &keys->ctx, derived, n);
	if (!ret) {
		memcpy(keys->contents_key, derived, keys->contents_key_size);
		memcpy(keys->names_key, derived, keys->names_key_size);
		keys->has_key = true;
	}
	OPENSSL_cleanse(derived, sizeof(derived));
	return ret;
}

int f2c_require_keys(struct fuse2fs *f2, ext2_ino_t ino,
		     struct f2c_keys *keys)
{
	int ret = f2c_inode_keys(f2, ino, keys);

	if (!ret && !keys->has_key)
		ret = ENOKEY;
	return ret;
}

void f2c_keys_wipe(struct f2c_keys *keys)
{
	OPENSSL_cleanse(keys, sizeof(*keys));
}
