/* A multithreaded C program (POSIX threads, glibc, static): a work queue under a mutex and
 * condition variables, a barrier, atomics, a thread that exits while others run, pthread_join,
 * a timed condition wait that times out, and sleeps. It prints only what every correct run
 * prints, whatever the interleaving: its output is compared with Linux's.
 *
 *   cthreads [N]        N worker threads (default 4)
 *   cthreads livelock   a thread spins on a flag only a waiting thread would set
 *   cthreads deadlock   two threads take two locks in opposite orders
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOBS 64
#define MAX_WORKERS 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static int queue[JOBS];
static int head, tail, closed, finished;
static unsigned long results[JOBS];
static atomic_long counter;
static int workers = 4;

/* A job: some arithmetic with a known result. */
static unsigned long work(int job)
{
	unsigned long h = 1469598103934665603ul ^ (unsigned long)job;
	for (int i = 0; i < 2000 + job * 10; i++)
		h = (h ^ (unsigned long)i) * 1099511628211ul;
	return h;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < 1000; i++)
		atomic_fetch_add(&counter, 1);
	pthread_barrier_wait(&barrier);
	for (;;) {
		pthread_mutex_lock(&lock);
		while (head == tail && !closed)
			pthread_cond_wait(&more, &lock);
		if (head == tail && closed) {
			pthread_mutex_unlock(&lock);
			break;
		}
		int job = queue[head++];
		pthread_mutex_unlock(&lock);
		unsigned long r = work(job);
		pthread_mutex_lock(&lock);
		results[job] = r;
		finished++;
		pthread_cond_signal(&done_cond);
		pthread_mutex_unlock(&lock);
		if (job % 7 == 0) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	/* The last worker leaves through pthread_exit while the others may still run. */
	if (id == workers - 1)
		pthread_exit((void *)(id * 10));
	return (void *)(id * 10);
}

static void *early(void *arg)
{
	(void)arg;
	return (void *)42;
}

static volatile int flag;

static void *spinner(void *arg)
{
	(void)arg;
	while (!flag)
		;
	return NULL;
}

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *other_order(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&b);
	pthread_barrier_wait(&barrier);
	pthread_mutex_lock(&a);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_WORKERS], e;
	void *ret;
	if (argc > 1 && strcmp(argv[1], "livelock") == 0) {
		pthread_create(&t[0], NULL, spinner, NULL);
		pthread_join(t[0], NULL);
		flag = 1;
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
		pthread_barrier_init(&barrier, NULL, 2);
		pthread_create(&t[0], NULL, other_order, NULL);
		pthread_mutex_lock(&a);
		pthread_barrier_wait(&barrier);
		pthread_mutex_lock(&b);
		return 0;
	}
	if (argc > 1)
		workers = atoi(argv[1]);
	if (workers < 1 || workers > MAX_WORKERS) {
		fprintf(stderr, "1 to %d workers\n", MAX_WORKERS);
		return 2;
	}

	/* A thread that is done before the others start. */
	pthread_create(&e, NULL, early, NULL);
	pthread_join(e, &ret);
	printf("early thread returned %ld\n", (long)ret);

	pthread_barrier_init(&barrier, NULL, workers);
	for (long i = 0; i < workers; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
			perror("pthread_create");
			return 1;
		}
	for (int job = 0; job < JOBS; job++) {
		pthread_mutex_lock(&lock);
		queue[tail++] = job;
		pthread_cond_signal(&more);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	while (finished < JOBS)
		pthread_cond_wait(&done_cond, &lock);
	closed = 1;
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);

	long sum = 0;
	for (int i = 0; i < workers; i++) {
		pthread_join(t[i], &ret);
		sum += (long)ret;
	}
	unsigned long all = 0;
	for (int job = 0; job < JOBS; job++)
		all ^= results[job] + (unsigned long)job;

	/* Nobody signals: the timed wait times out. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 20 * 1000 * 1000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	int waited = pthread_cond_timedwait(&more, &lock, &until);
	pthread_mutex_unlock(&lock);

	printf("workers %d, jobs %d, finished %d\n", workers, JOBS, finished);
	printf("counter %ld (expected %d)\n", atomic_load(&counter), workers * 1000);
	printf("joined: sum of returns %ld\n", sum);
	printf("results digest %016lx\n", all);
	printf("timed wait: %s\n", waited == ETIMEDOUT ? "timed out" : strerror(waited));
	return 0;
}
