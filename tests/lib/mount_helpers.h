/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libtestfs: helpers for the kselftest-harness mount suites (tests/fs).
 *
 * A test makes a fresh image with mke2fs, mounts it through fuse2fs (and,
 * for cross-checks, the same kind of image through kernel ext4 on a loop
 * device), does its work, unmounts and runs `e2fsck -fn`.  Every external
 * command runs with a time-out, so a hung server or tool fails the test
 * instead of hanging `make check`.
 *
 * Typical fixture:
 *
 *	FIXTURE(ns) { struct tfs_env env; };
 *	FIXTURE_SETUP(ns)
 *	{
 *		ASSERT_EQ(0, tfs_env_init(&self->env));
 *		ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
 *		ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image,
 *					    NULL));
 *	}
 *	FIXTURE_TEARDOWN_PARENT(ns) { tfs_env_cleanup(&self->env); }
 *	TEST_F(ns, mkdir)
 *	{
 *		ASSERT_EQ(0, mkdir(tfs_p(&self->env.fuse, "d"), 0755));
 *		TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
 *	}
 *
 * Clean-up happens on three levels:
 *   1. the test unmounts and fscks itself (TFS_ASSERT_UNMOUNT_CLEAN);
 *   2. FIXTURE_TEARDOWN_PARENT calls tfs_env_cleanup().  Use the _PARENT
 *      form: with -O2 the 6.12 harness skips a plain FIXTURE_TEARDOWN
 *      after a failed ASSERT (its longjmp clobbers a local), while the
 *      _PARENT one runs in every case (in the test process or its parent;
 *      the fixture data is shared memory, so either sees the mounts);
 *   3. a guardian process, started by tfs_env_init() in its own session,
 *      holds the read end of a pipe; every mount, server, loop-backed
 *      image and temporary directory is registered with it.  When the test
 *      process dies in any way (including the harness's SIGKILL on a
 *      time-out, which skips the teardown) the pipe reaches EOF and the
 *      guardian lazily unmounts what is left, kills the servers, detaches
 *      loop devices backed by our images and removes the directories.
 *      An atexit() handler and SIGINT/SIGTERM/SIGHUP handlers do the same
 *      in-process for programs that exit normally.
 *
 * All functions print their diagnostics to stderr as TAP comments ("# ").
 * Integer returns are 0 on success and -1 on failure unless said otherwise.
 */
#ifndef TESTS_LIB_MOUNT_HELPERS_H
#define TESTS_LIB_MOUNT_HELPERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TFS_PATH_MAX 512

/* Time-outs in milliseconds. */
#define TFS_MKFS_TIMEOUT_MS	120000
#define TFS_FSCK_TIMEOUT_MS	120000
#define TFS_MOUNT_TIMEOUT_MS	15000
#define TFS_UMOUNT_TIMEOUT_MS	30000

/* ---- running commands (run_cmd.c) ---- */

/* tfs_run() result when the command was killed for running too long. */
#define TFS_RUN_TIMEOUT		(-2)

/*
 * Run argv[0] (searched in PATH) with stdin from /dev/null, waiting at most
 * timeout_ms.  stdout and stderr are captured together; when out is not
 * NULL, *out receives a malloc()ed NUL-terminated copy (free() it) -- even
 * on failure.  Returns the exit status (0..255), 128 + signal number if
 * the command died from a signal, TFS_RUN_TIMEOUT if it was killed after
 * the time-out, or -1 if it could not be started at all.
 */
int tfs_run(int timeout_ms, char **out, const char *const argv[]);
/* The same with the arguments as a NULL-terminated list. */
int tfs_runl(int timeout_ms, char **out, const char *arg0, ...)
	__attribute__((sentinel));
/* Run a shell command line (sh -c) the same way. */
int tfs_sh(int timeout_ms, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * fork() with a close-on-exec pipe in pfd[] and stdio flushed first, so
 * buffered TAP output is not written twice.  Returns fork()'s pid, or -1
 * with no descriptor left open.
 */
pid_t tfs_fork_with_pipe(int pfd[2]);

/* Print text to stderr with every line prefixed by "# " and a title. */
void tfs_log_text(const char *title, const char *text);

/* ---- images (mkfs.c) ---- */

struct tfs_mkfs_opts {
	const char *fstype;	/* -t: "ext4" (default), "ext3", "ext2" */
	const char *features;	/* -O list, e.g. "inline_data,^has_journal" */
	uint64_t size_mb;	/* image size, default 64 MiB */
	unsigned int block_size;	/* -b, default 4096 (0 = default) */
	unsigned int inode_size;	/* -I, 0 = mke2fs default */
	unsigned int cluster_size;	/* -C (bigalloc), 0 = none */
	unsigned long inodes;	/* -N, 0 = mke2fs default */
	const char *populate;	/* -d DIR: copy a directory tree in */
	const char *ext_opts;	/* -E string, or NULL */
	const char *label;	/* -L, or NULL */
};

/*
 * Create (or overwrite) a sparse image file and run mke2fs on it.  opts
 * may be NULL for a 64 MiB ext4 image with 4 KiB blocks and mke2fs's
 * default ext4 features (extents, 64bit, flex_bg, metadata_csum,
 * huge_file, dir_index, journal).  The block size is forced to 4096 by
 * default so small images do not fall into mke2fs's "small" 1 KiB class.
 */
int tfs_mkfs(const char *image, const struct tfs_mkfs_opts *opts);

/*
 * e2fsck -fn IMAGE: returns e2fsck's exit status (0 = clean, 4 = errors
 * left uncorrected, 8 = operational error, ...) or a tfs_run() error;
 * prints e2fsck's output when the status is not 0.
 */
int tfs_fsck(const char *image);

/*
 * Like tfs_fsck(), but an image whose only problems are inodes on the
 * orphan list (e2fsck -p releases them and then finds nothing) passes
 * too: 0, with their number in *orphans; else e2fsck's status, with the
 * output of `e2fsck -fn` printed.
 */
int tfs_fsck_orphans_only(const char *image, int *orphans);

/*
 * A superblock field as `dumpe2fs -h` prints it, e.g. "Free blocks",
 * "Free inodes", "Filesystem state".  Numeric: the value, or -1.
 */
long long tfs_sb_number(const char *image, const char *field);
/* String: copied into buf (trimmed); 0 or -1. */
int tfs_sb_string(const char *image, const char *field, char *buf,
		  size_t size);

/*
 * debugfs -R REQUEST IMAGE (read-only), output in *out (malloc()ed,
 * always set).  Returns debugfs's exit status or a tfs_run() error.
 */
int tfs_debugfs(const char *image, const char *request, char **out);
/*
 * The number after "key:" in debugfs's `stat PATH` for the inode at PATH
 * inside the image, e.g. key "Inode", "Links", "Blockcount", "Flags"
 * (hex accepted); -1 if absent.
 */
long long tfs_inode_field(const char *image, const char *path,
			  const char *key);

/* ---- mounts (mount_helpers.c) ---- */

struct tfs_mount {
	char dir[TFS_PATH_MAX];		/* mountpoint */
	char image[TFS_PATH_MAX];	/* the image it was mounted from */
	char log[TFS_PATH_MAX];		/* fuse2fs stdout+stderr */
	pid_t server;			/* running fuse2fs, 0 when none */
	int exit_status;		/* server's status when it ended, or -1 */
	char opts[256];			/* mount options last used */
	bool mounted;
	bool kernel;			/* kernel ext4 on a loop device */
	bool left_mounted;		/* tfs_wait_server() found a mount */
};

/* The fuse2fs binary: $FUSE2FS_BIN, else $(top_builddir)/fuse2fs/fuse2fs. */
const char *tfs_fuse2fs_bin(void);

/*
 * Start fuse2fs in the foreground (`fuse2fs IMAGE DIR -f [-o OPTS]`) as a
 * child process, its stdout and stderr appended to m->log, and wait until
 * DIR shows up as a fuse mount in /proc/self/mountinfo (up to
 * TFS_MOUNT_TIMEOUT_MS).  m->dir must name an existing empty directory
 * (tfs_env_init() prepares one).  Fails, with the server's output printed,
 * if the server exits or the mount does not appear in time; in that case
 * the server has been stopped and m->exit_status holds its status (use
 * tfs_start_fuse() to examine expected failures).
 */
int tfs_mount_fuse(struct tfs_mount *m, const char *image, const char *opts);

/*
 * Like tfs_mount_fuse() with an arbitrary argument list after the binary
 * (NULL-terminated; e.g. a bad option or a missing device), for tests that
 * expect the server to fail.  Returns 0 if the mount came up (m->mounted),
 * 1 if the server exited first (m->exit_status, output in m->log), -1 on
 * time-out or error (the server is killed).
 */
int tfs_start_fuse(struct tfs_mount *m, const char *const args[]);

/*
 * For servers expected to fail: wait up to timeout_ms for the server to
 * exit on its own and return its status (m->exit_status); on time-out it
 * is killed and -1 returned.  A mount it leaves behind is detached and
 * reported (m->left_mounted tells whether there was one).
 */
int tfs_wait_server(struct tfs_mount *m, int timeout_ms);

/*
 * Unmount the fuse mount: umount(2) (retrying while EBUSY for a moment),
 * then `fusermount3 -u`, then a lazy detach; then wait for the server to
 * exit (TFS_UMOUNT_TIMEOUT_MS), SIGTERM and finally SIGKILL it.  Returns 0
 * only if the unmount succeeded normally and the server exited with
 * status 0 by itself; m->exit_status holds its status.  A no-op returning
 * 0 when nothing is mounted and no server runs.
 */
int tfs_umount_fuse(struct tfs_mount *m);

/*
 * Loop-mount IMAGE with the kernel (`mount -t TYPE -o loop[,OPTS]`), TYPE
 * defaulting to ext4 (which also serves ext2/ext3 images).
 */
int tfs_mount_kernel(struct tfs_mount *m, const char *image,
		     const char *type, const char *opts);
/* Unmount it and make sure no loop device stays attached to the image. */
int tfs_umount_kernel(struct tfs_mount *m);

/* Either kind. */
int tfs_umount(struct tfs_mount *m);
/*
 * Mount m->image again the way m was last mounted (fuse2fs with the same
 * options, or kernel ext4); for after an unmount.
 */
int tfs_remount(struct tfs_mount *m);

/* Is DIR a mountpoint right now?  Optionally returns its fstype. */
bool tfs_is_mounted(const char *dir, char *fstype, size_t size);

/* Detach every loop device whose backing file is IMAGE; count or -1. */
int tfs_loop_detach_image(const char *image);

/*
 * Number of times needle occurs in the server's log (its stdout+stderr so
 * far); -1 if the log cannot be read.
 */
int tfs_log_count(const struct tfs_mount *m, const char *needle);
/* The whole log, malloc()ed (free() it), or NULL. */
char *tfs_log_read(const struct tfs_mount *m);

/*
 * "m->dir/rel" in one of 16 rotating static buffers: enough for the paths
 * of one call such as rename(tfs_p(m, "a"), tfs_p(m, "b")).
 */
const char *tfs_p(const struct tfs_mount *m, const char *rel);

/* ---- per-test environment (env.c) ---- */

struct tfs_env {
	char dir[TFS_PATH_MAX];		/* private temporary directory */
	char image[TFS_PATH_MAX];	/* dir/fs.img */
	char kimage[TFS_PATH_MAX];	/* dir/kernel.img (cross-checks) */
	struct tfs_mount fuse;		/* mountpoint dir/fuse */
	struct tfs_mount kern;		/* mountpoint dir/kernel */
};

/*
 * Make the temporary directory (under $TFS_TMPDIR, else $TMPDIR, else
 * /var/tmp) with both mountpoints, and start the guardian.  Must be
 * called in the test process (FIXTURE_SETUP or the test body), not in
 * main().  Also returns -1 (with a message) when not running as root or
 * /dev/fuse is missing; tfs_can_mount() checks that beforehand.
 */
int tfs_env_init(struct tfs_env *env);
/* Unmount both, stop the server, detach loops, remove the directory. */
void tfs_env_cleanup(struct tfs_env *env);
/*
 * rm -rf dir, staying on dir's filesystem; refuses (-1) while anything is
 * mounted at or below dir, so a live image can never be deleted through
 * its mount.
 */
int tfs_remove_tree(const char *dir);
/* "env->dir/name" in a rotating buffer, like tfs_p(). */
const char *tfs_ep(const struct tfs_env *env, const char *name);

/* NULL if mount tests can run here, else the reason (for SKIP). */
const char *tfs_can_mount(void);

/* ---- safety net (guardian.c); tfs_env_init() does all of this ---- */

int tfs_guard_start(void);
void tfs_guard_mount(const char *dir, bool add);
void tfs_guard_server(pid_t pid, const char *dir, bool add);
void tfs_guard_loop_image(const char *image, bool add);
void tfs_guard_dir(const char *dir, bool add);

/* ---- files and trees (files.c, manifest.c) ---- */

/* Write size bytes of a pattern seeded by seed at offset; 0 or -1. */
int tfs_write_pattern(const char *path, off_t offset, size_t size,
		      unsigned int seed, int open_flags);
/* Check a pattern written by tfs_write_pattern(); 0 if equal, else -1. */
int tfs_check_pattern(const char *path, off_t offset, size_t size,
		      unsigned int seed);
/* Fill buf with the same pattern as the functions above. */
void tfs_pattern(void *buf, size_t size, off_t offset, unsigned int seed);
/* Write/read a whole small file; read returns a malloc()ed, NUL-ended copy. */
int tfs_write_file(const char *path, const void *data, size_t size);
char *tfs_read_file(const char *path, size_t *size);
/*
 * The value of "key:" in a /proc status file (/proc/PID/status or
 * /proc/PID/task/TID/status), blanks around it trimmed; 0 or -1.
 */
int tfs_status_field(const char *status_path, const char *key, char *val,
		     size_t len);
/* 64-bit FNV-1a of a file's contents (all of it); 0 or -1. */
int tfs_file_hash(const char *path, uint64_t *hash);

/* What tfs_manifest() leaves out; by default everything is listed. */
#define TFS_MF_NO_INO		(1u << 0)	/* inode numbers */
#define TFS_MF_NO_TIMES		(1u << 1)	/* atime/mtime/ctime */
#define TFS_MF_NO_ATIME		(1u << 2)	/* atime only */
#define TFS_MF_NO_CTIME		(1u << 3)	/* ctime only */
#define TFS_MF_NO_BLOCKS	(1u << 4)	/* st_blocks */
#define TFS_MF_NO_XATTRS	(1u << 5)
#define TFS_MF_NO_DIRSIZE	(1u << 6)	/* size, blocks of directories */

/*
 * A sorted text manifest of the tree under root, one line per entry:
 * relative path, type and mode, uid, gid, nlink, size, blocks, inode,
 * rdev, times with nanoseconds, symlink target, a hash of a regular
 * file's non-zero 4 KiB blocks with their offsets (holes and zeros hash
 * alike; data found with SEEK_DATA/SEEK_HOLE, so huge sparse files are
 * cheap) and every xattr name:length:hash.  malloc()ed; NULL on error.
 */
char *tfs_manifest(const char *root, unsigned int flags);
/*
 * Compare two manifests; prints the first differing lines (up to 20)
 * with titles.  0 if equal, else the number of differing lines.
 */
int tfs_manifest_diff(const char *title_a, const char *a,
		      const char *title_b, const char *b);

/* ---- harness glue: use in TEST_F bodies ---- */

/* Unmount (either kind), then require `e2fsck -fn` to be clean. */
#define TFS_ASSERT_UNMOUNT_CLEAN(m) do {				\
		ASSERT_EQ(0, tfs_umount(m));				\
		ASSERT_EQ(0, tfs_fsck((m)->image));			\
	} while (0)

/* Skip the test when mounts cannot work on this machine. */
#define TFS_SKIP_UNLESS_MOUNTABLE() do {				\
		const char *__why = tfs_can_mount();			\
		if (__why)						\
			SKIP(return, "%s", __why);			\
	} while (0)

/* call must fail with -1 and errno err; the errno is checked right away. */
#define TFS_EXPECT_ERRNO(err, call) do {				\
		long __r;						\
		int __e;						\
		errno = 0;						\
		__r = (long)(call);					\
		__e = errno;						\
		EXPECT_EQ(-1, __r) TH_LOG("%s", #call);			\
		EXPECT_EQ(err, __e) TH_LOG("%s: errno %d (%s)", #call,	\
					   __e, strerror(__e));		\
	} while (0)
#define TFS_ASSERT_ERRNO(err, call) do {				\
		long __r;						\
		int __e;						\
		errno = 0;						\
		__r = (long)(call);					\
		__e = errno;						\
		ASSERT_EQ(-1, __r) TH_LOG("%s", #call);			\
		ASSERT_EQ(err, __e) TH_LOG("%s: errno %d (%s)", #call,	\
					   __e, strerror(__e));		\
	} while (0)
/* call must return 0 (or >= 0 for TFS_ASSERT_OK_FD); errno is logged. */
#define TFS_ASSERT_OK(call) do {					\
		long __r = (long)(call);				\
		int __e = errno;					\
		ASSERT_EQ(0, __r) TH_LOG("%s: errno %d (%s)", #call,	\
					 __e, strerror(__e));		\
	} while (0)

/*
 * Two fixtures most mount suites need; both give self->env and self->m
 * (the mount under test) and set umask(0) so modes are exactly as given.
 *
 * TFS_FIXTURE_FUSE(fx, mkfs_opts, mount_opts): a fresh image made with
 * mkfs_opts (a const struct tfs_mkfs_opts * or NULL) mounted through
 * fuse2fs with mount_opts (or NULL).
 *
 * TFS_FIXTURE_BOTH(fx, mkfs_opts): every TEST_F(fx, ...) runs twice, as
 * variant "fuse2fs" and as variant "ext4" (the same kind of fresh image
 * loop-mounted by the kernel), so the expectations a test states are
 * checked against kernel ext4 itself: when only the fuse2fs variant
 * fails, fuse2fs differs from ext4.  variant->kernel tells which.
 * Tests end with TFS_ASSERT_UNMOUNT_CLEAN(self->m).
 */
#define TFS_FIXTURE_FUSE(fx, mkfs_opts, mount_opts)			\
	FIXTURE(fx) {							\
		struct tfs_env env;					\
		struct tfs_mount *m;					\
	};								\
	FIXTURE_SETUP(fx)						\
	{								\
		TFS_SKIP_UNLESS_MOUNTABLE();				\
		umask(0);						\
		ASSERT_EQ(0, tfs_env_init(&self->env));			\
		ASSERT_EQ(0, tfs_mkfs(self->env.image, (mkfs_opts)));	\
		self->m = &self->env.fuse;				\
		ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image,	\
					    (mount_opts)));		\
	}								\
	FIXTURE_TEARDOWN_PARENT(fx)					\
	{								\
		tfs_env_cleanup(&self->env);				\
	}

/* The setup and teardown shared by the variant fixtures below. */
#define __TFS_VARIANT_SETUP(fx, mkfs_opts)				\
	FIXTURE_SETUP(fx)						\
	{								\
		TFS_SKIP_UNLESS_MOUNTABLE();				\
		umask(0);						\
		ASSERT_EQ(0, tfs_env_init(&self->env));			\
		ASSERT_EQ(0, tfs_mkfs(self->env.image, (mkfs_opts)));	\
		if (variant->kernel) {					\
			self->m = &self->env.kern;			\
			ASSERT_EQ(0, tfs_mount_kernel(self->m,		\
					self->env.image, NULL, NULL));	\
		} else {						\
			self->m = &self->env.fuse;			\
			ASSERT_EQ(0, tfs_mount_fuse(self->m,		\
					self->env.image,		\
					variant->fuse_opts));		\
		}							\
	}								\
	FIXTURE_TEARDOWN_PARENT(fx)					\
	{								\
		tfs_env_cleanup(&self->env);				\
	}

#define __TFS_VARIANT_FIXTURE(fx)					\
	FIXTURE(fx) {							\
		struct tfs_env env;					\
		struct tfs_mount *m;					\
	};								\
	FIXTURE_VARIANT(fx) {						\
		bool kernel;						\
		const char *fuse_opts;					\
	}

#define TFS_FIXTURE_BOTH(fx, mkfs_opts)					\
	__TFS_VARIANT_FIXTURE(fx);					\
	FIXTURE_VARIANT_ADD(fx, fuse2fs) { .kernel = false };		\
	FIXTURE_VARIANT_ADD(fx, ext4) { .kernel = true };		\
	__TFS_VARIANT_SETUP(fx, mkfs_opts)

/*
 * TFS_FIXTURE_ALL(fx, mkfs_opts): like TFS_FIXTURE_BOTH with a third
 * variant, "fuse2fs_wbc": fuse2fs mounted with -o writeback_cache, where
 * the kernel caches writes and file times and sizes are the kernel's.
 */
#define TFS_FIXTURE_ALL(fx, mkfs_opts)					\
	__TFS_VARIANT_FIXTURE(fx);					\
	FIXTURE_VARIANT_ADD(fx, fuse2fs) { .kernel = false };		\
	FIXTURE_VARIANT_ADD(fx, fuse2fs_wbc) {				\
		.kernel = false, .fuse_opts = "writeback_cache" };	\
	FIXTURE_VARIANT_ADD(fx, ext4) { .kernel = true };		\
	__TFS_VARIANT_SETUP(fx, mkfs_opts)

#endif /* TESTS_LIB_MOUNT_HELPERS_H */
