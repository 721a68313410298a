/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest tests that run hostile_server (hostile.h) with its request log:
 * start and stop it, name its files, and find lines in the log.
 */
#ifndef TESTS_KERNEL_HSGUEST_H
#define TESTS_KERNEL_HSGUEST_H

#include "ktest.h"
#include "hostile.h"

struct hsg {
	struct kt_server srv;
	char results[KT_PATH_MAX];	/* registration outcomes */
	char log[KT_PATH_MAX];		/* one line per request */
};

/*
 * Start hostile_server ($KT_HOSTILE_SERVER, default ./hostile_server) on
 * the scratch device with fresh results and log files; 0 or -1.
 */
int hsg_start(struct hsg *h);
/* Stop it (an aborted or killed server's status says nothing) and clean up. */
void hsg_stop(struct hsg *h);
/* The path of one of its files. */
const char *hsg_file(const struct hsg *h, int kind);
/*
 * The log lines of a file whose text (after "NAME ") starts with what:
 * the position in the log of the nth one (0-based), or -1 if there are
 * not that many; hsg_count() counts them.
 */
int hsg_find(const struct hsg *h, int kind, const char *what, int nth);
int hsg_count(const struct hsg *h, int kind, const char *what);
/* The text of the first such line, after "NAME " (static buffer), or "". */
const char *hsg_line(const struct hsg *h, int kind, const char *what);
/* Wait up to ms for a first such line; true when it came. */
bool hsg_wait(const struct hsg *h, int kind, const char *what, int ms);
/* The number of lines in the log so far: a mark for hsg_count_begins(). */
int hsg_log_lines(const struct hsg *h);
/*
 * The BEGIN lines of a file, from log line from (0-based) on, whose
 * opflags have every bit of opflags.
 */
int hsg_count_begins(const struct hsg *h, int kind, unsigned int opflags,
		     int from);
/* errno noted in the results file for a registration name, or -1. */
int hsg_noted(const struct hsg *h, const char *name);

#endif /* TESTS_KERNEL_HSGUEST_H */
