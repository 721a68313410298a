// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fscrypt master keys of a fuse2fs mount, and how they get there.
 *
 * The kernel's FS_IOC_ADD_ENCRYPTION_KEY cannot reach a FUSE server: FUSE
 * forwards only the fixed part of the ioctl argument, never the raw key
 * behind it.  So keys come in two other ways:
 *   - at mount time, -o keyfile=FILE[:FILE...] (see f2c_load_keyfiles());
 *   - on a running mount, through fuse2fs's own ioctls (fscrypt_ioctl.h,
 *     used by fuse2fs-key) on any file or directory of the mount, whose
 *     fixed-size arguments FUSE forwards whole, read-only mounts
 *     included.  They are accepted from root or from the user fuse2fs
 *     runs as (the mount's owner) only.  Nothing is stored in the image.
 * Keys, like the kernel's filesystem keyring, belong to the mount, not to
 * a user: once added, every user who may open the files sees plaintext.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fscrypt.h"
#include "fscrypt_ioctl.h"
#include "fscrypt_kdf.h"

#define F2C_MAX_KEYS	64

struct f2c_master_key {
	int version;			/* 1 or 2; 0 = free slot */
	uint8_t spec[F2C_IDENTIFIER_SIZE];
	uint8_t raw[F2C_MAX_KEY_SIZE];
	size_t size;
};

struct f2c_keyring {
	struct f2c_master_key keys[F2C_MAX_KEYS];
	unsigned long gen;		/* bumped by every add and remove */
};

struct f2c_keyring *f2c_keyring_new(void)
{
	return calloc(1, sizeof(struct f2c_keyring));
}

unsigned long f2c_keyring_gen(struct f2c_keyring *kr)
{
	return kr ? kr->gen : 0;
}

void f2c_keyring_free(struct f2c_keyring *kr)
{
	f2c_forget_keys();
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
	return f2c_hkdf(raw, size, F2C_HKDF_KEY_IDENTIFIER, NULL, 0, out,
			F2C_IDENTIFIER_SIZE) ? EIO : 0;
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
	kr->gen++;
	return 0;
}

int f2c_key_remove(struct f2c_keyring *kr, int version, const uint8_t *spec)
{
	struct f2c_master_key *k = key_slot(kr, version, spec);

	if (!k)
		return ENOKEY;
	OPENSSL_cleanse(k, sizeof(*k));
	kr->gen++;
	f2c_forget_keys();	/* no derived key outlives its master */
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

/* ---- the ioctl channel (fscrypt_ioctl.h) ---- */

static void forget_encrypted(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	if (!f2_read_inode(f2, ino, &inode) && f2c_encrypted(&inode))
		fuse_lowlevel_notify_inval_inode(f2->se, f2_nodeid(ino), 0, 0);
}

/*
 * Cached symlink targets, sizes and pages of encrypted inodes were made
 * with or without the key: the kernel drops them.  Entries in encrypted
 * directories are never cached (lookup.c, dir.c).
 */
static void keys_changed(struct fuse2fs *f2)
{
	if (f2->se)
		f2_itab_foreach(f2, forget_encrypted);
}

static int key_ioctl(struct fuse2fs *f2, unsigned int cmd, const void *in,
		     size_t in_size, struct f2c_ioc_key_id *status)
{
	struct f2c_ioc_key key;
	struct f2c_ioc_key_id id;
	size_t n;
	int ret;

	if (cmd == F2C_IOC_ADD_KEY) {
		if (in_size < sizeof(key))
			return EINVAL;
		memcpy(&key, in, sizeof(key));
		ret = key.size > sizeof(key.raw) ? EINVAL :
			f2c_key_add(f2->keys, key.version, key.descriptor,
				    key.raw, key.size, NULL);
		OPENSSL_cleanse(&key, sizeof(key));
		return ret;
	}
	if (in_size < sizeof(id))
		return EINVAL;
	memcpy(&id, in, sizeof(id));
	if (id.version != 1 && id.version != 2)
		return EINVAL;
	if (cmd == F2C_IOC_REMOVE_KEY)
		return f2c_key_remove(f2->keys, id.version, id.spec);
	*status = id;
	status->present = !!f2c_key_find(f2->keys, id.version, id.spec, &n);
	return 0;
}

bool f2c_ioctl(fuse_req_t req, unsigned int cmd, const void *in_buf,
	       size_t in_bufsz, size_t out_bufsz)
{
	struct fuse2fs *f2 = f2_get(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct f2c_ioc_key_id status;
	int ret;

	if (cmd != F2C_IOC_ADD_KEY && cmd != F2C_IOC_REMOVE_KEY &&
	    cmd != F2C_IOC_KEY_STATUS)
		return false;
	/* Root, or the user running fuse2fs: the mount's owner. */
	if (ctx->uid != 0 && ctx->uid != getuid())
		ret = EPERM;
	else if (cmd == F2C_IOC_KEY_STATUS && out_bufsz < sizeof(status))
		ret = EINVAL;
	else
		ret = key_ioctl(f2, cmd, in_buf, in_bufsz, &status);
	if (ret) {
		fuse_reply_err(req, ret);
	} else if (cmd == F2C_IOC_KEY_STATUS) {
		fuse_reply_ioctl(req, 0, &status, sizeof(status));
	} else {
		fuse_reply_ioctl(req, 0, NULL, 0);
		keys_changed(f2);
	}
	return true;
}
