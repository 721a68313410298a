// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data operations: buffered and direct reads and writes, shared
 * mappings and copy_file_range.  Each updates the shadow after the file
 * and compares whatever it reads with the shadow at once.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "exerciser.h"

ssize_t xr_pread_all(int fd, uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		done += n;
	}
	return done;
}

static int pwrite_all(int fd, const uint8_t *buf, uint64_t len, uint64_t off)
{
	uint64_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, off + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/* What a read of op must return: up to the end of the file. */
static uint64_t expected_count(const struct xr_state *st,
			       const struct xr_op *op)
{
	if (op->off >= st->size)
		return 0;
	return op->len < st->size - op->off ? op->len : st->size - op->off;
}

/*
 * A read of op returned got bytes where want were due (with some_of, any
 * number from 1 to want): report it with the last operations, -1.
 */
static int wrong_count(struct xr_state *st, const struct xr_op *op,
		       const char *what, uint64_t got, uint64_t want,
		       bool some_of)
{
	printf("exerciser: %s of 0x%llx at 0x%llx returned 0x%llx bytes, expected %s0x%llx (file size 0x%llx)\n",
	       what, (unsigned long long)op->len,
	       (unsigned long long)op->off, (unsigned long long)got,
	       some_of ? "1 to " : "", (unsigned long long)want,
	       (unsigned long long)st->size);
	xr_log_print(stdout, &st->log);
	return -1;
}

static int read_and_compare(struct xr_state *st, struct xr_op *op, int fd,
			    const char *what)
{
	uint64_t want = expected_count(st, op);
	ssize_t got = xr_pread_all(fd, st->buf, op->len, op->off);

	if (got < 0)
		return xr_fail_op(st, op, what);
	if ((uint64_t)got != want)
		return wrong_count(st, op, what, got, want, false);
	return xr_compare(st, what, op->off, st->buf, got);
}

int xr_do_read(struct xr_state *st, struct xr_op *op)
{
	return read_and_compare(st, op, st->fd, "read");
}

/*
 * A RWF_NOWAIT read returns what the kernel can give without blocking:
 * all of it, a part from the start, or EAGAIN (EOPNOTSUPP where the file
 * does not take RWF_NOWAIT, such as a classic FUSE file).  What it
 * returns must be the file's data, and 0 only at the end of the file.
 */
int xr_do_nowait_read(struct xr_state *st, struct xr_op *op)
{
	struct iovec iov = { st->buf, op->len };
	uint64_t want = expected_count(st, op);
	ssize_t got;

	do {
		got = preadv2(st->fd, &iov, 1, op->off, RWF_NOWAIT);
	} while (got < 0 && errno == EINTR);
	if (got < 0 && (errno == EAGAIN || errno == EOPNOTSUPP)) {
		st->nowait_refused++;
		return 0;
	}
	if (got < 0)
		return xr_fail_op(st, op, "nowait read");
	if ((uint64_t)got > want || (!got && want))
		return wrong_count(st, op, "nowait read", got, want,
				   want != 0);
	return xr_compare(st, "nowait read", op->off, st->buf, got);
}

int xr_do_dread(struct xr_state *st, struct xr_op *op)
{
	return read_and_compare(st, op, st->dfd, "direct read");
}

static int write_with(struct xr_state *st, struct xr_op *op, int fd,
		      const char *what)
{
	xr_fill(st->buf, op->off, op->len, op->nr);
	if (pwrite_all(fd, st->buf, op->len, op->off))
		return xr_fail_op(st, op, what);
	xr_shadow_write(st, op->off, st->buf, op->len);
	return 0;
}

int xr_do_write(struct xr_state *st, struct xr_op *op)
{
	return write_with(st, op, st->fd, "write");
}

int xr_do_dwrite(struct xr_state *st, struct xr_op *op)
{
	return write_with(st, op, st->dfd, "direct write");
}

/*
 * A wrong size or a failing fault shows as SIGBUS (or SIGSEGV) while the
 * mapping is touched: turn it into a report, not a crash.  The handler is
 * installed once (xr_catch_map_faults): in the guest every system call
 * costs as much as a small operation.  SA_NODEFER leaves the signal
 * unblocked after the jump, so no signal mask needs saving either.
 */
static sigjmp_buf map_fault;
static volatile sig_atomic_t touching_map;

static void on_map_fault(int sig)
{
	if (touching_map)
		siglongjmp(map_fault, sig);
	/* anywhere else it is the exerciser's own bug: die of it */
	signal(sig, SIG_DFL);
}

int xr_catch_map_faults(void)
{
	struct sigaction sa = { .sa_handler = on_map_fault,
				.sa_flags = SA_NODEFER };

	return sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL);
}

/* The mapping of op's range, from the page it starts in. */
struct map_window {
	uint8_t *addr;
	uint64_t start;		/* file offset of addr */
	uint64_t len;
};

static int map_range(struct xr_state *st, const struct xr_op *op, int prot,
		     struct map_window *w)
{
	uint64_t end = op->off + op->len;

	w->start = op->off - op->off % st->page;
	/* up to the end of the page: the bytes past EOF must be zero */
	w->len = (end + st->page - 1) / st->page * st->page - w->start;
	w->addr = mmap(NULL, w->len, prot, MAP_SHARED, st->fd, w->start);
	return w->addr == MAP_FAILED ? -1 : 0;
}

static int map_fault_report(struct xr_state *st, const struct xr_op *op,
			    int sig)
{
	printf("exerciser: %s while touching the mapping of op %llu\n",
	       strsignal(sig), (unsigned long long)op->nr);
	xr_log_print(stdout, &st->log);
	return -1;
}

int xr_do_mapread(struct xr_state *st, struct xr_op *op)
{
	struct map_window w;
	int sig, ret;

	if (map_range(st, op, PROT_READ, &w))
		return xr_fail_op(st, op, "mmap");
	sig = sigsetjmp(map_fault, 0);
	if (!sig) {
		touching_map = 1;
		ret = xr_compare(st, "mapped read", w.start, w.addr, w.len);
	} else {
		ret = map_fault_report(st, op, sig);
	}
	touching_map = 0;
	munmap(w.addr, w.len);
	return ret;
}

int xr_do_mapwrite(struct xr_state *st, struct xr_op *op)
{
	uint64_t end = op->off + op->len;
	struct map_window w;
	int sig, ret = 0;

	/* a mapping cannot extend the file: grow it first */
	if (end > st->size) {
		if (ftruncate(st->fd, end))
			return xr_fail_op(st, op, "ftruncate before mmap");
		xr_shadow_resize(st, end);
	}
	if (map_range(st, op, PROT_READ | PROT_WRITE, &w))
		return xr_fail_op(st, op, "mmap");
	xr_fill(st->buf, op->off, op->len, op->nr);
	sig = sigsetjmp(map_fault, 0);
	if (!sig) {
		touching_map = 1;
		memcpy(w.addr + (op->off - w.start), st->buf, op->len);
	} else {
		ret = map_fault_report(st, op, sig);
	}
	touching_map = 0;
	if (!ret && op->flags & XR_F_MSYNC && msync(w.addr, w.len, MS_SYNC))
		ret = xr_fail_op(st, op, "msync");
	munmap(w.addr, w.len);
	if (!ret)
		xr_shadow_write(st, op->off, st->buf, op->len);
	return ret;
}

int xr_do_copy(struct xr_state *st, struct xr_op *op)
{
	bool self = op->kind == XR_COPY_SELF;
	loff_t src = op->src, dst = op->off;
	uint64_t done = 0;

	while (done < op->len) {
		ssize_t n = copy_file_range(self ? st->fd : st->sfd, &src,
					    st->fd, &dst, op->len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!n)
				errno = ENODATA;	/* ended early */
			return xr_fail_op(st, op, "copy_file_range");
		}
		done += n;
	}
	/* non-overlapping ranges (xr_op_fits), so the order does not matter */
	xr_shadow_write(st, op->off,
			(self ? st->shadow : st->src_shadow) + op->src,
			op->len);
	return 0;
}
