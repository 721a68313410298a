// SPDX-License-Identifier: GPL-2.0-only
/*
 * The library's reply checks (doc/protocol.md sections 7 and 8.2), with
 * evil_server answering BEGIN with one broken mapping per case: the wire
 * must carry EIO instead, valid replies must pass unchanged, and the
 * server must keep serving.  evil_server exits 2 if a reply function
 * returned something else than the case expects (e.g. 0 for a mapping
 * it should have refused); the teardown wants exit status 0.
 */
#include <errno.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "wire.h"
#include "evil_cases.h"

FIXTURE(evil) {
	struct wire w;
	char img[64];
	bool started;
};

FIXTURE_SETUP(evil)
{
	char *argv[] = { EVIL_SERVER, self->img, WIRE_FD_ARG, NULL };
	struct fuse_init_out out;

	self->started = false;
	ASSERT_EQ(0, wire_make_image(self->img, 1 << 20));
	ASSERT_EQ(0, wire_start(&self->w, argv));
	self->started = true;
	ASSERT_EQ(0, wire_init(&self->w, true, &out));
	ASSERT_TRUE(wire_init_accepted_iomap(&out));
}

FIXTURE_TEARDOWN(evil)
{
	if (self->started)
		EXPECT_EQ(0, wire_stop(&self->w));
	unlink(self->img);
}

static int begin_case(struct wire *w, enum evil_case c, uint32_t opflags,
		      struct fuse_iomap_mapping *map)
{
	return wire_iomap_begin(w, 2, 2, 10, (uint64_t)c + 1, opflags, map);
}

TEST_F_TIMEOUT(evil, bad_mappings_become_eio, 60)
{
	static const enum evil_case bad[] = {
		EVIL_BAD_TYPE, EVIL_BAD_FLAGS, EVIL_ZERO_LENGTH,
		EVIL_NOT_COVERING, EVIL_OVERFLOW, EVIL_HOLE_WITH_ADDR,
		EVIL_HOLE_WITH_DEV, EVIL_UNKNOWN_DEV, EVIL_PAST_DEVICE,
		EVIL_MISALIGNED, EVIL_NULL_ADDR, EVIL_HOLE_NEW,
		EVIL_INLINE_TOO_BIG, EVIL_ERR_ZERO, EVIL_ERR_HUGE,
		EVIL_WRONG_REPLY,
	};
	struct fuse_iomap_mapping map;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		TH_LOG("case %d", bad[i]);
		EXPECT_EQ(-EIO, begin_case(&self->w, bad[i], 0, &map));
	}
	/* type against the operation */
	EXPECT_EQ(-EIO, begin_case(&self->w, EVIL_HOLE_FOR_WRITE,
				   FUSE_IOMAP_OP_WRITE, &map));
	EXPECT_EQ(-EIO, begin_case(&self->w, EVIL_INLINE_DIRECT,
				   FUSE_IOMAP_OP_DIRECT, &map));
	EXPECT_EQ(-EIO, begin_case(&self->w, EVIL_HOLE_FOR_WRITE,
				   FUSE_IOMAP_OP_WRITEBACK, &map));
	/* the same mappings are fine for other operations */
	EXPECT_EQ(0, begin_case(&self->w, EVIL_HOLE_FOR_WRITE,
				FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_ZERO, &map));
	EXPECT_EQ(0, begin_case(&self->w, EVIL_HOLE_FOR_WRITE, 0, &map));
	EXPECT_EQ(0, begin_case(&self->w, EVIL_INLINE_DIRECT, 0, &map));
}

TEST_F_TIMEOUT(evil, good_replies_pass, 30)
{
	struct fuse_iomap_mapping map;

	ASSERT_EQ(0, begin_case(&self->w, EVIL_OK_MAPPED, 0, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_MAPPED, map.type);
	EXPECT_EQ(1, map.dev);
	EXPECT_EQ(0, map.offset);
	EXPECT_EQ(4096, map.length);
	ASSERT_EQ(0, begin_case(&self->w, EVIL_OK_HOLE, 0, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_HOLE, map.type);
	EXPECT_EQ(FUSE_IOMAP_NULL_ADDR, map.addr);
	ASSERT_EQ(0, begin_case(&self->w, EVIL_OK_INLINE, 0, &map));
	EXPECT_EQ(FUSE_IOMAP_TYPE_INLINE, map.type);
	EXPECT_EQ(-ENOSPC, begin_case(&self->w, EVIL_ERRNO,
				      FUSE_IOMAP_OP_WRITE, &map));
}

TEST_F_TIMEOUT(evil, end_and_ioend_replies, 30)
{
	struct fuse_iomap_end_in end = {
		.attr_ino = 2, .count = 4096, .written = 4096,
		.map = { .length = 4096, .type = FUSE_IOMAP_TYPE_MAPPED,
			 .dev = 1 },
	};
	struct fuse_iomap_ioend_in io = { .attr_ino = 2, .written = 4096 };
	uint64_t size = 0;

	/* the server answers END with an IOEND reply */
	EXPECT_EQ(-EIO, wire_iomap_end(&self->w, 2, &end));
	EXPECT_EQ(0, wire_iomap_ioend(&self->w, 2, &io, &size));
	EXPECT_EQ(4096, size);
	/* a size beyond INT64_MAX is refused */
	io.pos = 4096;
	EXPECT_EQ(-EIO, wire_iomap_ioend(&self->w, 2, &io, &size));
	/* still serving */
	EXPECT_EQ(0, begin_case(&self->w, EVIL_OK_MAPPED, 0, NULL));
}

TEST_HARNESS_MAIN
