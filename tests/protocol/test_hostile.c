// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile and malformed input (doc/protocol.md section 8.1): each message
 * gets the documented errno (or, when it cannot be answered, nothing), the
 * server keeps serving (checked with a follow-up request), never crashes
 * (sanitizers; the teardown wants exit status 0) and never changes the
 * image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include "kselftest_harness.h"
#include "bdf_fixture.h"

FIXTURE(bdf) {
	struct bdf_fixture f;
};

FIXTURE_SETUP(bdf)
{
	struct fuse_init_out out;

	memset(&self->f, 0, sizeof(self->f));
	BDF_START("auto", true, &out);
	ASSERT_TRUE(wire_init_accepted_iomap(&out));
}

/* Still alive, still correct, image untouched. */
static int still_serving(struct bdf_fixture *f)
{
	struct fuse_entry_out e;

	if (wire_lookup(&f->w, ROOT_NODEID, "file", &e))
		return -1;
	if (e.attr.ino != FILE_INO || e.attr.flags != FUSE_ATTR_IOMAP)
		return -2;
	if (wire_iomap_begin(&f->w, FILE_NODEID, FILE_INO, 0, 4096, 0, NULL))
		return -3;
	if (wire_file_hash(f->img) != f->img_hash)
		return -4;
	return 0;
}

FIXTURE_TEARDOWN(bdf)
{
	EXPECT_EQ(0, still_serving(&self->f));
	ASSERT_EQ(0, bdf_stop(&self->f));
}

static struct fuse_in_header header(uint32_t opcode, uint64_t nodeid,
				    uint64_t unique, uint32_t len)
{
	return (struct fuse_in_header){
		.len = len, .opcode = opcode, .unique = unique,
		.nodeid = nodeid,
	};
}

/* Send header + body raw and return the error of the reply to unique. */
static int raw_call(struct wire *w, struct fuse_in_header in,
		    const void *body, size_t body_len)
{
	static unsigned char msg[8192];
	static struct wire_reply r;

	memcpy(msg, &in, sizeof(in));
	memcpy(msg + sizeof(in), body, body_len);
	if (wire_send_raw(w, msg, sizeof(in) + body_len))
		return WIRE_EXCHANGE_FAILED;
	if (wire_recv(w, &r) || r.hdr.unique != in.unique)
		return WIRE_EXCHANGE_FAILED;
	return r.hdr.error;
}

TEST_F_TIMEOUT(bdf, truncated_header_is_dropped, 30)
{
	struct fuse_in_header in = header(FUSE_GETATTR, ROOT_NODEID, 900, 40);

	/* 1, 20 and 39 bytes: no unique to answer, nothing comes back */
	ASSERT_EQ(0, wire_send_raw(&self->f.w, &in, 1));
	ASSERT_EQ(0, wire_send_raw(&self->f.w, &in, 20));
	ASSERT_EQ(0, wire_send_raw(&self->f.w, &in, sizeof(in) - 1));
	EXPECT_EQ(0, wire_expect_silence(&self->f.w, 300));
}

TEST_F_TIMEOUT(bdf, length_field_lies, 30)
{
	struct fuse_getattr_in ga = { 0 };

	/* says more than was sent */
	EXPECT_EQ(-EINVAL, raw_call(&self->f.w,
				    header(FUSE_GETATTR, ROOT_NODEID, 901, 4096),
				    &ga, sizeof(ga)));
	/* says less than was sent */
	EXPECT_EQ(-EINVAL, raw_call(&self->f.w,
				    header(FUSE_GETATTR, ROOT_NODEID, 902, 40),
				    &ga, sizeof(ga)));
	/* an iomap request whose length lies */
	EXPECT_EQ(-EINVAL, raw_call(&self->f.w,
				    header(FUSE_IOMAP_BEGIN, FILE_NODEID, 903,
					   0xffffffff), &ga, sizeof(ga)));
	/* a lying FORGET cannot be answered */
	ASSERT_EQ(0, wire_send_raw(&self->f.w,
				   &(struct fuse_in_header){
					.len = 100, .opcode = FUSE_FORGET,
					.unique = 904, .nodeid = FILE_NODEID },
				   sizeof(struct fuse_in_header)));
	EXPECT_EQ(0, wire_expect_silence(&self->f.w, 300));
}

TEST_F_TIMEOUT(bdf, short_bodies, 30)
{
	struct fuse_read_in rd = { .size = 4096 };
	char noterm[8] = "filefile";	/* no NUL */

	/* classic requests whose fixed part is cut */
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_READ, FILE_NODEID, &rd,
				     8, NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_SETATTR, FILE_NODEID,
				     &rd, sizeof(rd), NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_GETATTR, FILE_NODEID,
				     &rd, 4, NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_OPEN, FILE_NODEID,
				     NULL, 0, NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_CREATE, ROOT_NODEID,
				     &rd, 16, NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_TMPFILE, ROOT_NODEID,
				     &rd, 16, NULL));
	/* names without their NUL */
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_LOOKUP, ROOT_NODEID,
				     noterm, sizeof(noterm), NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_LOOKUP, ROOT_NODEID,
				     NULL, 0, NULL));
	/* iomap bodies one byte short */
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_IOMAP_BEGIN, FILE_NODEID,
				     &rd, sizeof(struct fuse_iomap_begin_in) - 1,
				     NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_IOMAP_END, FILE_NODEID,
				     &rd, sizeof(rd), NULL));
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_IOMAP_IOEND, FILE_NODEID,
				     NULL, 0, NULL));
}

TEST_F_TIMEOUT(bdf, payload_sizes_that_lie, 30)
{
	struct {
		struct fuse_write_in in;
		char data[16];
	} wr = { .in = { .size = 4096 } };
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one;
	} bf = { .in = { .count = 1000 } };

	/* WRITE announcing more data than it carries */
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_WRITE, FILE_NODEID, &wr,
				     sizeof(wr), NULL));
	/* ... or less */
	wr.in.size = 1;
	EXPECT_EQ(-EINVAL, wire_call(&self->f.w, FUSE_WRITE, FILE_NODEID, &wr,
				     sizeof(wr), NULL));
	/* BATCH_FORGET with a count that lies: dropped, no answer */
	ASSERT_EQ(0, wire_sendv(&self->f.w, FUSE_BATCH_FORGET, 0,
				&(struct iovec){ &bf, sizeof(bf) }, 1, NULL));
	EXPECT_EQ(0, wire_expect_silence(&self->f.w, 300));
}

TEST_F_TIMEOUT(bdf, unknown_opcodes, 30)
{
	uint32_t ops[] = { 0, 999, FUSE_IOMAP_BEGIN - 1, FUSE_IOMAP_IOEND + 1,
			   0xffffffff };
	char body[64] = { 0 };
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		EXPECT_EQ(-ENOSYS, wire_call(&self->f.w, ops[i], FILE_NODEID,
					     body, sizeof(body), NULL));
	/* this server did not ask for FUSE_TMPFILE: libfuse's answer */
	EXPECT_EQ(-ENOSYS, wire_call(&self->f.w, FUSE_TMPFILE, ROOT_NODEID,
				     "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0/", 18,
				     NULL));
	/* CUSE_INIT on a FUSE session is an INIT out of place */
	EXPECT_EQ(-EIO, wire_call(&self->f.w, CUSE_INIT, 0, body,
				  sizeof(body), NULL));
}

/* Longer iomap bodies are accepted, the tail ignored (section 8.1). */
TEST_F_TIMEOUT(bdf, iomap_longer_body, 30)
{
	struct {
		struct fuse_iomap_begin_in in;
		char future[24];
	} b = { .in = { .attr_ino = FILE_INO, .pos = 0, .count = 4096 } };

	memset(b.future, 0xff, sizeof(b.future));
	EXPECT_EQ(0, wire_call(&self->f.w, FUSE_IOMAP_BEGIN, FILE_NODEID, &b,
			       sizeof(b), NULL));
}

TEST_F_TIMEOUT(bdf, iomap_bad_fields, 30)
{
	struct fuse_iomap_begin_in b = {
		.attr_ino = FILE_INO, .pos = 0, .count = 4096,
	};
	struct fuse_iomap_end_in e = {
		.attr_ino = FILE_INO, .pos = 0, .count = 4096, .written = 4096,
		.map = { .offset = 0, .length = 4096, .addr = RANGE_OFF,
			 .type = FUSE_IOMAP_TYPE_MAPPED, .dev = FIRST_DEV_ID },
	};
	struct fuse_iomap_ioend_in io = {
		.attr_ino = FILE_INO, .pos = 0, .written = 4096,
	};
	struct wire *w = &self->f.w;

#define BEGIN_EINVAL(field, value) do {					\
		struct fuse_iomap_begin_in bad = b;			\
		bad.field = (value);					\
		EXPECT_EQ(-EINVAL, wire_call(w, FUSE_IOMAP_BEGIN,	\
			  FILE_NODEID, &bad, sizeof(bad), NULL));	\
	} while (0)
	BEGIN_EINVAL(count, 0);
	BEGIN_EINVAL(pos, UINT64_MAX);
	BEGIN_EINVAL(pos, (uint64_t)INT64_MAX);	/* pos + count > INT64_MAX */
	BEGIN_EINVAL(count, UINT64_MAX);
	BEGIN_EINVAL(opflags, FUSE_IOMAP_OP_ALL + 1);
	BEGIN_EINVAL(opflags, 1U << 31);
	BEGIN_EINVAL(padding, 1);
	/* nodeid 0 is never an inode */
	EXPECT_EQ(-EINVAL, wire_call(w, FUSE_IOMAP_BEGIN, 0, &b, sizeof(b),
				     NULL));

#define END_EINVAL(field, value) do {					\
		struct fuse_iomap_end_in bad = e;			\
		bad.field = (value);					\
		EXPECT_EQ(-EINVAL, wire_call(w, FUSE_IOMAP_END,		\
			  FILE_NODEID, &bad, sizeof(bad), NULL));	\
	} while (0)
	END_EINVAL(written, 4097);
	END_EINVAL(count, 0);
	END_EINVAL(pos, UINT64_MAX - 10);
	END_EINVAL(opflags, 1U << 20);
	END_EINVAL(padding, 7);
	END_EINVAL(map.type, FUSE_IOMAP_TYPE_MAX + 1);
	END_EINVAL(map.flags, FUSE_IOMAP_F_ALL + 1);

#define IOEND_EINVAL(field, value) do {					\
		struct fuse_iomap_ioend_in bad = io;			\
		bad.field = (value);					\
		EXPECT_EQ(-EINVAL, wire_call(w, FUSE_IOMAP_IOEND,	\
			  FILE_NODEID, &bad, sizeof(bad), NULL));	\
	} while (0)
	IOEND_EINVAL(pos, UINT64_MAX);
	IOEND_EINVAL(written, UINT64_MAX);
	IOEND_EINVAL(flags, FUSE_IOMAP_IOEND_ALL + 1);
	IOEND_EINVAL(error, 5);
	IOEND_EINVAL(error, -4096);

	/* the untouched requests are fine */
	EXPECT_EQ(0, wire_call(w, FUSE_IOMAP_BEGIN, FILE_NODEID, &b, sizeof(b),
			       NULL));
	EXPECT_EQ(0, wire_iomap_end(w, FILE_NODEID, &e));
	EXPECT_EQ(0, wire_iomap_ioend(w, FILE_NODEID, &io, NULL));
}

TEST_F_TIMEOUT(bdf, iomap_wrong_inode, 30)
{
	struct fuse_iomap_ioend_in io = { .attr_ino = HELLO_INO };
	struct wire *w = &self->f.w;

	/* inodes not in iomap mode: the classic file, the directory */
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(w, HELLO_NODEID, HELLO_INO, 0,
						4096, 0, NULL));
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_begin(w, ROOT_NODEID, ROOT_NODEID, 0,
						4096, 0, NULL));
	EXPECT_EQ(-EOPNOTSUPP, wire_iomap_ioend(w, HELLO_NODEID, &io, NULL));
	/* attr_ino that is not the nodeid's backing inode */
	EXPECT_EQ(-ESTALE, wire_iomap_begin(w, FILE_NODEID, FILE_NODEID, 0,
					    4096, 0, NULL));
	EXPECT_EQ(-ESTALE, wire_iomap_begin(w, FILE_NODEID, HELLO_INO, 0,
					    4096, 0, NULL));
	/* a nodeid the server never handed out */
	EXPECT_EQ(-ESTALE, wire_iomap_begin(w, 12345, FILE_INO, 0, 4096, 0,
					    NULL));
}

TEST_F_TIMEOUT(bdf, out_of_range_offsets_and_counts, 30)
{
	static struct wire_reply r;
	struct wire *w = &self->f.w;
	char data[64] = { 0 };
	uint32_t written;
	uint64_t fh;

	ASSERT_EQ(0, wire_open(w, FILE_NODEID, O_RDWR, &fh));
	/* counts beyond what the kernel could take (INIT's max_pages) */
	EXPECT_EQ(-EINVAL, wire_read(w, FILE_NODEID, fh, 0, UINT32_MAX, &r));
	EXPECT_EQ(-EINVAL, wire_readdirplus(w, ROOT_NODEID, 0, 0, UINT32_MAX,
					    &r));
	/* a large count near the end is clamped to the file */
	ASSERT_EQ(0, wire_read(w, FILE_NODEID, fh, RANGE_LEN - 1000, 65536,
			       &r));
	EXPECT_EQ(1000, r.body_len);
	/* offsets past the end, past INT64_MAX, at UINT64_MAX */
	ASSERT_EQ(0, wire_read(w, FILE_NODEID, fh, RANGE_LEN + 1, 4096, &r));
	EXPECT_EQ(0, r.body_len);
	ASSERT_EQ(0, wire_read(w, FILE_NODEID, fh, (uint64_t)INT64_MAX + 1,
			       4096, &r));
	EXPECT_EQ(0, r.body_len);
	ASSERT_EQ(0, wire_read(w, FILE_NODEID, fh, UINT64_MAX, 4096, &r));
	EXPECT_EQ(0, r.body_len);
	EXPECT_EQ(-EFBIG, wire_write(w, FILE_NODEID, fh, UINT64_MAX - 3, data,
				     sizeof(data), &written));
	EXPECT_EQ(-EFBIG, wire_write(w, FILE_NODEID, fh, RANGE_LEN, data,
				     sizeof(data), &written));
	/* iomap: far past the end is a hole, never an overflowing mapping */
	EXPECT_EQ(0, wire_iomap_begin(w, FILE_NODEID, FILE_INO,
				      (uint64_t)INT64_MAX - 4096, 4096, 0,
				      NULL));
	/* directory offsets past the end */
	EXPECT_EQ(0, wire_readdirplus(w, ROOT_NODEID, 0, UINT64_MAX, 4096,
				      &r));
	EXPECT_EQ(0, r.body_len);
	EXPECT_EQ(0, wire_release(w, FILE_NODEID, fh, false));
}

TEST_F_TIMEOUT(bdf, read_only_file_stays_read_only, 30)
{
	uint64_t fh;

	EXPECT_EQ(-EACCES, wire_open(&self->f.w, HELLO_NODEID, O_RDWR, &fh));
	EXPECT_EQ(-EISDIR, wire_open(&self->f.w, ROOT_NODEID, O_RDONLY, &fh));
}

TEST_HARNESS_MAIN
