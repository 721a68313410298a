/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest tests that run fuse2fs on the scratch device: making and mounting
 * a fresh file system, writing and checking files region by region, and
 * reading them back through kernel ext4 after unmount.
 */
#ifndef TESTS_KERNEL_F2GUEST_H
#define TESTS_KERNEL_F2GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ktest.h"

#define MIB		(1ULL << 20)

/* One region of a test file: written with a pattern seed, or a hole. */
struct region {
	uint64_t off;
	uint64_t len;
	uint32_t seed;		/* 0: never written, reads as zeroes */
};

/* KT_DEVICE, default /dev/ubdb */
const char *f2g_device(void);
/* mke2fs -t ext4 -b 4096 [-O FEATURES] of 1 GiB on the device */
int f2g_mkfs(const char *features);
/* fuse2fs -o iomap=auto on the device, in the foreground */
int f2g_mount(struct kt_server *srv);
/* fuse2fs -o OPTS on the device, in the foreground */
int f2g_mount_opts(struct kt_server *srv, const char *opts);
/* 1 when the kernel serves PATH through iomap, 0 if not, -1 on error. */
int f2g_path_iomap(const char *path);
/* Ask the server for PATH's attributes, its mode included: 0 or -1. */
int f2g_refresh_mode(const char *path);
/*
 * Set user.fuse2fs.iomap of PATH to PREF ("classic", "iomap"), or remove
 * it (PREF NULL), and make the kernel hear of the new mode at once: 0 or
 * -1 (errno).
 */
int f2g_set_preference(const char *path, const char *pref);
/* Stop the server (unmount), then `e2fsck -fn`: 0 when both succeed. */
int f2g_unmount_and_fsck(struct kt_server *srv);
/* Compare a file with what the regions say, with or without O_DIRECT. */
int f2g_check_regions(const char *path, const struct region *r, int n,
		      bool direct);
/* Create the file if need be, write the regions that have a seed, O_DIRECT. */
int f2g_write_regions(const char *path, const struct region *r, int n);
/*
 * After unmount: mount the device read-only with kernel ext4 on a fresh
 * directory (0, dir set), and unmount it again.
 */
int f2g_ext4_mount(char *dir, size_t len);
void f2g_ext4_unmount(const char *dir);

/* After unmount: kernel ext4 reads the same bytes and size. */
int f2g_check_with_ext4(const char *name, const struct region *r, int n,
			uint64_t size);
/* After unmount: kernel ext4 reads exactly want[0, size) as the file. */
int f2g_compare_with_ext4(const char *name, const void *want, size_t size);
/* After unmount: what kernel ext4 says of the file (0 or -errno). */
int f2g_stat_with_ext4(const char *name, struct stat *st);

/* Is timestamp a strictly earlier than b? */
static inline bool f2g_ts_before(const struct timespec *a,
				 const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

#endif /* TESTS_KERNEL_F2GUEST_H */
