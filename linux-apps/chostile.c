/* A hostile Linux program: wild pointers, huge lengths, unknown system calls, mapping until the
 * memory quota refuses, and system calls made with seL4's own call numbers in the registers seL4
 * reads them from (rdx on x86_64, x7 on aarch64). Each case prints what it got; the system test
 * checks every line and that the master carries on (tools/systest). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failures;

static void expect(const char *what, long got, long want) {
    printf("%s: %ld %s\n", what, got, got == want ? "ok" : "WRONG");
    failures += got != want;
}

/* getpid with `n` in the register seL4 takes its call number from; on x86_64 also whether the
 * stack pointer survived the call. */
static long getpid_with(long n, long *sp_moved) {
    long ret;
#if defined(__x86_64__)
    long before, after;
    __asm__ volatile("mov %%rsp, %1\n\tsyscall\n\tmov %%rsp, %2"
                     : "=a"(ret), "=&r"(before), "=&r"(after)
                     : "a"((long)SYS_getpid), "d"(n)
                     : "rcx", "r11", "memory");
    *sp_moved = after - before;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = SYS_getpid;
    register long x7 __asm__("x7") = n;
    register long x0 __asm__("x0");
    __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8), "r"(x7) : "memory");
    ret = x0;
    *sp_moved = 0;
#endif
    return ret;
}

int main(void) {
    char buf[16] = "0123456789abcdef";
    expect("write from a wild pointer", syscall(SYS_write, 1, (void *)0x10, 10) == -1 ? errno : 0, EFAULT);
    expect("write of a huge length", syscall(SYS_write, 1, buf, 1L << 40) == -1 ? errno : 0, EFAULT);
    expect("read into a wild pointer", syscall(SYS_read, 0, (void *)-4096L, 10) == -1 ? errno : 0, EFAULT);
    expect("read into the code", syscall(SYS_read, 0, (void *)main, 10) == -1 ? errno : 0, EFAULT);
    expect("open of a wild path", syscall(SYS_openat, AT_FDCWD, (void *)0x20, 0) == -1 ? errno : 0, EFAULT);
    expect("close of a bad descriptor", close(99) == -1 ? errno : 0, EBADF);
    expect("unknown system call 5000", syscall(5000) == -1 ? errno : 0, ENOSYS);
    expect("socket", syscall(SYS_socket, 2, 1, 0) == -1 ? errno : 0, ENOSYS);

    long pid = getpid();
    for (long n = -1; n >= -12; n--) {
        long moved;
        char what[64];
        long got = getpid_with(n, &moved);
        snprintf(what, sizeof what, "getpid with seL4 number %ld in the register", n);
        expect(what, got, pid);
        if (moved) {
            printf("stack pointer moved by %ld across the call: WRONG\n", moved);
            failures++;
        }
    }

    size_t chunks = 0;
    for (; chunks < 1024; chunks++) {
        void *p = mmap(0, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            printf("mmap refused after %zu MiB: %s\n", chunks * 4, strerror(errno));
            break;
        }
        memset(p, 1, 4096);
    }
    expect("mapping ends with ENOMEM", errno, ENOMEM);
    printf("hostile: %d wrong\n", failures);
    return failures;
}
