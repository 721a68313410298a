// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The random-operation exerciser (tests/exerciser) on fuse2fs with
 * -o iomap=auto inside the guest: on a file in iomap mode, on one pinned
 * to classic FUSE (user.fuse2fs.iomap = classic) and on an inline-data
 * file, which starts classic and grows into extents during the run.
 * Every kind of operation fuse2fs implements must work; the file must
 * always read back what the exerciser's shadow copy says.  Then the
 * device must be e2fsck-clean and kernel ext4 must read exactly the
 * expected contents.  KT_EXERCISER_OPS sets the operations of each test
 * (default OPS); `make exercise` runs 1,000,000 (7 to 14 hours).  Runs as
 * root.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "f2guest.h"

/*
 * An operation costs about 3.5 ms of host CPU here (8 to 16 ms of wall
 * time on a busy 2-core host): nearly all of it is UML's round trips, each
 * guest system call, page fault and process switch a ptrace stop on the
 * host.  fuse2fs makes about 23 system calls and 5 FUSE requests per
 * operation, the exerciser 2 or 3; a mapped write (a fault per page)
 * costs as much as 7 plain writes (exerciser -T).  uml-suite.sh runs each
 * variant in a guest of its own (KT_GUEST_ALONE in the Makefile), so the
 * three share the host's CPUs.
 */
#define OPS		100000ULL
/* A hang guard, not a time limit: twice the slowest rate seen, in ms */
#define MS_PER_OP	60
/*
 * Every kind must work (+all), collapse and insert range included on
 * classic inodes too (kernel patch 40).  RWF_NOWAIT reads of a classic
 * file are refused (EOPNOTSUPP), which the exerciser counts.
 */
#define KINDS_ALL	"+all"

FIXTURE(xr) {
	struct kt_server srv;
	char out[KT_PATH_MAX + 16];
	char expected[KT_PATH_MAX + 16];
};

FIXTURE_VARIANT(xr) {
	const char *features;	/* mke2fs -O */
	const char *preference;	/* user.fuse2fs.iomap, or NULL */
	unsigned int seed;
	int mode_before;	/* 1: iomap, 0: classic */
	const char *kinds;	/* exerciser -k */
};

FIXTURE_VARIANT_ADD(xr, iomap) {
	.seed = 1,
	.mode_before = 1,
	.kinds = KINDS_ALL,
};

FIXTURE_VARIANT_ADD(xr, classic) {
	.preference = "classic",
	.seed = 2,
	.mode_before = 0,
	.kinds = KINDS_ALL,
};

FIXTURE_VARIANT_ADD(xr, inline_data) {
	.features = "inline_data",
	.seed = 3,
	.mode_before = 0,
	.kinds = KINDS_ALL,
};

FIXTURE_SETUP(xr)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(self->out, sizeof(self->out), "%s/xr.out", tmp ? tmp : "/tmp");
	snprintf(self->expected, sizeof(self->expected), "%s/xr.expected",
		 tmp ? tmp : "/tmp");
	ASSERT_EQ(0, f2g_mkfs(variant->features));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(xr)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

static const char *exerciser_bin(void)
{
	const char *s = getenv("KT_EXERCISER");

	return s ? s : KT_EXERCISER;
}

static unsigned long long ops(void)
{
	const char *s = getenv("KT_EXERCISER_OPS");

	return s ? strtoull(s, NULL, 0) : OPS;
}

/* The exerciser's summary: the last line of its output. */
static void print_summary(const char *out)
{
	char line[1024], last[1024] = "";
	FILE *f = fopen(out, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		snprintf(last, sizeof(last), "%s", line);
	fclose(f);
	fprintf(stderr, "# %s", last);
}

/* The harness's limit is a backstop: kt_sh() has its own. */
TEST_F_TIMEOUT(xr, exercise, 24 * 3600)
{
	const char *path = kt_path(&self->srv, "f");
	unsigned long long n = ops();
	int fd, status;

	fd = open(path, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	if (variant->preference)
		ASSERT_EQ(0, f2g_set_preference(path, variant->preference));
	ASSERT_EQ(variant->mode_before, f2g_path_iomap(path));

	/* the exerciser prints its report on failure; kt_sh shows it */
	status = kt_sh(120 + n * MS_PER_OP / 1000,
		       "%s -N %llu -s %u -k %s -S %s %s >%s 2>&1; rc=$?; "
		       "[ $rc = 0 ] || cat %s; exit $rc",
		       exerciser_bin(), n, variant->seed, variant->kinds,
		       self->expected, path, self->out, self->out);
	EXPECT_EQ(0, status);
	if (!status)
		print_summary(self->out);
	/* the inline file now has extents: iomap from its next open */
	EXPECT_EQ(variant->features ? 1 : variant->mode_before,
		  f2g_path_iomap(path));

	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	if (status)
		return;
	EXPECT_EQ(0, kt_sh(120,
			   "d=$(mktemp -d) && mount -t ext4 -o ro %s $d && "
			   "{ %s -V %s $d/f; rc=$?; umount $d; rmdir $d; "
			   "exit $rc; }",
			   f2g_device(), exerciser_bin(), self->expected));
}

TEST_HARNESS_MAIN
