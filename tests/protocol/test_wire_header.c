// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shared wire header against doc/protocol.md: every size, offset and
 * constant the document states, so that neither can change alone.  And
 * the kernel patch's copy of the header, when the series carries one, must
 * be byte for byte include/linux/fuse_iomap.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	EXPECT_EQ(32, sizeof(struct fuse_iomap_begin_out));

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

TEST(constants)
{
	EXPECT_EQ(0x80000000U, (uint32_t)(FUSE_IOMAP >> 32));
	EXPECT_EQ(0x80000000U, FUSE_ATTR_IOMAP);
	EXPECT_EQ(4090, FUSE_IOMAP_BEGIN);
	EXPECT_EQ(4091, FUSE_IOMAP_END);
	EXPECT_EQ(4092, FUSE_IOMAP_IOEND);
	EXPECT_EQ(0, FUSE_IOMAP_TYPE_HOLE);
	EXPECT_EQ(1, FUSE_IOMAP_TYPE_MAPPED);
	EXPECT_EQ(2, FUSE_IOMAP_TYPE_UNWRITTEN);
	EXPECT_EQ(3, FUSE_IOMAP_TYPE_INLINE);
	EXPECT_EQ(3, FUSE_IOMAP_TYPE_MAX);
	EXPECT_EQ(3, FUSE_IOMAP_F_ALL);
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

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc(n + 1);
		if (buf && fread(buf, 1, n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/*
 * The kernel series adds include/uapi/linux/fuse_iomap.h as a new file, so
 * its patch holds the header as "+" lines: rebuild it from those.
 */
TEST(kernel_copy_identical)
{
	const char *patch = getenv("FUSE_IOMAP_KERNEL_PATCH");
	char *ref, *text, *p, *copy;
	size_t ref_len, text_len, n = 0;
	bool in_file = false;

	if (!patch)
		patch = KERNEL_HEADER_PATCH;
	ref = slurp(HEADER_PATH, &ref_len);
	ASSERT_NE(NULL, ref);
	text = slurp(patch, &text_len);
	if (!text) {
		free(ref);
		SKIP(return, "no kernel patch adding the header at %s", patch);
	}
	copy = calloc(1, text_len + 1);
	ASSERT_NE(NULL, copy);
	for (p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) {
		if (!strncmp(p, "diff --git", 10)) {
			in_file = strstr(p, "include/uapi/linux/fuse_iomap.h");
			continue;
		}
		if (!in_file || !strncmp(p, "+++", 3) || p[0] != '+')
			continue;
		n += sprintf(copy + n, "%s\n", p + 1);
	}
	EXPECT_EQ(ref_len, n);
	EXPECT_EQ(0, strcmp(ref, copy));
	free(copy);
	free(text);
	free(ref);
}

TEST_HARNESS_MAIN
