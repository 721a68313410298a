/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the tests that run inside the UML guest (uml-suite.sh):
 * starting and stopping a FUSE server, reading the iomap mode of an open
 * file from fdinfo, direct IO buffers and patterns, and the kernel log.
 * Everything prints its diagnostics as TAP comments ("# ") on stderr.
 */
#ifndef TESTS_KERNEL_KTEST_H
#define TESTS_KERNEL_KTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KT_PATH_MAX 256

/* A FUSE server run as a child process, mounted on dir. */
struct kt_server {
	char dir[KT_PATH_MAX];	/* mountpoint, created by kt_server_start */
	char log[KT_PATH_MAX + 8];	/* its stdout and stderr */
	pid_t pid;
	bool mounted;
};

/*
 * Create a fresh mountpoint under $TMPDIR, start argv (argv[0] is a path;
 * the string "@MNT@" in argv is replaced by the mountpoint) and wait up to
 * 10 s for the mount to appear; then stat it, which returns only once the
 * server handled FUSE_INIT.  0, or -1 with the server's log printed.
 */
int kt_server_start(struct kt_server *s, const char *const argv[]);
/*
 * Unmount (after closing and unmapping what this process still has open
 * below the mountpoint, as a test that failed an ASSERT leaves it;
 * retrying while busy; if another process holds it, aborting the FUSE
 * connection and detaching it lazily), wait up to 10 s for the server to
 * exit, then kill it; remove the mountpoint.  Returns
 * the server's exit status, or -1 if it had to be killed or the unmount
 * failed.  Safe to call twice.
 */
int kt_server_stop(struct kt_server *s);
/*
 * Kill the server with SIGKILL (a crash, as a test wants it) and reap
 * it, so that kt_server_stop() only unmounts.  Safe with no server.
 */
void kt_server_kill(struct kt_server *s);
/* Path under the mountpoint (static buffer, one at a time per slot). */
const char *kt_path(const struct kt_server *s, const char *name);

/*
 * The fuse-iomap fields of /proc/self/fdinfo/<fd>: returns 1 (iomap,
 * *ino set if not NULL), 0 (classic) or -1 (no "fuse_iomap:" line).
 */
int kt_fd_iomap(int fd, uint64_t *ino);
/*
 * "fuse_iomap_cached:" of /proc/self/fdinfo/<fd>: how many mappings the
 * kernel keeps for the file, or -1 when the line is missing.
 */
int kt_fd_iomap_cached(int fd);

/* 4 KiB aligned buffer of len bytes, or NULL. */
void *kt_alloc(size_t len);
/* Deterministic pattern: the bytes of file offset off for a given seed. */
void kt_fill(void *buf, size_t len, uint64_t off, uint32_t seed);
/* Offset of the first byte that differs from the pattern, or -1. */
ssize_t kt_check(const void *buf, size_t len, uint64_t off, uint32_t seed);
/* True if the buffer is all zero. */
bool kt_is_zero(const void *buf, size_t len);

/* pread/pwrite of exactly len bytes with O_DIRECT on path; 0 or -errno. */
int kt_direct_pread(const char *path, void *buf, size_t len, off_t off);
int kt_direct_pwrite(const char *path, const void *buf, size_t len,
		     off_t off);

/* Number of kernel log lines containing needle, or -1. */
int kt_klog_count(const char *needle);

/*
 * Kernel tracing through tracefs (mounted at /sys/kernel/tracing if need
 * be): kt_trace_start() empties the buffer and enables the events named
 * "system/event" in the NULL-terminated list; kt_trace_stop() disables
 * them and returns what was recorded (malloc'd, NULL on failure).
 */
int kt_trace_start(const char *const events[]);
char *kt_trace_stop(const char *const events[]);
/* Lines of a trace that contain every one of the NULL-terminated needles. */
int kt_trace_count(const char *trace, const char *const needles[]);
/* Lines of a trace that contain needle; -1 when there is no trace. */
int kt_trace_lines(const char *trace, const char *needle);

/*
 * The errno hostile_server noted for a registration name in its results
 * file ("name errno" lines; the last one counts), or -1 if missing.
 */
int kt_noted(const char *results, const char *name);

/*
 * Run fn(arg) in a child and wait up to secs for it: its exit status, or
 * -1 if it did not finish in time (it is sent SIGKILL; a writer stuck in
 * the kernel stays, and the test fails instead of hanging).
 */
int kt_run_bounded(int (*fn)(void *), void *arg, int secs);

/* The guest's scratch block device: $KT_DEVICE, default /dev/ubdb. */
const char *kt_device(void);

/* read_ahead_kb of block device dev (/dev/NAME), or -1. */
int kt_device_read_ahead_kb(const char *dev);

/* Set read_ahead_kb of block device dev: 0 or -1. */
int kt_set_device_read_ahead_kb(const char *dev, int kb);

/* The first integer in file (sysfs, say), or -1. */
int kt_read_int(const char *file);

/* read_ahead_kb of the mount at dir (its bdi, named by st_dev), or -1. */
int kt_mount_read_ahead_kb(const char *dir);

/*
 * Make file a sparse file of size (truncate(1)'s syntax) and attach a
 * loop device to it, writable: 0 with the device's name in out, or -1
 * (out names the device if one was attached).
 */
int kt_loop_new(const char *file, const char *size, char *out, size_t len);

/* Run a shell command with a time-out (seconds); its exit status or -1. */
int kt_sh(int timeout_s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* TESTS_KERNEL_KTEST_H */
