/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The example server (libfuse/examples/blockdev_file_ll, sanitized build)
 * as a test fixture: an image with a known pattern, the server serving
 * RANGE_LEN bytes of it from RANGE_OFF, and the facts the tests check.
 */
#ifndef TESTS_PROTOCOL_BDF_FIXTURE_H
#define TESTS_PROTOCOL_BDF_FIXTURE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "wire.h"

#define IMAGE_SIZE	(1024 * 1024)
#define RANGE_OFF	65536
#define RANGE_LEN	262144
#define RANGE_OFF_S	"65536"
#define RANGE_LEN_S	"262144"

/* What blockdev_file_ll's header comment promises. */
#define ROOT_NODEID	1
#define FILE_NODEID	2
#define FILE_INO	12
#define HELLO_NODEID	3
#define HELLO_INO	13
#define HELLO_TEXT	"hello from blockdev_file_ll\n"
#define BDF_BLOCK	4096
#define FIRST_DEV_ID	1	/* ids on a test socket count from 1 */

struct bdf_fixture {
	struct wire w;
	char img[64];
	uint64_t img_hash;
	bool started;
	int expect_exit;	/* the server's expected exit code */
};

/* Make the image and start the server with --iomap=mode. 0 or -errno. */
static inline int bdf_start(struct bdf_fixture *f, const char *mode)
{
	char iomap_arg[32];
	char *argv[] = {
		BDF_SERVER, iomap_arg, f->img, RANGE_OFF_S, RANGE_LEN_S,
		WIRE_FD_ARG, "-f", NULL
	};
	int res;

	snprintf(iomap_arg, sizeof(iomap_arg), "--iomap=%s", mode);
	res = wire_make_image(f->img, IMAGE_SIZE);
	if (res)
		return res;
	f->img_hash = wire_file_hash(f->img);
	res = wire_start(&f->w, argv);
	if (res)
		return res;
	f->started = true;
	return 0;
}

/* Stop the server (its exit status) and remove the image. */
static inline int bdf_stop(struct bdf_fixture *f)
{
	int res = 0;

	if (f->started)
		res = wire_stop(&f->w);
	f->started = false;
	if (f->img[0])
		unlink(f->img);
	f->img[0] = '\0';
	return res;
}

/*
 * Every test file declares FIXTURE(bdf) with one member, "struct
 * bdf_fixture f", and uses these two: the teardown fails the test if the
 * server did not exit as expected (a sanitizer report or a leak makes it
 * exit non-zero).
 */
#define BDF_FIXTURE_FUNCS						\
	FIXTURE_SETUP(bdf) { memset(&self->f, 0, sizeof(self->f)); }	\
	FIXTURE_TEARDOWN(bdf)						\
	{								\
		int expect = self->f.expect_exit;			\
		ASSERT_EQ(expect, bdf_stop(&self->f));			\
	}

/* Start the server and send INIT (offering iomap or not). */
#define BDF_START(mode, offer, init_out)				\
	do {								\
		ASSERT_EQ(0, bdf_start(&self->f, (mode)));		\
		ASSERT_EQ(0, wire_init(&self->f.w, (offer), (init_out))); \
	} while (0)

#endif /* TESTS_PROTOCOL_BDF_FIXTURE_H */
