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
 * is), before the shuffle.
 *
 * Commands run in a per-rank working directory holding copies of the --files (Hadoop's
 * distributed cache), which rank 0 reads and broadcasts, so they need not be on a shared file
 * system. Writing to a child and reading from it go through one poll() loop, so neither side
 * can block the other on a full pipe. A command that exits non-zero, is killed, or closes its
 * input early fails the job with its exit status and the tail of its stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs.h"

#define MAX_FILES 64
#define TAIL 2048

typedef struct coproc {
    pid_t pid;
    int in, out, err;     /* child's stdin (we write), stdout and stderr (we read) */
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
    char base[4096];    /* where the rank's directory goes: the spill base */
    char topdir[4200];  /* BASE/sheaf-stream-PID-RANK: an owner file and the working directory */
    char workdir[4300]; /* TOPDIR/work: the commands' working directory, with the --files */
    coproc map, red;
    bool red_open;
    /* combiner batch: map output lines held until the batch is full */
    char *batch;
    size_t blen, bcap, batch_limit;
} stream_opts;

static stream_opts S;

/* ---- child processes ---- */

static int fail_child(sheaf_ctx *ctx, coproc *c, const char *what) {
    char tail[TAIL + 1];
    size_t n = c->tlen;
    memcpy(tail, c->tail, n);
    tail[n] = '\0';
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        tail[--n] = '\0';
    return sheaf_fail(ctx, SHEAF_ECHILD, "%s `%s` %s%s%s", c->role, c->cmd, what,
                      n ? "; its stderr ends: " : "", n ? tail : "");
}

static int start(sheaf_ctx *ctx, coproc *c, const char *cmd, const char *role) {
    int pin[2], pout[2], perr[2];
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    c->role = role;
    c->pid = -1;
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
        return sheaf_fail(ctx, SHEAF_ECHILD, "cannot create pipes for %s: %s", role,
                          strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        return sheaf_fail(ctx, SHEAF_ECHILD, "cannot start %s: %s", role, strerror(errno));
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        if (S.workdir[0] && chdir(S.workdir) != 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    c->pid = pid;
    c->in = pin[1];
    c->out = pout[0];
    c->err = perr[0];
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    fcntl(c->out, F_SETFL, O_NONBLOCK);
    fcntl(c->err, F_SETFL, O_NONBLOCK);
    return 0;
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

/* Moves data both ways until the pending input is down to `keep` bytes (keep 0 with `close`:
 * closes stdin, then reads until the child's stdout and stderr end). */
static int pump(sheaf_ctx *ctx, coproc *c, size_t keep, bool closing, line_fn fn) {
    char buf[65536];
    for (;;) {
        bool want_write = c->in >= 0 && c->wlen - c->woff > keep;
        if (!want_write && c->in >= 0 && closing) {
            close(c->in);
            c->in = -1;
        }
        if (!want_write && !closing)
            return 0;
        if (closing && c->in < 0 && c->out < 0 && c->err < 0)
            return 0;
        struct pollfd pf[3] = {{c->in, POLLOUT, 0}, {c->out, POLLIN, 0}, {c->err, POLLIN, 0}};
        if (!want_write)
            pf[0].fd = -1;
        if (poll(pf, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return sheaf_fail(ctx, SHEAF_ECHILD, "poll: %s", strerror(errno));
        }
        if (pf[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t w = write(c->in, c->wbuf + c->woff, c->wlen - c->woff);
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                /* The child stopped reading: report it once it has exited. */
                close(c->in);
                c->in = -1;
                c->wlen = c->woff = 0;
                if (!closing) {
                    int rc = finish(ctx, c, fn); /* its exit status says most */
                    return rc ? rc : fail_child(ctx, c, "stopped reading its input");
                }
            } else if (w > 0) {
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
            if (k == 2) {
                keep_tail(c, buf, (size_t)r);
                continue;
            }
            int rc = take_lines(ctx, c, buf, (size_t)r, fn);
            if (rc)
                return rc;
        }
    }
}

static int feed(sheaf_ctx *ctx, coproc *c, const char *a, size_t alen, const char *b,
                size_t blen, line_fn fn) {
    size_t need = alen + (b ? 1 + blen : 0) + 1;
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

static int finish(sheaf_ctx *ctx, coproc *c, line_fn fn) {
    int rc = pump(ctx, c, 0, true, fn);
    if (!rc && c->llen) { /* a last line without a newline */
        rc = fn(ctx, c->lbuf, c->llen);
        c->llen = 0;
    }
    int st = 0;
    while (c->pid > 0 && waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    c->pid = -1;
    free(c->wbuf);
    free(c->lbuf);
    c->wbuf = c->lbuf = NULL;
    c->wlen = c->wcap = c->woff = c->llen = c->lcap = 0;
    if (rc)
        return rc;
    char what[64];
    if (WIFSIGNALED(st)) {
        snprintf(what, sizeof what, "was killed by signal %d", WTERMSIG(st));
        return fail_child(ctx, c, what);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
        snprintf(what, sizeof what, "exited with status %d", WEXITSTATUS(st));
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

/* Combiner batches: lines sorted by key, then through the combiner. */
typedef struct span {
    size_t off, len, klen;
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
    size_t n = 0;
    for (size_t i = 0; i < S.blen; i++)
        n += S.batch[i] == '\n';
    span *sp = malloc((n ? n : 1) * sizeof *sp);
    if (!sp)
        return SHEAF_ENOMEM;
    size_t k = 0, from = 0;
    for (size_t i = 0; i < S.blen; i++) {
        if (S.batch[i] != '\n')
            continue;
        const char *tab = memchr(S.batch + from, '\t', i - from);
        sp[k++] = (span){from, i - from, tab ? (size_t)(tab - S.batch - from) : i - from};
        from = i + 1;
    }
    sort_base = S.batch;
    qsort(sp, k, sizeof *sp, span_cmp);
    coproc c;
    int rc = start(ctx, &c, S.combiner, "combiner");
    for (size_t i = 0; i < k && !rc; i++)
        rc = feed(ctx, &c, S.batch + sp[i].off, sp[i].len, NULL, 0, split_emit);
    int frc = finish(ctx, &c, split_emit);
    free(sp);
    S.blen = 0;
    return rc ? rc : frc;
}

static int to_batch(sheaf_ctx *ctx, const char *line, size_t len) {
    if (len && line[len - 1] == '\r')
        len--;
    if (S.blen + len + 1 > S.bcap) {
        size_t cap = S.bcap ? S.bcap : 1 << 20;
        while (cap < S.blen + len + 1)
            cap *= 2;
        char *b = realloc(S.batch, cap);
        if (!b)
            return SHEAF_ENOMEM;
        S.batch = b;
        S.bcap = cap;
    }
    memcpy(S.batch + S.blen, line, len);
    S.blen += len;
    S.batch[S.blen++] = '\n';
    return S.blen >= S.batch_limit ? run_combiner(ctx) : 0;
}

static line_fn map_sink(void) {
    return S.combiner ? to_batch : split_emit;
}

/* ---- the job ---- */

static int copy_file(const char *data, size_t n, const char *name) {
    char path[4400];
    const char *base = strrchr(name, '/');
    snprintf(path, sizeof path, "%s/%s", S.workdir, base ? base + 1 : name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0)
        return -1;
    ssize_t w = n ? write(fd, data, n) : 0;
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

/* Rank 0 reads each side file and broadcasts it; every rank writes its copy. The rank's
 * directory lies where the runtime puts its spill files and, like theirs, holds an owner file
 * (host and pid), so a job that finds it left by a killed rank removes it. */
static int ship_files(sheaf_ctx *ctx) {
    int rank = sheaf_rank(ctx);
    char host[256] = "", owner[4300];
    snprintf(S.topdir, sizeof S.topdir, "%s/sheaf-stream-%d-%d", S.base, (int)getpid(), rank);
    snprintf(S.workdir, sizeof S.workdir, "%s/work", S.topdir);
    snprintf(owner, sizeof owner, "%s/owner", S.topdir);
    gethostname(host, sizeof host - 1);
    FILE *of = NULL;
    bool ok = (mkdir(S.topdir, 0700) == 0 || errno == EEXIST) && (of = fopen(owner, "w"));
    if (of) {
        ok = fprintf(of, "%s %ld\n", host, (long)getpid()) > 0;
        ok = fclose(of) == 0 && ok;
    }
    ok = ok && (mkdir(S.workdir, 0700) == 0 || errno == EEXIST);
    if (!ok) {
        int e = errno;
        S.workdir[0] = '\0';
        return sheaf_fail(ctx, SHEAF_EIO, "cannot create working directory %s: %s", S.topdir,
                          strerror(e));
    }
    int rc = 0;
    for (size_t i = 0; i < S.nfiles; i++) {
        long long n = -1;
        char *data = NULL;
        if (rank == 0) {
            FILE *f = fopen(S.files[i], "rb");
            if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1ll << 30)) {
                rewind(f);
                data = malloc((size_t)n + 1);
                if (!data || fread(data, 1, (size_t)n, f) != (size_t)n)
                    n = -1;
            } else {
                n = -1;
            }
            if (f)
                fclose(f);
        }
        MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
        if (n < 0) {
            free(data);
            return sheaf_fail(ctx, SHEAF_ENOENT, "--files %s: cannot read it (under 1 GiB)",
                              S.files[i]);
        }
        if (rank != 0 && !(data = malloc((size_t)n + 1)))
            rc = SHEAF_ENOMEM;
        MPI_Bcast(data ? data : (char[1]){0}, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (!rc && copy_file(data, (size_t)n, S.files[i]) != 0)
            rc = sheaf_fail(ctx, SHEAF_EIO, "cannot copy %s into %s", S.files[i], S.workdir);
        free(data);
    }
    return rc;
}

static int st_setup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    signal(SIGPIPE, SIG_IGN);
    S.batch_limit = 32u << 20;
    int rc = ship_files(ctx);
    if (rc)
        return rc;
    return start(ctx, &S.map, S.mapper, "mapper");
}

static int st_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
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
        int rc = start(ctx, &S.red, S.reducer, "reducer");
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

static int st_cleanup(sheaf_ctx *ctx, void *udata) {
    (void)udata;
    (void)ctx;
    if (S.map.pid > 0) { /* a failed job: stop the mapper */
        kill(S.map.pid, SIGTERM);
        waitpid(S.map.pid, NULL, 0);
        S.map.pid = -1;
    }
    for (size_t i = 0; i < S.nfiles; i++) {
        char path[4400];
        const char *base = strrchr(S.files[i], '/');
        snprintf(path, sizeof path, "%s/%s", S.workdir, base ? base + 1 : S.files[i]);
        unlink(path);
    }
    if (S.topdir[0]) {
        char owner[4300];
        snprintf(owner, sizeof owner, "%s/owner", S.topdir);
        snprintf(S.workdir, sizeof S.workdir, "%s/work", S.topdir);
        rmdir(S.workdir);
        unlink(owner);
        rmdir(S.topdir);
        S.topdir[0] = S.workdir[0] = '\0';
    }
    free(S.batch);
    S.batch = NULL;
    return 0;
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
    if (!o->mapper) {
        fprintf(stderr, "sheaf stream: --mapper CMD is required (see --help)\n");
        return -1;
    }
    return 0;
}

static const sheaf_option st_options[] = {
    {"mapper", "CMD", "command reading records on stdin, writing key TAB value lines"},
    {"combiner", "CMD", "command combining each rank's sorted map output before the shuffle"},
    {"reducer", "CMD", "command reading sorted key TAB value lines (default: identity)"},
    {"files", "FILE", "copy FILE into every command's working directory (repeatable)"},
    {NULL, NULL, NULL},
};

const sheaf_job_def sheaf_job_stream = {
    .name = "stream",
    .summary = "Hadoop Streaming: map and reduce with external commands (stdin/stdout lines)",
    .map = st_map,
    .reduce = st_reduce,
    .setup = st_setup,
    .cleanup = st_cleanup,
    .map_cleanup = st_map_cleanup,
    .partition_end = st_partition_end,
    .options = st_options,
    .parse_option = st_parse,
    .configure = st_configure,
    .udata = &S,
};
