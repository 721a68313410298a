// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FS_IOC_READ_VERITY_METADATA, the server side of doc/protocol.md section
 * 14, with the test playing the kernel: fuse2fs answers only a request
 * flagged FUSE_IOCTL_VERITY_METADATA (a kernel that sends the caller's
 * buffer as the output, with or without FUSE_IOMAP), never with more than
 * out_size bytes, with a result equal to the bytes it sent, and with
 * fs-verity's errors.  The
 * file is made a verity file by fuse2fs itself (FS_IOC_ENABLE_VERITY);
 * the guest test test_fuse2fs_verity compares the bytes with ext4.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fsverity.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "f2_fixture.h"

#define DATA_SIZE	300000	/* 74 blocks: one tree block of 4 KiB */

FIXTURE(vm) {
	char dir[200];
	char tree[256];
	char image[256];
	struct wire w;
	bool running;
	uint64_t nodeid, fh;
	uint32_t ioctl_flags;	/* fuse_ioctl_in.flags of ioctl_call() */
};

FIXTURE_SETUP(vm)
{
	const char *tmp = getenv("TMPDIR");
	char path[300];
	char *buf = malloc(DATA_SIZE);
	struct tfs_mkfs_opts o = { .features = "verity", .populate = NULL };

	ASSERT_NE(NULL, buf);
	snprintf(self->dir, sizeof(self->dir), "%s/f2vm.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->tree, sizeof(self->tree), "%s/tree", self->dir);
	snprintf(self->image, sizeof(self->image), "%s/fs.img", self->dir);
	ASSERT_EQ(0, mkdir(self->tree, 0755));
	tfs_pattern(buf, DATA_SIZE, 0, 9);
	snprintf(path, sizeof(path), "%s/data", self->tree);
	ASSERT_EQ(0, tfs_write_file(path, buf, DATA_SIZE));
	snprintf(path, sizeof(path), "%s/plain", self->tree);
	ASSERT_EQ(0, tfs_write_file(path, buf, 4096));
	free(buf);
	o.populate = self->tree;
	ASSERT_EQ(0, tfs_mkfs(self->image, &o));
	self->running = false;
	self->ioctl_flags = FUSE_IOCTL_VERITY_METADATA;
}

FIXTURE_TEARDOWN(vm)
{
	if (self->running)
		wire_stop(&self->w);
	tfs_sh(F2_CMD_TIMEOUT_MS, NULL, "rm -rf '%s'", self->dir);
}

/* Start fuse2fs (the kernel offering iomap or not) and open name. */
static int start_and_open(FIXTURE_DATA(vm) *self, bool offer,
			  const char *name)
{
	struct fuse_init_out init;
	struct fuse_entry_out e;

	if (f2_start(&self->w, self->image, NULL, offer, &init))
		return -1;
	self->running = true;
	if (wire_lookup(&self->w, 1, name, &e))
		return -1;
	self->nodeid = e.nodeid;
	return wire_open(&self->w, self->nodeid, 0, &self->fh);
}

/*
 * FUSE_IOCTL in restricted mode with in (in_size bytes) and out_size:
 * hdr.error; *result and the data (r->body after the fuse_ioctl_out).
 */
static int ioctl_call(FIXTURE_DATA(vm) *self, uint32_t cmd, const void *in,
		      uint32_t in_size, uint32_t out_size,
		      struct wire_reply *r, int32_t *result)
{
	struct fuse_ioctl_in ii = {
		.fh = self->fh, .cmd = cmd, .flags = self->ioctl_flags,
		.in_size = in_size, .out_size = out_size,
	};
	struct iovec iov[2] = {
		{ &ii, sizeof(ii) }, { (void *)in, in_size },
	};
	struct fuse_ioctl_out oo;
	int err;

	err = wire_callv(&self->w, FUSE_IOCTL, self->nodeid, iov, 2, r);
	if (err)
		return err;
	if (r->body_len < sizeof(oo))
		return WIRE_EXCHANGE_FAILED;
	memcpy(&oo, r->body, sizeof(oo));
	*result = oo.result;
	return 0;
}

/* READ_VERITY_METADATA: -errno, or the result after checking the data. */
static int read_meta(struct __test_metadata *_metadata,
		     FIXTURE_DATA(vm) *self, uint64_t type, uint64_t off,
		     uint64_t len, uint32_t out_size, struct wire_reply *r)
{
	struct fsverity_read_metadata_arg arg = {
		.metadata_type = type, .offset = off, .length = len,
	};
	int32_t result = 0;
	int err;

	err = ioctl_call(self, FS_IOC_READ_VERITY_METADATA, &arg,
			 sizeof(arg), out_size, r, &result);
	if (err)
		return err;
	/* the data the result counts, and nothing past what there is room for */
	EXPECT_EQ(sizeof(struct fuse_ioctl_out) + (size_t)result, r->body_len);
	EXPECT_GE(out_size, (uint32_t)result);
	return result;
}

static void enable_verity(struct __test_metadata *_metadata,
			  FIXTURE_DATA(vm) *self)
{
	static struct wire_reply r;
	struct fsverity_enable_arg arg = {
		.version = 1, .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		.block_size = 4096,
	};
	int32_t result = -1;

	ASSERT_EQ(0, ioctl_call(self, FS_IOC_ENABLE_VERITY, &arg,
				sizeof(arg), 0, &r, &result));
	ASSERT_EQ(0, result);
}

TEST_F(vm, answers_a_kernel_with_the_series)
{
	static struct wire_reply r;
	struct fsverity_read_metadata_arg bad = {
		.metadata_type = FS_VERITY_METADATA_TYPE_DESCRIPTOR,
		.length = 256, .__reserved = 1,
	};
	unsigned char tree[8192];
	uint32_t sig_size;
	uint64_t size;
	int n, total = 0, i;
	int32_t result;

	ASSERT_EQ(0, start_and_open(self, true, "data"));
	enable_verity(_metadata, self);

	/* the tree, 1000 bytes of room at a time: one 4 KiB block */
	for (i = 0; i < 8; i++) {
		n = read_meta(_metadata, self,
			      FS_VERITY_METADATA_TYPE_MERKLE_TREE, total,
			      1 << 20, 1000, &r);
		ASSERT_LE(0, n);
		if (!n)
			break;
		memcpy(tree + total, r.body + sizeof(struct fuse_ioctl_out),
		       n);
		total += n;
	}
	EXPECT_EQ(4096, total);
	/* 74 SHA-256 hashes, then zeroes */
	for (i = 74 * 32; i < total && !tree[i]; i++)
		;
	EXPECT_EQ(total, i);

	/* the descriptor: sig_size zeroed, the data size in it */
	EXPECT_EQ(256, read_meta(_metadata, self,
				 FS_VERITY_METADATA_TYPE_DESCRIPTOR, 0, 4096,
				 4096, &r));
	memcpy(&sig_size, r.body + sizeof(struct fuse_ioctl_out) + 4, 4);
	memcpy(&size, r.body + sizeof(struct fuse_ioctl_out) + 8, 8);
	EXPECT_EQ(0, sig_size);
	EXPECT_EQ(DATA_SIZE, size);
	/* from an offset, and past the end */
	EXPECT_EQ(56, read_meta(_metadata, self,
				FS_VERITY_METADATA_TYPE_DESCRIPTOR, 200, 4096,
				4096, &r));
	EXPECT_EQ(0, read_meta(_metadata, self,
			       FS_VERITY_METADATA_TYPE_DESCRIPTOR, 256, 4096,
			       4096, &r));

	EXPECT_EQ(-ENODATA, read_meta(_metadata, self,
				      FS_VERITY_METADATA_TYPE_SIGNATURE, 0,
				      4096, 4096, &r));
	EXPECT_EQ(-EINVAL, read_meta(_metadata, self, 99, 0, 4096, 4096, &r));
	EXPECT_EQ(-EINVAL, ioctl_call(self, FS_IOC_READ_VERITY_METADATA,
				      &bad, sizeof(bad), 4096, &r, &result));
	/* an argument shorter than the structure */
	EXPECT_EQ(-EINVAL, ioctl_call(self, FS_IOC_READ_VERITY_METADATA,
				      &bad, 16, 4096, &r, &result));

	EXPECT_EQ(0, wire_stop(&self->w));
	self->running = false;
	EXPECT_EQ(0, tfs_fsck(self->image));
}

/* Not a verity file: ENODATA, as fs-verity says. */
TEST_F(vm, plain_file_has_no_metadata)
{
	static struct wire_reply r;

	ASSERT_EQ(0, start_and_open(self, true, "plain"));
	EXPECT_EQ(-ENODATA, read_meta(_metadata, self,
				      FS_VERITY_METADATA_TYPE_DESCRIPTOR, 0,
				      4096, 4096, &r));
	EXPECT_EQ(0, wire_stop(&self->w));
	self->running = false;
	EXPECT_EQ(0, tfs_fsck(self->image));
}

/*
 * A kernel without FUSE_IOCTL_VERITY_METADATA (one without the series, or
 * with only its iomap patches) sends the caller's 40-byte argument as the
 * output buffer: metadata must not be written over it, whether or not
 * that kernel offered FUSE_IOMAP.
 */
TEST_F(vm, refused_without_the_flag)
{
	static struct wire_reply r;

	ASSERT_EQ(0, start_and_open(self, true, "data"));
	enable_verity(_metadata, self);
	self->ioctl_flags = 0;
	EXPECT_EQ(-EOPNOTSUPP,
		  read_meta(_metadata, self,
			    FS_VERITY_METADATA_TYPE_DESCRIPTOR, 0, 4096,
			    sizeof(struct fsverity_read_metadata_arg), &r));
	EXPECT_EQ(0, wire_stop(&self->w));
	self->running = false;
	EXPECT_EQ(0, tfs_fsck(self->image));
}

/*
 * The flag, not FUSE_IOMAP, is what counts: a kernel built without iomap
 * (or a mount with iomap=off) still gets its answer.
 */
TEST_F(vm, answered_without_iomap)
{
	static struct wire_reply r;

	ASSERT_EQ(0, start_and_open(self, false, "data"));
	enable_verity(_metadata, self);
	EXPECT_EQ(256, read_meta(_metadata, self,
				 FS_VERITY_METADATA_TYPE_DESCRIPTOR, 0, 4096,
				 4096, &r));
	EXPECT_EQ(0, wire_stop(&self->w));
	self->running = false;
	EXPECT_EQ(0, tfs_fsck(self->image));
}

TEST_HARNESS_MAIN
