// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directories: readdir of small and big directories (every name once,
 * with the right d_type and d_ino), an htree-indexed directory with
 * thousands of entries that is then read and changed through the mount,
 * telldir/seekdir positions that stay valid, "ls -l" (readdir plus a stat
 * of every entry, which the kernel turns into READDIRPLUS), and removing
 * every entry while reading.  Runs on fuse2fs and on kernel ext4.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

TFS_FIXTURE_BOTH(dir, NULL);

#define BIG 3000

static int touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);

	return fd < 0 ? -1 : close(fd);
}

/* Make n entries "e-NNNNN" in dir: files, every 7th a directory. */
static int populate(struct tfs_mount *m, const char *dir, int n)
{
	char name[TFS_PATH_MAX];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/e-%05d", dir, i);
		if (i % 7 == 3 ? mkdir(tfs_p(m, name), 0755) :
		    touch(tfs_p(m, name)))
			return -1;
	}
	return 0;
}

/*
 * Read dir and check each "e-N" (N < n, not in removed[]) appears exactly
 * once with the right d_type and d_ino; returns the number of problems.
 */
static int check_listing(struct tfs_mount *m, const char *dir, int n,
			 const bool *removed)
{
	char *seen = calloc(n, 1);
	int problems = 0, dots = 0, i;
	struct dirent *de;
	DIR *d = opendir(tfs_p(m, dir));

	if (!d || !seen) {
		fprintf(stderr, "# opendir %s: %s\n", dir, strerror(errno));
		free(seen);
		if (d)
			closedir(d);
		return 1;
	}
	while ((de = readdir(d))) {
		char rel[TFS_PATH_MAX];
		struct stat st;
		int idx;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
			continue;
		}
		if (sscanf(de->d_name, "e-%d", &idx) != 1 || idx < 0 ||
		    idx >= n || (removed && removed[idx])) {
			if (problems < 20)
				fprintf(stderr, "# unexpected entry %s\n",
					de->d_name);
			problems++;
			continue;
		}
		if (seen[idx]++) {
			if (problems < 20)
				fprintf(stderr, "# %s listed twice\n",
					de->d_name);
			problems++;
		}
		snprintf(rel, sizeof(rel), "%s/%s", dir, de->d_name);
		if (lstat(tfs_p(m, rel), &st) < 0) {
			fprintf(stderr, "# lstat %s: %s\n", rel,
				strerror(errno));
			problems++;
			continue;
		}
		if (de->d_ino != st.st_ino ||
		    de->d_type != (S_ISDIR(st.st_mode) ? DT_DIR : DT_REG) ||
		    (idx % 7 == 3) != !!S_ISDIR(st.st_mode)) {
			if (problems < 20)
				fprintf(stderr, "# %s: d_ino %lu d_type %d, stat %lu %o\n",
				de->d_name, (unsigned long)de->d_ino,
				de->d_type, (unsigned long)st.st_ino,
				st.st_mode);
			problems++;
		}
	}
	closedir(d);
	if (dots != 2) {
		fprintf(stderr, "# %d dot entries\n", dots);
		problems++;
	}
	for (i = 0; i < n; i++) {
		if (!seen[i] && !(removed && removed[i])) {
			if (problems < 20)
				fprintf(stderr, "# e-%05d missing\n", i);
			problems++;
		}
	}
	free(seen);
	return problems;
}

TEST_F(dir, empty_and_small)
{
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	EXPECT_EQ(0, check_listing(self->m, "d", 0, NULL));
	ASSERT_EQ(0, populate(self->m, "d", 20));
	EXPECT_EQ(0, check_listing(self->m, "d", 20, NULL));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F_TIMEOUT(dir, big_directory, 120)
{
	bool removed[BIG] = { false };
	char name[64];
	struct stat st;
	int i;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "big"), 0755));
	ASSERT_EQ(0, populate(self->m, "big", BIG));
	EXPECT_EQ(0, check_listing(self->m, "big", BIG, NULL));
	ASSERT_EQ(0, stat(tfs_p(self->m, "big"), &st));
	EXPECT_EQ(2 + (BIG + 3) / 7, st.st_nlink);
	EXPECT_GT(st.st_size, 4096 * 10);
	/* Remove every third entry, then list again. */
	for (i = 0; i < BIG; i += 3) {
		snprintf(name, sizeof(name), "big/e-%05d", i);
		if (i % 7 == 3)
			TFS_ASSERT_OK(rmdir(tfs_p(self->m, name)));
		else
			TFS_ASSERT_OK(unlink(tfs_p(self->m, name)));
		removed[i] = true;
	}
	EXPECT_EQ(0, check_listing(self->m, "big", BIG, removed));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * An htree directory: made through the mount, indexed by e2fsck -D (the
 * way any tool would leave one), then read, looked up and changed through
 * the mount; the index must stay valid (fsck) and readable by the kernel.
 */
TEST_F_TIMEOUT(dir, htree_directory, 150)
{
	bool removed[BIG] = { false };
	char name[64], *out = NULL;
	long long flags;
	struct stat st;
	int i, bad;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "h"), 0755));
	ASSERT_EQ(0, populate(self->m, "h", BIG));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	/* 0 or 1 (changes made): the directories were re-indexed. */
	EXPECT_GE(1, tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fyD",
			      self->env.image, NULL)) TH_LOG("%s", out);
	free(out);
	ASSERT_EQ(0, tfs_fsck(self->env.image));
	flags = tfs_inode_field(self->env.image, "/h", "Flags");
	ASSERT_NE(0, flags & 0x1000) TH_LOG("flags %llx", flags);

	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(0, check_listing(self->m, "h", BIG, NULL));
	/* Hash-ordered positions: seekdir back to a few of them. */
	{
		long pos[3];
		char names[3][NAME_MAX + 1];
		struct dirent *de;
		int k = 0, j = 0;
		DIR *d = opendir(tfs_p(self->m, "h"));

		ASSERT_NE(NULL, d);
		for (;;) {
			long p = telldir(d);

			de = readdir(d);
			if (!de)
				break;
			if (k < 3 && (j == 5 || j == 1000 || j == 2900)) {
				pos[k] = p;
				snprintf(names[k], sizeof(names[k]), "%s",
					 de->d_name);
				k++;
			}
			j++;
		}
		ASSERT_EQ(3, k);
		for (k = 2; k >= 0; k--) {
			seekdir(d, pos[k]);
			de = readdir(d);
			ASSERT_NE(NULL, de);
			EXPECT_STREQ(names[k], de->d_name);
		}
		closedir(d);
	}
	/* Lookups of names in every hash bucket. */
	for (i = 0; i < BIG; i += 97) {
		snprintf(name, sizeof(name), "h/e-%05d", i);
		EXPECT_EQ(0, lstat(tfs_p(self->m, name), &st)) TH_LOG("%s", name);
	}
	/* Change it: remove some, add new ones. */
	for (i = 0; i < BIG; i += 5) {
		snprintf(name, sizeof(name), "h/e-%05d", i);
		if (i % 7 == 3)
			TFS_ASSERT_OK(rmdir(tfs_p(self->m, name)));
		else
			TFS_ASSERT_OK(unlink(tfs_p(self->m, name)));
		removed[i] = true;
	}
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "h/new-entry-with-a-longer-name-%d",
			 i);
		TFS_ASSERT_OK(touch(tfs_p(self->m, name)));
	}
	for (i = 0; i < 500; i += 50) {
		snprintf(name, sizeof(name), "h/new-entry-with-a-longer-name-%d",
			 i);
		EXPECT_EQ(0, lstat(tfs_p(self->m, name), &st)) TH_LOG("%s", name);
	}
	snprintf(name, sizeof(name), "h/e-%05d", 5);
	TFS_EXPECT_ERRNO(ENOENT, lstat(tfs_p(self->m, name), &st));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);

	/* The result, read back by the kernel, has the same names. */
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      "ro"));
	for (i = 0, bad = 0; i < BIG; i++) {
		bool exists;

		snprintf(name, sizeof(name), "h/e-%05d", i);
		exists = lstat(tfs_p(&self->env.kern, name), &st) == 0;
		if (exists == removed[i] && bad++ < 10)
			TH_LOG("kernel sees %s wrongly", name);
	}
	EXPECT_EQ(0, bad);
	snprintf(name, sizeof(name), "h/new-entry-with-a-longer-name-%d", 499);
	EXPECT_EQ(0, lstat(tfs_p(&self->env.kern, name), &st));
	ASSERT_EQ(0, tfs_umount(&self->env.kern));
}

TEST_F(dir, telldir_seekdir)
{
	long pos[200];
	char names[200][NAME_MAX + 1];
	struct dirent *de;
	int n = 0, i;
	DIR *d;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	ASSERT_EQ(0, populate(self->m, "d", 150));
	d = opendir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, d);
	for (;;) {
		pos[n] = telldir(d);
		de = readdir(d);
		if (!de)
			break;
		snprintf(names[n], sizeof(names[n]), "%s", de->d_name);
		n++;
		ASSERT_LT(n, 200);
	}
	EXPECT_EQ(152, n);
	/* Seek back to positions in random order: same entry follows. */
	for (i = 0; i < n; i += 13) {
		int k = (i * 37) % n;

		seekdir(d, pos[k]);
		de = readdir(d);
		ASSERT_NE(NULL, de);
		EXPECT_STREQ(names[k], de->d_name);
	}
	rewinddir(d);
	de = readdir(d);
	ASSERT_NE(NULL, de);
	EXPECT_STREQ(names[0], de->d_name);
	/* Positions survive entries added elsewhere in the directory. */
	TFS_ASSERT_OK(touch(tfs_p(self->m, "d/zz-added-later")));
	seekdir(d, pos[100]);
	de = readdir(d);
	ASSERT_NE(NULL, de);
	EXPECT_STREQ(names[100], de->d_name);
	closedir(d);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* "ls -l": every entry's attributes through the listing. */
TEST_F(dir, ls_long)
{
	char *out = NULL, *line;
	int lines = 0, r;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	ASSERT_EQ(0, populate(self->m, "d", 50));
	TFS_ASSERT_OK(symlink("e-00000", tfs_p(self->m, "d/link")));
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "d/fifo"), S_IFIFO | 0600, 0));
	r = tfs_runl(30000, &out, "ls", "-lan", "--time-style=+%s",
		     tfs_p(self->m, "d"), NULL);
	ASSERT_EQ(0, r) TH_LOG("%s", out);
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "total", 5))
			continue;
		lines++;
		if (strstr(line, " link -> ")) {
			EXPECT_EQ('l', line[0]) TH_LOG("%s", line);
		}
		if (strstr(line, " fifo")) {
			EXPECT_EQ('p', line[0]) TH_LOG("%s", line);
		}
		if (strstr(line, " e-00003")) {
			EXPECT_EQ('d', line[0]) TH_LOG("%s", line);
		}
		if (strstr(line, " e-00001")) {
			char perm[16];
			int links, uid, gid;
			long long size;

			ASSERT_EQ(5, sscanf(line, "%15s %d %d %d %lld", perm,
					    &links, &uid, &gid, &size));
			EXPECT_STREQ("-rw-r--r--", perm);
			EXPECT_EQ(1, links);
			EXPECT_EQ(0, uid + gid + size);
		}
	}
	free(out);
	EXPECT_EQ(50 + 2 + 2, lines);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(dir, remove_while_reading)
{
	char rel[TFS_PATH_MAX];
	struct dirent *de;
	int removed = 0;
	DIR *d;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	ASSERT_EQ(0, populate(self->m, "d", 500));
	d = opendir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "d/%s", de->d_name);
		if (!strncmp(de->d_name, "e-", 2) &&
		    atoi(de->d_name + 2) % 7 == 3) {
			EXPECT_EQ(0, rmdir(tfs_p(self->m, rel))) TH_LOG("%s", rel);
		} else {
			EXPECT_EQ(0, unlink(tfs_p(self->m, rel))) TH_LOG("%s", rel);
		}
		removed++;
	}
	closedir(d);
	EXPECT_EQ(500, removed);
	EXPECT_EQ(0, rmdir(tfs_p(self->m, "d")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Names are bytes: spaces, newlines, UTF-8, 255-byte names come back. */
TEST_F(dir, odd_names)
{
	static const char *const names[] = {
		"with space", "new\nline", "tab\there", "-dash", "..dots",
		"\xc3\xa9t\xc3\xa9 \xe2\x9c\x93", "*?[]", "back\\slash",
		"\x01\x7f\xff", ".hidden",
	};
	const size_t n = sizeof(names) / sizeof(names[0]);
	char longname[256], rel[TFS_PATH_MAX];
	bool seen[sizeof(names) / sizeof(names[0]) + 1] = { false };
	struct dirent *de;
	size_t i;
	DIR *d;

	memset(longname, 'x', 255);
	longname[255] = '\0';
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "d/%s", names[i]);
		ASSERT_EQ(0, touch(tfs_p(self->m, rel))) TH_LOG("%s", names[i]);
	}
	snprintf(rel, sizeof(rel), "d/%s", longname);
	ASSERT_EQ(0, touch(tfs_p(self->m, rel)));
	d = opendir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(de->d_name, names[i]))
				break;
		if (i == n && strcmp(de->d_name, longname)) {
			EXPECT_TRUE(false) TH_LOG("unexpected %s", de->d_name);
			continue;
		}
		EXPECT_FALSE(seen[i]);
		seen[i] = true;
	}
	closedir(d);
	for (i = 0; i <= n; i++)
		EXPECT_TRUE(seen[i]) TH_LOG("name %zu not listed", i);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(dir, readdir_errors)
{
	TFS_ASSERT_OK(touch(tfs_p(self->m, "f")));
	EXPECT_EQ(NULL, opendir(tfs_p(self->m, "f")));
	EXPECT_EQ(ENOTDIR, errno);
	EXPECT_EQ(NULL, opendir(tfs_p(self->m, "missing")));
	EXPECT_EQ(ENOENT, errno);
	/* An open directory that is removed reads as empty. */
	{
		DIR *d;
		int n = 0;

		TFS_ASSERT_OK(mkdir(tfs_p(self->m, "gone"), 0755));
		d = opendir(tfs_p(self->m, "gone"));
		ASSERT_NE(NULL, d);
		TFS_ASSERT_OK(rmdir(tfs_p(self->m, "gone")));
		while (readdir(d))
			n++;
		EXPECT_EQ(0, n);
		closedir(d);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
