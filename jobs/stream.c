/*
 * stream.c: Hadoop Streaming for Sheaf: map and reduce with external commands.
 *
 *   sheaf stream --mapper CMD [--combiner CMD] [--reducer CMD] [--files F]... -i IN -o OUT
 *
 * The protocol is Hadoop Streaming's. Each rank starts the mapper once (`/bin/sh -c CMD`) and
 * writes every input record to its stdin, one per line; each line the mapper prints is split
 * at its first tab into key and value (no tab: the whole line is the key, the value empty).
 * Each reducer partition gets its own reducer process, which reads `key<TAB>value` lines
 * sorted by key and prints output lines, written to that partition's part file as they are.
 * Without --reducer the map output is written sorted (an identity reduce). A combiner runs on
 * each rank's map output in batches (each batch sorted by key first, as the reducer's input
 * is), before the shuffle; a batch and its sort index together stay within a share of
 * --memory.
 *
 * Commands run in a per-rank working directory holding copies of the --files (Hadoop's
 * distributed cache), which rank 0 reads and broadcasts, so they need not be on a shared file
 * system. The directory is made fresh by mkdtemp (mode 0700) under the spill place, and every
 * file in it is created with O_EXCL | O_NOFOLLOW, so nothing another user placed there is
 * followed or reused. It holds an `owner` file (host and pid); a directory left by a rank that
 * was killed outright is removed by a later job only when it is provably such a directory
 * (a real directory of ours, mode 0700, whose regular `owner` file names a dead process on
 * this host), and its removal never follows a symbolic link.
 *
 * Each command runs in its own process group, with the parent-death signal set, and the
 * whole group is stopped (SIGTERM, then SIGKILL after a grace period) on every way out: when
 * the command's shell exits (whatever it left running is stopped), when it fails, when it
 * makes no progress for --task-timeout, when the job fails, and when the rank receives
 * SIGINT, SIGTERM or SIGHUP (a handler stops the groups, removes the working directory and
 * then hands the signal to the handler that was there before). The rank is a child subreaper,
 * so what a command's shell leaves behind is the rank's to stop and reap; and the rank's
 * janitor (the runtime's, cleanup.c), told of each group (sheaf_janitor_add_group) and of the
 * working directory (made by sheaf_workdir_create), does the same cleanup when the rank dies
 * without doing it (SIGKILL).
 *
 * Writing to a child and reading from it go through one poll() loop, so neither side can
 * block the other on a full pipe. The parent keeps the read end of the child's stdin open, so
 * that when the command exits, the bytes it left in the pipe can be counted: a command that
 * exits non-zero, is killed, or exits without reading all of its input fails the job with
 * its exit status and the tail of its stderr, whatever the size of the input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"

#define MAX_FILES 64
#define TAIL 2048
#define DEFAULT_TIMEOUT_MS 600000 /* Hadoop's mapreduce.task.timeout */
#define GRACE_MS 2000             /* SIGTERM to SIGKILL for a command's group */
#define SIGNAL_GRACE_MS 500       /* the same from a signal handler: mpirun kills soon after */
#define TICK_MS 100               /* exit checks when the kernel has no pidfd */
#define MAX_FILE_SIZE (1ll << 30)

/* The slots of the commands that may run at once on a rank, for the signal handler. */
enum { SLOT_MAP, SLOT_COMBINER, SLOT_REDUCER, NSLOTS };

typedef struct coproc {
    pid_t pid;            /* the shell, leader of the command's process group; -1 when stopped */
    int slot;
    int in, out, err;     /* child's stdin (we write), stdout and stderr (we read) */
    int peek;             /* our copy of the read end of its stdin: counts unread bytes */
    int pidfd;            /* readable when the shell exits; -1 without kernel support */
    bool exited;          /* the shell has exited (seen with WNOWAIT: still a zombie) */
    int code, sig;        /* its exit status, or the signal that killed it */
    size_t dropped;       /* bytes of input it can no longer read (it has exited) */
    int stage;            /* after the shell exited: 1 SIGTERM sent to the group, 2 SIGKILL */
    int64_t killed_at;
    char *wbuf;           /* pending bytes for stdin */
    size_t wlen, wcap, woff;
    char *lbuf;           /* partial output line */
    size_t llen, lcap;
    char tail[TAIL];      /* last bytes of stderr */
    size_t tlen;
    const char *cmd;
    const char *role;
} coproc;

typedef struct stream_opts {
    const char *mapper, *combiner, *reducer;
    const char *files[MAX_FILES];
    size_t nfiles;
    int64_t timeout_ms; /* --task-timeout; 0: none */
    uint64_t fed;       /* records given to the mapper */
    char base[4096];    /* where the rank's directory goes: the spill base */
    char topname[64];   /* sheaf-stream-XXXXXX under base: an owner file and work/ */
    char wpath[4200];   /* base/topname, registered with the janitor */
    int basefd, topfd, workfd;
    coproc map, red;
    bool red_open;
    /* combiner batch: map output lines held until the batch and its index reach the limit */
    char *batch;
    size_t blen, bcap, blines, batch_limit;
} stream_opts;

static stream_opts S = {.basefd = -1, .topfd = -1, .workfd = -1, .timeout_ms = -1};

/* Process groups of running commands, read by the signal handler. */
static volatile sig_atomic_t live[NSLOTS];

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};
#define NHANDLED (sizeof handled / sizeof handled[0])
static struct sigaction old_action[NHANDLED];
static bool installed[NHANDLED];

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ---- stopping process groups and removing directories (async-signal-safe) ---- */

/* Stops the process groups pg[0..n) (entries <= 0 are skipped): SIGTERM (and SIGCONT, for a
 * stopped member), then SIGKILL for what is left after grace_ms. The leaders are our
 * children, and the rank is a child subreaper, so the members a leader leaves behind become
 * ours too: all are reaped here, and a group is gone when none is left, zombies included.
 * Uses only async-signal-safe calls: the handler calls it. */
static void stop_groups(const pid_t *pg, size_t n, long grace_ms) {
    for (size_t i = 0; i < n; i++) {
        if (pg[i] > 0) {
            kill(-pg[i], SIGTERM);
            kill(-pg[i], SIGCONT);
        }
    }
    for (long t = 0;; t += 5) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            if (pg[i] <= 0)
                continue;
            while (waitpid(-pg[i], NULL, WNOHANG) > 0) /* the leader, and orphans adopted */
                ;
            if (kill(-pg[i], 0) == 0)
                any = true;
        }
        if (!any)
            return;
        if (t >= grace_ms)
            break;
        nap_ms(5);
    }
    for (size_t i = 0; i < n; i++)
        if (pg[i] > 0)
            kill(-pg[i], SIGKILL);
    for (size_t i = 0; i < n; i++) /* killed members exit at once; bounded anyway */
        for (int k = 0; pg[i] > 0 && k < 200 && kill(-pg[i], 0) == 0; k++) {
            while (waitpid(-pg[i], NULL, WNOHANG) > 0)
                ;
            nap_ms(1);
        }
}

/* Removes everything inside the directory open as dfd. Entries are unlinked, never followed;
 * a subdirectory is opened with O_NOFOLLOW relative to its parent, so a symbolic link planted
 * anywhere in the tree leads nowhere. Async-signal-safe (getdents64, unlinkat, openat); depth
 * bounded. Returns 0 when the directory is empty. */
static int empty_dir(int dfd, int depth) {
    char buf[2048];
    for (int pass = 0; pass < 8; pass++) {
        bool removed = false, left = false;
        if (lseek(dfd, 0, SEEK_SET) < 0)
            return -1;
        for (;;) {
            ssize_t n = getdents64(dfd, buf, sizeof buf);
            if (n <= 0)
                break;
            for (ssize_t off = 0; off < n;) {
                struct dirent64 *e = (struct dirent64 *)(void *)(buf + off);
                off += e->d_reclen;
                const char *name = e->d_name;
                if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
                    continue;
                if (unlinkat(dfd, name, 0) == 0) {
                    removed = true;
                    continue;
                }
                if (errno != EISDIR && errno != EPERM) {
                    left = true;
                    continue;
                }
                int sub = depth < 32 ? openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                                             O_CLOEXEC)
                                     : -1;
                if (sub >= 0) {
                    empty_dir(sub, depth + 1);
                    close(sub);
                }
                if (unlinkat(dfd, name, AT_REMOVEDIR) == 0)
                    removed = true;
                else
                    left = true;
            }
        }
        if (!left)
            return 0;
        if (!removed)
            return -1;
    }
    return -1;
}

/* Removes the rank's working directory (async-signal-safe). */
static void remove_workdir(void) {
    if (S.topfd < 0)
        return;
    empty_dir(S.topfd, 0);
    unlinkat(S.basefd, S.topname, AT_REMOVEDIR);
}

/* Stops every running command and removes the working directory, from a signal handler or
 * at exit. */
static void stop_everything(void) {
    pid_t pg[NSLOTS];
    for (int i = 0; i < NSLOTS; i++)
        pg[i] = (pid_t)live[i];
    stop_groups(pg, NSLOTS, SIGNAL_GRACE_MS);
    for (int i = 0; i < NSLOTS; i++)
        if (pg[i] > 0)
            sheaf_janitor_drop_group(pg[i]);
    remove_workdir();
}

static void on_signal(int sig) {
    int saved = errno;
    stop_everything();
    /* Then whatever handled the signal before (the default: terminate). */
    for (size_t i = 0; i < NHANDLED; i++) {
        if (handled[i] == sig && installed[i]) {
            sigaction(sig, &old_action[i], NULL);
            installed[i] = false;
        }
    }
    raise(sig); /* blocked until this handler returns */
    errno = saved;
}

/* Installs on_signal for the signals a job is stopped with, except one the process ignores
 * (nohup's SIGHUP stays ignored). */
static void install_handlers(void) {
    static bool registered;
    if (!registered)
        registered = atexit(stop_everything) == 0; /* MPI may exit() when mpirun is gone */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NHANDLED; i++) {
        struct sigaction old;
        if (sigaction(handled[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN)
            continue;
        old_action[i] = old;
        installed[i] = sigaction(handled[i], &sa, NULL) == 0;
    }
}

static void restore_handlers(void) {
    for (size_t i = 0; i < NHANDLED; i++) {
        if (installed[i])
            sigaction(handled[i], &old_action[i], NULL);
        installed[i] = false;
    }
}

/* ---- child processes ---- */

static int fail_child(sheaf_ctx *ctx, coproc *c, const char *what) {
    char tail[TAIL + 1], where[48] = "";
    size_t n = c->tlen;
    memcpy(tail, c->tail, n);
    tail[n] = '\0';
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        tail[--n] = '\0';
    if (c->slot == SLOT_REDUCER)
        snprintf(where, sizeof where, " (partition %u)", (unsigned)sheaf_partition(ctx));
    else if (c->slot == SLOT_MAP && !S.fed)
        snprintf(where, sizeof where, " (given no input yet)");
    return sheaf_fail(ctx, SHEAF_ECHILD, "%s `%s`%s %s%s%s", c->role, c->cmd, where, what,
                      n ? "; its stderr ends: " : "", n ? tail : "");
}

/* Stops the command's process group (a no-op once stopped) and closes what is left open. */
static void stop(coproc *c) {
    if (c->pid > 0) {
        pid_t pg = c->pid;
        stop_groups(&pg, 1, GRACE_MS);
        live[c->slot] = 0;
        sheaf_janitor_drop_group(pg);
        c->pid = -1;
    }
    int *fds[] = {&c->in, &c->out, &c->err, &c->peek, &c->pidfd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

static void release(coproc *c) {
    stop(c);
    free(c->wbuf);
    free(c->lbuf);
    c->wbuf = c->lbuf = NULL;
    c->wlen = c->wcap = c->woff = c->llen = c->lcap = 0;
}

/* Starts `/bin/sh -c cmd` in the working directory, in a process group of its own, with
 * pipes for its stdin, stdout and stderr. Returns 0 or a failure of the job. */
static int start(sheaf_ctx *ctx, coproc *c, const char *cmd, const char *role, int slot) {
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->role = role;
    c->slot = slot;
    c->pid = -1;
    c->in = c->out = c->err = c->peek = c->pidfd = -1;
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
        int e = errno;
        int fds[] = {pin[0], pin[1], pout[0], pout[1], perr[0], perr[1]};
        for (size_t i = 0; i < 6; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        return sheaf_fail(ctx, SHEAF_ECHILD, "cannot create pipes for %s: %s", role,
                          strerror(e));
    }
    /* The handler must not run between fork and the group's registration. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the rank died before prctl */
            _exit(126);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        if (S.workfd >= 0 && fchdir(S.workfd) != 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        for (size_t i = 0; i < NHANDLED; i++)
            if (installed[i])
                signal(handled[i], SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int e = errno;
    if (pid > 0) {
        setpgid(pid, pid); /* as the child does: whichever runs first */
        live[slot] = pid;
        sheaf_janitor_add_group(pid);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(pout[1]);
    close(perr[1]);
    if (pid < 0) {
        close(pin[0]);
        close(pin[1]);
        close(pout[0]);
        close(perr[0]);
        return sheaf_fail(ctx, SHEAF_ECHILD, "cannot start %s: %s", role, strerror(e));
    }
    c->pid = pid;
    c->peek = pin[0];
    c->in = pin[1];
    c->out = pout[0];
    c->err = perr[0];
#ifdef SYS_pidfd_open
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    fcntl(c->out, F_SETFL, O_NONBLOCK);
    fcntl(c->err, F_SETFL, O_NONBLOCK);
    return 0;
}

/* Notes whether the shell has exited, leaving it a zombie (WNOWAIT), so its pid still names
 * its process group and the rest of the group can be signalled safely. */
static bool check_exit(coproc *c) {
    if (c->exited || c->pid <= 0)
        return c->exited;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
        return false;
    c->exited = true;
    if (si.si_code == CLD_EXITED)
        c->code = si.si_status;
    else
        c->sig = si.si_status;
    return true;
}

typedef int (*line_fn)(sheaf_ctx *ctx, const char *line, size_t len);

static int take_lines(sheaf_ctx *ctx, coproc *c, const char *data, size_t n, line_fn fn) {
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t k = nl ? (size_t)(nl - data) : n;
        if (c->llen + k > c->lcap) {
            size_t cap = c->lcap ? c->lcap : 4096;
            while (cap < c->llen + k)
                cap *= 2;
            char *b = realloc(c->lbuf, cap);
            if (!b)
                return SHEAF_ENOMEM;
            c->lbuf = b;
            c->lcap = cap;
        }
        if (k)
            memcpy(c->lbuf + c->llen, data, k);
        c->llen += k;
        if (!nl)
            break;
        int rc = fn(ctx, c->lbuf ? c->lbuf : "", c->llen); /* an empty first line: no buffer */
        c->llen = 0;
        if (rc)
            return rc;
        data = nl + 1;
        n -= k + 1;
    }
    return 0;
}

static void keep_tail(coproc *c, const char *data, size_t n) {
    if (n >= TAIL) {
        memcpy(c->tail, data + n - TAIL, TAIL);
        c->tlen = TAIL;
        return;
    }
    if (c->tlen + n > TAIL) {
        size_t drop = c->tlen + n - TAIL;
        memmove(c->tail, c->tail + drop, c->tlen - drop);
        c->tlen -= drop;
    }
    memcpy(c->tail + c->tlen, data, n);
    c->tlen += n;
}

static int finish(sheaf_ctx *ctx, coproc *c, line_fn fn);

/* Moves data both ways until the pending input is down to `keep` bytes; with `closing`,
 * writes all of it, closes stdin, and reads until the shell has exited and its stdout and
 * stderr have ended. A shell that exits while input is still wanted ends in finish(). When
 * the shell exits, the rest of its group gets SIGTERM, and SIGKILL after the grace period;
 * output pipes still held open after that (by a process that left the group) are closed.
 * With a timeout, no byte moving either way for that long stops the command and fails the
 * job. Every wait is bounded by the timeout or the grace periods. */
static int pump(sheaf_ctx *ctx, coproc *c, size_t keep, bool closing, line_fn fn) {
    char buf[65536];
    int64_t last = now_ms();
    for (;;) {
        if (c->pid <= 0)
            return SHEAF_ECHILD;
        bool was = c->exited;
        if (check_exit(c) && !was) {
            c->dropped = c->wlen - c->woff; /* never to be read */
            c->wlen = c->woff = 0;
            if (c->in >= 0)
                close(c->in);
            c->in = -1;
            kill(-c->pid, SIGTERM); /* what it left behind; the zombie keeps the group's id */
            kill(-c->pid, SIGCONT);
            c->killed_at = now_ms();
            c->stage = 1;
            if (c->dropped)
                return finish(ctx, c, fn); /* fails: input left unread */
        }
        bool want_write = c->in >= 0 && c->wlen - c->woff > keep;
        if (!want_write && c->in >= 0 && closing) {
            close(c->in);
            c->in = -1;
        }
        if (!want_write && !closing)
            return 0;
        if (closing && c->in < 0 && c->out < 0 && c->err < 0 && c->exited)
            return 0;
        int64_t now = now_ms(), wait = -1;
        if (c->stage) {
            int64_t next = c->killed_at + GRACE_MS;
            if (now >= next) {
                if (c->stage == 1) {
                    kill(-c->pid, SIGKILL);
                    c->killed_at = now;
                    c->stage = 2;
                    continue;
                }
                /* Held by a process outside the group: stop reading. */
                for (int k = 0; k < 2; k++) {
                    int *fd = k ? &c->err : &c->out;
                    if (*fd >= 0)
                        close(*fd);
                    *fd = -1;
                }
                continue;
            }
            wait = next - now;
        } else {
            if (S.timeout_ms > 0) {
                if (now - last >= S.timeout_ms) {
                    char what[160];
                    snprintf(what, sizeof what,
                             "made no progress for %.3g s (read no input, wrote no output) and "
                             "was stopped (--task-timeout)",
                             (double)S.timeout_ms / 1000);
                    stop(c);
                    return fail_child(ctx, c, what);
                }
                wait = S.timeout_ms - (now - last);
            }
            if (c->pidfd < 0 && (wait < 0 || wait > TICK_MS))
                wait = TICK_MS;
        }
        struct pollfd pf[4] = {{c->in, POLLOUT, 0},
                               {c->out, POLLIN, 0},
                               {c->err, POLLIN, 0},
                               {c->exited ? -1 : c->pidfd, POLLIN, 0}};
        if (!want_write)
            pf[0].fd = -1;
        if (poll(pf, 4, wait > INT32_MAX ? INT32_MAX : (int)wait) < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            stop(c);
            return sheaf_fail(ctx, SHEAF_ECHILD, "poll: %s", strerror(e));
        }
        if (pf[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t w = write(c->in, c->wbuf + c->woff, c->wlen - c->woff);
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                int e = errno;
                stop(c);
                return sheaf_fail(ctx, SHEAF_ECHILD, "cannot write to %s `%s`: %s", c->role,
                                  c->cmd, strerror(e));
            }
            if (w > 0) {
                last = now_ms();
                c->woff += (size_t)w;
                if (c->woff == c->wlen)
                    c->woff = c->wlen = 0;
            }
        }
        for (int k = 1; k <= 2; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int fd = k == 1 ? c->out : c->err;
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                close(fd);
                if (k == 1)
                    c->out = -1;
                else
                    c->err = -1;
                continue;
            }
            last = now_ms();
            if (k == 2) {
                keep_tail(c, buf, (size_t)r);
                continue;
            }
            int rc = take_lines(ctx, c, buf, (size_t)r, fn);
            if (rc) {
                stop(c);
                return rc;
            }
        }
    }
}

static int feed(sheaf_ctx *ctx, coproc *c, const char *a, size_t alen, const char *b,
                size_t blen, line_fn fn) {
    size_t need = alen + (b ? 1 + blen : 0) + 1;
    if (c->pid <= 0)
        return SHEAF_ECHILD; /* stopped after a failure already reported */
    if (c->exited) {
        c->dropped += need;
        return finish(ctx, c, fn); /* fails: input left unread */
    }
    if (c->wlen + need > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 1 << 16;
        while (cap < c->wlen + need)
            cap *= 2;
        char *nb = realloc(c->wbuf, cap);
        if (!nb)
            return SHEAF_ENOMEM;
        c->wbuf = nb;
        c->wcap = cap;
    }
    memcpy(c->wbuf + c->wlen, a, alen);
    c->wlen += alen;
    if (b) {
        c->wbuf[c->wlen++] = '\t';
        memcpy(c->wbuf + c->wlen, b, blen);
        c->wlen += blen;
    }
    c->wbuf[c->wlen++] = '\n';
    return c->wlen - c->woff > (1 << 16) ? pump(ctx, c, 1 << 15, false, fn) : 0;
}

/* Ends a command: writes the rest of its input, reads the rest of its output, stops its
 * group and reaps it. Fails the job when it failed, was killed, or left input unread. */
static int finish(sheaf_ctx *ctx, coproc *c, line_fn fn) {
    int rc = c->pid > 0 ? pump(ctx, c, 0, true, fn) : SHEAF_ECHILD;
    if (!rc && c->llen) { /* a last line without a newline */
        rc = fn(ctx, c->lbuf, c->llen);
        c->llen = 0;
    }
    int avail = 0;
    if (c->peek >= 0 && ioctl(c->peek, FIONREAD, &avail) != 0)
        avail = 0;
    size_t unread = c->dropped + (size_t)(avail > 0 ? avail : 0);
    bool exited = c->exited;
    release(c);
    if (rc)
        return rc;
    char what[96];
    if (exited && c->sig) {
        snprintf(what, sizeof what, "was killed by signal %d", c->sig);
        return fail_child(ctx, c, what);
    }
    if (exited && c->code) {
        snprintf(what, sizeof what, "exited with status %d", c->code);
        return fail_child(ctx, c, what);
    }
    if (unread) {
        snprintf(what, sizeof what, "exited without reading all of its input (%zu bytes unread)",
                 unread);
        return fail_child(ctx, c, what);
    }
    return 0;
}

/* ---- key/value lines ---- */

static int split_emit(sheaf_ctx *ctx, const char *line, size_t len) {
    if (len && line[len - 1] == '\r')
        len--;
    const char *tab = memchr(line, '\t', len);
    if (!tab)
        return sheaf_emit(ctx, line, len, "", 0);
    return sheaf_emit(ctx, line, (size_t)(tab - line), tab + 1, len - (size_t)(tab - line) - 1);
}

/* Combiner batches: lines sorted by key, then through the combiner. The sort index is one
 * 8-byte entry a line (offset and key length; the line ends at its newline), and the batch
 * runs when its bytes and its index together reach the limit. */
typedef struct span {
    uint32_t off, klen;
} span;

static const char *sort_base;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(sort_base + x->off, sort_base + y->off, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int run_combiner(sheaf_ctx *ctx) {
    if (!S.blen)
        return 0;
    span *sp = malloc((S.blines ? S.blines : 1) * sizeof *sp);
    if (!sp)
        return SHEAF_ENOMEM;
    size_t k = 0, from = 0;
    for (size_t i = 0; i < S.blen; i++) {
        if (S.batch[i] != '\n')
            continue;
        const char *tab = memchr(S.batch + from, '\t', i - from);
        sp[k++] = (span){(uint32_t)from, (uint32_t)(tab ? (size_t)(tab - S.batch) - from
                                                        : i - from)};
        from = i + 1;
    }
    sort_base = S.batch;
    qsort(sp, k, sizeof *sp, span_cmp);
    coproc c;
    int rc = start(ctx, &c, S.combiner, "combiner", SLOT_COMBINER);
    for (size_t i = 0; i < k && !rc; i++) {
        const char *line = S.batch + sp[i].off;
        size_t len = (size_t)((const char *)memchr(line, '\n', S.blen - sp[i].off) - line);
        rc = feed(ctx, &c, line, len, NULL, 0, split_emit);
    }
    int frc = c.pid > 0 ? finish(ctx, &c, split_emit) : 0;
    release(&c);
    free(sp);
    S.blen = S.blines = 0;
    return rc ? rc : frc;
}

static int to_batch(sheaf_ctx *ctx, const char *line, size_t len) {
    if (len && line[len - 1] == '\r')
        len--;
    if (len >= UINT32_MAX / 2)
        return sheaf_fail(ctx, SHEAF_EINVAL, "a mapper output line of %zu bytes is too long for "
                                             "the combiner", len);
    if (S.blen + len + 1 > S.bcap) {
        size_t cap = S.bcap ? S.bcap * 2 : 1 << 16;
        if (cap > S.batch_limit)
            cap = S.batch_limit;
        if (cap < S.blen + len + 1)
            cap = S.blen + len + 1;
        char *b = realloc(S.batch, cap);
        if (!b)
            return SHEAF_ENOMEM;
        S.batch = b;
        S.bcap = cap;
    }
    memcpy(S.batch + S.blen, line, len);
    S.blen += len;
    S.batch[S.blen++] = '\n';
    S.blines++;
    return S.blen + S.blines * sizeof(span) >= S.batch_limit ? run_combiner(ctx) : 0;
}

static line_fn map_sink(void) {
    return S.combiner ? to_batch : split_emit;
}

/* ---- the working directory ---- */

/* True when no live process has this pid (a zombie counts as gone). */
static bool process_gone(long pid) {
    if (kill((pid_t)pid, 0) != 0)
        return errno == ESRCH;
    char path[64], state = 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    return n == 1 && state == 'Z';
}

/* Removes the working directories under the base that a rank killed outright left: only a
 * real directory named sheaf-stream-*, owned by us with mode 0700, holding a regular `owner`
 * file of ours that names this host and a process that is gone. Anything else (a symbolic
 * link, another user's directory, a live owner, an unreadable owner file) is left alone. */
static void sweep_stale(const char *host) {
    int dfd = dup(S.basefd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    uid_t me = geteuid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "sheaf-stream-", 13) != 0)
            continue;
        int fd = openat(S.basefd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        char text[320];
        ssize_t n = -1;
        if (fstat(fd, &st) == 0 && st.st_uid == me && (st.st_mode & 07777) == 0700) {
            int ofd = openat(fd, "owner", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            struct stat ost;
            if (ofd >= 0 && fstat(ofd, &ost) == 0 && S_ISREG(ost.st_mode) && ost.st_uid == me)
                n = read(ofd, text, sizeof text - 1);
            if (ofd >= 0)
                close(ofd);
        }
        char h[256];
        long pid = 0;
        if (n > 0) {
            text[n] = '\0';
            if (sscanf(text, "%255s %ld", h, &pid) == 2 && !strcmp(h, host) && pid > 0 &&
                process_gone(pid) && empty_dir(fd, 0) == 0)
                unlinkat(S.basefd, e->d_name, AT_REMOVEDIR);
        }
        close(fd);
    }
    closedir(d);
}

/* Makes the rank's directory fresh: BASE/sheaf-stream-XXXXXX (mkdtemp, 0700) holding a new
 * `owner` file and `work/`, the commands' working directory. */
static int make_workdir(sheaf_ctx *ctx) {
    char host[256] = "", path[4200], text[300];
    gethostname(host, sizeof host - 1);
    S.basefd = open(S.base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (S.basefd < 0)
        return sheaf_fail(ctx, SHEAF_EIO, "cannot use %s for the stream working directory: %s",
                          S.base, strerror(errno));
    sweep_stale(host);
    if (sheaf_workdir_create(S.base, "sheaf-stream-", path, sizeof path) != 0)
        return sheaf_fail(ctx, SHEAF_EIO, "cannot create a working directory in %s: %s", S.base,
                          strerror(errno));
    snprintf(S.wpath, sizeof S.wpath, "%s", path);
    snprintf(S.topname, sizeof S.topname, "%s", strrchr(path, '/') + 1);
    S.topfd = openat(S.basefd, S.topname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int ofd = -1;
    bool ok = S.topfd >= 0;
    if (ok) {
        ofd = openat(S.topfd, "owner", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600);
        int n = snprintf(text, sizeof text, "%s %ld\n", host, (long)getpid());
        ok = ofd >= 0 && write(ofd, text, (size_t)n) == n;
    }
    if (ofd >= 0)
        ok = close(ofd) == 0 && ok;
    ok = ok && mkdirat(S.topfd, "work", 0700) == 0;
    if (ok)
        S.workfd = openat(S.topfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!ok || S.workfd < 0)
        return sheaf_fail(ctx, SHEAF_EIO, "cannot set up the working directory %s: %s", path,
                          strerror(errno));
    return 0;
}

/* The name a --files path gets in the working directory, or NULL if it has none. */
static const char *side_name(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return NULL;
    return base;
}

/* Rank 0's read of a --files path: a regular file under 1 GiB. A FIFO or a device is refused
 * without blocking (opened with O_NONBLOCK, then checked). Returns 0, or -1 with why. */
static int read_side_file(const char *path, char **data, long long *n, char *why, size_t wlen) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;
    *data = NULL;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, wlen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, wlen, "not a regular file (%s)",
                 S_ISFIFO(st.st_mode)  ? "a FIFO"
                 : S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                              : "a socket or other special file");
        close(fd);
        return -1;
    }
    if (st.st_size >= MAX_FILE_SIZE) {
        snprintf(why, wlen, "%lld bytes; --files takes files under 1 GiB", (long long)st.st_size);
        close(fd);
        return -1;
    }
    size_t want = (size_t)st.st_size, got = 0;
    *data = malloc(want + 1);
    if (!*data) {
        snprintf(why, wlen, "out of memory");
        close(fd);
        return -1;
    }
    while (got < want) {
        ssize_t r = read(fd, *data + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(why, wlen, "%s", r < 0 ? strerror(errno) : "it shrank while being read");
            free(*data);
            *data = NULL;
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *n = (long long)want;
    return 0;
}

/* Writes a copy as a new file in the working directory (never through an existing name). */
static int copy_file(const char *data, size_t n, const char *name) {
    int fd = openat(S.workfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

/* Rank 0 reads each side file and broadcasts it; every rank writes its copy into its fresh
 * working directory. */
static int ship_files(sheaf_ctx *ctx) {
    int rank = sheaf_rank(ctx);
    int rc = make_workdir(ctx);
    for (size_t i = 0; i < S.nfiles; i++) {
        long long n = -1;
        char *data = NULL, why[160] = "";
        const char *name = side_name(S.files[i]);
        if (rank == 0) {
            if (!name)
                snprintf(why, sizeof why, "names no file");
            else
                read_side_file(S.files[i], &data, &n, why, sizeof why);
        }
        MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
        if (n < 0) {
            free(data);
            return rank == 0 ? sheaf_fail(ctx, SHEAF_ENOENT, "--files %s: %s", S.files[i], why)
                             : SHEAF_ENOENT;
        }
        if (rank != 0)
            data = malloc((size_t)n + 1);
        int ok = data != NULL, all;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (!all) {
            free(data);
            return SHEAF_ENOMEM;
        }
        MPI_Bcast(data, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (!rc && copy_file(data, (size_t)n, name) != 0)
            rc = sheaf_fail(ctx, SHEAF_EIO, "--files %s: cannot create %s in the working "
                                            "directory: %s%s",
                            S.files[i], name, strerror(errno),
                            errno == EEXIST ? " (two --files with the same name)" : "");
        free(data);
    }
    return rc;
}

/* ---- the job ---- */

static int st_setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    coproc *cs[] = {&S.map, &S.red};
    for (size_t i = 0; i < 2; i++) { /* nothing started: nothing to stop or close */
        memset(cs[i], 0, sizeof *cs[i]);
        cs[i]->pid = cs[i]->in = cs[i]->out = cs[i]->err = cs[i]->peek = cs[i]->pidfd = -1;
    }
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of a command's group come to us */
    install_handlers();
    int rc = ship_files(ctx);
    if (rc)
        return rc;
    return start(ctx, &S.map, S.mapper, "mapper", SLOT_MAP);
}

static int st_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    S.fed++;
    return feed(ctx, &S.map, rec->data, rec->len, NULL, 0, map_sink());
}

static int st_map_cleanup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    int rc = finish(ctx, &S.map, map_sink());
    if (!rc && S.combiner)
        rc = run_combiner(ctx);
    return rc;
}

static int out_line(sheaf_ctx *ctx, const char *line, size_t len) {
    return split_emit(ctx, line, len);
}

static int st_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    (void)udata;
    const void *v;
    size_t vlen;
    if (!S.reducer) {
        int rc = 0;
        while (!rc && sheaf_values_next(vals, &v, &vlen))
            rc = sheaf_emit(ctx, key, klen, v, vlen);
        return rc;
    }
    if (!S.red_open) {
        int rc = start(ctx, &S.red, S.reducer, "reducer", SLOT_REDUCER);
        if (rc)
            return rc;
        S.red_open = true;
    }
    int rc = 0;
    while (!rc && sheaf_values_next(vals, &v, &vlen))
        rc = feed(ctx, &S.red, key, klen, v, vlen, out_line);
    return rc;
}

static int st_partition_end(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    if (!S.red_open)
        return 0;
    S.red_open = false;
    return finish(ctx, &S.red, out_line);
}

/* Every rank whose setup ran, failed job or not: stops what still runs and removes the
 * working directory with everything the commands left in it. */
static int st_cleanup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    (void)ctx;
    release(&S.map);
    release(&S.red);
    S.red_open = false;
    remove_workdir();
    if (S.wpath[0])
        sheaf_workdir_remove(S.wpath, 1); /* removed above: the janitor forgets it */
    S.wpath[0] = '\0';
    int *fds[] = {&S.workfd, &S.topfd, &S.basefd};
    for (size_t i = 0; i < 3; i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
    restore_handlers();
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    free(S.batch);
    S.batch = NULL;
    S.blen = S.bcap = S.blines = 0;
    return 0;
}

/* A duration: seconds, or a number with s, m or h. Returns milliseconds or -1. */
static int64_t parse_duration(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    double unit = 1000;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit = 60000, end++;
    else if (*end == 'h')
        unit = 3600000, end++;
    if (*end || v * unit > 1e15)
        return -1;
    return (int64_t)(v * unit + 0.5);
}

static int st_parse(void *udata, const char *name, const char *value) {
    stream_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "mapper"))
        o->mapper = value;
    else if (!strcmp(name, "combiner"))
        o->combiner = value;
    else if (!strcmp(name, "reducer"))
        o->reducer = value;
    else if (!strcmp(name, "task-timeout"))
        return (o->timeout_ms = parse_duration(value)) < 0 ? -1 : 0;
    else if (!strcmp(name, "files")) {
        if (o->nfiles == MAX_FILES)
            return -1;
        o->files[o->nfiles++] = value;
    } else
        return -1;
    return 0;
}

static int st_configure(void *udata, sheaf_config *cfg) {
    stream_opts *o = udata;
    const char *tmp = getenv("TMPDIR");
    snprintf(o->base, sizeof o->base, "%s",
             cfg->spill_dir ? cfg->spill_dir : tmp && *tmp ? tmp : "/tmp");
    if (o->timeout_ms < 0)
        o->timeout_ms = DEFAULT_TIMEOUT_MS;
    /* The combiner's batch and its index: a sixteenth of --memory, from 64 KiB to 32 MiB. */
    uint64_t limit = cfg->memory ? cfg->memory / 16 : 32u << 20;
    o->batch_limit = (size_t)(limit < (64u << 10) ? 64u << 10 : limit > (32u << 20) ? 32u << 20
                                                                                     : limit);
    if (!o->mapper) {
        fprintf(stderr, "sheaf stream: --mapper CMD is required (see --help)\n");
        return -1;
    }
    cfg->side_inputs = o->files; /* read, never written: guarded as inputs */
    cfg->nside_inputs = o->nfiles;
    return 0;
}

static const sheaf_option st_options[] = {
    {"mapper", "CMD", "command reading records on stdin, writing key TAB value lines"},
    {"combiner", "CMD", "command combining each rank's sorted map output before the shuffle"},
    {"reducer", "CMD", "command reading sorted key TAB value lines (default: identity)"},
    {"files", "FILE", "copy FILE into every command's working directory (repeatable)"},
    {"task-timeout", "TIME",
     "stop a command that reads and writes nothing for TIME (600s; 10m, 1h; 0: never)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def stream_job = {
    .name = "stream",
    .map = st_map,
    .reduce = st_reduce,
    .setup = st_setup,
    .cleanup = st_cleanup,
    .map_cleanup = st_map_cleanup,
    .partition_end = st_partition_end,
    .udata = &S,
};

const sheaf_command sheaf_cmd_stream = {
    .name = "stream",
    .summary = "Hadoop Streaming: map and reduce with external commands (stdin/stdout lines)",
    .options = st_options,
    .parse_option = st_parse,
    .configure = st_configure,
    .udata = &S,
    .job = &stream_job,
};
