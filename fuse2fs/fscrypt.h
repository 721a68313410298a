/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fscrypt in fuse2fs: ext4's per-directory encryption, read and written
 * the way the kernel's Documentation/filesystems/fscrypt.rst describes.
 *
 * fscrypt_keys.c   the master keys of the mount, key derivation (v1:
 *                  AES-128-ECB keyed by the nonce; v2: HKDF-SHA512), the
 *                  key channel (mount option, user.fuse2fs.key xattrs)
 * fscrypt_ctx.c    the encryption context xattr of an inode, per-file keys
 * fscrypt_name.c   file names and symlink targets, no-key names
 * fscrypt_data.c   file contents, one data unit (filesystem block) at a time
 *
 * The hooks other fuse2fs files call are declared here; each returns 0 or
 * a positive errno like the rest of fuse2fs.
 */
#ifndef FUSE2FS_FSCRYPT_H
#define FUSE2FS_FSCRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse2fs.h"

#ifndef ENOKEY
#define ENOKEY 126
#endif

/* On-disk context (the ext4 xattr of index 9, name "c"). */
#define F2C_CTX_V1		1
#define F2C_CTX_V2		2
#define F2C_CTX_V1_SIZE		28
#define F2C_CTX_V2_SIZE		40
#define F2C_NONCE_SIZE		16
#define F2C_DESCRIPTOR_SIZE	8
#define F2C_IDENTIFIER_SIZE	16
#define F2C_MAX_KEY_SIZE	64
#define F2C_MIN_KEY_SIZE	16

/* Modes and flags, as in the uapi fscrypt.h. */
#define F2C_MODE_AES_256_XTS	1
#define F2C_MODE_AES_256_CTS	4
#define F2C_MODE_AES_128_CBC	5
#define F2C_MODE_AES_128_CTS	6
#define F2C_FLAGS_PAD_MASK	0x03
#define F2C_FLAG_DIRECT_KEY	0x04
#define F2C_FLAG_IV_INO_LBLK_64	0x08
#define F2C_FLAG_IV_INO_LBLK_32	0x10

/* The parsed context of an encrypted inode. */
struct f2c_ctx {
	uint8_t version;		/* F2C_CTX_V1 or F2C_CTX_V2 */
	uint8_t contents_mode;
	uint8_t filenames_mode;
	uint8_t flags;
	uint8_t log2_data_unit_size;	/* v2 only; 0 = the block size */
	uint8_t key_spec[F2C_IDENTIFIER_SIZE];	/* v1: 8-byte descriptor */
	uint8_t nonce[F2C_NONCE_SIZE];
};

/* An inode's keys, once its master key is known. */
struct f2c_keys {
	struct f2c_ctx ctx;
	uint8_t contents_key[F2C_MAX_KEY_SIZE];
	uint8_t names_key[F2C_MAX_KEY_SIZE];
	unsigned int contents_key_size;
	unsigned int names_key_size;
	bool has_key;			/* false: only ctx is valid */
	/* IV_INO_LBLK_64: per-mode keys, the inode number in every IV. */
	uint64_t iv_ino;		/* ino << 32, or 0 */
};

/* ---- keys (fscrypt_keys.c) ---- */
struct f2c_keyring;
struct f2c_keyring *f2c_keyring_new(void);
void f2c_keyring_free(struct f2c_keyring *kr);
/* Changes whenever a key is added or removed. */
unsigned long f2c_keyring_gen(struct f2c_keyring *kr);
/*
 * Add a master key.  v1 keys are named by an 8-byte descriptor, v2 keys
 * by their identifier, which is derived from the key and stored in
 * *identifier (may be NULL).
 */
int f2c_key_add(struct f2c_keyring *kr, int version, const uint8_t *spec,
		const uint8_t *raw, size_t size, uint8_t *identifier);
/* Forget a key: ENOKEY when it was not there. */
int f2c_key_remove(struct f2c_keyring *kr, int version, const uint8_t *spec);
/* The raw key of a context, or NULL. */
const uint8_t *f2c_key_find(struct f2c_keyring *kr, int version,
			    const uint8_t *spec, size_t *size);
/* v2 identifier of a raw key (HKDF-SHA512, context 1). */
int f2c_key_identifier(const uint8_t *raw, size_t size, uint8_t *out);
/*
 * -o keyfile=LIST: ':'-separated files, each a raw key (16 to 64 bytes);
 * "DESCRIPTOR=FILE" (16 hex digits) adds a v1 key.  0 or an errno,
 * with a message on stderr.
 */
int f2c_load_keyfiles(struct f2c_keyring *kr, const char *list);
/*
 * The key channel on a running mount: the F2C_IOC_* ioctls of
 * fscrypt_ioctl.h; false when cmd is not one of them.
 */
bool f2c_ioctl(fuse_req_t req, unsigned int cmd, const void *in_buf,
	       size_t in_bufsz, size_t out_bufsz);

/* ---- contexts and per-file keys (fscrypt_ctx.c) ---- */
static inline bool f2c_encrypted(const struct ext2_inode_large *inode)
{
	return inode->i_flags & EXT4_ENCRYPT_FL;
}
/* Parse a context value; EINVAL when malformed or unknown (as fscrypt). */
int f2c_ctx_parse(const void *value, size_t size, struct f2c_ctx *ctx);
/* Read ino's context and, when its key is present, derive its keys. */
int f2c_inode_keys(struct fuse2fs *f2, ext2_ino_t ino,
		   struct f2c_keys *keys);
/* The IV of data unit index (block, or 0 for names) under keys. */
void f2c_iv(const struct f2c_keys *keys, uint64_t index, uint8_t iv[16]);
/* Like f2c_inode_keys() but ENOKEY when the key is absent. */
int f2c_require_keys(struct fuse2fs *f2, ext2_ino_t ino,
		     struct f2c_keys *keys);
void f2c_keys_wipe(struct f2c_keys *keys);
/* Wipe the cache of derived keys (a master key went away). */
void f2c_forget_keys(void);

/* ---- names (fscrypt_name.c) ---- */
/* Longest presented name: a decrypted name or a no-key name. */
#define F2C_NAME_MAX		255
/*
 * Present the on-disk name of an entry of encrypted directory dir: the
 * plaintext with the key, else the no-key name.  hash/minor_hash are the
 * entry's htree hash for no-key names (see f2c_nokey_hash()).  out has
 * room for F2C_NAME_MAX + 1 bytes; *out_len excludes the NUL.
 */
int f2c_name_present(const struct f2c_keys *dir_keys, uint32_t hash,
		     uint32_t minor_hash, const uint8_t *disk, size_t len,
		     char *out, size_t *out_len);
/*
 * The dirhash ext4 puts in no-key names: the hash version of directory
 * dir (-1: ext4 puts zeroes), then the hash of one entry's name.
 */
int f2c_nokey_hash_version(struct fuse2fs *f2,
			   const struct ext2_inode_large *dir);
void f2c_nokey_hash(struct fuse2fs *f2, int version, const uint8_t *disk,
		    size_t len, uint32_t *hash, uint32_t *minor_hash);
/*
 * Find the user-given name in encrypted directory dir: *ino and its
 * on-disk name (up to EXT2_NAME_LEN bytes, not NUL-terminated).
 */
int f2c_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
	       ext2_ino_t *ino, uint8_t *disk, size_t *disk_len);
/* Encrypt a name for a new entry of dir (the key must be present). */
int f2c_name_encrypt(const struct f2c_keys *dir_keys, const char *name,
		     uint8_t *disk, size_t *disk_len);
/* Pad a name (or symlink target) to the policy's length, at most max. */
int f2c_name_pad(const struct f2c_keys *keys, const char *name,
		 size_t max, uint8_t *out, size_t *out_len);
/* Encrypt a padded name in place with keys's names key. */
int f2c_name_encrypt_buf(const struct f2c_keys *keys, uint8_t *buf,
			 size_t len);
/* readlink of an encrypted symlink: plaintext target or no-key name. */
int f2c_symlink_target(struct fuse2fs *f2, ext2_ino_t ino,
		       const uint8_t *disk, size_t size, char **target);

/* ---- the name space (fscrypt_dir.c) ---- */
/* Is dir an encrypted directory (false on any error)? */
bool f2c_dir_encrypted(struct fuse2fs *f2, ext2_ino_t dir);
/* f2_lookup_name() in an encrypted directory. */
int f2c_dir_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t *ino);
/* May an entry be added to dir?  ENOKEY without its key. */
int f2c_may_add(struct fuse2fs *f2, ext2_ino_t dir);
/* link(ino, dir/...): ENOKEY, or EXDEV across encryption policies. */
int f2c_check_link(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t ino);
/* rename(olddir/src, newdir/dst): the same rules for both directions. */
int f2c_check_rename(struct fuse2fs *f2, ext2_ino_t olddir, ext2_ino_t src,
		     ext2_ino_t newdir, ext2_ino_t dst, bool exchange);
/* Remove name -> ino from an encrypted dir; EAGAIN if dir is not one. */
int f2c_remove_entry(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t ino);

/* ---- writing (fscrypt_write.c); EAGAIN: dir is not encrypted ---- */
/* Give a new inode of parent its own context, if parent is encrypted. */
int f2c_inherit(struct fuse2fs *f2, ext2_ino_t parent, ext2_ino_t ino);
/* f2_add_link() for an encrypted dir: the name goes in encrypted. */
int f2c_add_link(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		 ext2_ino_t ino, int ftype);
/* The on-disk name of the existing entry name of an encrypted dir. */
int f2c_disk_name(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		  char *disk, size_t *len);
/* Lay out symlink ino (allocated, unlinked) with an encrypted target. */
int f2c_symlink(struct fuse2fs *f2, ext2_ino_t parent, ext2_ino_t ino,
		const char *target);
/* WRITE to an encrypted file (extents only); *inode is updated. */
int f2c_write(struct fuse2fs *f2, ext2_ino_t ino,
	      struct ext2_inode_large *inode, const char *data, size_t size,
	      off_t off);
/* Truncation of an encrypted file: the cut block is re-encrypted. */
int f2c_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		 struct ext2_inode_large *inode, uint64_t size);

/* ---- contents (fscrypt_data.c) ---- */
/*
 * Decrypt (enc false) or encrypt in place nblocks blocks of ino starting
 * at logical block lblk.  Holes must be zero-filled by the caller and
 * are skipped through the zero map when given (one bool per block).
 */
int f2c_crypt_blocks(struct fuse2fs *f2, const struct f2c_keys *keys,
		     ext2_ino_t ino, uint64_t lblk, char *buf,
		     size_t nblocks, const bool *hole, bool enc);
/* READ of an encrypted file: decrypt whole blocks from lblk in buf. */
int f2c_read_decrypt(struct fuse2fs *f2, ext2_ino_t ino,
		     struct ext2_inode_large *inode, uint64_t lblk,
		     char *buf, size_t nblocks);
/* OPEN of an encrypted regular file: ENOKEY without its key. */
int f2c_open_check(struct fuse2fs *f2, ext2_ino_t ino, int flags);
/* st_size of an encrypted symlink: the length readlink returns. */
void f2c_symlink_size(struct fuse2fs *f2, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, struct stat *st);

#endif /* FUSE2FS_FSCRYPT_H */
