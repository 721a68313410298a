// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * HKDF-SHA512 as fscrypt uses it (fscrypt.rst, "Key derivation"): no
 * salt, and info = "fscrypt\0", a one-byte context, then the context's
 * own info.  Shared by fuse2fs and fuse2fs-key, so it needs nothing but
 * libcrypto.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "fscrypt_kdf.h"

int f2c_hkdf(const uint8_t *key, size_t key_len, uint8_t context,
	     const uint8_t *info, size_t info_len, uint8_t *out,
	     size_t out_len)
{
	uint8_t full[9 + F2C_HKDF_INFO_MAX] = { 'f', 's', 'c', 'r', 'y', 'p',
						't', 0 };
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM p[4];
	int ok = 0;

	if (info_len > F2C_HKDF_INFO_MAX)
		return -1;
	full[8] = context;
	if (info_len)
		memcpy(full + 9, info, info_len);
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf)
		kctx = EVP_KDF_CTX_new(kdf);
	if (kctx) {
		p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
							"SHA512", 0);
		p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							 (void *)key, key_len);
		p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 full, 9 + info_len);
		p[3] = OSSL_PARAM_construct_end();
		ok = EVP_KDF_derive(kctx, out, out_len, p) == 1;
	}
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

int f2c_crypto_init(void)
{
	uint8_t seed[16];

	/*
	 * libcrypto reads its configuration file and seeds its random
	 * generator on first use; do both now, before any request, so the
	 * serving server opens no file for them.
	 */
	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) ||
	    RAND_bytes(seed, sizeof(seed)) != 1)
		return -1;
	OPENSSL_cleanse(seed, sizeof(seed));
	return 0;
}
