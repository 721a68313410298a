// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replies that carry fuse_attr (doc/protocol.md section 3): LOOKUP,
 * READDIRPLUS, CREATE, GETATTR and SETATTR carry FUSE_ATTR_IOMAP for the
 * iomap file only when iomap was negotiated, and fuse_attr.ino is the
 * backing inode number, not the nodeid.  The other fields keep libfuse's
 * meaning (timeouts, generation, blksize, ...).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "bdf_fixture.h"

FIXTURE(bdf) {
	struct bdf_fixture f;
};
BDF_FIXTURE_FUNCS

FIXTURE_VARIANT(bdf) {
	bool iomap;	/* offer iomap at INIT */
};
FIXTURE_VARIANT_ADD(bdf, iomap) { .iomap = true };
FIXTURE_VARIANT_ADD(bdf, classic) { .iomap = false };

static uint32_t file_flags(bool iomap)
{
	return iomap ? FUSE_ATTR_IOMAP : 0;
}

TEST_F_TIMEOUT(bdf, lookup, 30)
{
	struct fuse_entry_out e;
	struct fuse_init_out out;

	BDF_START("auto", variant->iomap, &out);
	ASSERT_EQ(0, wire_lookup(&self->f.w, ROOT_NODEID, "file", &e));
	EXPECT_EQ(FILE_NODEID, e.nodeid);
	EXPECT_EQ(FILE_INO, e.attr.ino);
	EXPECT_EQ(file_flags(variant->iomap), e.attr.flags);
	EXPECT_EQ(RANGE_LEN, e.attr.size);
	EXPECT_EQ(S_IFREG | 0644, e.attr.mode);
	EXPECT_EQ(BDF_BLOCK, e.attr.blksize);
	EXPECT_EQ(1, e.generation);
	/* 1.0 s timeouts split into seconds and nanoseconds */
	EXPECT_EQ(1, e.entry_valid);
	EXPECT_EQ(0, e.entry_valid_nsec);
	EXPECT_EQ(1, e.attr_valid);
	EXPECT_EQ(0, e.attr_valid_nsec);

	/* the classic file never carries the flag */
	ASSERT_EQ(0, wire_lookup(&self->f.w, ROOT_NODEID, "hello", &e));
	EXPECT_EQ(HELLO_NODEID, e.nodeid);
	EXPECT_EQ(HELLO_INO, e.attr.ino);
	EXPECT_EQ(0, e.attr.flags);
	EXPECT_EQ(strlen(HELLO_TEXT), e.attr.size);

	EXPECT_EQ(-ENOENT, wire_lookup(&self->f.w, ROOT_NODEID, "nope", &e));
}

TEST_F_TIMEOUT(bdf, getattr, 30)
{
	struct fuse_attr_out a;
	struct fuse_init_out out;

	BDF_START("auto", variant->iomap, &out);
	ASSERT_EQ(0, wire_getattr(&self->f.w, FILE_NODEID, &a));
	EXPECT_EQ(FILE_INO, a.attr.ino);
	EXPECT_EQ(file_flags(variant->iomap), a.attr.flags);
	EXPECT_EQ(RANGE_LEN, a.attr.size);
	EXPECT_EQ(1, a.attr_valid);

	ASSERT_EQ(0, wire_getattr(&self->f.w, ROOT_NODEID, &a));
	EXPECT_EQ(ROOT_NODEID, a.attr.ino);
	EXPECT_EQ(0, a.attr.flags);
	EXPECT_TRUE(S_ISDIR(a.attr.mode));

	ASSERT_EQ(0, wire_getattr(&self->f.w, HELLO_NODEID, &a));
	EXPECT_EQ(0, a.attr.flags);
	EXPECT_EQ(-ESTALE, wire_getattr(&self->f.w, 77, &a));
}

TEST_F_TIMEOUT(bdf, setattr_times, 30)
{
	struct fuse_setattr_in in = {
		.valid = FATTR_MTIME, .mtime = 1000000, .mtimensec = 5,
	};
	struct fuse_attr_out a;
	struct fuse_init_out out;

	BDF_START("auto", variant->iomap, &out);
	ASSERT_EQ(0, wire_call_out(&self->f.w, FUSE_SETATTR, FILE_NODEID,
				   &in, sizeof(in), &a, sizeof(a)));
	EXPECT_EQ(FILE_INO, a.attr.ino);
	EXPECT_EQ(file_flags(variant->iomap), a.attr.flags);
	EXPECT_EQ(1000000, a.attr.mtime);
	EXPECT_EQ(5, a.attr.mtimensec);

	/* the file cannot change size, not even by O_TRUNC */
	EXPECT_EQ(-EPERM, wire_open(&self->f.w, FILE_NODEID, O_RDWR | O_TRUNC,
				    NULL));

	in.valid = FATTR_SIZE;
	in.size = 1;
	EXPECT_EQ(-EPERM, wire_call_out(&self->f.w, FUSE_SETATTR, FILE_NODEID,
					&in, sizeof(in), &a, sizeof(a)));
}

TEST_F_TIMEOUT(bdf, create_existing, 30)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_init_out out;

	BDF_START("auto", variant->iomap, &out);
	ASSERT_EQ(0, wire_create(&self->f.w, ROOT_NODEID, "file",
				 O_RDWR | O_CREAT, 0644, &e, &o));
	EXPECT_EQ(FILE_NODEID, e.nodeid);
	EXPECT_EQ(FILE_INO, e.attr.ino);
	EXPECT_EQ(file_flags(variant->iomap), e.attr.flags);
	EXPECT_EQ(0, wire_release(&self->f.w, FILE_NODEID, o.fh, false));

	EXPECT_EQ(-EEXIST, wire_create(&self->f.w, ROOT_NODEID, "file",
				       O_RDWR | O_CREAT | O_EXCL, 0644, &e,
				       &o));
	EXPECT_EQ(-EPERM, wire_create(&self->f.w, ROOT_NODEID, "new",
				      O_RDWR | O_CREAT, 0644, &e, &o));
	ASSERT_EQ(0, wire_create(&self->f.w, ROOT_NODEID, "hello",
				 O_RDONLY | O_CREAT, 0644, &e, &o));
	EXPECT_EQ(HELLO_INO, e.attr.ino);
	EXPECT_EQ(0, e.attr.flags);
}

TEST_F_TIMEOUT(bdf, readdirplus, 30)
{
	static struct wire_reply r;
	struct fuse_direntplus dp;
	struct fuse_init_out out;
	char name[256];
	size_t pos = 0;
	uint64_t fh;
	unsigned int seen = 0;

	BDF_START("auto", variant->iomap, &out);
	ASSERT_EQ(0, wire_opendir(&self->f.w, ROOT_NODEID, &fh));
	ASSERT_EQ(0, wire_readdirplus(&self->f.w, ROOT_NODEID, fh, 0, 4096,
				      &r));
	while (wire_next_direntplus(&r, &pos, &dp, name)) {
		if (!strcmp(name, "file")) {
			seen |= 1;
			EXPECT_EQ(FILE_NODEID, dp.entry_out.nodeid);
			EXPECT_EQ(FILE_INO, dp.entry_out.attr.ino);
			EXPECT_EQ(FILE_INO, dp.dirent.ino);
			EXPECT_EQ(file_flags(variant->iomap),
				  dp.entry_out.attr.flags);
			EXPECT_EQ(DT_REG, dp.dirent.type);
		} else if (!strcmp(name, "hello")) {
			seen |= 2;
			EXPECT_EQ(HELLO_INO, dp.entry_out.attr.ino);
			EXPECT_EQ(0, dp.entry_out.attr.flags);
		} else if (!strcmp(name, ".") || !strcmp(name, "..")) {
			seen |= 4;
			EXPECT_EQ(0, dp.entry_out.attr.flags);
		} else {
			TH_LOG("unexpected entry %s", name);
			seen |= 8;
		}
	}
	EXPECT_EQ(r.body_len, pos);	/* every byte was a valid entry */
	EXPECT_EQ(7, seen);

	/* offsets resume after the entry they name */
	ASSERT_EQ(0, wire_readdirplus(&self->f.w, ROOT_NODEID, fh, 3, 4096,
				      &r));
	pos = 0;
	ASSERT_TRUE(wire_next_direntplus(&r, &pos, &dp, name));
	EXPECT_STREQ("hello", name);
	EXPECT_FALSE(wire_next_direntplus(&r, &pos, &dp, name));

	/* a buffer too small for one entry gets nothing, not a torn one */
	ASSERT_EQ(0, wire_readdirplus(&self->f.w, ROOT_NODEID, fh, 0, 16, &r));
	EXPECT_EQ(0, r.body_len);
	EXPECT_EQ(0, wire_release(&self->f.w, ROOT_NODEID, fh, true));
}

TEST_HARNESS_MAIN
