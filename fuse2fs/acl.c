// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX ACL encoding and mode arithmetic.
 *
 * xattr.c opens its xattr handles in raw mode, so libext2fs never converts
 * ACL values itself: its converter accepts out-of-order or duplicate
 * entries and refuses the header-only value that means "remove".  Doing
 * the conversion here lets every ACL be validated the way the kernel
 * validates it before it reaches the disk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

#define VFS_ACL_VERSION		2	/* POSIX_ACL_XATTR_VERSION */
#define DISK_ACL_VERSION	1	/* EXT4_ACL_VERSION */
#define VFS_HDR_SIZE		4
#define VFS_ENTRY_SIZE		8
#define DISK_HDR_SIZE		4
#define DISK_SHORT_SIZE		4	/* tag, perm */
#define DISK_LONG_SIZE		8	/* tag, perm, id */
#define ACL_PERM_MASK		7	/* read, write, execute */
#define ACL_UNDEFINED_ID	((uint32_t)-1)

static uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static struct f2_acl *acl_alloc(unsigned int count)
{
	struct f2_acl *acl;

	acl = calloc(1, sizeof(*acl) + count * sizeof(acl->e[0]));
	if (acl)
		acl->count = count;
	return acl;
}

static bool tag_has_id(uint16_t tag)
{
	return tag == F2_ACL_USER || tag == F2_ACL_GROUP;
}

/*
 * The kernel's rules (posix_acl_valid): entries grouped in tag order, one
 * each of user::, group:: and other::, at most one mask and a mask
 * whenever named entries exist.  Like the kernel, the order and
 * uniqueness of the ids in named entries are not checked.
 */
static int acl_check(const struct f2_acl *acl)
{
	unsigned int i, n_user_obj = 0, n_group_obj = 0, n_other = 0;
	unsigned int n_mask = 0, n_named = 0;
	const struct f2_acl_entry *prev = NULL;

	for (i = 0; i < acl->count; i++) {
		const struct f2_acl_entry *e = &acl->e[i];

		if (e->perm & ~ACL_PERM_MASK)
			return EINVAL;
		if (prev && e->tag < prev->tag)
			return EINVAL;
		switch (e->tag) {
		case F2_ACL_USER_OBJ:
			n_user_obj++;
			break;
		case F2_ACL_GROUP_OBJ:
			n_group_obj++;
			break;
		case F2_ACL_OTHER:
			n_other++;
			break;
		case F2_ACL_MASK:
			n_mask++;
			break;
		case F2_ACL_USER:
		case F2_ACL_GROUP:
			if (e->id == ACL_UNDEFINED_ID)
				return EINVAL;
			n_named++;
			break;
		default:
			return EINVAL;
		}
		prev = e;
	}
	if (n_user_obj != 1 || n_group_obj != 1 || n_other != 1 || n_mask > 1)
		return EINVAL;
	if (n_named && !n_mask)
		return EINVAL;
	return 0;
}

int f2_acl_from_vfs(const void *buf, size_t size, struct f2_acl **out)
{
	const unsigned char *p = buf;
	struct f2_acl *acl;
	unsigned int i, count;
	int err;

	*out = NULL;
	if (!buf || size < VFS_HDR_SIZE)
		return EINVAL;
	/* An unknown format version is "not supported", as in the kernel. */
	if (get_le32(p) != VFS_ACL_VERSION)
		return EOPNOTSUPP;
	if ((size - VFS_HDR_SIZE) % VFS_ENTRY_SIZE)
		return EINVAL;
	count = (size - VFS_HDR_SIZE) / VFS_ENTRY_SIZE;
	if (!count)
		return 0;
	acl = acl_alloc(count);
	if (!acl)
		return ENOMEM;
	p += VFS_HDR_SIZE;
	for (i = 0; i < count; i++, p += VFS_ENTRY_SIZE) {
		acl->e[i].tag = get_le16(p);
		acl->e[i].perm = get_le16(p + 2);
		acl->e[i].id = tag_has_id(acl->e[i].tag) ? get_le32(p + 4) : 0;
	}
	err = acl_check(acl);
	if (err) {
		free(acl);
		return err;
	}
	*out = acl;
	return 0;
}

int f2_acl_from_disk(const void *buf, size_t size, struct f2_acl **out)
{
	const unsigned char *p = buf, *end;
	struct f2_acl *acl;
	unsigned int count = 0;

	*out = NULL;
	if (!buf || size < DISK_HDR_SIZE || get_le32(p) != DISK_ACL_VERSION)
		return EIO;
	end = p + size;
	/* First pass: count the entries and check the value's structure. */
	for (p += DISK_HDR_SIZE; p < end; count++) {
		size_t len;

		if (end - p < DISK_SHORT_SIZE)
			return EIO;
		len = tag_has_id(get_le16(p)) ? DISK_LONG_SIZE :
						 DISK_SHORT_SIZE;
		if ((size_t)(end - p) < len)
			return EIO;
		p += len;
	}
	acl = acl_alloc(count);
	if (!acl)
		return ENOMEM;
	p = (const unsigned char *)buf + DISK_HDR_SIZE;
	for (count = 0; count < acl->count; count++) {
		struct f2_acl_entry *e = &acl->e[count];

		e->tag = get_le16(p);
		e->perm = get_le16(p + 2);
		if (tag_has_id(e->tag)) {
			e->id = get_le32(p + 4);
			p += DISK_LONG_SIZE;
		} else {
			p += DISK_SHORT_SIZE;
		}
	}
	*out = acl;
	return 0;
}

size_t f2_acl_vfs_size(const struct f2_acl *acl)
{
	return VFS_HDR_SIZE + acl->count * VFS_ENTRY_SIZE;
}

size_t f2_acl_disk_size(const struct f2_acl *acl)
{
	size_t size = DISK_HDR_SIZE;
	unsigned int i;

	for (i = 0; i < acl->count; i++)
		size += tag_has_id(acl->e[i].tag) ? DISK_LONG_SIZE :
						     DISK_SHORT_SIZE;
	return size;
}

void f2_acl_to_vfs(const struct f2_acl *acl, void *buf)
{
	unsigned char *p = buf;
	unsigned int i;

	put_le32(p, VFS_ACL_VERSION);
	p += VFS_HDR_SIZE;
	for (i = 0; i < acl->count; i++, p += VFS_ENTRY_SIZE) {
		const struct f2_acl_entry *e = &acl->e[i];

		put_le16(p, e->tag);
		put_le16(p + 2, e->perm);
		put_le32(p + 4, tag_has_id(e->tag) ? e->id : ACL_UNDEFINED_ID);
	}
}

void f2_acl_to_disk(const struct f2_acl *acl, void *buf)
{
	unsigned char *p = buf;
	unsigned int i;

	put_le32(p, DISK_ACL_VERSION);
	p += DISK_HDR_SIZE;
	for (i = 0; i < acl->count; i++) {
		const struct f2_acl_entry *e = &acl->e[i];

		put_le16(p, e->tag);
		put_le16(p + 2, e->perm);
		if (tag_has_id(e->tag)) {
			put_le32(p + 4, e->id);
			p += DISK_LONG_SIZE;
		} else {
			p += DISK_SHORT_SIZE;
		}
	}
}

bool f2_acl_equiv_mode(const struct f2_acl *acl, mode_t *mode)
{
	mode_t bits = 0;
	bool equiv = true;
	unsigned int i;

	for (i = 0; i < acl->count; i++) {
		const struct f2_acl_entry *e = &acl->e[i];

		switch (e->tag) {
		case F2_ACL_USER_OBJ:
			bits |= (mode_t)(e->perm & ACL_PERM_MASK) << 6;
			break;
		case F2_ACL_GROUP_OBJ:
			bits |= (mode_t)(e->perm & ACL_PERM_MASK) << 3;
			break;
		case F2_ACL_OTHER:
			bits |= e->perm & ACL_PERM_MASK;
			break;
		case F2_ACL_MASK:
			/* With a mask, the group bits show the mask. */
			bits = (bits & ~(mode_t)S_IRWXG) |
			       ((mode_t)(e->perm & ACL_PERM_MASK) << 3);
			equiv = false;
			break;
		default:
			equiv = false;
			break;
		}
	}
	*mode = (*mode & ~(mode_t)(S_IRWXU | S_IRWXG | S_IRWXO)) | bits;
	return equiv;
}

bool f2_acl_create_masq(struct f2_acl *acl, mode_t *mode)
{
	struct f2_acl_entry *group_obj = NULL, *mask = NULL;
	mode_t m = *mode;
	bool equiv = true;
	unsigned int i;

	for (i = 0; i < acl->count; i++) {
		struct f2_acl_entry *e = &acl->e[i];

		switch (e->tag) {
		case F2_ACL_USER_OBJ:
			e->perm &= (m >> 6) & ACL_PERM_MASK;
			m &= ((mode_t)e->perm << 6) | ~(mode_t)S_IRWXU;
			break;
		case F2_ACL_OTHER:
			e->perm &= m & ACL_PERM_MASK;
			m &= (mode_t)e->perm | ~(mode_t)S_IRWXO;
			break;
		case F2_ACL_GROUP_OBJ:
			group_obj = e;
			break;
		case F2_ACL_MASK:
			mask = e;
			equiv = false;
			break;
		default:
			equiv = false;
			break;
		}
	}
	/* The group class is limited through the mask when there is one. */
	if (mask) {
		mask->perm &= (m >> 3) & ACL_PERM_MASK;
		m &= ((mode_t)mask->perm << 3) | ~(mode_t)S_IRWXG;
	} else if (group_obj) {
		group_obj->perm &= (m >> 3) & ACL_PERM_MASK;
		m &= ((mode_t)group_obj->perm << 3) | ~(mode_t)S_IRWXG;
	}
	*mode = m;
	return equiv;
}
