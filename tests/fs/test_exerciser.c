// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The random-operation exerciser (tests/exerciser) on kernel ext4, on
 * fuse2fs and on fuse2fs -o writeback_cache, each test from a fresh image
 * with a fixed seed: reads, writes, mappings, truncate, fallocate, fsync,
 * O_DIRECT, copy_file_range and reopening mixed on one file must always
 * read back what the exerciser's shadow copy says.  After the run the
 * image must be e2fsck-clean, and kernel ext4, mounting it afresh, must
 * read exactly the expected contents (saved by the exerciser).
 *
 * Three profiles share the operations of a mode: a 1 MiB file with
 * operations up to 128 KiB, an 8 MiB file with operations up to 1 MiB,
 * and a 64 KiB file with operations up to 16 KiB.  TFS_EXERCISER_OPS sets
 * the operations per mode (default OPS_PER_MODE); `make exercise` runs
 * 1,000,000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define OPS_PER_MODE	100000ULL
/* Time allowed per operation, beyond a fixed minute for the set-up. */
#define US_PER_OP	5000ULL
/* The harness's own limit: only a backstop, every step has its own. */
#define HARNESS_TIMEOUT	(6 * 3600)

/*
 * Every kind of operation must work (+all), on fuse2fs all but collapse
 * and insert range, which the host's FUSE refuses before asking fuse2fs
 * (tests/kernel's exerciser runs them through the patched kernel).  The
 * host's FUSE refuses RWF_NOWAIT reads too, which the exerciser counts.
 */
#define KINDS_EXT4	"+all"
#define KINDS_FUSE2FS	"+all,-collapse,-insert"

TFS_FIXTURE_ALL(xr, NULL);

struct profile {
	unsigned int seed;
	unsigned int percent;	/* of the operations of the mode */
	const char *max_size;
	const char *max_len;
};

static const char *exerciser_bin(void)
{
	const char *s = getenv("TFS_EXERCISER");

	return s ? s : TFS_EXERCISER;
}

static unsigned long long ops_of(const struct profile *p)
{
	const char *s = getenv("TFS_EXERCISER_OPS");
	unsigned long long total = s ? strtoull(s, NULL, 0) : OPS_PER_MODE;

	return total * p->percent / 100;
}

/* Print the exerciser's last line (its summary), or all of it. */
static void show_output(const char *out, bool all)
{
	const char *last = out;
	size_t len = strlen(out);

	if (all) {
		tfs_log_text("exerciser output", out);
		return;
	}
	while (len && out[len - 1] == '\n')
		len--;
	for (const char *p = out; p < out + len; p++)
		if (*p == '\n')
			last = p + 1;
	fprintf(stderr, "# %.*s\n", (int)(out + len - last), last);
}

/* Run the exerciser on the mount; its exit status (0: passed). */
static int run_exerciser(const struct tfs_env *env, const struct tfs_mount *m,
			 const char *kinds, const struct profile *p)
{
	unsigned long long ops = ops_of(p);
	char count[32], seed[16];
	char *out = NULL;
	int status;

	snprintf(count, sizeof(count), "%llu", ops);
	snprintf(seed, sizeof(seed), "%u", p->seed);
	status = tfs_runl((60000000ULL + ops * US_PER_OP) / 1000, &out,
			  exerciser_bin(), "-N", count, "-s", seed,
			  "-l", p->max_size, "-o", p->max_len, "-k", kinds,
			  "-S", tfs_ep(env, "expected"), tfs_p(m, "f"), NULL);
	if (out)
		show_output(out, status != 0);
	free(out);
	return status;
}

/* Kernel ext4 reads the image afresh: the expected bytes, nothing else. */
static int verify_with_ext4(struct tfs_env *env)
{
	char *out = NULL;
	int status;

	if (tfs_mount_kernel(&env->kern, env->image, NULL, "ro"))
		return -1;
	status = tfs_runl(120000, &out, exerciser_bin(),
			  "-V", tfs_ep(env, "expected"),
			  tfs_p(&env->kern, "f"), NULL);
	if (out)
		show_output(out, status != 0);
	free(out);
	if (tfs_umount_kernel(&env->kern))
		return -1;
	return status;
}

static void exercise(struct __test_metadata *_metadata,
		     FIXTURE_DATA(xr) *self, bool kernel,
		     const struct profile *p)
{
	const char *kinds = kernel ? KINDS_EXT4 : KINDS_FUSE2FS;
	int status = run_exerciser(&self->env, self->m, kinds, p);

	EXPECT_EQ(0, status);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	/* the expected contents are saved only by a run that passed */
	if (!status)
		ASSERT_EQ(0, verify_with_ext4(&self->env));
}

TEST_F_TIMEOUT(xr, mixed, HARNESS_TIMEOUT)
{
	const struct profile p = { 1, 50, "1m", "128k" };

	exercise(_metadata, self, variant->kernel, &p);
}

TEST_F_TIMEOUT(xr, large_file, HARNESS_TIMEOUT)
{
	const struct profile p = { 2, 25, "8m", "1m" };

	exercise(_metadata, self, variant->kernel, &p);
}

TEST_F_TIMEOUT(xr, small_file, HARNESS_TIMEOUT)
{
	const struct profile p = { 3, 25, "64k", "16k" };

	exercise(_metadata, self, variant->kernel, &p);
}

TEST_HARNESS_MAIN
