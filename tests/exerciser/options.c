// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The exerciser's command line: the operation kinds and their default
 * weights, groups of kinds, sizes with k/m/g suffixes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exerciser.h"

/*
 * Default weights, per mille of the operations when every kind runs.
 * Reads and writes dominate; O_TRUNC reopens are rare so the file gets
 * to grow between them.
 */
static const struct {
	const char *name;
	unsigned int weight;
} kinds[XR_NR_KINDS] = {
	[XR_READ]		= { "read",		150 },
	[XR_NOWAIT_READ]	= { "nowait_read",	40 },
	[XR_WRITE]		= { "write",		200 },
	[XR_MAPREAD]		= { "mapread",		60 },
	[XR_MAPWRITE]		= { "mapwrite",		60 },
	[XR_TRUNCATE]		= { "truncate",		40 },
	[XR_FALLOC]		= { "falloc",		20 },
	[XR_FALLOC_KEEP]	= { "falloc_keep",	20 },
	[XR_PUNCH]		= { "punch",		25 },
	[XR_ZERO]		= { "zero",		20 },
	[XR_ZERO_KEEP]		= { "zero_keep",	20 },
	[XR_COLLAPSE]		= { "collapse",		20 },
	[XR_INSERT]		= { "insert",		20 },
	[XR_FSYNC]		= { "fsync",		10 },
	[XR_FDATASYNC]		= { "fdatasync",	10 },
	[XR_DREAD]		= { "dread",		50 },
	[XR_DWRITE]		= { "dwrite",		50 },
	[XR_COPY]		= { "copy",		30 },
	[XR_COPY_SELF]		= { "copy_self",	30 },
	[XR_REOPEN]		= { "reopen",		10 },
	[XR_REOPEN_TRUNC]	= { "reopen_trunc",	3 },
};

/* Names for several kinds at once in --ops. */
static const struct {
	const char *name;
	enum xr_kind first, last;
} groups[] = {
	{ "mmap",	XR_MAPREAD,	XR_MAPWRITE },
	{ "fallocate",	XR_FALLOC,	XR_INSERT },
	{ "sync",	XR_FSYNC,	XR_FDATASYNC },
	{ "direct",	XR_DREAD,	XR_DWRITE },
	{ "copies",	XR_COPY,	XR_COPY_SELF },
	{ "reopens",	XR_REOPEN,	XR_REOPEN_TRUNC },
	{ "all",	XR_READ,	XR_REOPEN_TRUNC },
};

const char *xr_kind_name(enum xr_kind kind)
{
	return kinds[kind].name;
}

int xr_kind_by_name(const char *name)
{
	int k;

	for (k = 0; k < XR_NR_KINDS; k++)
		if (!strcmp(name, kinds[k].name))
			return k;
	return -1;
}

static void usage(FILE *out)
{
	int k;

	fprintf(out,
"usage: exerciser [OPTIONS] FILE\n"
"       exerciser -V EXPECTED FILE\n"
"Random operations on FILE (created or truncated), checked against an\n"
"in-memory copy.  Exit status 0: passed, 1: miscompare or a failed\n"
"operation (the report says which), 2: bad usage or set-up.\n"
"\n"
"  -N, --count N         operations to run (default 10000)\n"
"  -s, --seed N          random seed (default: from the clock; printed)\n"
"  -l, --max-size SIZE   largest file size (default 1m)\n"
"  -o, --max-len SIZE    longest single operation (default 128k)\n"
"  -k, --ops LIST        kinds to run, comma separated: names or groups\n"
"                        (mmap fallocate sync direct copies reopens all);\n"
"                        -NAME removes, +NAME adds and requires; a list\n"
"                        that does not start with - starts from none.\n"
"                        What the file system does not support is\n"
"                        skipped, or fails the run if required.\n"
"  -m, --mix LIST        weights as NAME=N,...; 0 turns a kind off\n"
"  -c, --check-every N   read the whole file back through the page\n"
"                        cache every N ops (default 100; 0: at the end)\n"
"  -C, --direct-check-every N\n"
"                        the same with O_DIRECT, which writes back dirty\n"
"                        pages first (default 1000; 0: at the end)\n"
"  -L, --log N           operations shown in a report (default 32)\n"
"  -b, --block SIZE      collapse/insert granularity (default st_blksize)\n"
"  -a, --dio-align SIZE  O_DIRECT alignment (default statx's, or -b)\n"
"  -w, --record FILE     write every operation to FILE, for -r\n"
"  -r, --replay FILE     run the operations of FILE instead of random\n"
"                        ones (those that do not fit are skipped)\n"
"  -S, --save FILE       write the expected contents to FILE at the end\n"
"  -V, --verify EXPECTED compare FILE with EXPECTED and exit\n"
"  -v, --verbose         print every operation\n"
"  -T, --timing          print the time spent per kind and in the checks\n"
"\nKinds and default weights:");
	for (k = 0; k < XR_NR_KINDS; k++)
		fprintf(out, "%s %s=%u", k % 5 ? "" : "\n ", kinds[k].name,
			kinds[k].weight);
	fprintf(out, "\n");
}

/* A size with an optional k, m or g suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K':
		v <<= 10, end++;
		break;
	case 'm': case 'M':
		v <<= 20, end++;
		break;
	case 'g': case 'G':
		v <<= 30, end++;
		break;
	}
	if (end == s || *end) {
		fprintf(stderr, "exerciser: bad size '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Turn a kind or a group on (and maybe make it required) or off. */
static int set_kinds(struct xr_config *cfg, const char *name, bool on,
		     bool require, bool *on_kinds)
{
	int k = xr_kind_by_name(name), last = k;
	unsigned int g;

	for (g = 0; k < 0 && g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (!strcmp(name, groups[g].name)) {
			k = groups[g].first;
			last = groups[g].last;
		}
	}
	if (k < 0) {
		fprintf(stderr, "exerciser: unknown operation kind '%s'\n",
			name);
		return -1;
	}
	for (; k <= last; k++) {
		on_kinds[k] = on;
		cfg->required[k] = on && (require || cfg->required[k]);
	}
	return 0;
}

/* --ops: which kinds run. */
static int parse_ops(struct xr_config *cfg, const char *list, bool *on_kinds)
{
	char *copy = strdup(list), *save = NULL, *item;
	int k, ret = 0;

	if (!copy)
		return -1;
	/* a list that starts with a kind or group starts from nothing */
	if (*list != '-')
		for (k = 0; k < XR_NR_KINDS; k++)
			on_kinds[k] = false;
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		bool sign = *item == '-' || *item == '+';

		ret = set_kinds(cfg, item + sign, *item != '-', *item == '+',
				on_kinds);
	}
	free(copy);
	return ret;
}

/* --mix: NAME=WEIGHT,... */
static int parse_mix(struct xr_config *cfg, const char *list)
{
	char *copy = strdup(list), *save = NULL, *item;
	int ret = 0;

	if (!copy)
		return -1;
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		unsigned long w;
		int k;

		if (eq)
			*eq = 0;
		k = xr_kind_by_name(item);
		w = eq ? strtoul(eq + 1, &end, 10) : 0;
		if (k < 0 || !eq || end == eq + 1 || *end || w > 1000000) {
			fprintf(stderr, "exerciser: bad --mix item '%s'\n",
				item);
			ret = -1;
		} else {
			cfg->weight[k] = w;
		}
	}
	free(copy);
	return ret;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	*out = strtoull(s, &end, 0);
	if (end == s || *end) {
		fprintf(stderr, "exerciser: bad number '%s'\n", s);
		return -1;
	}
	return 0;
}

int xr_parse_options(struct xr_config *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'N' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'l' },
		{ "max-len", required_argument, NULL, 'o' },
		{ "ops", required_argument, NULL, 'k' },
		{ "mix", required_argument, NULL, 'm' },
		{ "check-every", required_argument, NULL, 'c' },
		{ "direct-check-every", required_argument, NULL, 'C' },
		{ "log", required_argument, NULL, 'L' },
		{ "block", required_argument, NULL, 'b' },
		{ "dio-align", required_argument, NULL, 'a' },
		{ "record", required_argument, NULL, 'w' },
		{ "replay", required_argument, NULL, 'r' },
		{ "save", required_argument, NULL, 'S' },
		{ "verify", required_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "timing", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool on_kinds[XR_NR_KINDS];
	uint64_t log_len = 32;
	int opt, k, ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_ops = 10000;
	cfg->max_size = 1 << 20;
	cfg->max_len = 128 << 10;
	cfg->check_every = 100;
	cfg->direct_check_every = 1000;
	for (k = 0; k < XR_NR_KINDS; k++) {
		cfg->weight[k] = kinds[k].weight;
		on_kinds[k] = true;
	}
	while (!ret && (opt = getopt_long(argc, argv,
			"N:s:l:o:k:m:c:C:L:b:a:w:r:S:V:vTh", longopts,
			NULL)) != -1) {
		switch (opt) {
		case 'N':
			ret = parse_count(optarg, &cfg->nr_ops);
			break;
		case 's':
			ret = parse_count(optarg, &cfg->seed);
			cfg->seed_given = true;
			break;
		case 'l':
			ret = parse_size(optarg, &cfg->max_size);
			break;
		case 'o':
			ret = parse_size(optarg, &cfg->max_len);
			break;
		case 'k':
			ret = parse_ops(cfg, optarg, on_kinds);
			break;
		case 'm':
			ret = parse_mix(cfg, optarg);
			break;
		case 'c':
			ret = parse_count(optarg, &cfg->check_every);
			break;
		case 'C':
			ret = parse_count(optarg, &cfg->direct_check_every);
			break;
		case 'L':
			ret = parse_count(optarg, &log_len);
			break;
		case 'b':
			ret = parse_size(optarg, &cfg->block);
			break;
		case 'a':
			ret = parse_size(optarg, &cfg->dio_align);
			break;
		case 'w':
			cfg->record = optarg;
			break;
		case 'r':
			cfg->replay = optarg;
			break;
		case 'S':
			cfg->save = optarg;
			break;
		case 'V':
			cfg->verify = optarg;
			break;
		case 'v':
			cfg->verbose = true;
			break;
		case 'T':
			cfg->timing = true;
			break;
		case 'h':
			usage(stdout);
			exit(XR_EXIT_OK);
		default:
			ret = -1;
		}
	}
	if (ret)
		return -1;
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	cfg->path = argv[optind];
	for (k = 0; k < XR_NR_KINDS; k++)
		if (!on_kinds[k])
			cfg->weight[k] = 0;
	cfg->log_len = log_len < 1 ? 1 : log_len > 100000 ? 100000 : log_len;
	if (cfg->max_len < 1 || cfg->max_size < 1 ||
	    cfg->max_size > (1ULL << 34)) {
		fprintf(stderr, "exerciser: sizes out of range\n");
		return -1;
	}
	return 0;
}
