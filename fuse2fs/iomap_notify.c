// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Telling the kernel that a file's iomap mode changed (doc/protocol.md,
 * "Changing an inode's mode at run time"): every name of the inode gets a
 * FUSE_NOTIFY_INVAL_ENTRY so that the next access does a LOOKUP, whose
 * reply carries the new flag.
 *
 * fuse2fs keeps no name cache, so the names are found by scanning the
 * directories; mode changes are rare (a toggle, an inline file growing
 * into extents), and the scan stops once every link is found.
 *
 * The notifications are sent by a helper thread, not by the request
 * handler: the kernel takes the parent directory's lock to invalidate an
 * entry, and a task holding that lock may be waiting for this very
 * (single-threaded) server to answer it.  The thread only writes to the
 * FUSE device; all libext2fs work stays in the request loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iomap.h"

struct inval {
	struct inval *next;
	struct fuse_session *se;	/* a process may serve several in turn */
	fuse_ino_t parent;
	size_t namelen;
	char name[];
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static struct inval *q_head, **q_tail = &q_head;
static bool q_thread_started;
static bool q_busy;		/* the thread is sending one */

static void *notify_thread(void *arg)
{
	struct inval *iv;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&q_lock);
		while (!q_head)
			pthread_cond_wait(&q_cond, &q_lock);
		iv = q_head;
		q_head = iv->next;
		if (!q_head)
			q_tail = &q_head;
		q_busy = true;
		pthread_mutex_unlock(&q_lock);
		/* ENOENT: the kernel has no such dentry cached; fine. */
		fuse_lowlevel_notify_inval_entry(iv->se, iv->parent, iv->name,
						 iv->namelen);
		free(iv);
		pthread_mutex_lock(&q_lock);
		q_busy = false;
		pthread_cond_broadcast(&q_cond);
		pthread_mutex_unlock(&q_lock);
	}
	return NULL;
}

static int queue_inval(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		       size_t len)
{
	struct inval *iv = malloc(sizeof(*iv) + len + 1);
	pthread_t t;

	if (!iv)
		return ENOMEM;
	iv->next = NULL;
	iv->se = f2->se;
	iv->parent = f2_nodeid(dir);
	iv->namelen = len;
	memcpy(iv->name, name, len);
	iv->name[len] = '\0';
	pthread_mutex_lock(&q_lock);
	if (!q_thread_started) {
		if (pthread_create(&t, NULL, notify_thread, NULL)) {
			pthread_mutex_unlock(&q_lock);
			free(iv);
			return EAGAIN;
		}
		pthread_detach(t);
		q_thread_started = true;
	}
	*q_tail = iv;
	q_tail = &iv->next;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	return 0;
}

struct name_hunt {
	struct fuse2fs *f2;
	ext2_ino_t dir;
	ext2_ino_t target;
	unsigned int found;
	unsigned int links;
	int err;
};

static int hunt_entry(struct ext2_dir_entry *de, int offset, int blocksize,
		      char *buf, void *priv)
{
	struct name_hunt *h = priv;
	int len = ext2fs_dirent_name_len(de);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (de->inode != h->target || !len ||
	    (len <= 2 && de->name[0] == '.' &&
	     (len == 1 || de->name[1] == '.')))
		return 0;
	h->err = queue_inval(h->f2, h->dir, de->name, len);
	h->found++;
	return (h->err || h->found >= h->links) ? DIRENT_ABORT : 0;
}

/*
 * Inodes whose switch may not have happened yet: the kernel ignores the
 * new flag while the file is open (doc/protocol.md 3.1), so the names are
 * invalidated once more when the last open reference goes.
 */
#define F2_PENDING_SLOTS	64
static ext2_ino_t pending[F2_PENDING_SLOTS];
static unsigned int pending_next;

static bool pending_take(ext2_ino_t ino)
{
	unsigned int i;

	for (i = 0; i < F2_PENDING_SLOTS; i++) {
		if (pending[i] == ino) {
			pending[i] = 0;
			return true;
		}
	}
	return false;
}

static void pending_add(ext2_ino_t ino)
{
	pending_take(ino);
	/* A ring: when full, the oldest entry loses its second chance. */
	pending[pending_next] = ino;
	pending_next = (pending_next + 1) % F2_PENDING_SLOTS;
}

static int invalidate_names(struct fuse2fs *f2, ext2_ino_t ino);

int f2_iomap_mode_changed(struct fuse2fs *f2, ext2_ino_t ino)
{
	if (!f2->iomap_active || !f2->se)
		return 0;
	pending_add(ino);
	return invalidate_names(f2, ino);
}

void f2_iomap_released(struct fuse2fs *f2, ext2_ino_t ino)
{
	if (ino && pending_take(ino) && f2->iomap_active && f2->se)
		invalidate_names(f2, ino);
}

void f2_iomap_mode_settled(ext2_ino_t ino)
{
	if (ino)
		pending_take(ino);
}

static int invalidate_names(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode, dinode;
	struct name_hunt h = { .f2 = f2, .target = ino };
	ext2_inode_scan scan;
	ext2_ino_t dino;
	errcode_t err;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	h.links = inode.i_links_count ? inode.i_links_count : 1;

	err = ext2fs_open_inode_scan(f2->fs, 0, &scan);
	if (err)
		return f2_errno(err);
	for (;;) {
		err = ext2fs_get_next_inode_full(scan, &dino,
						 (struct ext2_inode *)&dinode,
						 sizeof(dinode));
		if (err == EXT2_ET_BAD_BLOCK_IN_INODE_TABLE)
			continue;
		if (err || !dino)
			break;
		if (!LINUX_S_ISDIR(dinode.i_mode) || !dinode.i_links_count ||
		    dinode.i_dtime)
			continue;
		h.dir = dino;
		err = ext2fs_dir_iterate(f2->fs, dino, 0, NULL, hunt_entry,
					 &h);
		if (err || h.err || h.found >= h.links)
			break;
	}
	ext2fs_close_inode_scan(scan);
	if (h.err)
		return h.err;
	return err ? f2_errno(err) : 0;
}

void f2_iomap_notify_drain(void)
{
	struct timespec until;
	struct inval *iv;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	pthread_mutex_lock(&q_lock);
	while ((q_head || q_busy) &&
	       pthread_cond_timedwait(&q_cond, &q_lock, &until) == 0)
		;
	/* The session is going away: drop what could not be sent. */
	while (q_head) {
		iv = q_head;
		q_head = iv->next;
		free(iv);
	}
	q_tail = &q_head;
	pthread_mutex_unlock(&q_lock);
}
