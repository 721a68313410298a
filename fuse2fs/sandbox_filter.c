// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The system call allow-list of the sandboxed server (see sandbox.c).
 *
 * The list is what the request loop, the notification thread, libfuse,
 * libext2fs and glibc were seen to call under `strace -f` over the whole
 * test suite (classic mounts on the host, iomap mounts in the UML guest,
 * the protocol suite), plus the calls of the way out (unmount, exit).
 * To extend it (a new feature that talks to a key socket, say), add one
 * line to f2_allowed[] (or a rule to allow_conditional()) with the
 * reason, and run the suites: a missing entry shows up as "system call N
 * is not allowed" in the server's log and a test that fails.
 *
 * Anything else traps: the SIGSYS handler writes one line naming the
 * system call number and the process dies of SIGSYS.  A few calls that
 * libraries make optionally fail with an errno instead (f2_refused[]).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <seccomp.h>

#include "sandbox.h"

/* Allowed whatever their arguments. */
static const int f2_allowed[] = {
	/* requests and replies on /dev/fuse, notifications */
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* libext2fs's unix_io on the image or device */
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(lseek), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(fallocate), SCMP_SYS(ftruncate),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	/* keeping the iomap device coherent (iomap_dev.c) */
	SCMP_SYS(sync_file_range), SCMP_SYS(fadvise64),
	/* memory: malloc, thread stacks, libext2fs buffers */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	/* the notification thread (iomap_notify.c), glibc locks */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(gettid), SCMP_SYS(getpid),
	/* libext2fs's safe_getenv() (unix_io zeroout), glibc's qsort() */
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(sysinfo),
	/* time, where the vDSO does not answer (UML) */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(getrandom),
	/*
	 * The kernel resumes the watchdog's clock_nanosleep() with this
	 * after a SIGSTOP/SIGCONT of the server (a debugger, a test that
	 * stops it): refusing it killed a server that was only paused.
	 */
	SCMP_SYS(restart_syscall),
	/* signals: SIGTERM/SIGINT end the loop, SIGSYS reports */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	/* detaching: stdio onto /dev/null (main.c); perror() dup()s */
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	/* the syslog socket once detached (main.c), the unmount helper's */
	SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	/* the way out */
	SCMP_SYS(close), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* Refused with an errno: optional steps of libraries. */
static const struct {
	int nr;
	int err;
} f2_refused[] = {
	/* pthread_create tries clone3 first and falls back to clone */
	{ SCMP_SYS(clone3), ENOSYS },
};

static int allow_conditional(scmp_filter_ctx ctx)
{
	int err;

	/* Threads only (pthread_create's clone), never a new process. */
	err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
				       CLONE_THREAD));
	/* Memory, but never executable: no code can be loaded. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       0));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
				       SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       0));
	/* fcntl: libext2fs and libfuse look at flags, nothing else. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				       SCMP_A1(SCMP_CMP_EQ, F_GETFL));
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				       SCMP_A1(SCMP_CMP_EQ, F_GETFD));
	/* safe_getenv() asks whether we may be dumped, nothing more. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				       SCMP_A0(SCMP_CMP_EQ, PR_GET_DUMPABLE));
	/* The SIGSYS report raises SIGSYS on its own thread only. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
				       SCMP_A0(SCMP_CMP_EQ, getpid()),
				       SCMP_A2(SCMP_CMP_EQ, SIGSYS));
	return err;
}

static int report_fd = 2;
static char report_prefix[64];

/* "N" into buf, returns the length. */
static size_t fmt_uint(char *buf, unsigned int v)
{
	char tmp[16];
	size_t n = 0, i;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

/* Async-signal-safe: one write(), then die of SIGSYS. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char what[] = "fuse2fs: sandbox: system call ";
	static const char why[] = " is not allowed; the server stops "
				  "(-o sandbox=nofilter to debug)\n";
	char line[256];
	size_t n = strlen(report_prefix);
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	(void)sig;
	(void)uc;
	memcpy(line, report_prefix, n);
	memcpy(line + n, what, sizeof(what) - 1);
	n += sizeof(what) - 1;
	n += fmt_uint(line + n, (unsigned int)si->si_syscall);
	memcpy(line + n, why, sizeof(why) - 1);
	n += sizeof(why) - 1;
	if (write(report_fd, line, n) < 0)
		n = 0;	/* nowhere else to say it */
	sigaction(SIGSYS, &dfl, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
	_exit(128 + SIGSYS);	/* not reached */
}

int f2_sandbox_install_filter(int log_fd, bool syslog)
{
	struct sigaction sa = {
		.sa_sigaction = on_sigsys,
		.sa_flags = SA_SIGINFO,
	};
	scmp_filter_ctx ctx;
	sigset_t set;
	size_t i;
	int err;

	report_fd = log_fd;
	if (syslog)	/* LOG_DAEMON | LOG_ERR, as syslog(3) would send it */
		snprintf(report_prefix, sizeof(report_prefix),
			 "<27>fuse2fs[%d]: ", (int)getpid());
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/* Every thread, the notification thread included, gets it. */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (i = 0; !err && i < sizeof(f2_allowed) / sizeof(f2_allowed[0]);
	     i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, f2_allowed[i], 0);
	for (i = 0; !err && i < sizeof(f2_refused) / sizeof(f2_refused[0]);
	     i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(f2_refused[i].err),
				       f2_refused[i].nr, 0);
	if (!err)
		err = allow_conditional(ctx);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}
