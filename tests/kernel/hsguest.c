// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers of the guest tests that run hostile_server (hsguest.h).
 *
 * Environment: KT_DEVICE (default /dev/ubdb), KT_HOSTILE_SERVER (default
 * ./hostile_server, the build directory being the current one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsguest.h"

int hsg_start(struct hsg *h)
{
	const char *bin = getenv("KT_HOSTILE_SERVER");
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *argv[] = { bin ? bin : "./hostile_server", kt_device(),
			       "@MNT@", h->results, "-f", NULL };
	static unsigned int seq;
	int ret;

	seq++;
	snprintf(h->results, sizeof(h->results), "%s/hsg-results.%d.%u", tmp,
		 getpid(), seq);
	snprintf(h->log, sizeof(h->log), "%s/hsg-log.%d.%u", tmp, getpid(),
		 seq);
	unlink(h->results);
	unlink(h->log);
	if (setenv("HOSTILE_LOG", h->log, 1))
		return -1;
	ret = kt_server_start(&h->srv, argv);
	unsetenv("HOSTILE_LOG");
	return ret;
}

void hsg_stop(struct hsg *h)
{
	kt_server_stop(&h->srv);
	unlink(h->results);
	unlink(h->log);
}

const char *hsg_file(const struct hsg *h, int kind)
{
	return kt_path(&h->srv, hostile_kinds[kind]);
}

/*
 * Walk the log: the position of the nth line of kind that starts with
 * what (its text in *text if asked), or -1; *count gets the number of
 * such lines.
 */
static int hsg_scan(const struct hsg *h, int kind, const char *what, int nth,
		    int *count, char *text, size_t len)
{
	size_t nlen = strlen(hostile_kinds[kind]), wlen = strlen(what);
	char line[256];
	int pos = 0, found = -1, n = 0;
	FILE *f = fopen(h->log, "r");

	if (f) {
		for (; fgets(line, sizeof(line), f); pos++) {
			if (strncmp(line, hostile_kinds[kind], nlen) ||
			    line[nlen] != ' ' ||
			    strncmp(line + nlen + 1, what, wlen))
				continue;
			if (n++ == nth) {
				found = pos;
				if (text) {
					snprintf(text, len, "%s",
						 line + nlen + 1);
					text[strcspn(text, "\n")] = 0;
				}
			}
		}
		fclose(f);
	}
	if (count)
		*count = n;
	return found;
}

int hsg_find(const struct hsg *h, int kind, const char *what, int nth)
{
	return hsg_scan(h, kind, what, nth, NULL, NULL, 0);
}

int hsg_count(const struct hsg *h, int kind, const char *what)
{
	int n;

	hsg_scan(h, kind, what, -1, &n, NULL, 0);
	return n;
}

const char *hsg_line(const struct hsg *h, int kind, const char *what)
{
	static char text[256];

	text[0] = 0;
	hsg_scan(h, kind, what, 0, NULL, text, sizeof(text));
	return text;
}

bool hsg_wait(const struct hsg *h, int kind, const char *what, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i <= ms / 10; i++) {
		if (hsg_find(h, kind, what, 0) >= 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int hsg_log_lines(const struct hsg *h)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(h->log, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

int hsg_count_begins(const struct hsg *h, int kind, unsigned int opflags,
		     int from)
{
	size_t nlen = strlen(hostile_kinds[kind]);
	const char *what = " BEGIN opflags=";
	unsigned int flags;
	char line[256];
	int pos, n = 0;
	FILE *f = fopen(h->log, "r");

	if (!f)
		return 0;
	for (pos = 0; fgets(line, sizeof(line), f); pos++)
		if (pos >= from && !strncmp(line, hostile_kinds[kind], nlen) &&
		    !strncmp(line + nlen, what, strlen(what)) &&
		    sscanf(line + nlen + strlen(what), "%x", &flags) == 1 &&
		    (flags & opflags) == opflags)
			n++;
	fclose(f);
	return n;
}

int hsg_noted(const struct hsg *h, const char *name)
{
	return kt_noted(h->results, name);
}
