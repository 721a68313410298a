// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The operation log: a ring of the last operations for the miscompare
 * report, and the record/replay format of -w and -r (one operation per
 * line: number, kind, offset, length, source offset, flags).
 */
#include <stdlib.h>
#include <string.h>

#include "exerciser.h"

int xr_log_init(struct xr_log *log, unsigned int len)
{
	log->ops = calloc(len, sizeof(*log->ops));
	log->len = len;
	log->count = 0;
	return log->ops ? 0 : -1;
}

void xr_log_add(struct xr_log *log, const struct xr_op *op)
{
	log->ops[log->count++ % log->len] = *op;
}

/* The last logged operation, updated as it runs (sizes). */
struct xr_op *xr_log_last(const struct xr_log *log)
{
	return log->count ? &log->ops[(log->count - 1) % log->len] : NULL;
}

void xr_op_print(FILE *out, const struct xr_op *op)
{
	unsigned long long off = op->off, len = op->len;

	fprintf(out, "  %8llu %-12s ", (unsigned long long)op->nr,
		xr_kind_name(op->kind));
	switch (op->kind) {
	case XR_TRUNCATE:
		fprintf(out, "to 0x%llx", len);
		break;
	case XR_FSYNC:
	case XR_FDATASYNC:
	case XR_REOPEN:
	case XR_REOPEN_TRUNC:
		break;
	case XR_COPY:
	case XR_COPY_SELF:
		fprintf(out, "0x%08llx +0x%llx from 0x%llx", off, len,
			(unsigned long long)op->src);
		break;
	case XR_MAPWRITE:
		fprintf(out, "0x%08llx +0x%llx (end 0x%llx)%s", off, len,
			off + len, op->flags & XR_F_MSYNC ? " msync" : "");
		break;
	default:
		fprintf(out, "0x%08llx +0x%llx (end 0x%llx)", off, len,
			off + len);
	}
	if (op->size_after != op->size_before)
		fprintf(out, "  size 0x%llx -> 0x%llx\n",
			(unsigned long long)op->size_before,
			(unsigned long long)op->size_after);
	else
		fprintf(out, "  size 0x%llx\n",
			(unsigned long long)op->size_after);
}

void xr_log_print(FILE *out, const struct xr_log *log)
{
	uint64_t n = log->count < log->len ? log->count : log->len;
	uint64_t i;

	fprintf(out, "exerciser: the last %llu operations:\n",
		(unsigned long long)n);
	for (i = log->count - n; i < log->count; i++)
		xr_op_print(out, &log->ops[i % log->len]);
}

void xr_op_record(FILE *out, const struct xr_op *op)
{
	fprintf(out, "%llu %s 0x%llx 0x%llx 0x%llx %u\n",
		(unsigned long long)op->nr, xr_kind_name(op->kind),
		(unsigned long long)op->off, (unsigned long long)op->len,
		(unsigned long long)op->src, op->flags);
}

int xr_op_scan(FILE *in, struct xr_op *op)
{
	unsigned long long nr, off, len, src;
	char line[256], name[32];
	unsigned int flags;
	int kind;

	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		kind = -1;
		if (sscanf(line, "%llu %31s %llx %llx %llx %u", &nr, name,
			   &off, &len, &src, &flags) == 6)
			kind = xr_kind_by_name(name);
		if (kind < 0) {
			fprintf(stderr, "exerciser: bad recorded op: %s",
				line);
			return -1;
		}
		memset(op, 0, sizeof(*op));
		op->nr = nr;
		op->kind = kind;
		op->off = off;
		op->len = len;
		op->src = src;
		op->flags = flags;
		return 1;
	}
	return 0;
}
