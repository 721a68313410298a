// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writing into encrypted directories: new inodes get a context of their
 * own (the parent's policy, a fresh random nonce), names are stored
 * encrypted, symlink targets as { le16 length, ciphertext }, contents
 * encrypted block by block.
 *
 * libext2fs cannot do three of these things, so they are done here:
 *   - it names xattrs by prefix and knows none for index 9, so it would
 *     store a new "c" under index 0: the context is written into the
 *     inode's in-body xattr area directly (libext2fs keeps the index of
 *     entries it reads, so later attribute changes preserve it);
 *   - ext2fs_link() and ext2fs_symlink() take C strings, and ciphertext
 *     holds NUL bytes: entries go in through f2_dirent_add_len(), into
 *     the last block, after growing the directory if need be;
 *   - it cannot insert into an htree by a binary name: an encrypted
 *     htree directory is turned into a linear one first, which ext4 and
 *     e2fsck read as well (ext4 only lists and looks it up linearly).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "fscrypt.h"
#include "iomap.h"
#include "xattr.h"

#define F2C_XATTR_INDEX_ENCRYPTION	9

errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

/* Append the index-9 "c" attribute to the inode body of raw. */
static int ibody_add_context(struct fuse2fs *f2, uint8_t *raw,
			     const uint8_t *val, size_t vlen)
{
	unsigned int isize = EXT2_INODE_SIZE(f2->fs->super);
	struct ext2_inode_large *in = (struct ext2_inode_large *)raw;
	struct ext2_ext_attr_entry *e;
	size_t start, end, pos, min_val, need;
	uint32_t magic;

	if (isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return EOPNOTSUPP;	/* 128-byte inodes: no room */
	start = EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize;
	if (start + 8 > isize || (in->i_extra_isize & 3))
		return EUCLEAN;
	memcpy(&magic, raw + start, 4);
	if (magic != EXT2_EXT_ATTR_MAGIC) {
		magic = EXT2_EXT_ATTR_MAGIC;
		memcpy(raw + start, &magic, 4);
		memset(raw + start + 4, 0, isize - start - 4);
	}
	start += 4;		/* entries, and value offsets, count from here */
	end = isize - start;
	pos = 0;
	min_val = end;
	while (pos + 4 <= end) {
		e = (struct ext2_ext_attr_entry *)(raw + start + pos);
		if (!*(uint32_t *)e)
			break;
		if (pos + EXT2_EXT_ATTR_LEN(e->e_name_len) > end)
			return EUCLEAN;
		if (e->e_name_index == F2C_XATTR_INDEX_ENCRYPTION)
			return EEXIST;
		if (e->e_value_size && !e->e_value_inum &&
		    e->e_value_offs < min_val)
			min_val = e->e_value_offs;
		pos += EXT2_EXT_ATTR_LEN(e->e_name_len);
	}
	need = EXT2_EXT_ATTR_LEN(1) + 4;
	if (pos + need + EXT2_EXT_ATTR_SIZE(vlen) > min_val)
		return ENOSPC;
	e = (struct ext2_ext_attr_entry *)(raw + start + pos);
	memset(e, 0, EXT2_EXT_ATTR_LEN(1) + 4);
	e->e_name_len = 1;
	e->e_name_index = F2C_XATTR_INDEX_ENCRYPTION;
	e->e_value_offs = (uint16_t)(min_val - EXT2_EXT_ATTR_SIZE(vlen));
	e->e_value_size = (uint32_t)vlen;
	((char *)e)[sizeof(*e)] = 'c';
	memset(raw + start + e->e_value_offs, 0, EXT2_EXT_ATTR_SIZE(vlen));
	memcpy(raw + start + e->e_value_offs, val, vlen);
	e->e_hash = ext2fs_ext_attr_hash_entry(e, raw + start + e->e_value_offs);
	return 0;
}

int f2c_inherit(struct fuse2fs *f2, ext2_ino_t parent, ext2_ino_t ino)
{
	unsigned int isize = EXT2_INODE_SIZE(f2->fs->super);
	struct ext2_inode_large *in;
	uint8_t *raw, ctx[F2C_CTX_V2_SIZE];
	size_t len, nonce_off = 0;
	void *val;
	errcode_t err;
	int ret;

	if (!f2c_dir_encrypted(f2, parent))
		return 0;
	ret = f2_xattr_read(f2, parent, "c", &val, &len);
	if (ret)
		return ret == ENODATA ? EUCLEAN : ret;
	if (len == F2C_CTX_V1_SIZE || len == F2C_CTX_V2_SIZE) {
		memcpy(ctx, val, len);
		nonce_off = len - F2C_NONCE_SIZE;
	} else {
		len = 0;
	}
	ext2fs_free_mem(&val);
	if (!len)
		return EUCLEAN;
	if (RAND_bytes(ctx + nonce_off, F2C_NONCE_SIZE) != 1)
		return EIO;
	raw = calloc(1, isize > sizeof(*in) ? isize : sizeof(*in));
	if (!raw)
		return ENOMEM;
	in = (struct ext2_inode_large *)raw;
	err = ext2fs_read_inode_full(f2->fs, ino, (struct ext2_inode *)raw,
				     isize);
	ret = f2_errno(err);
	/* Special files are not encrypted (fscrypt_prepare_new_inode()). */
	if (!ret && (LINUX_S_ISREG(in->i_mode) || LINUX_S_ISDIR(in->i_mode) ||
		     LINUX_S_ISLNK(in->i_mode))) {
		ret = ibody_add_context(f2, raw, ctx, len);
		if (!ret) {
			in->i_flags |= EXT4_ENCRYPT_FL;
			ret = f2_errno(ext2fs_write_inode_full(f2->fs, ino,
					(struct ext2_inode *)raw, isize));
		}
	}
	free(raw);
	return ret;
}

/* An htree directory becomes a linear one: its index blocks empty. */
static int unindex(struct fuse2fs *f2, ext2_ino_t dir,
		   struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	unsigned int bs = fs->blocksize;
	bool csum = ext2fs_has_feature_metadata_csum(fs->super);
	uint64_t lblk, n = EXT2_I_SIZE(inode) / bs;
	struct ext2_dir_entry *d;
	errcode_t err = 0;
	unsigned int rec;
	blk64_t pblk;
	char *buf;

	buf = malloc(bs);
	if (!buf)
		return ENOMEM;
	for (lblk = 0; !err && lblk < n; lblk++) {
		err = ext2fs_bmap2(fs, dir, (struct ext2_inode *)inode, NULL,
				   0, lblk, NULL, &pblk);
		if (err || !pblk)
			continue;
		err = io_channel_read_blk64(fs->io, pblk, 1, buf);
		if (err)
			break;
		d = (struct ext2_dir_entry *)buf;
		if (ext2fs_get_rec_len(fs, d, &rec))
			break;
		if (lblk == 0) {
			/* Root: keep "." and "..", drop the index after. */
			d = (struct ext2_dir_entry *)(buf + 12);
			memset(buf + 24, 0, bs - 24);
			ext2fs_set_rec_len(fs, bs - 12 - (csum ? 12 : 0), d);
		} else if (!d->inode && rec == bs) {
			/* An index node: one empty entry. */
			memset(buf, 0, bs);
			ext2fs_set_rec_len(fs, bs - (csum ? 12 : 0), d);
		} else {
			continue;	/* a leaf: already a linear block */
		}
		if (csum)
			ext2fs_initialize_dirent_tail(fs,
						      EXT2_DIRENT_TAIL(buf, bs));
		err = ext2fs_write_dir_block4(fs, pblk, buf, 0, dir);
	}
	free(buf);
	if (err)
		return f2_errno(err);
	inode->i_flags &= ~EXT2_INDEX_FL;
	f2_dcache_forget(f2, dir);
	return f2_write_inode(f2, dir, inode);
}

int f2c_add_link(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		 ext2_ino_t ino, int ftype)
{
	uint8_t disk[EXT2_NAME_LEN];
	struct ext2_inode_large inode;
	struct f2c_keys keys;
	size_t len;
	uint32_t lblk;
	int ret;

	if (!f2c_dir_encrypted(f2, dir))
		return EAGAIN;
	ret = f2c_require_keys(f2, dir, &keys);
	if (!ret)
		ret = f2c_name_encrypt(&keys, name, disk, &len);
	f2c_keys_wipe(&keys);
	if (ret)
		return ret;
	ret = f2_read_inode(f2, dir, &inode);
	if (!ret && (inode.i_flags & EXT4_INLINE_DATA_FL)) {
		ret = f2_errno(ext2fs_inline_data_expand(f2->fs, dir));
		if (!ret)
			ret = f2_read_inode(f2, dir, &inode);
	}
	if (!ret && (inode.i_flags & EXT2_INDEX_FL))
		ret = unindex(f2, dir, &inode);
	if (!ret && !ext2fs_has_feature_filetype(f2->fs->super))
		ftype = 0;
	/* Into the last block, or a new one after it. */
	if (!ret)
		ret = f2_dirent_add_len(f2, dir, (char *)disk, len, ino, ftype,
					&lblk);
	if (ret == EAGAIN) {
		ret = f2_errno(ext2fs_expand_dir(f2->fs, dir));
		if (!ret)
			ret = f2_dirent_add_len(f2, dir, (char *)disk, len,
						ino, ftype, &lblk);
	}
	f2_dcache_forget(f2, dir);
	return ret == EAGAIN ? ENOSPC : ret;
}

int f2c_disk_name(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		  char *disk, size_t *len)
{
	ext2_ino_t ino;

	if (!strcmp(name, ".") || !strcmp(name, "..") ||
	    !f2c_dir_encrypted(f2, dir))
		return EAGAIN;
	return f2c_lookup(f2, dir, name, &ino, (uint8_t *)disk, len);
}

int f2c_symlink(struct fuse2fs *f2, ext2_ino_t parent, ext2_ino_t ino,
		const char *target)
{
	size_t tlen = strlen(target), clen;
	struct ext2_inode_large inode;
	struct f2c_keys keys;
	uint8_t *disk;
	char *fake;
	int ret;

	if (!f2c_dir_encrypted(f2, parent))
		return EAGAIN;
	ret = f2c_require_keys(f2, parent, &keys);
	if (ret)
		return ret;
	disk = calloc(1, tlen + 64 + 2);
	fake = calloc(1, tlen + 64 + 2);
	if (!disk || !fake) {
		ret = ENOMEM;
		goto out;
	}
	/*
	 * The target is padded like a name (ext4 allows a block less the
	 * length field and a NUL) and encrypted under the link's own key.
	 */
	ret = f2c_name_pad(&keys, target, f2->fs->blocksize - 3, disk + 2,
			   &clen);
	if (ret)
		goto out;
	disk[0] = (uint8_t)clen;
	disk[1] = (uint8_t)(clen >> 8);
	/*
	 * libext2fs lays out a target of that length, then the real bytes
	 * go in.  Never inline: ext4 reads encrypted links from i_block or
	 * their first block only.
	 */
	memset(fake, 'x', clen + 2);
	{
		bool had_inline = ext2fs_has_feature_inline_data(f2->fs->super);

		ext2fs_clear_feature_inline_data(f2->fs->super);
		ret = f2_errno(ext2fs_symlink(f2->fs, parent, ino, NULL,
					      fake));
		if (had_inline)
			ext2fs_set_feature_inline_data(f2->fs->super);
	}
	if (!ret)
		ret = f2c_inherit(f2, parent, ino);
	if (!ret)
		ret = f2c_inode_keys(f2, ino, &keys);
	if (!ret)
		ret = f2c_name_encrypt_buf(&keys, disk + 2, clen);
	if (!ret)
		ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto out;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode)) {
		memcpy(inode.i_block, disk, clen + 2);
		ret = f2_write_inode(f2, ino, &inode);
	} else {
		ext2_file_t file;
		unsigned int done = 0;

		ret = f2_errno(ext2fs_file_open2(f2->fs, ino,
				(struct ext2_inode *)&inode, EXT2_FILE_WRITE,
				&file));
		if (!ret) {
			ret = f2_errno(ext2fs_file_write(file, disk, clen + 2,
							 &done));
			if (!ret && ext2fs_file_close(file))
				ret = EIO;
			else if (ret)
				ext2fs_file_close(file);
		}
	}
out:
	f2c_keys_wipe(&keys);
	free(disk);
	free(fake);
	return ret;
}
