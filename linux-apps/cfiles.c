/* A small C program for the Linux personality: files, stdin, the heap (brk and mmap), qsort,
 * floating point and stdio, with nothing the master cannot replicate. Its output and the file
 * it writes are compared against Linux running the same binary (tools/systest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int cmp(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *in = argc > 1 ? argv[1] : "input.txt";
    FILE *f = fopen(in, "rb");
    if (!f) {
        perror(in);
        return 2;
    }
    unsigned long sum = 0, lines = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        sum = sum * 31 + (unsigned char)c;
        lines += c == '\n';
    }
    fclose(f);
    printf("%s: %lu lines, checksum %lx\n", in, lines, sum);

    /* stdin, if the run gives one. */
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf, stdin);
    printf("stdin: %zu bytes\n", n);

    /* A large allocation (mmap in glibc) and a sort of it (qsort asks sysinfo). */
    size_t count = 300000;
    unsigned *v = malloc(count * sizeof *v);
    unsigned x = 12345;
    for (size_t i = 0; i < count; i++) {
        x = x * 1103515245 + 12345;
        v[i] = x >> 8;
    }
    qsort(v, count, sizeof *v, cmp);
    printf("sorted: min %u median %u max %u\n", v[0], v[count / 2], v[count - 1]);
    free(v);

    /* Floating point through the FP/SIMD registers. */
    double acc = 0;
    for (int i = 1; i <= 1000; i++)
        acc += sqrt((double)i) / i;
    printf("float: %.9f\n", acc);

    /* Many small allocations (brk). */
    char *chain[1000];
    for (int i = 0; i < 1000; i++) {
        chain[i] = malloc(64 + i);
        memset(chain[i], i, 64 + i);
    }
    unsigned long s2 = 0;
    for (int i = 0; i < 1000; i++) {
        s2 += (unsigned char)chain[i][i % 64];
        free(chain[i]);
    }
    printf("heap: %lu\n", s2);

    FILE *out = fopen("out.txt", "w");
    if (!out) {
        perror("out.txt");
        return 3;
    }
    for (int i = 0; i < 100; i++)
        fprintf(out, "%d %u\n", i, (unsigned)(sum >> (i % 32)));
    fclose(out);
    fprintf(stderr, "done\n");
    return 0;
}
