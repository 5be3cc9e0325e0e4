/*
 * cleanup.c: what a job made goes away when the job is stopped by a signal.
 *
 * A job interrupted by SIGINT, SIGTERM or SIGHUP (Ctrl-C, `kill`, mpirun passing a signal on
 * to its ranks, a batch system ending a step) cleans up as a failed job does: each process
 * keeps a small table of the paths it made in this run (rank 0: the new output directory or
 * the staging directory beside an old one, and the output's lock file; every rank: its spill
 * directory; a multi-round driver: its work directory). The signal handler removes them with
 * system calls that are safe in a handler (openat, getdents64, unlinkat), then restores the
 * default action and raises the signal again, so the process dies of it and its launcher sees
 * why. The table is fixed-size and filled before the paths exist, so the handler allocates
 * nothing and never reads a half-written entry.
 *
 * The swap of an old output for a new one (two renames) is held: a signal arriving then waits
 * until the swap is done, so an output is always either the old one or the new one. A process
 * killed outright (SIGKILL) cannot clean; the next job sweeps what it left (commit.c, job.c).
 *
 * sheaf_main installs the handler; a program calling sheaf_run itself keeps its own signal
 * handling. sheaf_workdir_create makes the private directories of multi-round drivers, fresh
 * (mkdtemp, mode 0700) and in the table.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NSLOTS 16

static struct {
    atomic_int used; /* 0 free, 1 being filled, 2 registered */
    char path[4096];
} slots[NSLOTS];

static atomic_int held;     /* inside a swap: signals wait */
static atomic_int pending;  /* the signal that arrived while held */
static atomic_int installed;

/* Removes name (relative to dirfd) and, for a directory, everything below it, without
 * following symbolic links; a few passes in case a rank still adds files. */
static void remove_at(int dirfd, const char *name, int depth) {
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT || depth > 32)
        return;
    for (int pass = 0; pass < 4; pass++) {
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return;
        char buf[4096];
        long n;
        while ((n = (long)getdents64(fd, buf, sizeof buf)) > 0) {
            for (long off = 0; off < n;) {
                const struct dirent64 *e = (const struct dirent64 *)(void *)(buf + off);
                off += e->d_reclen;
                if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                    remove_at(fd, e->d_name, depth + 1);
            }
        }
        close(fd);
        if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
            return;
    }
}

static void remove_all(void) {
    for (int i = 0; i < NSLOTS; i++)
        if (atomic_load(&slots[i].used) == 2)
            remove_at(AT_FDCWD, slots[i].path, 0);
}

static void die(int sig) {
    remove_all();
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig);
}

static void on_signal(int sig) {
    int saved = errno;
    if (atomic_load(&held)) {
        atomic_store(&pending, sig);
        errno = saved;
        return;
    }
    die(sig);
}

void sheaf__signals_install(void) {
    if (atomic_exchange(&installed, 1))
        return;
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old, sa;
        /* A signal the process was told to ignore (nohup) stays ignored. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigfillset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

int sheaf__cleanup_add(const char *path) {
    if (!path || !*path || strlen(path) >= sizeof slots[0].path)
        return 0;
    for (int i = 0; i < NSLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&slots[i].used, &expect, 1)) {
            snprintf(slots[i].path, sizeof slots[i].path, "%s", path);
            atomic_store(&slots[i].used, 2);
            return i + 1;
        }
    }
    return 0;
}

void sheaf__cleanup_drop(int slot) {
    if (slot >= 1 && slot <= NSLOTS)
        atomic_store(&slots[slot - 1].used, 0);
}

void sheaf__cleanup_hold(bool on) {
    if (on) {
        atomic_store(&held, 1);
        return;
    }
    atomic_store(&held, 0);
    int sig = atomic_exchange(&pending, 0);
    if (sig)
        die(sig);
}

SHEAF_EXTERN int sheaf_workdir_create(const char *parent, const char *prefix, char *path,
                                      size_t n) {
    if (!parent || !prefix || snprintf(path, n, "%s/%sXXXXXX", parent, prefix) >= (int)n) {
        errno = ENAMETOOLONG;
        return SHEAF_EINVAL;
    }
    if (!mkdtemp(path))
        return errno == ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO;
    sheaf__cleanup_add(path);
    return 0;
}

SHEAF_EXTERN int sheaf_workdir_remove(const char *path, int keep) {
    for (int i = 0; i < NSLOTS; i++)
        if (atomic_load(&slots[i].used) == 2 && strcmp(slots[i].path, path) == 0)
            sheaf__cleanup_drop(i + 1);
    return keep ? 0 : sheaf__rmtree(path);
}

void sheaf__fault_pause(const char *where) {
    const char *f = getenv("SHEAF_FAULT");
    size_t n = strlen(where);
    if (!f || strncmp(f, "pause-", 6) != 0 || strncmp(f + 6, where, n) != 0 || f[6 + n] != ':')
        return;
    /* SHEAF_FAULT=pause-WHERE:SECONDS holds rank 0 there (tests of the windows between steps);
     * SHEAF_FAULT=kill-WHERE: kills it there (see commit.c). */
    unsigned s = (unsigned)atoi(f + 7 + n);
    while (s)
        s = sleep(s);
}

void sheaf__fault_kill(const char *where) {
    const char *f = getenv("SHEAF_FAULT");
    if (f && strncmp(f, "kill-", 5) == 0 && strcmp(f + 5, where) == 0)
        raise(SIGKILL);
}
