// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * exerciser: random operations on one file checked against a shadow copy
 * (see exerciser.h and `exerciser -h`).  This file sets the run up, runs
 * the operations with the periodic full read-backs, and prints the
 * summary.  README.md's "Checking" says what is compared when.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "exerciser.h"

/* Buffers are aligned for any O_DIRECT alignment up to this. */
#define BUF_ALIGN	(64 << 10)

static bool changes_size(enum xr_kind kind)
{
	switch (kind) {
	case XR_READ:
	case XR_NOWAIT_READ:
	case XR_MAPREAD:
	case XR_DREAD:
	case XR_FSYNC:
	case XR_FDATASYNC:
	case XR_FALLOC_KEEP:
	case XR_PUNCH:
	case XR_ZERO_KEEP:
		return false;
	default:
		return true;
	}
}

int xr_run_op(struct xr_state *st, struct xr_op *op)
{
	int ret;

	switch (op->kind) {
	case XR_READ:
		ret = xr_do_read(st, op);
		break;
	case XR_NOWAIT_READ:
		ret = xr_do_nowait_read(st, op);
		break;
	case XR_WRITE:
		ret = xr_do_write(st, op);
		break;
	case XR_MAPREAD:
		ret = xr_do_mapread(st, op);
		break;
	case XR_MAPWRITE:
		ret = xr_do_mapwrite(st, op);
		break;
	case XR_TRUNCATE:
		ret = xr_do_truncate(st, op);
		break;
	case XR_FSYNC:
	case XR_FDATASYNC:
		ret = xr_do_sync(st, op);
		break;
	case XR_DREAD:
		ret = xr_do_dread(st, op);
		break;
	case XR_DWRITE:
		ret = xr_do_dwrite(st, op);
		break;
	case XR_COPY:
	case XR_COPY_SELF:
		ret = xr_do_copy(st, op);
		break;
	case XR_REOPEN:
	case XR_REOPEN_TRUNC:
		ret = xr_do_reopen(st, op);
		break;
	default:
		ret = xr_do_fallocate(st, op);
	}
	op->size_after = st->size;
	/* every size change is checked at once; the kernel's size counts */
	if (!ret && changes_size(op->kind))
		ret = xr_check_size(st, xr_kind_name(op->kind));
	return ret;
}

static void *alloc_aligned(uint64_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, BUF_ALIGN, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

static uint64_t round_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) / align * align;
}

/* Block size and O_DIRECT alignment: the options, or the file's. */
static int file_geometry(struct xr_state *st)
{
	const struct xr_config *cfg = st->cfg;
	struct statx stx;
	int fd = open(cfg->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || statx(fd, "", AT_EMPTY_PATH,
			    STATX_BLOCKS | STATX_DIOALIGN, &stx)) {
		fprintf(stderr, "exerciser: %s: %s\n", cfg->path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	st->page = sysconf(_SC_PAGESIZE);
	st->block = cfg->block ? cfg->block : stx.stx_blksize;
	st->dio_align = cfg->dio_align;
	if (!st->dio_align && stx.stx_mask & STATX_DIOALIGN)
		st->dio_align = stx.stx_dio_offset_align;
	if (!st->dio_align)
		st->dio_align = st->block;
	if (!st->block || st->block > BUF_ALIGN || st->dio_align > BUF_ALIGN) {
		fprintf(stderr, "exerciser: block %llu or O_DIRECT alignment %llu not supported\n",
			(unsigned long long)st->block,
			(unsigned long long)st->dio_align);
		return -1;
	}
	return 0;
}

static int setup(struct xr_state *st, const struct xr_config *cfg)
{
	uint64_t room;

	memset(st, 0, sizeof(*st));
	st->cfg = cfg;
	st->fd = st->dfd = st->sfd = -1;
	if (file_geometry(st))
		return -1;
	/* room for a mapping's last page and a direct read's last unit */
	room = round_up(cfg->max_size, BUF_ALIGN) + BUF_ALIGN;
	st->shadow = alloc_aligned(room);
	st->src_shadow = alloc_aligned(room);
	st->check_buf = alloc_aligned(room);
	st->buf = alloc_aligned(round_up(cfg->max_len, BUF_ALIGN) + BUF_ALIGN);
	if (!st->shadow || !st->src_shadow || !st->check_buf || !st->buf ||
	    xr_log_init(&st->log, cfg->log_len)) {
		fprintf(stderr, "exerciser: out of memory\n");
		return -1;
	}
	/* any non-zero state; xorshift must not start at 0 */
	st->rng = cfg->seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	if (!st->rng)
		st->rng = 1;
	return 0;
}

static int check_support(struct xr_state *st)
{
	const struct xr_config *cfg = st->cfg;
	int k, ret = 0;

	if (xr_probe(st))
		return -1;
	for (k = 0; k < XR_NR_KINDS; k++) {
		if (cfg->required[k] && !st->supported[k]) {
			printf("exerciser: %s was asked for but is not supported here\n",
			       xr_kind_name(k));
			ret = -1;
		}
	}
	return ret;
}

static void print_header(const struct xr_state *st)
{
	const struct xr_config *cfg = st->cfg;
	int k;

	printf("exerciser: %s: ", cfg->path);
	if (cfg->replay)
		printf("replaying %s", cfg->replay);
	else
		printf("seed %llu, %llu ops", (unsigned long long)cfg->seed,
		       (unsigned long long)cfg->nr_ops);
	printf(", max size 0x%llx, max length 0x%llx, block %llu, O_DIRECT alignment %llu\n",
	       (unsigned long long)cfg->max_size,
	       (unsigned long long)cfg->max_len,
	       (unsigned long long)st->block,
	       (unsigned long long)st->dio_align);
	printf("exerciser: running:");
	for (k = 0; k < XR_NR_KINDS; k++)
		if (cfg->weight[k] && st->supported[k])
			printf(" %s", xr_kind_name(k));
	printf("\n");
	fflush(stdout);
}

/* With -T: the clock, in ns (two more system calls per operation). */
static uint64_t now_ns(const struct xr_state *st)
{
	struct timespec ts;

	if (!st->cfg->timing)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void print_time(const char *what, uint64_t n, uint64_t ns)
{
	printf(" %s %llu x %.2f ms;", what, (unsigned long long)n,
	       n ? ns / 1e6 / n : 0.0);
}

/* -T: where the time went, per kind (with its size check) and checks. */
static void print_timing(const struct xr_state *st)
{
	uint64_t total = st->check_ns[0] + st->check_ns[1];
	uint64_t ops = 0;
	int k;

	printf("exerciser: timing:");
	for (k = 0; k < XR_NR_KINDS; k++) {
		if (st->done[k])
			print_time(xr_kind_name(k), st->done[k], st->ns[k]);
		total += st->ns[k];
		ops += st->done[k];
	}
	print_time("check", st->checks[0], st->check_ns[0]);
	print_time("direct check", st->checks[1], st->check_ns[1]);
	printf(" all %.2f ms per op\n", ops ? total / 1e6 / ops : 0.0);
}

static void print_summary(const struct xr_state *st, uint64_t ran)
{
	int k;

	printf("exerciser: passed: %llu ops, seed %llu, final size 0x%llx;",
	       (unsigned long long)ran, (unsigned long long)st->cfg->seed,
	       (unsigned long long)st->size);
	for (k = 0; k < XR_NR_KINDS; k++)
		if (st->done[k])
			printf(" %s %llu", xr_kind_name(k),
			       (unsigned long long)st->done[k]);
	if (st->done[XR_NOWAIT_READ])
		printf(" (%llu of them refused)",
		       (unsigned long long)st->nowait_refused);
	printf("\n");
	if (st->cfg->timing)
		print_timing(st);
}

/* The next operation, drawn or replayed: 1, 0 when done, -1 on error. */
static int next_op(struct xr_state *st, FILE *replay, uint64_t nr,
		   struct xr_op *op)
{
	if (!replay) {
		if (nr > st->cfg->nr_ops)
			return 0;
		if (xr_generate(st, nr, op)) {
			printf("exerciser: no operation that is on can run\n");
			return -1;
		}
		return 1;
	}
	for (;;) {
		int got = xr_op_scan(replay, op);

		if (got <= 0)
			return got;
		if (st->supported[op->kind] && xr_op_fits(st, op))
			return 1;
		if (st->cfg->verbose)
			printf("exerciser: skipping op %llu (%s): does not fit\n",
			       (unsigned long long)op->nr,
			       xr_kind_name(op->kind));
	}
}

static bool due(uint64_t ran, uint64_t every)
{
	return every && ran % every == 0;
}

/*
 * The whole file after operation ran: often through the page cache,
 * which costs one read; now and then with O_DIRECT, which writes the
 * dirty pages back first and so also changes what later operations meet.
 */
static int timed_check(struct xr_state *st, bool direct)
{
	uint64_t t0 = now_ns(st);
	int ret = xr_check_all(st, direct);

	st->check_ns[direct] += now_ns(st) - t0;
	st->checks[direct]++;
	return ret;
}

static int periodic_checks(struct xr_state *st, uint64_t ran)
{
	const struct xr_config *cfg = st->cfg;

	if (due(ran, cfg->check_every) && timed_check(st, false))
		return -1;
	if (st->dfd >= 0 && due(ran, cfg->direct_check_every) &&
	    timed_check(st, true))
		return -1;
	return 0;
}

static int run(struct xr_state *st)
{
	const struct xr_config *cfg = st->cfg;
	FILE *replay = NULL;
	uint64_t ran = 0;
	struct xr_op op;
	uint64_t t0;
	int got;

	if (cfg->replay)
		replay = fopen(cfg->replay, "r");
	if (cfg->replay && !replay) {
		fprintf(stderr, "exerciser: %s: %s\n", cfg->replay,
			strerror(errno));
		return XR_EXIT_USAGE;
	}
	while ((got = next_op(st, replay, ran + 1, &op)) > 0) {
		op.size_before = st->size;
		op.size_after = st->size;
		xr_log_add(&st->log, &op);
		if (st->record) {
			xr_op_record(st->record, &op);
			fflush(st->record);
		}
		t0 = now_ns(st);
		if (xr_run_op(st, &op))
			goto fail;
		st->ns[op.kind] += now_ns(st) - t0;
		*xr_log_last(&st->log) = op;
		if (cfg->verbose)
			xr_op_print(stdout, &op);
		st->done[op.kind]++;
		ran++;
		if (periodic_checks(st, ran))
			goto fail;
	}
	if (got < 0)
		goto fail;
	/* at the end: through both descriptors, then after a reopen */
	if (xr_check_all(st, false) || (st->dfd >= 0 && xr_check_all(st, true)))
		goto fail;
	xr_close_files(st);
	if (xr_open_files(st, 0)) {
		printf("exerciser: reopening %s: %s\n", cfg->path,
		       strerror(errno));
		goto fail;
	}
	if (xr_check_all(st, false))
		goto fail;
	if (replay)
		fclose(replay);
	print_summary(st, ran);
	return XR_EXIT_OK;
fail:
	if (replay)
		fclose(replay);
	return XR_EXIT_FAIL;
}

static int save_shadow(const struct xr_state *st, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint64_t done = 0;

	while (fd >= 0 && done < st->size) {
		ssize_t n = write(fd, st->shadow + done, st->size - done);

		if (n <= 0)
			break;
		done += n;
	}
	if (fd < 0 || close(fd) || done < st->size) {
		fprintf(stderr, "exerciser: saving to %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct xr_config cfg;
	struct xr_state st;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (xr_parse_options(&cfg, argc, argv))
		return XR_EXIT_USAGE;
	if (cfg.verify)
		return xr_verify_file(cfg.path, cfg.verify);
	if (!cfg.seed_given)
		cfg.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	if (setup(&st, &cfg))
		return XR_EXIT_USAGE;
	if (check_support(&st))
		return XR_EXIT_FAIL;
	if (xr_make_source(&st) || xr_catch_map_faults())
		return XR_EXIT_USAGE;
	if (cfg.record)
		st.record = fopen(cfg.record, "w");
	if (cfg.record && !st.record) {
		fprintf(stderr, "exerciser: %s: %s\n", cfg.record,
			strerror(errno));
		return XR_EXIT_USAGE;
	}
	if (xr_open_files(&st, O_TRUNC)) {
		fprintf(stderr, "exerciser: %s: %s\n", cfg.path,
			strerror(errno));
		return XR_EXIT_USAGE;
	}
	print_header(&st);
	ret = run(&st);
	xr_close_files(&st);
	if (st.record)
		fclose(st.record);
	if (!ret && cfg.save && save_shadow(&st, cfg.save))
		ret = XR_EXIT_USAGE;
	if (!ret)
		unlink(st.src_path);
	return ret;
}
