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
 * until the swap is done, so an output is always either the old one or the new one.
 *
 * A process killed outright cannot clean, and mpirun, told to stop a job, sends its ranks
 * SIGTERM and SIGKILL a few milliseconds apart. So sheaf_main also starts, before MPI, a
 * janitor: a child in a session of its own (mpirun's kills do not reach it), holding one end of
 * a socket pair, to which each registration and removal is sent as a message. When the job's
 * process goes, however it goes, the janitor reads the end of the socket, removes the paths
 * still registered, and exits. A job that starts commands of its own (the stream job) registers
 * their process groups too (sheaf_janitor_add_group), and the janitor stops them (SIGTERM,
 * then SIGKILL after a grace period) before it removes the paths their commands may still be
 * writing in. A process that ends normally has nothing registered left. What
 * survives even that (the janitor killed too, a node lost) the next job sweeps: see commit.c
 * (stale staging, an old output cut off in a swap) and job.c (spill directories of dead jobs).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define NSLOTS 16
#define MAX_GROUPS 64        /* process groups the janitor stops */
#define GROUP_GRACE_MS 2000  /* SIGTERM to SIGKILL for a group */

static struct {
    atomic_int used; /* 0 free, 1 being filled, 2 registered */
    int janitor;     /* SHEAF__JANITOR_*: also told to the janitor */
    char path[4096];
} slots[NSLOTS];

static int janitor = -1; /* the socket to the janitor, or -1 */

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

/* Tells the janitor: '+' and a path to remove if this process goes, '-' to forget it. */
static void tell_janitor(char op, const char *path) {
    char msg[sizeof slots[0].path + 1];
    if (janitor < 0)
        return;
    msg[0] = op;
    size_t n = strlen(path);
    memcpy(msg + 1, path, n);
    while (send(janitor, msg, n + 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
        continue;
}

int sheaf__cleanup_add(const char *path, int janitor_kind) {
    if (!path || !*path)
        return 0;
    char abs[sizeof slots[0].path], cwd[sizeof slots[0].path];
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)) {
        if (snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
            return 0;
    } else if (snprintf(abs, sizeof abs, "%s", path) >= (int)sizeof abs) {
        return 0;
    }
    for (int i = 0; i < NSLOTS; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&slots[i].used, &expect, 1)) {
            snprintf(slots[i].path, sizeof slots[i].path, "%s", abs);
            slots[i].janitor = janitor_kind;
            if (janitor_kind)
                tell_janitor(janitor_kind == SHEAF__JANITOR_LOCK ? 'L' : '+', abs);
            atomic_store(&slots[i].used, 2);
            return i + 1;
        }
    }
    return 0;
}

void sheaf__cleanup_drop(int slot) {
    if (slot < 1 || slot > NSLOTS || atomic_load(&slots[slot - 1].used) != 2)
        return;
    if (slots[slot - 1].janitor)
        tell_janitor('-', slots[slot - 1].path);
    atomic_store(&slots[slot - 1].used, 0);
}

/* Stops the process groups pg[0..n): SIGTERM (and SIGCONT, for a stopped member), then SIGKILL
 * for what is left after the grace period. The janitor is not their parent, so a member that
 * exited stays until its new parent reaps it; the wait is bounded either way. */
static void stop_groups(const pid_t *pg, size_t n) {
    for (size_t i = 0; i < n; i++) {
        kill(-pg[i], SIGTERM);
        kill(-pg[i], SIGCONT);
    }
    for (int ms = 0; ms < GROUP_GRACE_MS; ms += 5) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = kill(-pg[i], 0) == 0;
        if (!any)
            return;
        usleep(5000);
    }
    for (size_t i = 0; i < n; i++)
        kill(-pg[i], SIGKILL);
    for (int ms = 0; ms < 200; ms++) {
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = kill(-pg[i], 0) == 0;
        if (!any)
            return;
        usleep(1000);
    }
}

/* The janitor's life: registrations until the socket ends, then the process groups stopped
 * (their commands may still write in a registered directory) and the removals. */
static _Noreturn void janitor_main(int fd) {
    char **paths = NULL;
    size_t n = 0, cap = 0;
    pid_t groups[MAX_GROUPS];
    size_t ngroups = 0;
    char msg[sizeof slots[0].path + 2];
    for (;;) {
        ssize_t len = recv(fd, msg, sizeof msg - 1, 0);
        if (len < 0 && errno == EINTR)
            continue;
        if (len <= 0)
            break;
        msg[len] = '\0';
        if (msg[0] == 'G' || msg[0] == 'g') {
            long pg = strtol(msg + 1, NULL, 10);
            size_t i = 0;
            while (i < ngroups && groups[i] != (pid_t)pg)
                i++;
            if (msg[0] == 'G' && i == ngroups && ngroups < MAX_GROUPS && pg > 1)
                groups[ngroups++] = (pid_t)pg;
            else if (msg[0] == 'g' && i < ngroups)
                groups[i] = groups[--ngroups];
        } else if (msg[0] == '+' || msg[0] == 'L') {
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                char **p = realloc(paths, cap * sizeof *p);
                if (!p)
                    continue;
                paths = p;
            }
            if ((paths[n] = strdup(msg)))
                n++;
        } else if (msg[0] == '=') { /* the job ended and cleaned up itself */
            for (size_t i = 0; i < n; i++)
                free(paths[i]);
            n = 0;
            ngroups = 0;
        } else if (msg[0] == '-') {
            for (size_t i = n; i-- > 0;) {
                if (strcmp(paths[i] + 1, msg + 1) == 0) {
                    free(paths[i]);
                    paths[i] = paths[--n];
                    break;
                }
            }
        }
    }
    stop_groups(groups, ngroups);
    for (size_t i = 0; i < n; i++) {
        if (paths[i][0] == '+') {
            remove_at(AT_FDCWD, paths[i] + 1, 0);
            continue;
        }
        /* A lock file goes as its holder removes it: locked, and still the file under that
         * name; when another job holds it now, it is that job's to remove. */
        int lfd = open(paths[i] + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        struct stat a, b;
        if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0 && fstat(lfd, &a) == 0 &&
            stat(paths[i] + 1, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            unlink(paths[i] + 1);
        if (lfd >= 0)
            close(lfd);
    }
    _exit(0);
}

void sheaf__janitor_start(void) {
    int sv[2];
    if (janitor >= 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (pid == 0) {
        /* Out of the job's process group and session, deaf to the signals that stop the job,
         * holding nothing of the parent's but its end of the socket, and named for what it is
         * (its command line stays the job's: ps -o comm shows the name). */
        setsid();
        prctl(PR_SET_NAME, "sheaf-janitor");
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null = open("/dev/null", O_RDWR);
        for (int fd = 0; fd < 3 && null >= 0; fd++)
            dup2(null, fd);
        if (dup2(sv[1], 3) == 3) {
            long max = sysconf(_SC_OPEN_MAX);
            for (int fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
                close(fd);
            janitor_main(3);
        }
        _exit(0);
    }
    close(sv[1]);
    /* A janitor that stopped reading (SIGSTOP) does not hold the job for ever. */
    struct timeval tv = {10, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    janitor = sv[0];
}

/* Sends 'G' or 'g' and the decimal pgid, with async-signal-safe calls only. */
static void tell_group(char op, pid_t pgid) {
    char msg[32];
    char digits[24];
    int nd = 0;
    unsigned long v = pgid > 0 ? (unsigned long)pgid : 0;
    do {
        digits[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && nd < (int)sizeof digits);
    msg[0] = op;
    for (int i = 0; i < nd; i++)
        msg[1 + i] = digits[nd - 1 - i];
    if (janitor < 0 || pgid <= 1)
        return;
    int saved = errno;
    while (send(janitor, msg, (size_t)nd + 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
        continue;
    errno = saved;
}

SHEAF_EXTERN void sheaf_janitor_add_group(pid_t pgid) {
    tell_group('G', pgid);
}

SHEAF_EXTERN void sheaf_janitor_drop_group(pid_t pgid) {
    tell_group('g', pgid);
}

void sheaf__janitor_done(void) {
    for (int i = 0; i < NSLOTS; i++)
        if (atomic_load(&slots[i].used) == 2 && slots[i].janitor)
            return; /* still registered: a program that goes on with its own paths */
    tell_janitor('=', "");
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
    sheaf__cleanup_add(path, SHEAF__JANITOR_TREE);
    return 0;
}

SHEAF_EXTERN int sheaf_workdir_remove(const char *path, int keep) {
    char abs[sizeof slots[0].path], cwd[sizeof slots[0].path];
    int n = path[0] != '/' && getcwd(cwd, sizeof cwd)
                ? snprintf(abs, sizeof abs, "%s/%s", cwd, path)
                : snprintf(abs, sizeof abs, "%s", path);
    /* A path too long for a slot was never registered: nothing to drop. */
    for (int i = 0; n >= 0 && n < (int)sizeof abs && i < NSLOTS; i++)
        if (atomic_load(&slots[i].used) == 2 && strcmp(slots[i].path, abs) == 0)
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
