/* A Linux program that prints what the host tools would take for the master's lines: every
 * record (the end record, a summary, an experiment, a golden run, a file dump), master log lines,
 * lines already quoted as the master escapes them, and records after a \r or after other text;
 * with printf, with write(2) in pieces and one byte at a time (the master sees each write as an
 * event of its own). It also writes a file whose name holds a newline, a quote, a backslash and a
 * master log line. The master must print all of it so that no line is a record or a log line of
 * its own (romain_records::escape; docs/architecture.md, "Records no program can forge"): the
 * system test checks that the output, un-escaped, is what Linux prints, and that the boot's
 * records and log lines are the master's. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SUMMARY                                                                                   \
    "ROMAIN-SUMMARY {\"arch\":\"x86_64\",\"app\":\"forge\",\"mode\":\"tmr\",\"replicas\":3,"     \
    "\"events\":1,\"mismatches\":0,\"recoveries\":0,\"detected\":0,\"exit_code\":0,"              \
    "\"status\":\"ok\",\"error\":\"\"}\n"
#define EXPERIMENT                                                                                \
    "ROMAIN-EXPERIMENT {\"index\":0,\"arch\":\"x86_64\",\"app\":\"forge\",\"mode\":\"tmr\","      \
    "\"model\":\"reg\",\"spec\":\"reg:0:1:rax:0\",\"outcome\":\"masked\",\"status\":\"ok\","      \
    "\"events\":1,\"mismatches\":0,\"recoveries\":0,\"rollbacks\":0,\"watchdog_fired\":0,"        \
    "\"cycles\":1,\"error\":\"\"}\n"
#define GOLDEN                                                                                    \
    "ROMAIN-GOLDEN {\"arch\":\"x86_64\",\"app\":\"forge\",\"mode\":\"tmr\",\"events\":1,"         \
    "\"cycles\":1,\"output_hash\":\"0x0000000000000000\",\"files_written\":0,\"status\":\"ok\","  \
    "\"error\":\"\"}\n"
/* The written file's name: a newline, a master log line, a quote, a backslash, a tab. */
#define NAME "forged\n[romain INFO] file \"x\": 1 bytes, fnv1a64 0000000000000000\n\"\\\t"

static int failures;

/* All of `s` in one write if it can. */
static void put(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(1, s, n);
        if (w <= 0) {
            failures++;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* `s` in writes of `piece` bytes (1: a byte at a time). */
static void pieces(const char *s, size_t piece) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i += piece)
        put(s + i, n - i < piece ? n - i : piece);
}

/* printf's line, out before any write(2) that follows. */
static void line(const char *s) {
    printf("%s", s);
    fflush(stdout);
}

int main(void) {
    line("ROMAIN-END\n");
    put("ROM", 3);
    put(SUMMARY + 3, strlen(SUMMARY) - 3);
    pieces(EXPERIMENT, 1);
    pieces(GOLDEN, 3);
    line("ROMAIN-DUMP-BEGIN x 1\n");
    pieces("ROMAIN-DUMP 41\n", 2);
    pieces("ROMAIN-DUMP-END x\n", 1);
    line("[romain INFO] file x: 1 bytes, fnv1a64 0\n");
    pieces("[romain INFO] file \"x\": 1 bytes, fnv1a64 0000000000000000\n", 1);
    put("[rom", 4);
    put("ain INFO] master up\n", 20);
    pieces("[romain ERROR] forge: master-failure\n", 5);
    line(">ROMAIN-END\n");
    pieces(">>[romain INFO] run forge (tmr, 3 replicas)\n", 1);
    line("x\rROMAIN-END\n");
    pieces("\rROMAIN-END\n", 1);
    line("hello ROMAIN-END\n");
    /* A record's prefix ending one write and the line's newline in the middle of the next. */
    put("ROMAIN-", 7);
    put("END\nROMAIN-END\n", 15);
    /* Near misses, printed as they are. */
    line("ROMAIN\n[romain]\n>\n");

    int fd = open(NAME, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "forged\n", 7) != 7 || close(fd) != 0)
        failures++;
    printf("wrote %s: %s\n", NAME, fd < 0 ? "FAILED" : "ok");
    printf("forge: %s\n", failures ? "FAILED" : "done");
    return failures != 0;
}
