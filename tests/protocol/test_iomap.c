// SPDX-License-Identifier: GPL-2.0-only
/*
 * The happy path of each iomap opcode against the example server
 * (doc/protocol.md sections 4, 5 and 10), and the classic data path of the
 * same file when iomap is not negotiated: both must describe the same
 * bytes of the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include "kselftest_harness.h"
#include "bdf_fixture.h"

FIXTURE(bdf) {
	struct bdf_fixture f;
};
BDF_FIXTURE_FUNCS

TEST_F_TIMEOUT(bdf, begin_read_maps_the_range, 30)
{
	struct fuse_iomap_mapping map;
	struct fuse_init_out out;
	uint64_t pos = 3 * BDF_BLOCK + 100;

	BDF_START("auto", true, &out);
	ASSERT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO, pos,
				      1000, 0, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, map.type);
	EXPECT_EQ(FIRST_DEV_ID, map.dev);
	EXPECT_EQ(0, map.flags);
	/* covers pos, block aligned, stays inside the range */
	EXPECT_LE(map.offset, pos);
	EXPECT_GT(map.offset + map.length, pos);
	EXPECT_EQ(0, map.offset % BDF_BLOCK);
	EXPECT_EQ(0, map.length % BDF_BLOCK);
	EXPECT_LE(map.offset + map.length, RANGE_LEN);
	/* file offset x lives at image offset RANGE_OFF + x */
	EXPECT_EQ(RANGE_OFF + map.offset, map.addr);
}

TEST_F_TIMEOUT(bdf, begin_write_maps_without_allocating, 30)
{
	struct fuse_iomap_mapping map;
	struct fuse_init_out out;

	BDF_START("auto", true, &out);
	ASSERT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO,
				      RANGE_LEN - BDF_BLOCK, BDF_BLOCK,
				      FUSE_IOMAP_OP_WRITE |
				      FUSE_IOMAP_OP_DIRECT, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, map.type);
	EXPECT_EQ(RANGE_LEN - BDF_BLOCK, map.offset);
	EXPECT_EQ(BDF_BLOCK, map.length);
	EXPECT_EQ(RANGE_OFF + RANGE_LEN - BDF_BLOCK, map.addr);
	EXPECT_EQ(0, map.flags & FUSE_IOMAP_F_NEW);
}

TEST_F_TIMEOUT(bdf, begin_past_eof, 30)
{
	struct fuse_iomap_mapping map;
	struct fuse_init_out out;

	BDF_START("auto", true, &out);
	/* reads past the range see a hole */
	ASSERT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO,
				      RANGE_LEN + 10, 100, 0, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, map.type);
	EXPECT_EQ(FUSE_IOMAP_NULL_ADDR, map.addr);
	EXPECT_EQ(0, map.dev);
	EXPECT_LE(map.offset, RANGE_LEN + 10);
	EXPECT_GT(map.offset + map.length, RANGE_LEN + 10);
	/* fiemap-style reports too */
	EXPECT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO,
				      RANGE_LEN, 4096, FUSE_IOMAP_OP_REPORT,
				      &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, map.type);
	/* the server never allocates: writes there fail */
	EXPECT_EQ(-EFBIG, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO,
					   RANGE_LEN, 4096,
					   FUSE_IOMAP_OP_WRITE, &map));
}

TEST_F_TIMEOUT(bdf, end_and_ioend, 30)
{
	struct fuse_iomap_end_in end = {
		.attr_ino = FILE_INO, .pos = 0, .count = 8192,
		.written = 4096, .opflags = FUSE_IOMAP_OP_WRITE,
	};
	struct fuse_iomap_ioend_in ioend = {
		.attr_ino = FILE_INO, .pos = 0, .written = 8192,
		.flags = FUSE_IOMAP_IOEND_WRITEBACK,
	};
	struct fuse_init_out out;
	uint64_t size = 0;

	BDF_START("auto", true, &out);
	ASSERT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO, 0,
				      8192, FUSE_IOMAP_OP_WRITE, &end.map));
	EXPECT_EQ(0, wire_iomap_end(&self->f.w, FILE_NODEID, &end));
	EXPECT_EQ(0, wire_iomap_ioend(&self->f.w, FILE_NODEID, &ioend, &size));
	EXPECT_EQ(RANGE_LEN, size);
	/* an IO error is reported, the size does not move */
	ioend.error = -EIO;
	ioend.written = 0;
	size = 0;
	EXPECT_EQ(0, wire_iomap_ioend(&self->f.w, FILE_NODEID, &ioend, &size));
	EXPECT_EQ(RANGE_LEN, size);
	/* nothing to convert, but the flag is understood */
	ioend.error = 0;
	ioend.written = 4096;
	ioend.flags = FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_DIRECT;
	EXPECT_EQ(0, wire_iomap_ioend(&self->f.w, FILE_NODEID, &ioend, &size));
	/* the protocol messages alone never touch the data */
	EXPECT_EQ(self->f.img_hash, wire_file_hash(self->f.img));
}

static int image_byte(const char *path, uint64_t off)
{
	unsigned char c;
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, &c, 1, off);

	if (fd >= 0)
		close(fd);
	return n == 1 ? c : -1;
}

/* Without iomap the same bytes come through FUSE_READ. */
TEST_F_TIMEOUT(bdf, classic_read_matches_mapping, 30)
{
	static struct wire_reply r;
	struct fuse_init_out out;
	uint64_t fh, off = 5 * BDF_BLOCK + 7;
	size_t i;

	BDF_START("auto", false, &out);
	ASSERT_EQ(0, wire_open(&self->f.w, FILE_NODEID, O_RDONLY, &fh));
	ASSERT_EQ(0, wire_read(&self->f.w, FILE_NODEID, fh, off, 3000, &r));
	ASSERT_EQ(3000, r.body_len);
	for (i = 0; i < r.body_len; i++)
		if (r.body[i] != wire_pattern(RANGE_OFF + off + i))
			break;
	EXPECT_EQ(r.body_len, i);
	/* short read at the end of the range, nothing past it */
	ASSERT_EQ(0, wire_read(&self->f.w, FILE_NODEID, fh, RANGE_LEN - 10,
			       4096, &r));
	EXPECT_EQ(10, r.body_len);
	ASSERT_EQ(0, wire_read(&self->f.w, FILE_NODEID, fh, RANGE_LEN, 4096,
			       &r));
	EXPECT_EQ(0, r.body_len);
	/* the classic file */
	ASSERT_EQ(0, wire_read(&self->f.w, HELLO_NODEID, fh, 0, 4096, &r));
	ASSERT_EQ(strlen(HELLO_TEXT), r.body_len);
	EXPECT_EQ(0, memcmp(r.body, HELLO_TEXT, r.body_len));
}

TEST_F_TIMEOUT(bdf, classic_write_lands_in_range, 30)
{
	static struct wire_reply r;
	struct fuse_init_out out;
	unsigned char data[100];
	uint32_t written = 0;
	uint64_t fh;

	memset(data, 0xa5, sizeof(data));
	BDF_START("off", true, &out);
	ASSERT_EQ(0, wire_open(&self->f.w, FILE_NODEID, O_RDWR, &fh));
	ASSERT_EQ(0, wire_write(&self->f.w, FILE_NODEID, fh, 4096, data,
				sizeof(data), &written));
	EXPECT_EQ(sizeof(data), written);
	ASSERT_EQ(0, wire_read(&self->f.w, FILE_NODEID, fh, 4096, 100, &r));
	ASSERT_EQ(100, r.body_len);
	EXPECT_EQ(0, memcmp(r.body, data, 100));
	/* a write straddling the end is cut short; past it fails */
	ASSERT_EQ(0, wire_write(&self->f.w, FILE_NODEID, fh, RANGE_LEN - 40,
				data, sizeof(data), &written));
	EXPECT_EQ(40, written);
	EXPECT_EQ(-EFBIG, wire_write(&self->f.w, FILE_NODEID, fh, RANGE_LEN,
				     data, sizeof(data), &written));
	/* the image changed exactly where the range says */
	EXPECT_EQ(0xa5, image_byte(self->f.img, RANGE_OFF + 4096));
	EXPECT_EQ(0xa5, image_byte(self->f.img, RANGE_OFF + 4096 + 99));
	EXPECT_EQ(wire_pattern(RANGE_OFF + 4096 + 100),
		  image_byte(self->f.img, RANGE_OFF + 4096 + 100));
	EXPECT_EQ(0xa5, image_byte(self->f.img, RANGE_OFF + RANGE_LEN - 1));
	EXPECT_EQ(wire_pattern(RANGE_OFF + RANGE_LEN),
		  image_byte(self->f.img, RANGE_OFF + RANGE_LEN));
	EXPECT_EQ(0, wire_release(&self->f.w, FILE_NODEID, fh, false));
}

TEST_HARNESS_MAIN
