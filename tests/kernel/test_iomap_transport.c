// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Only a server on /dev/fuse gets iomap (doc/protocol.md section 2): a
 * CUSE server, whose channel /dev/cuse is /dev/fuse's code, can never
 * register a block device, before or after its CUSE_INIT.  The CUSE
 * channel shares /dev/fuse's ioctls, so it is the registration that must
 * see the connection never negotiated iomap (EOPNOTSUPP; a kernel whose
 * CUSE channel had no ioctls would say ENOTTY).  (The
 * other transport, virtiofs, needs a virtio device that this guest does
 * not have: its mount context never enables iomap, see kernel/README.md.)
 * Runs inside the UML guest, as root; the kernel must have CONFIG_CUSE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/fuse.h>
#include <linux/fuse_iomap.h>

#include "kselftest_harness.h"
#include "ktest.h"

#define CUSE_NAME	"kt-cuse-iomap"

/* The registration ioctl on the channel with a block device open rw. */
static int try_register(int chan)
{
	struct fuse_iomap_dev_map map = { 0 };
	int fd = open(kt_device(), O_RDWR);
	int ret, err;

	if (fd < 0)
		return -1000;
	map.fd = fd;
	ret = ioctl(chan, FUSE_DEV_IOC_IOMAP_DEV_ADD, &map);
	err = errno;
	close(fd);
	return ret < 0 ? -err : ret;
}

/* What a registration on a CUSE channel must get. */
static bool refused(int ret)
{
	if (ret == -ENOTTY || ret == -EOPNOTSUPP)
		return true;
	fprintf(stderr, "# registration on the CUSE channel: %d\n", ret);
	return false;
}

/* Wait up to 5 s for a request on the channel and read it. */
static ssize_t read_request(int chan, void *buf, size_t len)
{
	struct pollfd p = { .fd = chan, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return read(chan, buf, len);
}

TEST(cuse_cannot_register_devices)
{
	static char buf[65536];
	const struct fuse_in_header *in = (void *)buf;
	const struct cuse_init_in *init = (void *)(in + 1);
	static const char info[] = "DEVNAME=" CUSE_NAME;
	struct cuse_init_out out = { 0 };
	struct fuse_out_header oh = { 0 };
	struct iovec iov[3] = {
		{ &oh, sizeof(oh) }, { &out, sizeof(out) },
		{ (void *)info, sizeof(info) },
	};
	struct stat st;
	int chan;

	chan = open("/dev/cuse", O_RDWR);
	ASSERT_LE(0, chan) {
		TH_LOG("/dev/cuse: %s (CONFIG_CUSE?)", strerror(errno));
	}
	EXPECT_TRUE(refused(try_register(chan)));

	ASSERT_LE((ssize_t)(sizeof(*in) + sizeof(*init)),
		  read_request(chan, buf, sizeof(buf)));
	ASSERT_EQ(CUSE_INIT, in->opcode);
	oh.unique = in->unique;
	oh.len = sizeof(oh) + sizeof(out) + sizeof(info);
	out.major = FUSE_KERNEL_VERSION;
	out.minor = init->minor;
	out.max_read = 65536;
	out.max_write = 65536;
	ASSERT_EQ((ssize_t)oh.len, writev(chan, iov, 3));
	/* the character device appears once the kernel took the reply */
	ASSERT_EQ(0, kt_sh(10, "i=0; while [ ! -e /dev/%s ] && "
			   "[ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; "
			   "[ -e /dev/%s ]", CUSE_NAME, CUSE_NAME));
	EXPECT_EQ(0, stat("/dev/" CUSE_NAME, &st));
	EXPECT_TRUE(refused(try_register(chan)));
	close(chan);
}

TEST_HARNESS_MAIN
