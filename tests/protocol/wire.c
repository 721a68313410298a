// SPDX-License-Identifier: GPL-2.0-only
/*
 * wire: the "test plays the kernel" harness; see wire.h for the contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "wire.h"

static void fail(struct wire *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->last_failure, sizeof(w->last_failure), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# wire: %s\n", w->last_failure);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void grow_buffer(int fd, int opt, int force_opt)
{
	int size = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int wire_pair(struct wire *w, int *server_fd)
{
	int sv[2];

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->next_unique = 1;
	w->timeout_ms = WIRE_TIMEOUT_MS;
	w->uid = getuid();
	w->gid = getgid();
	w->pid_hdr = getpid();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* room for large replies: as much as we may get (root: 4 MiB) */
	grow_buffer(sv[1], SO_SNDBUF, SO_SNDBUFFORCE);
	grow_buffer(sv[0], SO_RCVBUF, SO_RCVBUFFORCE);
	w->fd = sv[0];
	*server_fd = sv[1];
	return 0;
}

int wire_start(struct wire *w, char *const argv[])
{
	int sv[2], argc, i, err;
	char fdarg[32];
	char **args;
	pid_t pid;

	err = wire_pair(w, &sv[1]);
	if (err)
		return err;
	sv[0] = w->fd;
	w->fd = -1;
	for (argc = 0; argv[argc]; argc++)
		;
	args = calloc(argc + 1, sizeof(*args));
	if (!args) {
		close(sv[0]);
		close(sv[1]);
		return -ENOMEM;
	}
	snprintf(fdarg, sizeof(fdarg), "/dev/fd/%d", sv[1]);
	for (i = 0; i < argc; i++)
		args[i] = strcmp(argv[i], WIRE_FD_ARG) ? argv[i] : fdarg;

	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		free(args);
		return err;
	}
	if (pid == 0) {
		/* the server's end must survive exec */
		fcntl(sv[1], F_SETFD, 0);
		execv(args[0], args);
		fprintf(stderr, "# wire: exec %s: %s\n", args[0],
			strerror(errno));
		_exit(127);
	}
	free(args);
	close(sv[1]);
	w->fd = sv[0];
	w->pid = pid;
	return 0;
}

/* Reap without blocking; true once the server is gone. */
static bool reap(struct wire *w, int flags)
{
	int status;
	pid_t res;

	if (!w->pid)
		return true;
	res = waitpid(w->pid, &status, flags);
	if (res == w->pid) {
		w->status = status;
		w->pid = 0;
		return true;
	}
	return false;
}

bool wire_alive(struct wire *w)
{
	return !reap(w, WNOHANG);
}

int wire_stop(struct wire *w)
{
	int64_t deadline = now_ms() + w->timeout_ms;
	bool killed = false;
	char sink[4096];

	/*
	 * End of file for the server, but our end stays open until it has
	 * exited: a message it sends meanwhile (a notification from one of
	 * its threads) is read and dropped here.  Closing with such a message
	 * unread would make the server's next read fail with ECONNRESET
	 * instead of seeing an unmount.
	 */
	if (w->fd >= 0)
		shutdown(w->fd, SHUT_WR);
	while (!reap(w, WNOHANG)) {
		if (w->fd >= 0)
			while (recv(w->fd, sink, sizeof(sink),
				    MSG_DONTWAIT) > 0)
				;
		if (now_ms() > deadline) {
			fail(w, "server did not exit in %d ms: killed",
			     w->timeout_ms);
			kill(w->pid, SIGKILL);
			reap(w, 0);
			killed = true;
			w->status = -1;
			break;
		}
		usleep(10000);
	}
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	if (killed || w->status == -1)
		return -ETIMEDOUT;
	if (WIFSIGNALED(w->status))
		return 128 + WTERMSIG(w->status);
	return WEXITSTATUS(w->status);
}

int wire_send_raw(struct wire *w, const void *buf, size_t len)
{
	ssize_t n = send(w->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0) {
		fail(w, "send: %s", strerror(errno));
		return -errno;
	}
	if ((size_t)n != len) {
		fail(w, "send: short (%zd of %zu)", n, len);
		return -EIO;
	}
	return 0;
}

int wire_sendv(struct wire *w, uint32_t opcode, uint64_t nodeid,
	       const struct iovec *iov, int iovcnt, uint64_t *unique)
{
	struct fuse_in_header in = {
		.opcode = opcode,
		.unique = w->next_unique++,
		.nodeid = nodeid,
		.uid = w->uid,
		.gid = w->gid,
		.pid = w->pid_hdr,
	};
	struct iovec v[8];
	struct msghdr msg = { .msg_iov = v };
	size_t len = sizeof(in);
	ssize_t n;
	int i;

	if (iovcnt > 7)
		return -EINVAL;
	v[0].iov_base = &in;
	v[0].iov_len = sizeof(in);
	for (i = 0; i < iovcnt; i++) {
		v[i + 1] = iov[i];
		len += iov[i].iov_len;
	}
	in.len = len;
	msg.msg_iovlen = iovcnt + 1;
	if (unique)
		*unique = in.unique;
	n = sendmsg(w->fd, &msg, MSG_NOSIGNAL);
	if (n < 0) {
		fail(w, "sendmsg opcode %u: %s", opcode, strerror(errno));
		return -errno;
	}
	return (size_t)n == len ? 0 : -EIO;
}

static int wait_readable(struct wire *w, int ms)
{
	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
	int res;

	do {
		res = poll(&pfd, 1, ms);
	} while (res < 0 && errno == EINTR);
	if (res < 0)
		return -errno;
	return res ? 0 : -ETIMEDOUT;
}

int wire_recv(struct wire *w, struct wire_reply *r)
{
	struct iovec v[2] = {
		{ .iov_base = &r->hdr, .iov_len = sizeof(r->hdr) },
		{ .iov_base = r->body, .iov_len = sizeof(r->body) },
	};
	struct msghdr msg = { .msg_iov = v, .msg_iovlen = 2 };
	ssize_t n;
	int res;

	res = wait_readable(w, w->timeout_ms);
	if (res) {
		fail(w, "no message from the server in %d ms", w->timeout_ms);
		return res;
	}
	n = recvmsg(w->fd, &msg, 0);
	if (n < 0) {
		fail(w, "recvmsg: %s", strerror(errno));
		return -errno;
	}
	if (n == 0) {
		fail(w, "the server closed its end");
		return -EPIPE;
	}
	if ((size_t)n < sizeof(r->hdr) || msg.msg_flags & MSG_TRUNC ||
	    r->hdr.len != (size_t)n) {
		fail(w, "malformed message: %zd bytes, len field %u", n,
		     (size_t)n >= sizeof(r->hdr) ? r->hdr.len : 0);
		return -EPROTO;
	}
	r->body_len = n - sizeof(r->hdr);
	return 0;
}

int wire_expect_silence(struct wire *w, int ms)
{
	return wait_readable(w, ms) == -ETIMEDOUT ? 0 : -EEXIST;
}

static struct wire_reply scratch;

int wire_callv(struct wire *w, uint32_t opcode, uint64_t nodeid,
	       const struct iovec *iov, int iovcnt, struct wire_reply *r)
{
	uint64_t unique;

	if (!r)
		r = &scratch;
	if (wire_sendv(w, opcode, nodeid, iov, iovcnt, &unique))
		return WIRE_EXCHANGE_FAILED;
	for (;;) {
		if (wire_recv(w, r))
			return WIRE_EXCHANGE_FAILED;
		if (r->hdr.unique == 0) {
			w->notifications++;
			continue;
		}
		if (r->hdr.unique != unique) {
			fail(w, "opcode %u: reply for unique %llu, expected %llu",
			     opcode, (unsigned long long)r->hdr.unique,
			     (unsigned long long)unique);
			return WIRE_EXCHANGE_FAILED;
		}
		if (r->hdr.error > 0 || r->hdr.error < -4095 ||
		    (r->hdr.error && r->body_len)) {
			fail(w, "opcode %u: bad error %d with %zu body bytes",
			     opcode, r->hdr.error, r->body_len);
			return WIRE_EXCHANGE_FAILED;
		}
		return r->hdr.error;
	}
}

int wire_call(struct wire *w, uint32_t opcode, uint64_t nodeid,
	      const void *body, size_t len, struct wire_reply *r)
{
	struct iovec v = { .iov_base = (void *)body, .iov_len = len };

	return wire_callv(w, opcode, nodeid, &v, len ? 1 : 0, r);
}

static int expect_body(struct wire *w, const struct wire_reply *r, int res,
		       void *out, size_t out_len)
{
	if (res)
		return res;
	if (r->body_len != out_len) {
		fail(w, "reply body %zu bytes, expected %zu", r->body_len,
		     out_len);
		return WIRE_EXCHANGE_FAILED;
	}
	if (out)
		memcpy(out, r->body, out_len);
	return 0;
}

int wire_call_out(struct wire *w, uint32_t opcode, uint64_t nodeid,
		  const void *body, size_t len, void *out, size_t out_len)
{
	int res = wire_call(w, opcode, nodeid, body, len, &scratch);

	return expect_body(w, &scratch, res, out, out_len);
}

int wire_init(struct wire *w, bool offer_iomap, struct fuse_init_out *out)
{
	struct fuse_init_in in = {
		.major = 7,
		.minor = 38,
		.max_readahead = 128 * 1024,
		.flags = FUSE_INIT_EXT | FUSE_ASYNC_READ | FUSE_BIG_WRITES |
			 FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES,
		.flags2 = offer_iomap ? (uint32_t)(FUSE_IOMAP >> 32) : 0,
	};

	return wire_call_out(w, FUSE_INIT, 0, &in, sizeof(in), out,
			     sizeof(*out));
}

bool wire_init_accepted_iomap(const struct fuse_init_out *out)
{
	return (out->flags & FUSE_INIT_EXT) &&
	       (out->flags2 & (uint32_t)(FUSE_IOMAP >> 32));
}

int wire_lookup(struct wire *w, uint64_t parent, const char *name,
		struct fuse_entry_out *out)
{
	return wire_call_out(w, FUSE_LOOKUP, parent, name, strlen(name) + 1,
			     out, sizeof(*out));
}

int wire_getattr(struct wire *w, uint64_t nodeid, struct fuse_attr_out *out)
{
	struct fuse_getattr_in in = { 0 };

	return wire_call_out(w, FUSE_GETATTR, nodeid, &in, sizeof(in), out,
			     sizeof(*out));
}

int wire_create(struct wire *w, uint64_t parent, const char *name,
		uint32_t flags, uint32_t mode, struct fuse_entry_out *entry,
		struct fuse_open_out *open)
{
	struct fuse_create_in in = { .flags = flags, .mode = mode };
	struct iovec v[2] = {
		{ .iov_base = &in, .iov_len = sizeof(in) },
		{ .iov_base = (void *)name, .iov_len = strlen(name) + 1 },
	};
	int res = wire_callv(w, FUSE_CREATE, parent, v, 2, &scratch);

	res = expect_body(w, &scratch, res, NULL,
			  sizeof(*entry) + sizeof(*open));
	if (res)
		return res;
	if (entry)
		memcpy(entry, scratch.body, sizeof(*entry));
	if (open)
		memcpy(open, scratch.body + sizeof(*entry), sizeof(*open));
	return 0;
}

static int do_open(struct wire *w, uint32_t opcode, uint64_t nodeid,
		   uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in in = { .flags = flags };
	struct fuse_open_out out;
	int res;

	res = wire_call_out(w, opcode, nodeid, &in, sizeof(in), &out,
			    sizeof(out));
	if (!res && fh)
		*fh = out.fh;
	return res;
}

int wire_open(struct wire *w, uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	return do_open(w, FUSE_OPEN, nodeid, flags, fh);
}

int wire_opendir(struct wire *w, uint64_t nodeid, uint64_t *fh)
{
	return do_open(w, FUSE_OPENDIR, nodeid, 0, fh);
}

int wire_release(struct wire *w, uint64_t nodeid, uint64_t fh, bool dir)
{
	struct fuse_release_in in = { .fh = fh };

	return wire_call_out(w, dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid,
			     &in, sizeof(in), NULL, 0);
}

int wire_read(struct wire *w, uint64_t nodeid, uint64_t fh, uint64_t off,
	      uint32_t size, struct wire_reply *r)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	return wire_call(w, FUSE_READ, nodeid, &in, sizeof(in), r);
}

int wire_write(struct wire *w, uint64_t nodeid, uint64_t fh, uint64_t off,
	       const void *data, uint32_t size, uint32_t *written)
{
	struct fuse_write_in in = { .fh = fh, .offset = off, .size = size };
	struct fuse_write_out out;
	struct iovec v[2] = {
		{ .iov_base = &in, .iov_len = sizeof(in) },
		{ .iov_base = (void *)data, .iov_len = size },
	};
	int res = wire_callv(w, FUSE_WRITE, nodeid, v, 2, &scratch);

	res = expect_body(w, &scratch, res, &out, sizeof(out));
	if (!res && written)
		*written = out.size;
	return res;
}

int wire_readdirplus(struct wire *w, uint64_t nodeid, uint64_t fh,
		     uint64_t off, uint32_t size, struct wire_reply *r)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	return wire_call(w, FUSE_READDIRPLUS, nodeid, &in, sizeof(in), r);
}

bool wire_next_direntplus(const struct wire_reply *r, size_t *pos,
			  struct fuse_direntplus *dp, char name[256])
{
	size_t left = r->body_len - *pos, reclen;

	if (*pos >= r->body_len || left < FUSE_NAME_OFFSET_DIRENTPLUS)
		return false;
	memcpy(dp, r->body + *pos, FUSE_NAME_OFFSET_DIRENTPLUS);
	if (dp->dirent.namelen == 0 || dp->dirent.namelen > 255)
		return false;
	reclen = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS +
				   dp->dirent.namelen);
	if (reclen > left)
		return false;
	memcpy(name, r->body + *pos + FUSE_NAME_OFFSET_DIRENTPLUS,
	       dp->dirent.namelen);
	name[dp->dirent.namelen] = '\0';
	*pos += reclen;
	return true;
}

int wire_destroy(struct wire *w)
{
	return wire_call_out(w, FUSE_DESTROY, 0, NULL, 0, NULL, 0);
}

int wire_forget(struct wire *w, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in in = { .nlookup = nlookup };
	struct iovec v = { .iov_base = &in, .iov_len = sizeof(in) };

	return wire_sendv(w, FUSE_FORGET, nodeid, &v, 1, NULL);
}

int wire_iomap_begin(struct wire *w, uint64_t nodeid, uint64_t attr_ino,
		     uint64_t pos, uint64_t count, uint32_t opflags,
		     struct fuse_iomap_mapping *map)
{
	return wire_iomap_begin_cookie(w, nodeid, attr_ino, pos, count,
				       opflags, map, NULL);
}

int wire_iomap_begin_cookie(struct wire *w, uint64_t nodeid,
			    uint64_t attr_ino, uint64_t pos, uint64_t count,
			    uint32_t opflags, struct fuse_iomap_mapping *map,
			    uint64_t *cookie)
{
	struct fuse_iomap_begin_in in = {
		.attr_ino = attr_ino,
		.pos = pos,
		.count = count,
		.opflags = opflags,
	};
	struct fuse_iomap_begin_out out;
	int res;

	res = wire_call_out(w, FUSE_IOMAP_BEGIN, nodeid, &in, sizeof(in),
			    &out, sizeof(out));
	if (!res && map)
		*map = out.map;
	if (!res && cookie)
		*cookie = out.cookie;
	return res;
}

int wire_iomap_end(struct wire *w, uint64_t nodeid,
		   const struct fuse_iomap_end_in *in)
{
	return wire_call_out(w, FUSE_IOMAP_END, nodeid, in, sizeof(*in),
			     NULL, 0);
}

int wire_iomap_ioend(struct wire *w, uint64_t nodeid,
		     const struct fuse_iomap_ioend_in *in, uint64_t *size)
{
	struct fuse_iomap_ioend_out out;
	int res;

	res = wire_call_out(w, FUSE_IOMAP_IOEND, nodeid, in, sizeof(*in),
			    &out, sizeof(out));
	if (!res && size)
		*size = out.size;
	return res;
}

unsigned char wire_pattern(uint64_t off)
{
	/* varies inside a block and from block to block */
	return (unsigned char)(off * 7 + (off >> 12) * 13 + 1);
}

int wire_make_image(char *path, uint64_t size)
{
	unsigned char buf[4096];
	uint64_t off;
	size_t i, n;
	int fd;

	snprintf(path, 64, "/tmp/wire-image-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	for (off = 0; off < size; off += n) {
		n = size - off < sizeof(buf) ? size - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = wire_pattern(off + i);
		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			int err = errno ? -errno : -EIO;

			close(fd);
			unlink(path);
			return err;
		}
	}
	close(fd);
	return 0;
}

uint64_t wire_file_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned char buf[65536];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 0x100000001b3ULL;
	close(fd);
	return n < 0 ? 0 : h;
}
