// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FS_IOC_READ_VERITY_METADATA: what fs/verity/read_metadata.c returns
 * for ext4, read from the image.  The Merkle tree is returned as stored
 * (top level first), the descriptor without its signature and with
 * sig_size zeroed, the signature alone (ENODATA when there is none).
 * Nothing is verified here, as in the kernel: these are the bytes a
 * tool checks itself.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/fsverity.h>

#include "fsverity.h"

int f2v_read_metadata(struct fuse2fs *f2, ext2_ino_t ino, const void *in,
		      size_t in_size, uint8_t *out, size_t out_size,
		      size_t *got)
{
	struct fsverity_read_metadata_arg arg;
	struct ext2_inode_large inode;
	struct f2v_info vi;
	uint64_t size, pos = 0, len;
	uint32_t sig_size;
	int ret;

	*got = 0;
	if (in_size < sizeof(arg))
		return EINVAL;
	memcpy(&arg, in, sizeof(arg));
	/* The checks of fsverity_ioctl_read_metadata(), in its order */
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (!(inode.i_flags & EXT4_VERITY_FL))
		return ENODATA;
	if (arg.__reserved || arg.offset + arg.length < arg.offset)
		return EINVAL;
	ret = f2v_load(f2, ino, &inode, &vi);
	if (ret)
		return ret;
	memcpy(&sig_size, vi.desc + 4, sizeof(sig_size));
	sig_size = le32toh(sig_size);

	switch (arg.metadata_type) {
	case FS_VERITY_METADATA_TYPE_MERKLE_TREE:
		size = vi.tree_size;
		pos = vi.tree_pos;
		break;
	case FS_VERITY_METADATA_TYPE_DESCRIPTOR:
		memset(vi.desc + 4, 0, 4);
		size = F2V_DESC_SIZE;
		break;
	case FS_VERITY_METADATA_TYPE_SIGNATURE:
		if (!sig_size)
			return ENODATA;
		size = sig_size;
		pos = vi.desc_pos + F2V_DESC_SIZE;
		break;
	default:
		return EINVAL;
	}
	if (arg.offset >= size)
		return 0;
	len = size - arg.offset;
	if (len > arg.length)
		len = arg.length;
	if (len > out_size)
		len = out_size;
	if (arg.metadata_type == FS_VERITY_METADATA_TYPE_DESCRIPTOR)
		memcpy(out, vi.desc + arg.offset, len);
	else
		ret = f2v_read_bytes(f2, ino, &inode, pos + arg.offset, out,
				     len);
	if (!ret)
		*got = len;
	return ret;
}
