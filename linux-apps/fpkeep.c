/* A result that lives in an FP/SIMD register across system calls: d8 (aarch64, preserved
 * across calls by the ABI) or xmm8 (x86_64). Each of ROUNDS rounds updates the register
 * (v = v * 1.5 + 0.25) and then makes a write system call, in one asm block, so nothing but
 * the register carries the value from one call to the next. A replica whose register is
 * flipped, or re-executed from a checkpoint without its FP/SIMD state, prints another value.
 * The value is also printed through printf, which computes the decimal digits in doubles. */
#include <stdio.h>

#define ROUNDS 40

static const char tick[] = "tick\n";

int main(void)
{
	double v;
#if defined(__aarch64__)
	asm volatile(
		"fmov d8, #1.0\n"
		"mov x19, %[rounds]\n"
		"1:\n"
		"fmov d9, #1.5\n"
		"fmul d8, d8, d9\n"
		"fmov d9, #0.25\n"
		"fadd d8, d8, d9\n"
		"mov x0, #1\n"
		"mov x1, %[tick]\n"
		"mov x2, #5\n"
		"mov x8, #64\n" /* write */
		"svc #0\n"
		"subs x19, x19, #1\n"
		"b.ne 1b\n"
		"fmov %d[v], d8\n"
		: [v] "=w"(v)
		: [rounds] "r"((long)ROUNDS), [tick] "r"(tick)
		: "x0", "x1", "x2", "x8", "x19", "v8", "v9", "memory", "cc");
#elif defined(__x86_64__)
	static const double one = 1.0, k = 1.5, c = 0.25;
	asm volatile(
		"movsd %[one], %%xmm8\n"
		"mov %[rounds], %%r12d\n"
		"1:\n"
		"mulsd %[k], %%xmm8\n"
		"addsd %[c], %%xmm8\n"
		"mov $1, %%eax\n" /* write */
		"mov $1, %%edi\n"
		"mov %[tick], %%rsi\n"
		"mov $5, %%edx\n"
		"syscall\n"
		"dec %%r12d\n"
		"jnz 1b\n"
		"movsd %%xmm8, %[v]\n"
		: [v] "=m"(v)
		: [one] "m"(one), [k] "m"(k), [c] "m"(c), [rounds] "i"(ROUNDS), [tick] "r"(tick)
		: "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r12", "xmm8", "memory", "cc");
#else
#error "aarch64 or x86_64"
#endif
	printf("after %d rounds: %.17g\n", ROUNDS, v);
	return 0;
}
