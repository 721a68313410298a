/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exerciser: random operations on one file, checked against an in-memory
 * shadow copy of what the file must hold.
 *
 * Every operation is numbered from 1.  Data written by operation N at
 * file offset O is a function of (N, O) alone (pattern.c), so bytes found
 * where they do not belong tell which operation wrote them and for which
 * offset: stale data, data moved to the wrong place and holes are told
 * apart in the report.  The run is a function of the seed: the same seed,
 * options and file system give the same operations.
 */
#ifndef TESTS_EXERCISER_EXERCISER_H
#define TESTS_EXERCISER_EXERCISER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The operation kinds; the names are those of the command line. */
enum xr_kind {
	XR_READ,		/* buffered pread, compared */
	XR_NOWAIT_READ,		/* preadv2 RWF_NOWAIT: what it returns, compared */
	XR_WRITE,		/* buffered pwrite */
	XR_MAPREAD,		/* MAP_SHARED read mapping, compared */
	XR_MAPWRITE,		/* MAP_SHARED write mapping, then msync */
	XR_TRUNCATE,		/* ftruncate up or down */
	XR_FALLOC,		/* fallocate mode 0: may grow the size */
	XR_FALLOC_KEEP,		/* FALLOC_FL_KEEP_SIZE */
	XR_PUNCH,		/* PUNCH_HOLE | KEEP_SIZE */
	XR_ZERO,		/* ZERO_RANGE: may grow the size */
	XR_ZERO_KEEP,		/* ZERO_RANGE | KEEP_SIZE */
	XR_COLLAPSE,		/* COLLAPSE_RANGE */
	XR_INSERT,		/* INSERT_RANGE */
	XR_FSYNC,
	XR_FDATASYNC,
	XR_DREAD,		/* O_DIRECT pread on a second descriptor */
	XR_DWRITE,		/* O_DIRECT pwrite on a second descriptor */
	XR_COPY,		/* copy_file_range from the source file */
	XR_COPY_SELF,		/* copy_file_range within the file */
	XR_REOPEN,		/* close every descriptor, open again */
	XR_REOPEN_TRUNC,	/* the same with O_TRUNC */
	XR_NR_KINDS
};

/* One operation, as generated, logged, recorded and replayed. */
struct xr_op {
	uint64_t nr;		/* 1, 2, ...: also names the data written */
	enum xr_kind kind;
	uint64_t off;		/* destination (or only) offset */
	uint64_t len;		/* length, or new size for truncate */
	uint64_t src;		/* source offset of copies */
	unsigned int flags;	/* XR_F_* */
	uint64_t size_before;	/* file size before and after */
	uint64_t size_after;
};

/* mapwrite: msync(MS_SYNC) before munmap (else the pages stay dirty) */
#define XR_F_MSYNC	1u

/* The command line. */
struct xr_config {
	const char *path;		/* the file exercised */
	uint64_t nr_ops;		/* operations to run */
	uint64_t seed;
	bool seed_given;
	uint64_t max_size;		/* the file never grows past this */
	uint64_t max_len;		/* longest single read/write/... */
	uint64_t check_every;		/* buffered full read-back, 0: end */
	uint64_t direct_check_every;	/* O_DIRECT full read-back, 0: end */
	unsigned int log_len;		/* operations kept for the report */
	unsigned int weight[XR_NR_KINDS];
	bool required[XR_NR_KINDS];	/* +NAME in --ops: must work */
	uint64_t block;			/* 0: st_blksize of the file */
	uint64_t dio_align;		/* 0: from statx, else block */
	const char *record;		/* every op written here (-w) */
	const char *replay;		/* ops read from here (-r) */
	const char *save;		/* the shadow saved here at the end */
	const char *verify;		/* compare path with this file, exit */
	bool verbose;
	bool timing;			/* time kinds and checks (-T) */
};

/* A ring of the last operations, for the report. */
struct xr_log {
	struct xr_op *ops;
	unsigned int len;	/* capacity */
	uint64_t count;		/* operations ever logged */
};

/* The run: descriptors, the shadow copies and what the file supports. */
struct xr_state {
	const struct xr_config *cfg;
	char src_path[4096];
	int fd;			/* buffered, read-write */
	int dfd;		/* O_DIRECT, read-write; -1 when unsupported */
	int sfd;		/* the copy source, read-only */
	uint8_t *shadow;	/* cfg->max_size bytes; zero past size */
	uint64_t size;
	uint8_t *src_shadow;
	uint64_t src_size;
	uint8_t *buf;		/* scratch for one op, aligned for O_DIRECT */
	uint8_t *check_buf;	/* the whole file, for read-back checks */
	uint64_t block;		/* fallocate collapse/insert granularity */
	uint64_t dio_align;
	uint64_t page;
	bool supported[XR_NR_KINDS];
	uint64_t done[XR_NR_KINDS];	/* operations run, per kind */
	uint64_t nowait_refused;	/* nowait_read: EAGAIN or EOPNOTSUPP */
	uint64_t ns[XR_NR_KINDS];	/* their time, with -T */
	uint64_t check_ns[2];		/* full read-backs: buffered, direct */
	uint64_t checks[2];
	uint64_t rng;
	struct xr_log log;
	FILE *record;
};

/* Exit statuses. */
#define XR_EXIT_OK	0
#define XR_EXIT_FAIL	1	/* miscompare or an operation failed */
#define XR_EXIT_USAGE	2	/* bad options, set-up failed */

/* ---- kinds and options (options.c) ---- */

const char *xr_kind_name(enum xr_kind kind);
/* The kind named name, or -1. */
int xr_kind_by_name(const char *name);
/* Parse the command line into cfg; prints the error, returns -1 on error. */
int xr_parse_options(struct xr_config *cfg, int argc, char **argv);

/* ---- random numbers (rng.c) ---- */

uint64_t xr_rand(uint64_t *state);
/* Uniform in [0, n); n > 0. */
uint64_t xr_below(uint64_t *state, uint64_t n);

/* ---- data (pattern.c) ---- */

/* The bytes operation nr writes at [off, off + len). */
void xr_fill(uint8_t *buf, uint64_t off, size_t len, uint32_t nr);
/*
 * Who wrote the 8-byte cell starting at file offset cell_off: returns
 * true and the operation number and the offset it was written for, or
 * false when the bytes are not pattern data (zeroes, garbage, or a cell
 * cut by an unaligned read).
 */
bool xr_decode(const uint8_t *cell, uint32_t *nr, uint64_t *off);
/* Describe the cell at file offset off of buf (len bytes at base). */
void xr_describe(FILE *out, const uint8_t *base, size_t len, uint64_t off,
		 uint64_t base_off);

/* ---- the shadow copy (shadow.c) ---- */

void xr_shadow_write(struct xr_state *st, uint64_t off, const uint8_t *data,
		     uint64_t len);
void xr_shadow_zero(struct xr_state *st, uint64_t off, uint64_t len);
/* New size; what lies past it reads as zeroes again. */
void xr_shadow_resize(struct xr_state *st, uint64_t size);
void xr_shadow_collapse(struct xr_state *st, uint64_t off, uint64_t len);
void xr_shadow_insert(struct xr_state *st, uint64_t off, uint64_t len);

/* ---- choosing and running operations (ops.c, io_ops.c, space_ops.c) ---- */

/*
 * Draw the next operation (kind by weight, then its parameters): 0, or -1
 * when no kind that is on can run.
 */
int xr_generate(struct xr_state *st, uint64_t nr, struct xr_op *op);
/* Can op run on the current file?  (Replayed logs may not fit.) */
bool xr_op_fits(const struct xr_state *st, const struct xr_op *op);
/* Run op: 0, or -1 after reporting a miscompare or a failure. */
int xr_run_op(struct xr_state *st, struct xr_op *op);

/* Install the SIGBUS/SIGSEGV handler of the mapping kinds: 0 or -1. */
int xr_catch_map_faults(void);
/* pread until len bytes or the end of the file: the count, or -1. */
ssize_t xr_pread_all(int fd, uint8_t *buf, uint64_t len, uint64_t off);
int xr_do_read(struct xr_state *st, struct xr_op *op);
int xr_do_nowait_read(struct xr_state *st, struct xr_op *op);
int xr_do_write(struct xr_state *st, struct xr_op *op);
int xr_do_mapread(struct xr_state *st, struct xr_op *op);
int xr_do_mapwrite(struct xr_state *st, struct xr_op *op);
int xr_do_dread(struct xr_state *st, struct xr_op *op);
int xr_do_dwrite(struct xr_state *st, struct xr_op *op);
int xr_do_copy(struct xr_state *st, struct xr_op *op);
int xr_do_truncate(struct xr_state *st, struct xr_op *op);
int xr_do_fallocate(struct xr_state *st, struct xr_op *op);
int xr_do_sync(struct xr_state *st, struct xr_op *op);
int xr_do_reopen(struct xr_state *st, struct xr_op *op);

/* The fallocate mode of a fallocate kind. */
int xr_falloc_mode(enum xr_kind kind);

/* ---- files (files.c) ---- */

/* Open (or reopen) the descriptors on cfg->path; 0 or -1 with a message. */
int xr_open_files(struct xr_state *st, int extra_flags);
void xr_close_files(struct xr_state *st);
/* Create the copy source next to the file, filled with op 0's data. */
int xr_make_source(struct xr_state *st);
/* Find out which kinds the file system supports (st->supported). */
int xr_probe(struct xr_state *st);

/* ---- checking and reporting (check.c, oplog.c) ---- */

/*
 * Compare got with the shadow at [off, off + len): 0 when equal, else
 * the miscompare report (what, where, a hex window, the op log) and -1.
 */
int xr_compare(struct xr_state *st, const char *what, uint64_t off,
	       const uint8_t *got, uint64_t len);
/* The file's size (fstat) must be the shadow's: 0, or -1 with a report. */
int xr_check_size(struct xr_state *st, const char *what);
/* Read the whole file back (buffered, or direct if via_direct): 0 or -1. */
int xr_check_all(struct xr_state *st, bool via_direct);
/* Report a failed system call of op (errno as it was): returns -1. */
int xr_fail_op(struct xr_state *st, const struct xr_op *op, const char *call);
/* The differences between two buffers that start at file offset base. */
void xr_report_diff(FILE *out, uint64_t base, const uint8_t *want,
		    const uint8_t *got, uint64_t len);
/* -V: compare path with the expected contents in file expect. */
int xr_verify_file(const char *path, const char *expect);

int xr_log_init(struct xr_log *log, unsigned int len);
void xr_log_add(struct xr_log *log, const struct xr_op *op);
void xr_log_print(FILE *out, const struct xr_log *log);
struct xr_op *xr_log_last(const struct xr_log *log);
/* One operation, for people. */
void xr_op_print(FILE *out, const struct xr_op *op);
/* One operation in the format -w writes and -r reads. */
void xr_op_record(FILE *out, const struct xr_op *op);
/* Read the next operation of a recorded log: 1, 0 at the end, -1 bad. */
int xr_op_scan(FILE *in, struct xr_op *op);

#endif /* TESTS_EXERCISER_EXERCISER_H */
