/*
 * spawn.c — times a whole program: runs a command with its stdout discarded,
 * waits for it and prints one RESULT line with its wall time and its peak
 * resident set (wait4's ru_maxrss of the child). Used for the toyvm
 * workload, where the program under test is an executable of its own
 * (build/examples/toyvm/toyvm and toyvm-bdwgc) rather than a workload
 * compiled against bench_backend.h.
 *
 * Usage: bench_spawn NAME SYSTEM COMMAND [ARG...]
 *
 *   RESULT name=NAME system=SYSTEM unit=s value=<wall seconds> maxrss_kb=<child's>
 *
 * A child that exits non-zero or dies by a signal makes bench_spawn fail
 * with its status and print no RESULT line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s NAME SYSTEM COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    double start = bench_now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        execvp(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 1;
    }
    double elapsed = bench_now() - start;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: %s failed (status %#x)\n", argv[0], argv[3], status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    printf("RESULT name=%s system=%s unit=s value=%.6f maxrss_kb=%ld\n", argv[1], argv[2],
           elapsed, ru.ru_maxrss);
    return 0;
}
