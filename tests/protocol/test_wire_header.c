// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shared wire header against doc/protocol.md: every size, offset and
 * constant the document states, so that neither can change alone.  That
 * the kernel series carries the header byte for byte is checked by
 * tests/kernel/header-identical.sh.
 */
#include <stddef.h>
#include "kselftest_harness.h"
#include "wire.h"

#define OFF(type, field)	offsetof(struct type, field)
#define SIZE(type, field)	sizeof(((struct type *)0)->field)

TEST(struct_layout)
{
	EXPECT_EQ(32, sizeof(struct fuse_iomap_mapping));
	EXPECT_EQ(0, OFF(fuse_iomap_mapping, offset));
	EXPECT_EQ(8, OFF(fuse_iomap_mapping, length));
	EXPECT_EQ(16, OFF(fuse_iomap_mapping, addr));
	EXPECT_EQ(24, OFF(fuse_iomap_mapping, type));
	EXPECT_EQ(2, SIZE(fuse_iomap_mapping, type));
	EXPECT_EQ(26, OFF(fuse_iomap_mapping, flags));
	EXPECT_EQ(2, SIZE(fuse_iomap_mapping, flags));
	EXPECT_EQ(28, OFF(fuse_iomap_mapping, dev));

	EXPECT_EQ(32, sizeof(struct fuse_iomap_begin_in));
	EXPECT_EQ(0, OFF(fuse_iomap_begin_in, attr_ino));
	EXPECT_EQ(8, OFF(fuse_iomap_begin_in, pos));
	EXPECT_EQ(16, OFF(fuse_iomap_begin_in, count));
	EXPECT_EQ(24, OFF(fuse_iomap_begin_in, opflags));
	EXPECT_EQ(28, OFF(fuse_iomap_begin_in, padding));
	EXPECT_EQ(40, sizeof(struct fuse_iomap_begin_out));

	EXPECT_EQ(72, sizeof(struct fuse_iomap_end_in));
	EXPECT_EQ(24, OFF(fuse_iomap_end_in, written));
	EXPECT_EQ(32, OFF(fuse_iomap_end_in, opflags));
	EXPECT_EQ(36, OFF(fuse_iomap_end_in, padding));
	EXPECT_EQ(40, OFF(fuse_iomap_end_in, map));

	EXPECT_EQ(32, sizeof(struct fuse_iomap_ioend_in));
	EXPECT_EQ(16, OFF(fuse_iomap_ioend_in, written));
	EXPECT_EQ(24, OFF(fuse_iomap_ioend_in, error));
	EXPECT_EQ(28, OFF(fuse_iomap_ioend_in, flags));
	EXPECT_EQ(8, sizeof(struct fuse_iomap_ioend_out));

	EXPECT_EQ(16, sizeof(struct fuse_iomap_dev_map));
	EXPECT_EQ(4, OFF(fuse_iomap_dev_map, flags));
	EXPECT_EQ(8, OFF(fuse_iomap_dev_map, padding));
}

/*
 * The opcodes collide with nothing public (doc/protocol.md, section 4):
 * not upstream's (below 100), not CUSE's (4096 on), not the fuse-iomap
 * proposal's 4089-4095, not the byte-swapped INIT markers.
 */
TEST(opcodes_are_private)
{
	const uint32_t ours[] = {
		FUSE_IOMAP_BEGIN, FUSE_IOMAP_END, FUSE_IOMAP_IOEND,
	};
	unsigned int i;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		EXPECT_LE(100U, ours[i]);
		EXPECT_FALSE(ours[i] >= 4089 && ours[i] <= 4096);
		EXPECT_NE((uint32_t)CUSE_INIT, ours[i]);
		EXPECT_GT(1U << 20, ours[i]);
	}
}

TEST(constants)
{
	EXPECT_EQ(0x80000000U, (uint32_t)(FUSE_IOMAP >> 32));
	EXPECT_EQ(0x80000000U, FUSE_ATTR_IOMAP);
	EXPECT_EQ(8100, FUSE_IOMAP_BEGIN);
	EXPECT_EQ(8101, FUSE_IOMAP_END);
	EXPECT_EQ(8102, FUSE_IOMAP_IOEND);
	EXPECT_EQ(0, FUSE_IOMAP_TYPE_HOLE);
	EXPECT_EQ(1, FUSE_IOMAP_TYPE_MAPPED);
	EXPECT_EQ(2, FUSE_IOMAP_TYPE_UNWRITTEN);
	EXPECT_EQ(3, FUSE_IOMAP_TYPE_INLINE);
	EXPECT_EQ(3, FUSE_IOMAP_TYPE_MAX);
	EXPECT_EQ(4, FUSE_IOMAP_F_CACHE);
	EXPECT_EQ(7, FUSE_IOMAP_F_ALL);
	EXPECT_EQ(~0ULL, FUSE_IOMAP_NULL_ADDR);
	EXPECT_EQ(0x3f, FUSE_IOMAP_OP_ALL);
	EXPECT_EQ(FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_ZERO |
		  FUSE_IOMAP_OP_DIRECT | FUSE_IOMAP_OP_WRITEBACK |
		  FUSE_IOMAP_OP_FAULT | FUSE_IOMAP_OP_REPORT,
		  FUSE_IOMAP_OP_ALL);
	EXPECT_EQ(0xf, FUSE_IOMAP_IOEND_ALL);
	EXPECT_EQ(FUSE_IOMAP_IOEND_UNWRITTEN | FUSE_IOMAP_IOEND_APPEND |
		  FUSE_IOMAP_IOEND_DIRECT | FUSE_IOMAP_IOEND_WRITEBACK,
		  FUSE_IOMAP_IOEND_ALL);
	EXPECT_EQ(0x4010e540UL, (unsigned long)FUSE_DEV_IOC_IOMAP_DEV_ADD);
}

TEST_HARNESS_MAIN
