/* Thread calls made badly on purpose (raw system calls), to see that the master answers as
 * Linux does and never falls:
 *
 *   thostile calls       futex, clone3, tgkill and set_tid_address with wild pointers,
 *                        misaligned words, unknown operations, changed words and timeouts,
 *                        while a second thread lives; its output is compared with Linux's
 *   thostile bomb        creates threads until the limit, each waiting; prints how many
 *   thostile wildstack   a thread whose stack is nowhere: the program faults
 *   thostile perthread   a thread's own state: robust lists (a robust mutex whose owner dies,
 *                        uncontended and waited for; a list that loops), signal masks and
 *                        alternate stacks per thread, and those calls made badly; its output is
 *                        compared with Linux's where Linux's robust lists are there (not under
 *                        qemu-aarch64's user mode, which answers them ENOSYS)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WILD ((void *)0xdead0000ul)

static long sys(long n, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(n, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}

static void show(const char *what, long r)
{
	printf("%-34s %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerrorname_np((int)-r) : "");
}

static uint32_t word, other;
static volatile int stop;

static void *idle(void *arg)
{
	(void)arg;
	while (!stop) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *wait_forever(void *arg)
{
	static uint32_t never;
	(void)arg;
	syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static int calls(void)
{
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	struct timespec ms = {0, 1000000}, bad = {0, 2000000000};
	show("futex wait, wild word", sys(SYS_futex, (long)WILD, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0));
	show("futex wait, misaligned word", sys(SYS_futex, (long)&word + 1, FUTEX_WAIT, 0, 0, 0, 0));
	show("futex wait, changed word", sys(SYS_futex, (long)&word, FUTEX_WAIT, 7, 0, 0, 0));
	show("futex wait, wild timeout", sys(SYS_futex, (long)&word, FUTEX_WAIT, 0, (long)WILD, 0, 0));
	show("futex wait, bad timeout", sys(SYS_futex, (long)&word, FUTEX_WAIT, 0, (long)&bad, 0, 0));
	show("futex wait, 1 ms", sys(SYS_futex, (long)&word, FUTEX_WAIT_PRIVATE, 0, (long)&ms, 0, 0));
	show("futex wait bitset 0", sys(SYS_futex, (long)&word, FUTEX_WAIT_BITSET, 0, 0, 0, 0));
	show("futex wake INT_MAX, nobody", sys(SYS_futex, (long)&word, FUTEX_WAKE, 0x7fffffff, 0, 0, 0));
	show("futex wake, negative count", sys(SYS_futex, (long)&word, FUTEX_WAKE, -5, 0, 0, 0));
	show("futex cmp_requeue, changed", sys(SYS_futex, (long)&word, FUTEX_CMP_REQUEUE, 1, 1, (long)&other, 9));
	show("futex cmp_requeue, wild target", sys(SYS_futex, (long)&word, FUTEX_CMP_REQUEUE, 1, 1, (long)WILD, 0));
	show("futex wake_op, wild second word", sys(SYS_futex, (long)&word, FUTEX_WAKE_OP, 1, 1, (long)WILD, 0));
	show("futex wake_op, set 5", sys(SYS_futex, (long)&word, FUTEX_WAKE_OP, 1, 1, (long)&other, FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0)));
	show("  second word now", other);
	show("futex operation 99", sys(SYS_futex, (long)&word, 99, 0, 0, 0, 0));
	show("futex wake, wild shared word", sys(SYS_futex, (long)WILD, FUTEX_WAKE, 1, 0, 0, 0));
	show("futex wake, wild private word", sys(SYS_futex, (long)WILD, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0));
	show("clone3, past a page", sys(SYS_clone3, (long)&word, 8192, 0, 0, 0, 0));
	show("clone3, 8 bytes", sys(SYS_clone3, (long)&word, 8, 0, 0, 0, 0));
	show("clone3, wild", sys(SYS_clone3, (long)WILD, 88, 0, 0, 0, 0));
	show("tgkill, no such thread", sys(SYS_tgkill, getpid(), 99999, 0, 0, 0, 0));
	show("tgkill, other group", sys(SYS_tgkill, 99999, gettid(), 0, 0, 0, 0));
	show("tgkill, bad signal", sys(SYS_tgkill, getpid(), gettid(), 99, 0, 0, 0));
	show("tkill self, signal 0", sys(SYS_tkill, gettid(), 0, 0, 0, 0, 0));
	show("sched_yield", sys(SYS_sched_yield, 0, 0, 0, 0, 0, 0));
	stop = 1;
	pthread_join(t, NULL);
	show("joined", 0);
	return 0;
}

static int bomb(void)
{
	int n = 0;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (;;) {
		pthread_t t;
		int r = pthread_create(&t, &attr, wait_forever, NULL);
		if (r != 0) {
			printf("created %d threads, then: %s\n", n, strerrorname_np(r));
			return 0;
		}
		n++;
	}
}

static int wildstack(void)
{
	/* A thread of this process whose stack is nowhere: it faults at its first push or return. */
	long r = syscall(SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
			 WILD, NULL, NULL, 0);
	if (r == 0)
		printf("the thread runs\n");
	printf("clone: %ld\n", r);
	for (;;)
		sched_yield();
}

static pthread_mutex_t robust;
static pthread_barrier_t held;

static void *die_holding(void *contended)
{
	pthread_mutex_lock(&robust);
	if (contended) {
		struct timespec ts = {0, 5000000};
		pthread_barrier_wait(&held);
		nanosleep(&ts, NULL); /* the main thread blocks on the lock meanwhile */
	}
	return NULL; /* holding it */
}

/* A robust list whose one entry points to itself: the walk at exit must end. */
static void *looping_list(void *arg)
{
	static uint64_t head[3], entry[2];
	(void)arg;
	entry[0] = (uint64_t)entry;
	head[0] = (uint64_t)entry;
	head[1] = 8;
	show("  set_robust_list, a loop", sys(SYS_set_robust_list, (long)head, 24, 0, 0, 0, 0));
	return NULL;
}

static void *masks(void *arg)
{
	sigset_t s;
	stack_t ss;
	(void)arg;
	pthread_sigmask(SIG_SETMASK, NULL, &s);
	sigaltstack(NULL, &ss);
	printf("new thread: SIGUSR1 %s, altstack %s\n", sigismember(&s, SIGUSR1) ? "blocked" : "not blocked",
	       ss.ss_flags & SS_DISABLE ? "disabled" : "set");
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_SETMASK, &s, NULL);
	return NULL;
}

static int perthread(void)
{
	uint64_t h, len;
	sigset_t s;
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 1000};
	pthread_t t;
	show("set_robust_list, 16 bytes", sys(SYS_set_robust_list, (long)&h, 16, 0, 0, 0, 0));
	show("get_robust_list, no such thread", sys(SYS_get_robust_list, 99999, (long)&h, (long)&len, 0, 0, 0));
	show("get_robust_list, wild", sys(SYS_get_robust_list, 0, (long)WILD, (long)&len, 0, 0, 0));
	show("rt_sigprocmask, 4 bytes", sys(SYS_rt_sigprocmask, SIG_BLOCK, (long)&s, 0, 4, 0, 0));
	sigemptyset(&s);
	show("rt_sigprocmask, how 7", sys(SYS_rt_sigprocmask, 7, (long)&s, 0, 8, 0, 0));
	show("rt_sigprocmask, wild set", sys(SYS_rt_sigprocmask, SIG_BLOCK, (long)WILD, 0, 8, 0, 0));
	show("sigaltstack, 1000 bytes", sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0));
	ss.ss_size = 65536;
	ss.ss_flags = 5;
	show("sigaltstack, flags 5", sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0));
	show("sigaltstack, wild", sys(SYS_sigaltstack, (long)WILD, 0, 0, 0, 0, 0));
	ss.ss_flags = 0;
	show("sigaltstack, 64 KiB", sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0));
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_create(&t, NULL, masks, NULL);
	pthread_join(t, NULL);
	pthread_sigmask(SIG_SETMASK, NULL, &s);
	sigaltstack(NULL, &ss);
	printf("main after join: SIGUSR1 %s, SIGUSR2 %s, altstack %zu bytes\n",
	       sigismember(&s, SIGUSR1) ? "blocked" : "not blocked",
	       sigismember(&s, SIGUSR2) ? "blocked" : "not blocked", ss.ss_flags & SS_DISABLE ? 0 : ss.ss_size);
	if (sys(SYS_get_robust_list, 0, (long)&h, (long)&len, 0, 0, 0) == -ENOSYS) {
		printf("robust lists: ENOSYS here\n");
		return 0;
	}
	show("get_robust_list, own: length", len);
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &attr);
	pthread_create(&t, NULL, die_holding, NULL);
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&robust);
	printf("robust lock, its owner returned: %s\n", strerrorname_np(r));
	printf("made consistent: %s\n", strerrorname_np(pthread_mutex_consistent(&robust)));
	pthread_mutex_unlock(&robust);
	printf("locked again: %d\n", pthread_mutex_lock(&robust));
	pthread_mutex_unlock(&robust);
	pthread_barrier_init(&held, NULL, 2);
	pthread_create(&t, NULL, die_holding, &held);
	pthread_barrier_wait(&held);
	r = pthread_mutex_lock(&robust);
	printf("robust lock, waited while its owner died: %s\n", strerrorname_np(r));
	pthread_mutex_consistent(&robust);
	pthread_mutex_unlock(&robust);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, looping_list, NULL);
	pthread_join(t, NULL);
	printf("a looping robust list: the thread exited and was joined\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "calls";
	if (strcmp(mode, "bomb") == 0)
		return bomb();
	if (strcmp(mode, "wildstack") == 0)
		return wildstack();
	if (strcmp(mode, "perthread") == 0)
		return perthread();
	return calls();
}
