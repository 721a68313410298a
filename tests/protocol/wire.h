/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wire: the test program plays the kernel.
 *
 * A FUSE server is started with mountpoint "/dev/fd/N", N being one end of
 * a socketpair(AF_UNIX, SOCK_SEQPACKET); libfuse then uses that fd instead
 * of /dev/fuse and mounts nothing.  The test speaks the raw FUSE wire
 * protocol (<linux/fuse.h> plus <linux/fuse_iomap.h>) on the other end, one
 * datagram per message as /dev/fuse does.
 *
 * Typical use, inside a kselftest_harness.h fixture:
 *
 *	char *argv[] = { SERVER, "img", "0", "65536", WIRE_FD_ARG, NULL };
 *	ASSERT_EQ(0, wire_start(&w, argv));
 *	ASSERT_EQ(0, wire_init(&w, true, &init_out));     // offer iomap
 *	ASSERT_EQ(0, wire_lookup(&w, 1, "file", &entry));
 *	ASSERT_EQ(-EINVAL, wire_call(&w, FUSE_GETATTR, 1, "x", 1, NULL));
 *	ASSERT_EQ(0, wire_stop(&w));                      // clean exit
 *
 * Conventions:
 * - Every call that waits for the server does so for at most
 *   w->timeout_ms (WIRE_TIMEOUT_MS unless changed) with poll().
 * - Functions returning int give the reply's fuse_out_header.error, i.e.
 *   0 or a negative errno sent by the server, or WIRE_EXCHANGE_FAILED (a
 *   positive value no server can send) when the exchange itself failed:
 *   time-out, closed socket, reply with the wrong unique or a malformed
 *   reply.  w->last_failure then says why (also printed to stderr).
 * - Notifications (unique 0) received while waiting for a reply are
 *   counted in w->notifications and skipped.
 * - The server inherits stderr, so its messages (and any sanitizer
 *   report) land in the test's log.
 * - One reply must fit the server's socket send buffer: 4 MiB as root,
 *   about 400 KiB otherwise.  Keep READ/READDIR sizes at 128 KiB or less
 *   in tests that must pass unprivileged.
 */
#ifndef TESTS_PROTOCOL_WIRE_H
#define TESTS_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/fuse.h>
#include <linux/fuse_iomap.h>

#define WIRE_TIMEOUT_MS		5000
#define WIRE_EXCHANGE_FAILED	1
/* argv placeholder that wire_start() replaces with "/dev/fd/N" */
#define WIRE_FD_ARG		"@WIRE_FD@"
/* largest message accepted from the server */
#define WIRE_MAX_MSG		(1 << 20)

struct wire {
	int fd;			/* our end; -1 when stopped */
	pid_t pid;		/* the server; 0 when reaped */
	int status;		/* wait() status once reaped */
	uint64_t next_unique;
	int timeout_ms;
	unsigned int notifications;
	uint32_t uid, gid, pid_hdr;	/* put in every fuse_in_header */
	char last_failure[160];
};

/* One received message: header plus body, body_len bytes of it valid. */
struct wire_reply {
	struct fuse_out_header hdr;
	size_t body_len;
	unsigned char body[WIRE_MAX_MSG];
};

/* --- server process --- */

/*
 * Start argv[0] (a path) with every WIRE_FD_ARG argument replaced by
 * "/dev/fd/N".  0 on success, -errno on failure.
 */
int wire_start(struct wire *w, char *const argv[]);
/*
 * Shut our end for writing (the server sees end of file, as on unmount),
 * drop what it still sends, wait up to w->timeout_ms for it to exit,
 * SIGKILL it after that, then close our end.  Returns its exit
 * code (0 = clean), 128 + signal if it died of a signal, -ETIMEDOUT if it
 * had to be killed.  Safe to call twice (returns the same result).
 */
int wire_stop(struct wire *w);
/* True while the server process has not exited. */
bool wire_alive(struct wire *w);
/*
 * For a server run in this very process (tests/fuzz): set w up on our
 * end of a fresh socket pair and give the server's end (close-on-exec,
 * to be named "/dev/fd/N") in *server_fd.  w->pid stays 0, so
 * wire_stop() only closes our end.  0 or -errno.
 */
int wire_pair(struct wire *w, int *server_fd);

/* --- raw messages --- */

/* Send bytes as one message.  0 or -errno. */
int wire_send_raw(struct wire *w, const void *buf, size_t len);
/*
 * Send a request: a fuse_in_header with len = 40 + body length, a fresh
 * unique (returned through *unique if not NULL), then the iovecs.
 */
int wire_sendv(struct wire *w, uint32_t opcode, uint64_t nodeid,
	       const struct iovec *iov, int iovcnt, uint64_t *unique);
/*
 * Wait for one message.  0 on success, -ETIMEDOUT, -EPIPE on end of file,
 * -EPROTO if it is shorter than fuse_out_header or its len field lies.
 */
int wire_recv(struct wire *w, struct wire_reply *r);
/* 0 if no message arrives within ms milliseconds, -EEXIST if one does. */
int wire_expect_silence(struct wire *w, int ms);

/*
 * Send a request and wait for the reply with the same unique.  r may be
 * NULL (a static buffer is used); the reply stays in r for inspection.
 * Returns hdr.error or WIRE_EXCHANGE_FAILED.
 */
int wire_callv(struct wire *w, uint32_t opcode, uint64_t nodeid,
	       const struct iovec *iov, int iovcnt, struct wire_reply *r);
int wire_call(struct wire *w, uint32_t opcode, uint64_t nodeid,
	      const void *body, size_t len, struct wire_reply *r);
/*
 * Like wire_call(), and the reply body must be exactly out_len bytes
 * (copied to out) when error is 0; otherwise WIRE_EXCHANGE_FAILED.
 */
int wire_call_out(struct wire *w, uint32_t opcode, uint64_t nodeid,
		  const void *body, size_t len, void *out, size_t out_len);

/* --- classic requests --- */

/* INIT 7.38 with FUSE_INIT_EXT; offer_iomap adds the FUSE_IOMAP bit. */
int wire_init(struct wire *w, bool offer_iomap, struct fuse_init_out *out);
/* True if an INIT reply accepted FUSE_IOMAP. */
bool wire_init_accepted_iomap(const struct fuse_init_out *out);
int wire_lookup(struct wire *w, uint64_t parent, const char *name,
		struct fuse_entry_out *out);
int wire_getattr(struct wire *w, uint64_t nodeid, struct fuse_attr_out *out);
/* CREATE with the given open flags (O_*) and mode. */
int wire_create(struct wire *w, uint64_t parent, const char *name,
		uint32_t flags, uint32_t mode, struct fuse_entry_out *entry,
		struct fuse_open_out *open);
int wire_open(struct wire *w, uint64_t nodeid, uint32_t flags, uint64_t *fh);
int wire_opendir(struct wire *w, uint64_t nodeid, uint64_t *fh);
int wire_release(struct wire *w, uint64_t nodeid, uint64_t fh, bool dir);
/* READ: data lands in r->body, r->body_len bytes. */
int wire_read(struct wire *w, uint64_t nodeid, uint64_t fh, uint64_t off,
	      uint32_t size, struct wire_reply *r);
/* WRITE; *written gets fuse_write_out.size. */
int wire_write(struct wire *w, uint64_t nodeid, uint64_t fh, uint64_t off,
	       const void *data, uint32_t size, uint32_t *written);
/* READDIRPLUS: entries in r->body; walk them with wire_next_direntplus(). */
int wire_readdirplus(struct wire *w, uint64_t nodeid, uint64_t fh,
		     uint64_t off, uint32_t size, struct wire_reply *r);
/*
 * Iterate over a READDIRPLUS reply: *pos starts at 0.  Returns true and
 * fills *dp (fixed part) and name (NUL-terminated, at most 255 chars) for
 * each entry; false at the end or if an entry is malformed.
 */
bool wire_next_direntplus(const struct wire_reply *r, size_t *pos,
			  struct fuse_direntplus *dp, char name[256]);
int wire_destroy(struct wire *w);
/* FORGET never gets a reply; this only sends it. */
int wire_forget(struct wire *w, uint64_t nodeid, uint64_t nlookup);

/* --- iomap requests --- */

int wire_iomap_begin(struct wire *w, uint64_t nodeid, uint64_t attr_ino,
		     uint64_t pos, uint64_t count, uint32_t opflags,
		     struct fuse_iomap_mapping *map);
/* The same, also returning the reply's block map cookie. */
int wire_iomap_begin_cookie(struct wire *w, uint64_t nodeid,
			    uint64_t attr_ino, uint64_t pos, uint64_t count,
			    uint32_t opflags, struct fuse_iomap_mapping *map,
			    uint64_t *cookie);
int wire_iomap_end(struct wire *w, uint64_t nodeid,
		   const struct fuse_iomap_end_in *in);
int wire_iomap_ioend(struct wire *w, uint64_t nodeid,
		     const struct fuse_iomap_ioend_in *in, uint64_t *size);

/* --- files --- */

/*
 * A temporary file of size bytes filled with wire_pattern(); path must
 * hold 64 bytes.  0 or -errno.
 */
int wire_make_image(char *path, uint64_t size);
/* The byte wire_make_image() writes at offset off. */
unsigned char wire_pattern(uint64_t off);
/* FNV-1a of a whole file, 0 on error (a test can compare before/after). */
uint64_t wire_file_hash(const char *path);

#endif /* TESTS_PROTOCOL_WIRE_H */
