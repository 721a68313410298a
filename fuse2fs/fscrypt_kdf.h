/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fscrypt's HKDF-SHA512 (fscrypt_kdf.c), for fuse2fs and fuse2fs-key. */
#ifndef FUSE2FS_FSCRYPT_KDF_H
#define FUSE2FS_FSCRYPT_KDF_H

#include <stddef.h>
#include <stdint.h>

#define F2C_HKDF_KEY_IDENTIFIER		1	/* info: empty */
#define F2C_HKDF_PER_FILE_ENC_KEY	2	/* info: the file nonce */
#define F2C_HKDF_IV_INO_LBLK_64_KEY	4	/* info: mode, fs UUID */
#define F2C_HKDF_INFO_MAX		32

/* out_len bytes of HKDF-SHA512(key, "fscrypt\0" context info); 0 or -1. */
int f2c_hkdf(const uint8_t *key, size_t key_len, uint8_t context,
	     const uint8_t *info, size_t info_len, uint8_t *out,
	     size_t out_len);

/* Load libcrypto's configuration and seed its RNG now; 0 or -1. */
int f2c_crypto_init(void);

#endif /* FUSE2FS_FSCRYPT_KDF_H */
