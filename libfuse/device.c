// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Block device registration (doc/protocol.md, "Devices").  On /dev/fuse the
 * kernel hands out the id; on a test socket there is no kernel, so ids are
 * assigned here, counting from 1, and regular image files are accepted too.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include "iomap_priv.h"

const struct fuse_iomap_device *
fuse_iomap_find_device(const struct fuse_iomap_session *is, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < is->ndevices; i++)
		if (is->devices[i].id == id)
			return &is->devices[i];
	return NULL;
}

static int device_geometry(int fd, const struct stat *st,
			   struct fuse_iomap_device *dev)
{
	int lbs;

	if (S_ISREG(st->st_mode)) {
		dev->size = st->st_size;
		dev->lbs = 512;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, &dev->size) < 0 ||
	    ioctl(fd, BLKSSZGET, &lbs) < 0)
		return -errno;
	if (lbs < 512 || (lbs & (lbs - 1)))
		return -EINVAL;
	dev->lbs = lbs;
	return 0;
}

int fuse_iomap_add_device(struct fuse_iomap_session *is, int fd,
			  uint32_t *dev_id)
{
	struct fuse_iomap_device dev = { 0 };
	struct stat st;
	int res;

	if (!is || !dev_id || fd < 0)
		return -EINVAL;
	if (!is->negotiated)
		return -EOPNOTSUPP;
	if (is->ndevices == FUSE_IOMAP_MAX_DEVICES)
		return -ENOSPC;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode) && (is->fuse_dev || !S_ISREG(st.st_mode)))
		return -ENOTBLK;
	res = device_geometry(fd, &st, &dev);
	if (res)
		return res;

	if (is->fuse_dev) {
		struct fuse_iomap_dev_map arg = { .fd = fd };

		res = ioctl(is->fd, FUSE_DEV_IOC_IOMAP_DEV_ADD, &arg);
		if (res < 0)
			return -errno;
		if (res == 0)
			return -EPROTO;	/* ids start at 1 */
		dev.id = res;
	} else {
		dev.id = is->next_dev_id++;
	}
	is->devices[is->ndevices++] = dev;
	*dev_id = dev.id;
	return 0;
}
