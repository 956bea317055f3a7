/* The calls that real static programs make, used the way they use them, in one program whose
 * every line must read the same on Linux and under the Linux personality: directories and their
 * listings, device files, pipes (non-blocking, so that Linux does not wait either), poll,
 * select, epoll and eventfd, sendfile, hard links, vector I/O at a position, SEEK_DATA and
 * SEEK_HOLE, modes, the process group, prctl names. Only behaviour is printed, never what
 * differs between machines (inode numbers, times, ids, file system types). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* A call's result, or its errno's name. */
static void show(const char *what, long r) {
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else
        printf("%s: %ld\n", what, r);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void directories(void) {
    int start = open(".", O_RDONLY | O_DIRECTORY);
    show("mkdir dd", mkdir("dd", 0755));
    show("mkdir dd again", mkdir("dd", 0755));
    show("mkdir no/x", mkdir("no/x", 0755));
    int f = open("dd/f", O_CREAT | O_WRONLY, 0644);
    show("create dd/f", f >= 0 ? 0 : -1);
    close(f);
    show("mkdir dd/f/x", mkdir("dd/f/x", 0755));
    show("open in a missing directory", open("no/f", O_CREAT | O_WRONLY, 0644));
    show("chdir dd", chdir("dd"));
    char cwd[4096];
    const char *base = getcwd(cwd, sizeof cwd) ? strrchr(cwd, '/') : NULL;
    printf("cwd ends with: %s\n", base ? base : "(none)");
    show("open f here", open("f", O_RDONLY) >= 0 ? 0 : -1);
    show("chdir ..", chdir(".."));
    show("rmdir dd (not empty)", rmdir("dd"));
    show("unlink dd", unlink("dd"));
    show("unlink dd/f", unlink("dd/f"));
    show("rmdir dd", rmdir("dd"));
    show("rmdir dd again", rmdir("dd"));

    mkdir("ls", 0755);
    close(open("ls/b", O_CREAT | O_WRONLY, 0644));
    close(open("ls/a", O_CREAT | O_WRONLY, 0644));
    mkdir("ls/c", 0755);
    DIR *d = opendir("ls");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 16) {
        char *s = malloc(300);
        snprintf(s, 300, "%s(%s)", e->d_name,
                 e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file" : "other");
        names[n++] = s;
    }
    qsort(names, n, sizeof *names, by_name);
    printf("ls:");
    for (int i = 0; i < n; i++)
        printf(" %s", names[i]);
    printf("\n");
    int dfd = dirfd(d);
    show("openat a under ls", openat(dfd, "a", O_RDONLY) >= 0 ? 0 : -1);
    show("getdents64 of 8 bytes", syscall(SYS_getdents64, dfd, cwd, 8));
    show("fchdir ls", fchdir(dfd));
    show("access b", access("b", R_OK));
    show("fchdir back", fchdir(start));
    close(start);
    closedir(d);
}

static void devices(void) {
    char buf[64];
    int null = open("/dev/null", O_RDWR);
    show("read /dev/null", read(null, buf, sizeof buf));
    show("write /dev/null", write(null, "abc", 3));
    int zero = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    long r = read(zero, buf, 16);
    printf("read /dev/zero: %ld, zeros: %s\n", r, memcmp(buf, (char[16]){0}, 16) ? "no" : "yes");
    int full = open("/dev/full", O_WRONLY);
    show("write /dev/full", write(full, "x", 1));
    int ur = open("/dev/urandom", O_RDONLY);
    show("read /dev/urandom", read(ur, buf, 32));
    show("open /dev/nothing", open("/dev/nothing", O_RDONLY));
    struct stat st;
    stat("/dev/null", &st);
    printf("/dev/null is a character device: %s\n", S_ISCHR(st.st_mode) ? "yes" : "no");
}

static void pipes(void) {
    int p[2];
    show("pipe2", pipe2(p, O_NONBLOCK));
    char buf[4096];
    show("read an empty pipe", read(p[0], buf, 10));
    show("write 100", write(p[1], buf, 100));
    show("read 30", read(p[0], buf, 30));
    struct pollfd pf[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {99, POLLIN, 0}};
    show("poll", poll(pf, 3, 0));
    printf("revents: %d %d %d\n", pf[0].revents, pf[1].revents, pf[2].revents);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 0};
    show("select", select(p[0] + 1, &rs, NULL, NULL, &tv));
    long total = 0, w;
    memset(buf, 'p', sizeof buf);
    while ((w = write(p[1], buf, sizeof buf)) > 0)
        total += w;
    printf("filled: %s, then %s\n", total > 0 ? "yes" : "no", strerrorname_np(errno));
    close(p[1]);
    long got = 0;
    while ((w = read(p[0], buf, sizeof buf)) > 0)
        got += w;
    printf("drained all: %s, then %ld\n", got == total + 70 ? "yes" : "no", w);
    struct pollfd h = {p[0], POLLIN, 0};
    show("poll after the writer closed", poll(&h, 1, 0));
    printf("revents: %d\n", h.revents);
    int q[2];
    pipe(q);
    close(q[0]);
    signal(SIGPIPE, SIG_IGN);
    show("write with no reader", write(q[1], "x", 1));
    show("lseek on a pipe", lseek(p[0], 0, SEEK_SET));
}

static void events(void) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int ev = eventfd(0, EFD_NONBLOCK);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 42};
    show("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
    show("epoll_ctl add again", epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e));
    struct epoll_event out[4];
    show("epoll_wait, nothing ready", epoll_wait(ep, out, 4, 0));
    uint64_t v = 3;
    show("eventfd write", write(ev, &v, 8));
    int n = epoll_wait(ep, out, 4, 0);
    printf("epoll_wait: %d, data %llu, events %u\n", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL,
           n > 0 ? out[0].events : 0);
    v = 0;
    show("eventfd read", read(ev, &v, 8));
    printf("eventfd value: %llu\n", (unsigned long long)v);
    show("eventfd read again", read(ev, &v, 8));
    int f = open("calls-file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("epoll_ctl add a file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &e));
    show("epoll_ctl del what is not there", epoll_ctl(ep, EPOLL_CTL_DEL, f, NULL));
    show("epoll_wait of 0 events", epoll_wait(ep, out, 0, 0));
    close(f);
}

static void files(void) {
    int f = open("calls-file", O_RDWR);
    show("write", write(f, "0123456789", 10));
    char a[3], b[4];
    struct iovec iov[2] = {{a, 3}, {b, 4}};
    show("preadv at 2", preadv(f, iov, 2, 2));
    printf("read: %.3s %.4s\n", a, b);
    struct iovec wv = {"XY", 2};
    show("pwritev at 10", pwritev(f, &wv, 1, 10));
    show("lseek SEEK_DATA 0", lseek(f, 0, SEEK_DATA));
    show("lseek SEEK_DATA 20", lseek(f, 20, SEEK_DATA));
    show("lseek SEEK_HOLE 3", lseek(f, 3, SEEK_HOLE));
    show("lseek SEEK_END", lseek(f, 0, SEEK_END));
    /* sendfile from a file nothing changes afterwards: into a pipe Linux passes the file's
     * pages themselves (splice), so truncating the file before the reader reads them would
     * change what it reads. */
    int src = open("calls-send", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(src, "0123456789XY", 12);
    off_t off = 8;
    fflush(stdout);
    long s = sendfile(1, src, &off, 100);
    printf("\n");
    show("sendfile", s);
    printf("sendfile offset: %ld\n", (long)off);
    close(src);
    show("link", link("calls-file", "calls-link"));
    show("link again", link("calls-file", "calls-link"));
    struct stat st;
    fstat(f, &st);
    printf("links: %ld\n", (long)st.st_nlink);
    unlink("calls-file");
    fstat(f, &st);
    printf("links after unlink: %ld\n", (long)st.st_nlink);
    show("fchmod 0600", fchmod(f, 0600));
    fstat(f, &st);
    printf("mode: %o\n", st.st_mode & 07777);
    show("ftruncate 4", ftruncate(f, 4));
    show("utimensat", utimensat(AT_FDCWD, "calls-link", NULL, 0));
    show("fsync", fsync(f));
    struct statfs sf;
    show("statfs", statfs(".", &sf));
    show("creat", creat("calls-new", 0644) >= 0 ? 0 : -1);
    show("rename onto a directory", rename("calls-new", "ls"));
    close(f);
}

static void process(void) {
    printf("process group is the process's: %s\n", getpgid(0) == getpgrp() ? "yes" : "no");
    show("getpgid of no process", getpgid(999999));
    show("wait4", wait4(-1, NULL, WNOHANG, NULL));
    show("prctl set name", prctl(PR_SET_NAME, "corpus-calls"));
    char name[16] = {0};
    prctl(PR_GET_NAME, name);
    printf("name: %s\n", name);
    show("setuid to itself", setuid(getuid()));
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("real, effective and saved ids agree: %s\n", r == e && e == s ? "yes" : "no");
    umask(077);
    printf("umask: %o\n", umask(022));
    struct tms t;
    printf("times: %s\n", times(&t) != (clock_t)-1 ? "ok" : "failed");
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    directories();
    devices();
    pipes();
    events();
    files();
    process();
    printf("calls: done\n");
    return 0;
}
