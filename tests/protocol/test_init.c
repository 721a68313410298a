// SPDX-License-Identifier: GPL-2.0-only
/*
 * FUSE_INIT negotiation of FUSE_IOMAP (doc/protocol.md section 2), with the
 * example server: offered and wanted, not offered, declined by the server,
 * an old kernel without FUSE_INIT_EXT, iomap=on without an offer, and the
 * requests that come before or after INIT.
 */
#include <errno.h>
#include "kselftest_harness.h"
#include "bdf_fixture.h"

FIXTURE(bdf) {
	struct bdf_fixture f;
};
BDF_FIXTURE_FUNCS

/* iomap works iff a BEGIN on the iomap file gets a mapping */
static int probe_begin(struct wire *w)
{
	return wire_iomap_begin(w, FILE_NODEID, FILE_INO, 0, 4096, 0, NULL);
}

TEST_F_TIMEOUT(bdf, offered_and_wanted, 30)
{
	struct fuse_init_out out;

	BDF_START("auto", true, &out);
	EXPECT_EQ(7, out.major);
	EXPECT_TRUE(out.flags & FUSE_INIT_EXT);
	EXPECT_EQ((uint32_t)(FUSE_IOMAP >> 32),
		  out.flags2 & (uint32_t)(FUSE_IOMAP >> 32));
	EXPECT_TRUE(wire_init_accepted_iomap(&out));
	EXPECT_EQ(0, probe_begin(&self->f.w));
}

TEST_F_TIMEOUT(bdf, not_offered, 30)
{
	struct fuse_init_out out;

	BDF_START("auto", false, &out);
	EXPECT_FALSE(wire_init_accepted_iomap(&out));
	EXPECT_EQ(0, out.flags2 & (uint32_t)(FUSE_IOMAP >> 32));
	EXPECT_EQ(-ENOSYS, probe_begin(&self->f.w));
}

TEST_F_TIMEOUT(bdf, declined_by_server, 30)
{
	struct fuse_init_out out;

	BDF_START("off", true, &out);
	EXPECT_FALSE(wire_init_accepted_iomap(&out));
	EXPECT_EQ(-ENOSYS, probe_begin(&self->f.w));
}

/* Before 7.36 flags2 does not exist, whatever the bytes say. */
TEST_F_TIMEOUT(bdf, old_kernel_without_init_ext, 30)
{
	struct fuse_init_in in = {
		.major = 7, .minor = 35, .max_readahead = 65536,
		.flags = FUSE_ASYNC_READ,
		.flags2 = (uint32_t)(FUSE_IOMAP >> 32),
	};
	struct fuse_init_out out;

	ASSERT_EQ(0, bdf_start(&self->f, "auto"));
	ASSERT_EQ(0, wire_call_out(&self->f.w, FUSE_INIT, 0, &in, sizeof(in),
				   &out, sizeof(out)));
	EXPECT_EQ(0, out.flags2 & (uint32_t)(FUSE_IOMAP >> 32));
	EXPECT_EQ(-ENOSYS, probe_begin(&self->f.w));
}

/* FUSE_INIT_EXT set but flags2 without our bit: not offered. */
TEST_F_TIMEOUT(bdf, init_ext_without_iomap_bit, 30)
{
	struct fuse_init_out out;

	BDF_START("on", false, &out);
	EXPECT_FALSE(wire_init_accepted_iomap(&out));
	/* --iomap=on: the server gives up right after INIT, status 1 */
	self->f.expect_exit = 1;
}

TEST_F_TIMEOUT(bdf, iomap_on_with_offer, 30)
{
	struct fuse_init_out out;
	struct fuse_iomap_mapping map;

	BDF_START("on", true, &out);
	EXPECT_TRUE(wire_init_accepted_iomap(&out));
	EXPECT_EQ(0, wire_iomap_begin(&self->f.w, FILE_NODEID, FILE_INO, 0,
				      4096, 0, &map));
	EXPECT_EQ(FIRST_DEV_ID, map.dev);
}

TEST_F_TIMEOUT(bdf, requests_before_init, 30)
{
	struct fuse_init_out out;
	struct fuse_attr_out attr;

	ASSERT_EQ(0, bdf_start(&self->f, "auto"));
	/* libfuse refuses everything but INIT before INIT */
	EXPECT_EQ(-EIO, wire_getattr(&self->f.w, ROOT_NODEID, &attr));
	/* iomap is not negotiated yet */
	EXPECT_EQ(-ENOSYS, probe_begin(&self->f.w));
	ASSERT_EQ(0, wire_init(&self->f.w, true, &out));
	EXPECT_TRUE(wire_init_accepted_iomap(&out));
	EXPECT_EQ(0, wire_getattr(&self->f.w, ROOT_NODEID, &attr));
	EXPECT_EQ(0, probe_begin(&self->f.w));
}

TEST_F_TIMEOUT(bdf, second_init_refused, 30)
{
	struct fuse_init_out out;
	struct fuse_attr_out attr;

	BDF_START("auto", true, &out);
	EXPECT_EQ(-EIO, wire_init(&self->f.w, false, &out));
	/* the first negotiation stands */
	EXPECT_EQ(0, probe_begin(&self->f.w));
	EXPECT_EQ(0, wire_getattr(&self->f.w, ROOT_NODEID, &attr));
}

TEST_F_TIMEOUT(bdf, destroy_then_shutdown, 30)
{
	struct fuse_init_out out;
	struct fuse_attr_out attr;

	BDF_START("auto", true, &out);
	EXPECT_EQ(0, wire_destroy(&self->f.w));
	EXPECT_EQ(-ESHUTDOWN, wire_getattr(&self->f.w, ROOT_NODEID, &attr));
	EXPECT_EQ(-ESHUTDOWN, probe_begin(&self->f.w));
	EXPECT_EQ(-ESHUTDOWN, wire_destroy(&self->f.w));
	EXPECT_EQ(-ESHUTDOWN, wire_init(&self->f.w, true, &out));
	/* FORGET never gets an answer, not even after DESTROY */
	EXPECT_EQ(0, wire_forget(&self->f.w, FILE_NODEID, 1));
	EXPECT_EQ(0, wire_expect_silence(&self->f.w, 200));
	EXPECT_TRUE(wire_alive(&self->f.w));
}

TEST_HARNESS_MAIN
