// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Checking the file against the shadow and the miscompare report: which
 * byte ranges differ and what each side holds there (decoded from the
 * pattern: which operation wrote it, for which offset), a hex window
 * around the first bad byte, and the last operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "exerciser.h"

#define MAX_RUNS	8	/* differing ranges listed */
#define RUN_GAP		8	/* equal bytes that still join two ranges */
#define HEX_LINE	16
#define HEX_BEFORE	32	/* bytes shown before the first bad one */
#define HEX_AFTER	48

static uint64_t next_diff(const uint8_t *a, const uint8_t *b, uint64_t from,
			  uint64_t len)
{
	while (from < len && a[from] == b[from])
		from++;
	return from;
}

/* End of the differing run at start: RUN_GAP equal bytes end it. */
static uint64_t run_end(const uint8_t *a, const uint8_t *b, uint64_t start,
			uint64_t len)
{
	uint64_t end = start, i = start;

	while (i < len) {
		if (a[i] != b[i]) {
			end = ++i;
			continue;
		}
		if (i - end >= RUN_GAP)
			break;
		i++;
	}
	return end;
}

/* One differing run: where, and what each side holds at its first cell. */
static void print_run(FILE *out, uint64_t base, const uint8_t *want,
		      const uint8_t *got, uint64_t len, uint64_t start,
		      uint64_t end)
{
	uint64_t cell = (base + start + 7) / 8 * 8;

	if (cell + 8 > base + end)
		cell = base + start;
	fprintf(out, "  0x%08llx..0x%08llx (0x%llx bytes): expected ",
		(unsigned long long)(base + start),
		(unsigned long long)(base + end),
		(unsigned long long)(end - start));
	xr_describe(out, want, len, cell, base);
	fprintf(out, ", found ");
	xr_describe(out, got, len, cell, base);
	fprintf(out, "\n");
}

static void print_hex(FILE *out, const uint8_t *p, uint64_t base,
		      uint64_t from, uint64_t start, uint64_t end)
{
	uint64_t i;

	for (i = from; i < from + HEX_LINE; i++) {
		if (i >= start && i < end)
			fprintf(out, " %02x", p[i - base]);
		else
			fprintf(out, "   ");
	}
}

/* 16-byte lines around the first bad byte: expected | found. */
static void print_window(FILE *out, uint64_t base, const uint8_t *want,
			 const uint8_t *got, uint64_t len, uint64_t bad)
{
	uint64_t line = bad - bad % HEX_LINE;
	uint64_t start = line > base + HEX_BEFORE ? line - HEX_BEFORE : base;
	uint64_t end = line + HEX_AFTER < base + len ? line + HEX_AFTER :
		       base + len;
	uint64_t l;

	if (start < base)
		start = base;
	fprintf(out, "  %-10s %-48s   %s\n", "offset", " expected",
		" found");
	for (l = start - start % HEX_LINE; l < end; l += HEX_LINE) {
		bool differs = false;
		uint64_t i;

		for (i = l; i < l + HEX_LINE; i++)
			if (i >= start && i < end &&
			    want[i - base] != got[i - base])
				differs = true;
		fprintf(out, "  %08llx  ", (unsigned long long)l);
		print_hex(out, want, base, l, start, end);
		fprintf(out, "  |");
		print_hex(out, got, base, l, start, end);
		fprintf(out, "%s\n", differs ? "  <" : "");
	}
}

void xr_report_diff(FILE *out, uint64_t base, const uint8_t *want,
		    const uint8_t *got, uint64_t len)
{
	uint64_t first = next_diff(want, got, 0, len), pos = first;
	uint64_t bytes = 0, runs = 0;

	while (pos < len) {
		uint64_t end = run_end(want, got, pos, len), i;

		if (runs < MAX_RUNS)
			print_run(out, base, want, got, len, pos, end);
		for (i = pos; i < end; i++)
			bytes += want[i] != got[i];
		runs++;
		pos = next_diff(want, got, end, len);
	}
	if (runs > MAX_RUNS)
		fprintf(out, "  ... %llu more ranges\n",
			(unsigned long long)(runs - MAX_RUNS));
	fprintf(out, "  %llu bytes differ in %llu ranges; first bad byte at 0x%llx:\n",
		(unsigned long long)bytes, (unsigned long long)runs,
		(unsigned long long)(base + first));
	print_window(out, base, want, got, len, base + first);
}

/* How to run the same operations again. */
static void print_repro(const struct xr_state *st)
{
	const struct xr_op *op = xr_log_last(&st->log);
	unsigned long long nr = op ? op->nr : 0;

	if (st->cfg->replay)
		printf("exerciser: failed at op %llu replayed from %s\n", nr,
		       st->cfg->replay);
	else
		printf("exerciser: failed at op %llu of seed %llu\n", nr,
		       (unsigned long long)st->cfg->seed);
}

int xr_compare(struct xr_state *st, const char *what, uint64_t off,
	       const uint8_t *got, uint64_t len)
{
	if (!memcmp(st->shadow + off, got, len))
		return 0;
	printf("exerciser: MISCOMPARE: %s of 0x%llx..0x%llx (file size 0x%llx)\n",
	       what, (unsigned long long)off, (unsigned long long)(off + len),
	       (unsigned long long)st->size);
	xr_report_diff(stdout, off, st->shadow + off, got, len);
	xr_log_print(stdout, &st->log);
	print_repro(st);
	return -1;
}

int xr_fail_op(struct xr_state *st, const struct xr_op *op, const char *call)
{
	int err = errno;

	printf("exerciser: op %llu (%s): %s failed: %s\n",
	       (unsigned long long)op->nr, xr_kind_name(op->kind), call,
	       strerror(err));
	xr_log_print(stdout, &st->log);
	print_repro(st);
	return -1;
}

int xr_check_size(struct xr_state *st, const char *what)
{
	struct stat sb;

	if (fstat(st->fd, &sb)) {
		printf("exerciser: fstat: %s\n", strerror(errno));
		return -1;
	}
	if ((uint64_t)sb.st_size == st->size)
		return 0;
	printf("exerciser: WRONG SIZE after %s: 0x%llx, expected 0x%llx\n",
	       what, (unsigned long long)sb.st_size,
	       (unsigned long long)st->size);
	xr_log_print(stdout, &st->log);
	print_repro(st);
	return -1;
}

int xr_check_all(struct xr_state *st, bool via_direct)
{
	const char *what = via_direct ? "full read-back (O_DIRECT)" :
			   "full read-back";
	int fd = via_direct ? st->dfd : st->fd;
	uint64_t len = st->size;
	ssize_t got;

	if (xr_check_size(st, what))
		return -1;
	if (via_direct)
		len = (len + st->dio_align - 1) / st->dio_align * st->dio_align;
	/* ask for one byte more than the file holds: none may come */
	got = xr_pread_all(fd, st->check_buf, len + !via_direct, 0);
	if (got < 0) {
		printf("exerciser: %s: %s\n", what, strerror(errno));
		return -1;
	}
	if ((uint64_t)got != st->size) {
		printf("exerciser: %s returned 0x%llx bytes, expected 0x%llx\n",
		       what, (unsigned long long)got,
		       (unsigned long long)st->size);
		xr_log_print(stdout, &st->log);
		print_repro(st);
		return -1;
	}
	return xr_compare(st, what, 0, st->check_buf, got);
}

/* A whole file in memory; NULL with a message. */
static uint8_t *load(const char *path, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *data = NULL;
	ssize_t got = -1;

	if (fd >= 0 && !fstat(fd, &sb)) {
		data = malloc(sb.st_size + 1);
		if (data)
			got = xr_pread_all(fd, data, sb.st_size + 1, 0);
	}
	if (got < 0) {
		fprintf(stderr, "exerciser: reading %s: %s\n", path,
			strerror(errno));
		free(data);
		data = NULL;
	}
	if (fd >= 0)
		close(fd);
	*size = got;
	return data;
}

int xr_verify_file(const char *path, const char *expect)
{
	uint64_t size, want_size;
	uint8_t *got = load(path, &size), *want = load(expect, &want_size);
	int ret = XR_EXIT_OK;

	if (!got || !want) {
		ret = XR_EXIT_USAGE;
	} else if (size != want_size) {
		printf("exerciser: WRONG SIZE: %s holds 0x%llx bytes, %s 0x%llx\n",
		       path, (unsigned long long)size, expect,
		       (unsigned long long)want_size);
		ret = XR_EXIT_FAIL;
	} else if (memcmp(want, got, size)) {
		printf("exerciser: MISCOMPARE: %s differs from %s\n", path,
		       expect);
		xr_report_diff(stdout, 0, want, got, size);
		ret = XR_EXIT_FAIL;
	} else {
		printf("exerciser: %s holds the 0x%llx expected bytes\n",
		       path, (unsigned long long)size);
	}
	free(got);
	free(want);
	return ret;
}
