// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fscrypt master keys of a fuse2fs mount, and how they get there.
 *
 * The kernel's FS_IOC_ADD_ENCRYPTION_KEY cannot reach a FUSE server: FUSE
 * forwards only the fixed part of the ioctl argument, never the raw key
 * behind it.  So keys come in two other ways:
 *   - at mount time, -o keyfile=FILE[:FILE...] (see f2c_load_keyfiles());
 *   - on a running mount, as the value of setxattr("user.fuse2fs.key") on
 *     any file or directory of the mount (fuse2fs-key does it).  The
 *     server accepts it only from root or from the user fuse2fs runs as
 *     (the mount's owner); the kernel has already checked that the caller
 *     may write the inode.  Nothing is stored in the image.
 *     getxattr("user.fuse2fs.key.HEX") says whether a key is present
 *     ("present", else ENODATA); removexattr of that name forgets it.
 * Keys, like the kernel's filesystem keyring, belong to the mount, not to
 * a user: once added, every user who may open the files sees plaintext.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>

#include "fscrypt.h"

#define F2C_MAX_KEYS	64

struct f2c_master_key {
	int version;			/* 1 or 2; 0 = free slot */
	uint8_t spec[F2C_IDENTIFIER_SIZE];
	uint8_t raw[F2C_MAX_KEY_SIZE];
	size_t size;
};

struct f2c_keyring {
	struct f2c_master_key keys[F2C_MAX_KEYS];
};

/* The value of setxattr(F2C_XATTR_KEY): a header, then the raw key. */
struct f2c_key_msg {
	uint8_t version;		/* 1 or 2 */
	uint8_t reserved[7];
	uint8_t descriptor[F2C_DESCRIPTOR_SIZE];	/* v1 only */
} __attribute__((packed));

struct f2c_keyring *f2c_keyring_new(void)
{
	return calloc(1, sizeof(struct f2c_keyring));
}

void f2c_keyring_free(struct f2c_keyring *kr)
{
	if (!kr)
		return;
	OPENSSL_cleanse(kr, sizeof(*kr));
	free(kr);
}

static size_t spec_size(int version)
{
	return version == 1 ? F2C_DESCRIPTOR_SIZE : F2C_IDENTIFIER_SIZE;
}

static struct f2c_master_key *key_slot(struct f2c_keyring *kr, int version,
				       const uint8_t *spec)
{
	size_t i;

	for (i = 0; i < F2C_MAX_KEYS; i++) {
		struct f2c_master_key *k = &kr->keys[i];

		if (k->version == version &&
		    !memcmp(k->spec, spec, spec_size(version)))
			return k;
	}
	return NULL;
}

int f2c_key_identifier(const uint8_t *raw, size_t size, uint8_t *out)
{
	static const uint8_t info[] = { 'f', 's', 'c', 'r', 'y', 'p', 't', 0,
					1 /* HKDF_CONTEXT_KEY_IDENTIFIER */ };
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[4];
	int ok = 0;

	if (kctx) {
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
							"SHA512", 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							 (void *)raw, size);
		p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)info,
							 sizeof(info));
		p[3] = OSSL_PARAM_construct_end();
		ok = EVP_KDF_derive(kctx, out, F2C_IDENTIFIER_SIZE, p) == 1;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : EIO;
}

int f2c_key_add(struct f2c_keyring *kr, int version, const uint8_t *spec,
		const uint8_t *raw, size_t size, uint8_t *identifier)
{
	uint8_t id[F2C_IDENTIFIER_SIZE];
	struct f2c_master_key *k;
	size_t i;
	int ret;

	if ((version != 1 && version != 2) || size < F2C_MIN_KEY_SIZE ||
	    size > F2C_MAX_KEY_SIZE)
		return EINVAL;
	if (version == 2) {
		ret = f2c_key_identifier(raw, size, id);
		if (ret)
			return ret;
		spec = id;
		if (identifier)
			memcpy(identifier, id, sizeof(id));
	}
	k = key_slot(kr, version, spec);
	for (i = 0; !k && i < F2C_MAX_KEYS; i++)
		if (!kr->keys[i].version)
			k = &kr->keys[i];
	if (!k)
		return ENOSPC;
	k->version = version;
	memset(k->spec, 0, sizeof(k->spec));
	memcpy(k->spec, spec, spec_size(version));
	memcpy(k->raw, raw, size);
	k->size = size;
	return 0;
}

int f2c_key_remove(struct f2c_keyring *kr, int version, const uint8_t *spec)
{
	struct f2c_master_key *k = key_slot(kr, version, spec);

	if (!k)
		return ENOKEY;
	OPENSSL_cleanse(k, sizeof(*k));
	return 0;
}

const uint8_t *f2c_key_find(struct f2c_keyring *kr, int version,
			    const uint8_t *spec, size_t *size)
{
	struct f2c_master_key *k = kr ? key_slot(kr, version, spec) : NULL;

	if (!k)
		return NULL;
	*size = k->size;
	return k->raw;
}

static int hex_decode(const char *s, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i < 2 * n; i++) {
		int c = s[i], v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -1;
		if (i % 2)
			out[i / 2] |= v;
		else
			out[i / 2] = v << 4;
	}
	return s[2 * n] ? -1 : 0;
}

static int load_keyfile(struct f2c_keyring *kr, const char *item)
{
	uint8_t raw[F2C_MAX_KEY_SIZE + 1], desc[F2C_DESCRIPTOR_SIZE];
	const char *path = item, *eq = strchr(item, '=');
	char hex[2 * F2C_DESCRIPTOR_SIZE + 1];
	int version = 2, ret;
	size_t n;
	FILE *f;

	if (eq) {
		if (eq - item != 2 * F2C_DESCRIPTOR_SIZE)
			goto bad_desc;
		memcpy(hex, item, eq - item);
		hex[eq - item] = '\0';
		if (hex_decode(hex, F2C_DESCRIPTOR_SIZE, desc))
			goto bad_desc;
		version = 1;
		path = eq + 1;
	}
	f = fopen(path, "rb");
	if (!f) {
		ret = errno;
		fprintf(stderr, "fuse2fs: keyfile %s: %s\n", path,
			strerror(ret));
		return ret;
	}
	n = fread(raw, 1, sizeof(raw), f);
	fclose(f);
	if (n < F2C_MIN_KEY_SIZE || n > F2C_MAX_KEY_SIZE) {
		fprintf(stderr, "fuse2fs: keyfile %s: a raw key is %d to %d "
			"bytes\n", path, F2C_MIN_KEY_SIZE, F2C_MAX_KEY_SIZE);
		OPENSSL_cleanse(raw, sizeof(raw));
		return EINVAL;
	}
	ret = f2c_key_add(kr, version, desc, raw, n, NULL);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (ret)
		fprintf(stderr, "fuse2fs: keyfile %s: %s\n", path,
			strerror(ret));
	return ret;
bad_desc:
	fprintf(stderr, "fuse2fs: keyfile %s: a v1 key is DESCRIPTOR=FILE "
		"with 16 hex digits\n", item);
	return EINVAL;
}

int f2c_load_keyfiles(struct f2c_keyring *kr, const char *list)
{
	char *copy = strdup(list), *item, *save = NULL;
	int ret = 0;

	if (!copy)
		return ENOMEM;
	for (item = strtok_r(copy, ":", &save); item && !ret;
	     item = strtok_r(NULL, ":", &save))
		ret = load_keyfile(kr, item);
	free(copy);
	return ret;
}

/* ---- the xattr channel ---- */

bool f2c_key_xattr_name(const char *name)
{
	size_t n = strlen(F2C_XATTR_KEY);

	return !strncmp(name, F2C_XATTR_KEY, n) &&
	       (!name[n] || name[n] == '.');
}

static bool may_manage_keys(const struct fuse_ctx *ctx)
{
	return ctx->uid == 0 || ctx->uid == getuid();
}

/* "user.fuse2fs.key.HEX": 16 hex digits name a v1 key, 32 a v2 key. */
static int parse_key_name(const char *name, int *version, uint8_t *spec)
{
	const char *hex = name + strlen(F2C_XATTR_KEY);
	size_t n;

	if (*hex++ != '.')
		return EINVAL;
	n = strlen(hex);
	memset(spec, 0, F2C_IDENTIFIER_SIZE);
	if (n == 2 * F2C_DESCRIPTOR_SIZE)
		*version = 1;
	else if (n == 2 * F2C_IDENTIFIER_SIZE)
		*version = 2;
	else
		return EINVAL;
	return hex_decode(hex, spec_size(*version), spec) ? EINVAL : 0;
}

static void forget_encrypted(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	if (!f2_read_inode(f2, ino, &inode) && f2c_encrypted(&inode))
		fuse_lowlevel_notify_inval_inode(f2->se, f2_nodeid(ino), 0, 0);
}

void f2c_keys_changed(struct fuse2fs *f2)
{
	/*
	 * Cached symlink targets, sizes and pages of encrypted inodes were
	 * computed with or without the key: the kernel drops them.  Entries
	 * in encrypted directories are never cached (lookup.c, dir.c).
	 */
	if (f2->se)
		f2_itab_foreach(f2, forget_encrypted);
}

int f2c_key_xattr_set(struct fuse2fs *f2, const struct fuse_ctx *ctx,
		      const char *name, const void *value, size_t size)
{
	struct f2c_key_msg msg;

	if (!may_manage_keys(ctx))
		return EPERM;
	if (strcmp(name, F2C_XATTR_KEY))
		return EINVAL;
	if (size < sizeof(msg))
		return EINVAL;
	memcpy(&msg, value, sizeof(msg));
	if (msg.version != 1 && msg.version != 2)
		return EINVAL;
	return f2c_key_add(f2->keys, msg.version, msg.descriptor,
			   (const uint8_t *)value + sizeof(msg),
			   size - sizeof(msg), NULL);
}

int f2c_key_xattr_get(struct fuse2fs *f2, const struct fuse_ctx *ctx,
		      const char *name, char *buf, size_t size, size_t *len)
{
	uint8_t spec[F2C_IDENTIFIER_SIZE];
	static const char present[] = "present";
	size_t ksize;
	int version, ret;

	ret = parse_key_name(name, &version, spec);
	if (ret)
		return ret;
	if (!f2c_key_find(f2->keys, version, spec, &ksize))
		return ENODATA;
	*len = sizeof(present) - 1;
	if (size && size < *len)
		return ERANGE;
	if (size)
		memcpy(buf, present, *len);
	return 0;
}

int f2c_key_xattr_remove(struct fuse2fs *f2, const struct fuse_ctx *ctx,
			 const char *name)
{
	uint8_t spec[F2C_IDENTIFIER_SIZE];
	int version, ret;

	if (!may_manage_keys(ctx))
		return EPERM;
	ret = parse_key_name(name, &version, spec);
	if (ret)
		return ret;
	ret = f2c_key_remove(f2->keys, version, spec);
	return ret == ENOKEY ? ENODATA : ret;
}
