/* A Linux program that tries to take the master down, one case per run (argv[1]):
 *
 *   unlinked  files that lose their names while descriptors hold them (mkstemp then unlink,
 *             rename over an open file): readable and writable until the last close;
 *   sparse    holes, O_APPEND, ftruncate up and down;
 *   bigmap    a 17 MiB file, mapped and read through the mapping;
 *   fill      writes 1 MiB after 1 MiB until the file store refuses;
 *   writev    one writev of 1024 entries of 1 MiB each;
 *   wrap      values that wrap around the address space (MAP_FIXED, munmap, brk, lseek, pread);
 *   loop      makes getppid calls for ever;
 *   posix     the calls of real programs, used as a hostile program would: directories with
 *             names of 4000 bytes until ENOSPC, a pipe filled and read empty (nothing may
 *             wait), poll and select with absurd counts, getdents64 into a bad buffer, sendfile
 *             of 2^40 bytes, fork;
 *   vsyscall  (x86_64) calls the legacy vsyscall page's time and gettimeofday;
 *   vsysbad   (x86_64) jumps into that page where there is no entry point (the program's fault);
 *   panic     calls getrusage; hog: calls umask; spin: calls times; fault: calls sched_yield
 *             (the personality component's test switches panic, allocate without bound, never
 *             answer, or fault there).
 *
 * unlinked, sparse and bigmap print exactly what Linux prints (the system test compares them
 * with the same binary on Linux); the others print what the group got, and the system test
 * checks the group's status (tools/systest/tests/linux_containment.rs). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/times.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The result of a call and its errno, printed in one line (printf's arguments are evaluated in
 * no fixed order, so the call must come first). */
#define SHOW(what, call)                                                                           \
    do {                                                                                           \
        errno = 0;                                                                                 \
        long r_ = (long)(call);                                                                    \
        int e_ = errno;                                                                            \
        printf("%s: %ld errno %d\n", what, r_, r_ < 0 ? e_ : 0);                                   \
    } while (0)

static long size_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (long)st.st_size : -errno;
}

static void unlinked(void) {
    char buf[32] = {0};
    int fd = open("scratch", O_CREAT | O_RDWR | O_TRUNC, 0600);
    printf("open: %d\n", fd >= 0);
    printf("write: %zd\n", write(fd, "hello\n", 6));
    printf("unlink: %d\n", unlink("scratch"));
    SHOW("open again", open("scratch", O_RDONLY));
    printf("lseek: %ld\n", (long)lseek(fd, 0, SEEK_SET));
    SHOW("read", read(fd, buf, 6));
    printf("%.6s", buf);
    printf("write more: %zd\n", write(fd, "world\n", 6));
    printf("size: %ld\n", size_of(fd));
    SHOW("pread", pread(fd, buf, 6, 6));
    printf("%.6s", buf);
    printf("close: %d\n", close(fd));
    SHOW("read after close", read(fd, buf, 1));

    int a = open("a", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(a, "AAA", 3);
    int c = open("c", O_CREAT | O_RDWR | O_TRUNC, 0600);
    write(c, "CCCC", 4);
    printf("rename a b: %d\n", rename("a", "b"));
    printf("rename b c: %d\n", rename("b", "c"));
    memset(buf, 0, sizeof buf);
    SHOW("old c through its fd", pread(c, buf, 8, 0));
    printf("%s\n", buf);
    memset(buf, 0, sizeof buf);
    SHOW("a through its fd", pread(a, buf, 8, 0));
    printf("%s\n", buf);
    int again = open("c", O_RDONLY);
    memset(buf, 0, sizeof buf);
    SHOW("c by name", read(again, buf, 8));
    printf("%s\n", buf);
    printf("write to old c: %zd\n", write(c, "more", 4));
    SHOW("size of old c", size_of(c));
    SHOW("size of c", size_of(again));
    close(a);
    close(c);
    close(again);
    SHOW("unlink c", unlink("c"));
    SHOW("unlink b", unlink("b"));
    printf("unlinked: done\n");
}

static void sparse(void) {
    char buf[64];
    int fd = open("s", O_CREAT | O_RDWR | O_TRUNC, 0600);
    printf("pwrite past the end: %zd\n", pwrite(fd, "x", 1, 100000));
    printf("size: %ld\n", size_of(fd));
    ssize_t n = pread(fd, buf, sizeof buf, 50);
    int zeros = 0;
    for (ssize_t i = 0; i < n; i++)
        zeros += buf[i] == 0;
    printf("hole: %zd bytes, %d zeros\n", n, zeros);
    SHOW("ftruncate down", ftruncate(fd, 10));
    SHOW("size", size_of(fd));
    SHOW("ftruncate up", ftruncate(fd, 200000));
    SHOW("size", size_of(fd));
    buf[0] = 1;
    SHOW("pread in the new hole", pread(fd, buf, 1, 150000));
    printf("byte %d\n", buf[0]);
    SHOW("ftruncate negative", ftruncate(fd, -1));
    close(fd);
    fd = open("s", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    SHOW("append", write(fd, "END", 3));
    SHOW("size", size_of(fd));
    close(fd);
    fd = open("s", O_RDWR | O_TRUNC);
    printf("O_TRUNC: size %ld\n", size_of(fd));
    printf("write: %zd\n", write(fd, "short\n", 6));
    close(fd);
    printf("truncate by name: %d\n", truncate("s", 3));
    fd = open("s", O_RDONLY);
    printf("size: %ld\n", size_of(fd));
    SHOW("ftruncate read-only", ftruncate(fd, 1));
    close(fd);
    printf("sparse: done\n");
}

#define MIB (1L << 20)

static void bigmap(void) {
    static char chunk[MIB];
    int fd = open("big", O_CREAT | O_RDWR | O_TRUNC, 0600);
    for (long m = 0; m < 17; m++) {
        for (long i = 0; i < MIB; i++)
            chunk[i] = (char)((m * 131 + i * 7) & 0xff);
        if (write(fd, chunk, MIB) != MIB) {
            printf("bigmap: write %ld failed, errno %d\n", m, errno);
            return;
        }
    }
    unsigned char *p = mmap(NULL, 17 * MIB, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        printf("bigmap: mmap failed, errno %d\n", errno);
        return;
    }
    unsigned long sum = 0;
    for (long i = 0; i < 17 * MIB; i += 4093)
        sum = sum * 31 + p[i];
    printf("bigmap: sum %lu, last byte %d\n", sum, p[17 * MIB - 1]);
    printf("munmap: %d\n", munmap(p, 17 * MIB));
    close(fd);
    printf("unlink: %d\n", unlink("big"));
    printf("bigmap: done\n");
}

static void fill(void) {
    static char chunk[MIB];
    memset(chunk, 'f', sizeof chunk);
    int fd = open("fill", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    long written = 0;
    for (;;) {
        ssize_t n = write(fd, chunk, MIB);
        if (n < 0) {
            printf("fill: refused after %ld MiB with errno %d\n", written / MIB, errno);
            break;
        }
        written += n;
        if (written > 4096 * MIB) {
            printf("fill: WRONG, 4 GiB written\n");
            break;
        }
    }
    close(fd);
    printf("fill: unlink %d\n", unlink("fill"));
    printf("fill: done\n");
}

static void big_writev(void) {
    static char chunk[MIB];
    static struct iovec iov[1024];
    for (int i = 0; i < 1024; i++)
        iov[i] = (struct iovec){chunk, MIB};
    int fd = open("w", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    printf("writev: %zd\n", writev(fd, iov, 1024));
    close(fd);
    unlink("w");
    printf("writev: done\n");
}

static void wrap(void) {
    void *p = mmap((void *)0xfffffffffffff000UL, 0x2000, PROT_READ,
                   MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("MAP_FIXED across the top: %s\n", p == MAP_FAILED ? "failed" : "WRONG: mapped");
    p = mmap(NULL, (size_t)-4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap of 2^64-4096 bytes: %s\n", p == MAP_FAILED ? "failed" : "WRONG: mapped");
    printf("munmap across the top: %s\n",
           munmap((void *)0xfffffffffffff000UL, 0x2000) ? "failed" : "accepted");
    printf("brk to the top: %s\n",
           syscall(SYS_brk, 0xfffffffffffff000UL) == 0xfffffffffffff000L ? "WRONG: moved" : "refused");
    int fd = open("wrapfile", O_CREAT | O_RDWR | O_TRUNC, 0600);
    printf("lseek past 2^63: %s\n", lseek(fd, 0x7fffffffffffffffL, SEEK_SET) >= 0 &&
                                            lseek(fd, 10, SEEK_CUR) >= 0
                                        ? "WRONG: moved"
                                        : "refused");
    char c;
    printf("pread at 2^63-1: %s\n", pread(fd, &c, 1, 0x7fffffffffffffffL) > 0 ? "WRONG" : "nothing");
    printf("pwrite at 2^63-1: %s\n", pwrite(fd, "x", 1, 0x7fffffffffffffffL) < 0 ? "refused" : "WRONG");
    close(fd);
    unlink("wrapfile");
    printf("wrap: done\n");
}

static void posix(void) {
    /* 15 nested directories of 255-byte names (NAME_MAX), then siblings in the deepest, each
     * name a path of about 4 KiB, until the file system refuses. */
    static char path[4200];
    int len = 0, made = 0, e = 0;
    for (int depth = 0; depth < 15; depth++) {
        if (len)
            path[len++] = '/';
        memset(path + len, 'a' + depth, 255);
        len += 255;
        path[len] = 0;
        if (mkdir(path, 0755) != 0) {
            printf("posix: mkdir at depth %d: errno %d\n", depth, errno);
            return;
        }
    }
    path[len++] = '/';
    for (;;) {
        snprintf(path + len, 32, "%d", made);
        if (mkdir(path, 0755) != 0) {
            e = errno;
            break;
        }
        if (++made > 100000)
            break;
    }
    printf("posix: %d directories of 4 KiB paths, then errno %d\n", made, e);
    memset(path, 'x', 256);
    path[256] = 0;
    SHOW("mkdir of a 256-byte name", mkdir(path, 0755));
    int fds[2];
    SHOW("pipe2", pipe2(fds, 0));
    static char chunk[1 << 16];
    long in = 0, n;
    while ((n = write(fds[1], chunk, sizeof chunk)) > 0)
        in += n;
    printf("posix: pipe took %ld bytes, then errno %d\n", in, errno);
    long out = 0;
    while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
        out += n;
    printf("posix: pipe gave %ld bytes, then errno %d\n", out, errno);
    struct pollfd p = {fds[0], POLLIN, 0};
    SHOW("poll of an empty pipe", poll(&p, 1, -1));
    SHOW("poll of 10^6 entries", syscall(SYS_ppoll, &p, 1000000, NULL, NULL, 8));
    SHOW("poll of a bad array", syscall(SYS_ppoll, (void *)16, 4, NULL, NULL, 8));
    SHOW("pselect6 of -1 descriptors", syscall(SYS_pselect6, -1, NULL, NULL, NULL, NULL, NULL));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    SHOW("getdents64 into a bad buffer", syscall(SYS_getdents64, dir, (void *)16, 4096));
    SHOW("getdents64 of 8 bytes", syscall(SYS_getdents64, dir, chunk, 8));
    int f = open("posixfile", O_CREAT | O_RDWR | O_TRUNC, 0600);
    memset(chunk, 'p', 1000);
    SHOW("write", write(f, chunk, 1000));
    SHOW("sendfile of 2^40 bytes", sendfile(1, f, &(off_t){990}, 1UL << 40));
    printf("\n");
    SHOW("fork", fork());
    SHOW("prctl PR_SET_NAME from a bad pointer", syscall(SYS_prctl, 15, (void *)16));
    close(f);
    unlink("posixfile");
    printf("posix: done\n");
}

static void vsyscall(int bad) {
#if defined(__x86_64__)
    if (bad) {
        ((void (*)(void))0xffffffffff600100UL)();
        printf("vsysbad: WRONG, returned\n");
        return;
    }
    long (*vtime)(long *) = (long (*)(long *))0xffffffffff600400UL;
    int (*vgettimeofday)(struct timeval *, void *) =
        (int (*)(struct timeval *, void *))0xffffffffff600000UL;
    long t = 0;
    long r = vtime(&t);
    long now = time(NULL);
    printf("vsyscall time: %s\n", r == t && now - r >= 0 && now - r <= 1 ? "agrees" : "WRONG");
    struct timeval tv;
    int g = vgettimeofday(&tv, NULL);
    printf("vsyscall gettimeofday: %s\n", g == 0 && tv.tv_sec - now >= 0 && tv.tv_sec - now <= 1 ? "agrees" : "WRONG");
    printf("vsyscall: done\n");
#else
    (void)bad;
    printf("vsyscall: none on this architecture\n");
#endif
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(what, "unlinked"))
        unlinked();
    else if (!strcmp(what, "sparse"))
        sparse();
    else if (!strcmp(what, "bigmap"))
        bigmap();
    else if (!strcmp(what, "fill"))
        fill();
    else if (!strcmp(what, "writev"))
        big_writev();
    else if (!strcmp(what, "wrap"))
        wrap();
    else if (!strcmp(what, "posix"))
        posix();
    else if (!strcmp(what, "vsyscall"))
        vsyscall(0);
    else if (!strcmp(what, "vsysbad"))
        vsyscall(1);
    else if (!strcmp(what, "loop"))
        for (;;)
            getppid();
    else if (!strcmp(what, "panic")) {
        struct rusage ru;
        printf("getrusage: %d\n", getrusage(RUSAGE_SELF, &ru));
    } else if (!strcmp(what, "hog"))
        printf("umask: %o\n", umask(022));
    else if (!strcmp(what, "fault"))
        printf("sched_yield: %d\n", sched_yield());
    else if (!strcmp(what, "spin")) {
        struct tms t;
        printf("times: %ld\n", (long)times(&t));
    }
    else {
        printf("abuse: no case %s\n", what);
        return 2;
    }
    return 0;
}
