/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cases of evil_server.c, selected by FUSE_IOMAP_BEGIN count - 1.
 * EVIL_OK_* get a valid reply; every other case a mapping or reply the
 * library must refuse (the test then sees EIO), except EVIL_ERRNO.
 */
#ifndef TESTS_PROTOCOL_EVIL_CASES_H
#define TESTS_PROTOCOL_EVIL_CASES_H

enum evil_case {
	EVIL_OK_MAPPED,
	EVIL_BAD_TYPE,
	EVIL_BAD_FLAGS,
	EVIL_ZERO_LENGTH,
	EVIL_NOT_COVERING,
	EVIL_OVERFLOW,
	EVIL_HOLE_WITH_ADDR,
	EVIL_HOLE_WITH_DEV,
	EVIL_UNKNOWN_DEV,
	EVIL_PAST_DEVICE,
	EVIL_MISALIGNED,
	EVIL_NULL_ADDR,
	EVIL_HOLE_FOR_WRITE,	/* sent with FUSE_IOMAP_OP_WRITE */
	EVIL_INLINE_DIRECT,	/* sent with FUSE_IOMAP_OP_DIRECT */
	EVIL_HOLE_NEW,
	EVIL_INLINE_TOO_BIG,
	EVIL_ERR_ZERO,
	EVIL_ERR_HUGE,
	EVIL_WRONG_REPLY,
	EVIL_OK_HOLE,
	EVIL_OK_INLINE,
	EVIL_ERRNO,		/* a plain ENOSPC passes through */
	EVIL_NR_CASES
};

#endif /* TESTS_PROTOCOL_EVIL_CASES_H */
