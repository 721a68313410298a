// SPDX-License-Identifier: GPL-2.0-only
/*
 * The harness itself: wire_stop() must end a server the way an unmount
 * does, with end of file, even when the server's last message (a
 * notification sent by one of its threads after our last request) was
 * never read.  Closing the socket with that message unread would make the
 * server's read fail with ECONNRESET, which fuse2fs reports as an error:
 * a test failing for the harness's sake, at random.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "kselftest_harness.h"
#include "wire.h"

/* Exit codes of the stand-in server. */
#define SAW_EOF		0
#define SAW_RESET	3
#define SAW_OTHER	4

static int stand_in_server(int fd)
{
	struct fuse_out_header note = {
		.len = sizeof(note), .error = FUSE_NOTIFY_INVAL_ENTRY,
	};
	char buf[256];
	ssize_t n;

	if (send(fd, &note, sizeof(note), MSG_NOSIGNAL) != sizeof(note))
		return SAW_OTHER;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n == 0)
		return SAW_EOF;
	return n < 0 && errno == ECONNRESET ? SAW_RESET : SAW_OTHER;
}

TEST(unread_notification_still_gives_end_of_file)
{
	struct wire w;
	int server_fd;
	pid_t pid;

	ASSERT_EQ(0, wire_pair(&w, &server_fd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(w.fd);
		_exit(stand_in_server(server_fd));
	}
	close(server_fd);
	w.pid = pid;
	/* the notification is in our queue, unread */
	ASSERT_EQ(-EEXIST, wire_expect_silence(&w, 5000));
	EXPECT_EQ(SAW_EOF, wire_stop(&w));
}

TEST_HARNESS_MAIN
