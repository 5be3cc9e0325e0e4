/*
 * commit.c: the output directory protocol.
 *
 * Nothing a job writes is visible as output until every rank has succeeded:
 *  - a new OUT is created at the start and the ranks write their part files under
 *    OUT/_temporary/; at commit, rank 0 moves them into OUT, writes _report.json and, last,
 *    _SUCCESS. If the job fails, OUT is removed (it did not exist before).
 *  - an existing OUT is refused unless --overwrite. With --overwrite the job is staged in a
 *    hidden sibling directory (.NAME.sheaf-XXXXXX) and the old OUT is replaced only at commit,
 *    by two renames on the same file system; a failed job leaves the old OUT exactly as it was.
 * Rank 0 holds an exclusive flock on a lock file beside OUT (.NAME.sheaf-lock) for the job's
 * life, taken before OUT is looked at or created, so a second job writing the same OUT is
 * refused at the start while the first one is unharmed. The lock file is removed by the job
 * holding it; a job that finds it gone or replaced after locking starts over, so two jobs never
 * hold two different files. A job killed outright releases the lock with its process, and the
 * next run, once it holds the lock, repairs what the killed job left: when OUT is missing and
 * an old output moved aside (.NAME.sheaf-old-XXXXXX) is there, the replace was cut between its
 * two renames, and the old output is put back (the killed job did not succeed); with
 * --overwrite, the staging directories and old outputs of finished swaps are removed.
 * An --overwrite never replaces an OUT that holds an input or the current directory.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void split_path(const char *path, char *dir, char *base, size_t n) {
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    snprintf(dir, n, "%s", dirname(a));
    snprintf(base, n, "%s", basename(b));
}

/* True when path is dir or lies inside it (both absolute, normalized). */
static bool inside(const char *path, const char *dir) {
    size_t n = strlen(dir);
    if (strncmp(path, dir, n) != 0)
        return false;
    return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

/* The absolute, symlink-free form of a path that may not exist yet: the real path of its
 * deepest existing ancestor, followed by the rest. */
static void absolute(const char *path, char *out, size_t n) {
    char cur[4096], rest[4096] = "";
    snprintf(cur, sizeof cur, "%s", path);
    for (;;) {
        char real[PATH_MAX];
        if (realpath(cur, real)) {
            snprintf(out, n, "%s%s", strcmp(real, "/") ? real : "", rest);
            if (!out[0])
                snprintf(out, n, "/");
            return;
        }
        char *slash = strrchr(cur, '/');
        char tail[4096];
        if (!slash) {
            if (snprintf(tail, sizeof tail, "/%s%s", cur, rest) >= (int)sizeof tail) {
                snprintf(out, n, "%s", path);
                return;
            }
            snprintf(rest, sizeof rest, "%s", tail);
            snprintf(cur, sizeof cur, ".");
            continue;
        }
        if (snprintf(tail, sizeof tail, "%s%s", slash, rest) >= (int)sizeof tail) {
            snprintf(out, n, "%s", path); /* too long to resolve: compared as given */
            return;
        }
        snprintf(rest, sizeof rest, "%s", tail);
        if (slash == cur)
            snprintf(cur, sizeof cur, "/");
        else
            *slash = '\0';
    }
}

/* Whether an input and the absolute path p overlap: with held, whether the input lies inside p
 * (p would take it with it); else whether p lies inside the input. A glob input (input.c) is
 * each of its matches, as the job reads them. */
static bool overlaps(const char *in, const char *p, bool held) {
    glob_t g = {0};
    bool pattern = sheaf__input_is_glob(in), hit = false;
    if (pattern && glob(in, 0, NULL, &g) != 0) {
        globfree(&g);
        return false;
    }
    for (size_t k = 0; k < (pattern ? g.gl_pathc : 1) && !hit; k++) {
        char r[PATH_MAX];
        hit = realpath(pattern ? g.gl_pathv[k] : in, r) && (held ? inside(r, p) : inside(p, r));
    }
    if (pattern)
        globfree(&g);
    return hit;
}

/* The paths a job reads, which its output and --report must spare: its inputs, then its side
 * inputs. */
static size_t nguarded(const sheaf_config *cfg) {
    return cfg->ninputs + (cfg->side_inputs ? cfg->nside_inputs : 0);
}

static const char *guarded(const sheaf_config *cfg, size_t i) {
    return i < cfg->ninputs ? cfg->inputs[i] : cfg->side_inputs[i - cfg->ninputs];
}

/* Whether st is a directory (not a symlink) of the job's user, as what a job on OUT leaves
 * beside it is; one another user made under such a name, in a place both can write, is left
 * alone (its removal would walk a tree they can change under it). */
static bool ours(const struct stat *st) {
    return S_ISDIR(st->st_mode) && st->st_uid == geteuid();
}

/* Removes DIR/.BASE.sheaf-XXXXXX and DIR/.BASE.sheaf-old-XXXXXX (exact names: BASE is not a
 * pattern; directories of the job's user), which only a job killed while writing BASE leaves. */
static void sweep_stale(const char *dir, const char *base) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    char prefix[4200];
    int pl = snprintf(prefix, sizeof prefix, ".%s.sheaf-", base);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)pl) != 0)
            continue;
        const char *rest = e->d_name + pl;
        if (!strncmp(rest, "old-", 4))
            rest += 4;
        if (strlen(rest) != 6)
            continue;
        char path[8400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && ours(&st))
            sheaf__rmtree(path);
    }
    closedir(d);
}

/* Releases the lock: the lock file is removed while still held (a job that opened it
 * meanwhile finds, once it holds its lock, that the name is gone, and starts over). */
static void unlock(sheaf__commit *c) {
    if (c->lockfd < 0)
        return;
    unlink(c->lockpath);
    close(c->lockfd);
    c->lockfd = -1;
}

/* Takes the lock on DIR/.BASE.sheaf-lock: a regular file (never followed through a symlink),
 * locked with flock, still the one under that name once locked. */
static int lock_out(sheaf__commit *c, const char *dir, const char *base, char *err,
                    size_t errlen) {
    if (snprintf(c->lockpath, sizeof c->lockpath, "%s/.%s.sheaf-lock", dir, base) >=
        (int)sizeof c->lockpath) {
        snprintf(err, errlen, "output %s: the path of its lock file is too long", c->out);
        return SHEAF_EUSAGE;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        int fd = open(c->lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
        struct stat fst, nst;
        if (fd < 0 || fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
            snprintf(err, errlen, "output %s: cannot use the lock file %s: %s", c->out,
                     c->lockpath, fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0)
                close(fd);
            return SHEAF_EIO;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            snprintf(err, errlen, "output %s is being written by another job", c->out);
            return SHEAF_EEXIST;
        }
        if (stat(c->lockpath, &nst) == 0 && nst.st_dev == fst.st_dev &&
            nst.st_ino == fst.st_ino) {
            c->lockfd = fd;
            return 0;
        }
        close(fd); /* released by the job that held it: take the new one */
    }
    snprintf(err, errlen, "output %s is being written by other jobs", c->out);
    return SHEAF_EEXIST;
}

/* With the lock held and OUT missing: a replace killed between its two renames left the old
 * output in DIR/.BASE.sheaf-old-XXXXXX; it is put back as OUT (the newest, if several). */
static bool restore_old(const char *dir, const char *base, const char *out, char *what,
                        size_t n) {
    DIR *d = opendir(dir);
    if (!d)
        return false;
    char prefix[4200], best[8400] = "";
    int pl = snprintf(prefix, sizeof prefix, ".%s.sheaf-old-", base);
    struct timespec newest = {0, 0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, (size_t)pl) != 0 || strlen(e->d_name + pl) != 6)
            continue;
        char path[8400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) != 0 || !ours(&st))
            continue;
        if (!best[0] || st.st_mtim.tv_sec > newest.tv_sec ||
            (st.st_mtim.tv_sec == newest.tv_sec && st.st_mtim.tv_nsec > newest.tv_nsec)) {
            newest = st.st_mtim;
            snprintf(best, sizeof best, "%s", path);
        }
    }
    closedir(d);
    if (!best[0] || rename(best, out) != 0)
        return false;
    snprintf(what, n, "%s", best);
    return true;
}

/* Refuses to replace an OUT that holds an input or the current directory: --overwrite would
 * delete them. */
static int check_replace(const sheaf_config *cfg, const char *out, char *err, size_t errlen) {
    char rout[PATH_MAX], r[PATH_MAX];
    if (!realpath(out, rout))
        return 0;
    for (size_t i = 0; i < nguarded(cfg); i++) {
        if (overlaps(guarded(cfg, i), rout, true)) {
            snprintf(err, errlen, "output %s holds the input %s: --overwrite would delete it",
                     out, guarded(cfg, i));
            return SHEAF_EUSAGE;
        }
    }
    if (getcwd(r, sizeof r) && inside(r, rout)) {
        snprintf(err, errlen, "output %s holds the current directory: --overwrite would "
                              "delete it", out);
        return SHEAF_EUSAGE;
    }
    return 0;
}

/* The checks made before anything is created, so a refused output leaves no trace: a name to
 * create, not an input or inside one, and, to be replaced, a directory holding no input. */
static int check_output(const sheaf_config *cfg, char *out, size_t outlen, char *err,
                        size_t errlen) {
    if (!cfg->output || !*cfg->output) {
        snprintf(err, errlen, "no output directory given (-o DIR)");
        return SHEAF_EUSAGE;
    }
    /* Room for the staging and part file names derived from it in the fixed buffers. */
    if (strlen(cfg->output) >= outlen - 64) {
        snprintf(err, errlen, "output %.64s...: the path is longer than %zu bytes", cfg->output,
                 outlen - 64);
        return SHEAF_EUSAGE;
    }
    snprintf(out, outlen, "%s", cfg->output);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
        out[n - 1] = '\0';
    char dir[4096], base[4096];
    split_path(out, dir, base, sizeof dir);
    if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
        snprintf(err, errlen, "output %s: name a directory to create", out);
        return SHEAF_EUSAGE;
    }
    char absout[PATH_MAX + 4096];
    absolute(out, absout, sizeof absout);
    for (size_t i = 0; i < nguarded(cfg); i++) {
        if (overlaps(guarded(cfg, i), absout, false)) {
            snprintf(err, errlen, "output %s is the input %s or inside it", out,
                     guarded(cfg, i));
            return SHEAF_EUSAGE;
        }
    }
    struct stat st;
    if (cfg->overwrite && lstat(out, &st) == 0 && S_ISDIR(st.st_mode))
        return check_replace(cfg, out, err, errlen);
    return 0;
}

SHEAF_EXTERN int sheaf_output_check(const sheaf_config *cfg, char *err, size_t errlen) {
    char out[4096];
    int rc = check_output(cfg, out, sizeof out, err, errlen);
    if (!rc)
        rc = sheaf__report_check(cfg, err, errlen);
    struct stat st;
    if (!rc && !cfg->overwrite && lstat(out, &st) == 0) {
        snprintf(err, errlen, "output %s already exists (use --overwrite to replace it)", out);
        rc = SHEAF_EEXIST;
    }
    return rc;
}

static int prepare(const sheaf_config *cfg, sheaf__commit *c, char *err, size_t errlen) {
    int rc = check_output(cfg, c->out, sizeof c->out, err, errlen);
    if (rc)
        return rc;
    char dir[4096], base[4096];
    split_path(c->out, dir, base, sizeof dir);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOTDIR) {
            snprintf(err, errlen, "output %s: a parent is a regular file", c->out);
            return SHEAF_EINVAL;
        }
        if (sheaf__mkdirs(dir, 0755) != 0) {
            snprintf(err, errlen, "output %s: cannot create %s: %s", c->out, dir,
                     strerror(errno));
            return errno == ENOTDIR ? SHEAF_EINVAL : SHEAF_EIO;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "output %s: %s is a regular file, not a directory", c->out, dir);
        return SHEAF_EINVAL;
    }
    if ((rc = lock_out(c, dir, base, err, errlen)))
        return rc;
    /* Holding the lock, no other job writes OUT: what is beside it was left by a killed job. */
    char restored[8400] = "";
    if (lstat(c->out, &st) != 0 && errno == ENOENT &&
        restore_old(dir, base, c->out, restored, sizeof restored))
        snprintf(c->note, sizeof c->note, "output %s restored from %s, where a job killed "
                 "while replacing it had left it", c->out, restored);
    if (lstat(c->out, &st) == 0) {
        if (!cfg->overwrite) {
            snprintf(err, errlen, "output %s already exists (use --overwrite to replace it)%s%s",
                     c->out, restored[0] ? "; it was restored from " : "", restored);
            return SHEAF_EEXIST;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "output %s exists and is not a directory; not replacing it",
                     c->out);
            return SHEAF_EEXIST;
        }
        if (restored[0] && (rc = check_replace(cfg, c->out, err, errlen)))
            return rc;
        c->replace = true;
        sweep_stale(dir, base);
        if (snprintf(c->stage, sizeof c->stage, "%s/.%s.sheaf-XXXXXX", dir, base) >=
                (int)sizeof c->stage ||
            !mkdtemp(c->stage)) {
            snprintf(err, errlen, "cannot create a staging directory beside %s: %s", c->out,
                     strerror(errno));
            c->stage[0] = '\0';
            return SHEAF_EIO;
        }
        /* It becomes OUT: the mode a new OUT gets (mkdir 0755 under the umask), not 0700. */
        mode_t mask = umask(0);
        umask(mask);
        chmod(c->stage, 0755 & ~mask);
    } else {
        if (mkdir(c->out, 0755) != 0) {
            snprintf(err, errlen, "cannot create output %s: %s", c->out, strerror(errno));
            return errno == EEXIST ? SHEAF_EEXIST : SHEAF_EIO;
        }
        c->created_out = true;
        snprintf(c->stage, sizeof c->stage, "%s", c->out);
        sheaf__fault_pause("prepare");
    }
    if (snprintf(c->tmp, sizeof c->tmp, "%s/_temporary", c->stage) >= (int)sizeof c->tmp ||
        mkdir(c->tmp, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", c->tmp, strerror(errno));
        return SHEAF_EIO;
    }
    return 0;
}

int sheaf__commit_prepare(const sheaf_config *cfg, sheaf__commit *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->lockfd = -1;
    int rc = prepare(cfg, c, err, errlen);
    if (rc) {
        /* What this run made goes; then nothing is left for commit_abort to do. */
        sheaf__commit_abort(c);
        c->stage[0] = c->tmp[0] = '\0';
    } else {
        sheaf__cleanup_commit(c);
    }
    return rc;
}

static int write_file(const char *path, const char *text, char *err, size_t errlen) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return SHEAF_EIO;
    }
    int rc = text ? sheaf__write_all(fd, text, strlen(text)) : 0;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
        return rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO;
    }
    return 0;
}

int sheaf__commit_finish(sheaf__commit *c, uint32_t nparts, const char *report_json,
                         const char *report_html, char *err, size_t errlen) {
    char from[4400], to[4400];
    /* Every file the ranks wrote: part-r-NNNNN and named outputs, or the partition folders of
     * a job writing rows to folders (each moved whole; nparts is then 0). */
    DIR *d = opendir(c->tmp);
    if (!d) {
        snprintf(err, errlen, "cannot read %s: %s", c->tmp, strerror(errno));
        return SHEAF_EIO;
    }
    struct dirent *e;
    int moved = 0, rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", c->tmp, e->d_name);
        snprintf(to, sizeof to, "%s/%s", c->stage, e->d_name);
        if (rename(from, to) != 0) {
            snprintf(err, errlen, "cannot move %s into place: %s", from, strerror(errno));
            rc = SHEAF_EIO;
            break;
        }
        /* a part file, not a partition folder (NAME=VALUE, whatever NAME is) */
        moved += strncmp(e->d_name, "part-r-", 7) == 0 && !strchr(e->d_name, '=');
    }
    closedir(d);
    if (rc)
        return rc;
    if ((uint32_t)moved != nparts) {
        snprintf(err, errlen, "%u part files expected in %s, %d found", nparts, c->tmp, moved);
        return SHEAF_EIO;
    }
    if (rmdir(c->tmp) != 0) {
        snprintf(err, errlen, "cannot remove %s: %s", c->tmp, strerror(errno));
        return SHEAF_EIO;
    }
    if (report_json) {
        snprintf(to, sizeof to, "%s/_report.json", c->stage);
        if ((rc = write_file(to, report_json, err, errlen)))
            return rc;
    }
    if (report_html) {
        snprintf(to, sizeof to, "%s/_report.html", c->stage);
        if ((rc = write_file(to, report_html, err, errlen)))
            return rc;
    }
    snprintf(to, sizeof to, "%s/_SUCCESS", c->stage);
    if ((rc = write_file(to, NULL, err, errlen)))
        return rc;
    if (c->replace) {
        char dir[4096], base[4096], old[4400];
        split_path(c->out, dir, base, sizeof dir);
        /* A signal waits for the swap: OUT is the old output or the new one, never neither. A
         * process killed between the renames leaves the old output in `old`, which the next
         * job on OUT puts back (prepare). */
        sheaf__cleanup_hold(true);
        if (snprintf(old, sizeof old, "%s/.%s.sheaf-old-XXXXXX", dir, base) >=
                (int)sizeof old ||
            !mkdtemp(old) || rename(c->out, old) != 0) {
            snprintf(err, errlen, "cannot move the old output %s aside: %s", c->out,
                     strerror(errno));
            rmdir(old);
            sheaf__cleanup_hold(false);
            return SHEAF_EIO;
        }
        sheaf__fault_kill("swap");
        if (rename(c->stage, c->out) != 0) {
            snprintf(err, errlen, "cannot move the new output into %s: %s", c->out,
                     strerror(errno));
            rename(old, c->out);
            sheaf__cleanup_hold(false);
            return SHEAF_EIO;
        }
        /* Committed: nothing of it goes on a signal now. */
        sheaf__cleanup_drop(c->slots[0]);
        c->slots[0] = 0;
        c->replace = false;
        c->stage[0] = '\0';
        sheaf__cleanup_hold(false);
        sheaf__rmtree(old);
    } else {
        sheaf__cleanup_drop(c->slots[0]);
        c->slots[0] = 0;
        c->created_out = false;
    }
    sheaf__cleanup_drop(c->slots[1]);
    c->slots[1] = 0;
    unlock(c);
    return 0;
}

void sheaf__commit_abort(sheaf__commit *c) {
    if (c->replace && c->stage[0])
        sheaf__rmtree(c->stage);
    else if (c->created_out)
        sheaf__rmtree(c->out);
    c->replace = c->created_out = false;
    for (int i = 0; i < 2; i++) {
        sheaf__cleanup_drop(c->slots[i]);
        c->slots[i] = 0;
    }
    unlock(c);
}

void sheaf__cleanup_commit(sheaf__commit *c) {
    c->slots[0] = sheaf__cleanup_add(c->replace ? c->stage : c->out, SHEAF__JANITOR_TREE);
    /* Once this process is gone the lock is free, and the file may be another job's lock by
     * the time the janitor looks: it removes the file only if it can lock it. */
    c->slots[1] = sheaf__cleanup_add(c->lockpath, SHEAF__JANITOR_LOCK);
}

/* ---- --report FILE -------------------------------------------------------------------- */

int sheaf__report_check(const sheaf_config *cfg, char *err, size_t errlen) {
    if (!cfg->report)
        return 0;
    if (!*cfg->report) {
        snprintf(err, errlen, "--report: give a file name");
        return SHEAF_EUSAGE;
    }
    char absrep[PATH_MAX + 4096], absout[PATH_MAX + 4096];
    absolute(cfg->report, absrep, sizeof absrep);
    for (size_t i = 0; i < nguarded(cfg); i++) {
        if (overlaps(guarded(cfg, i), absrep, false)) {
            snprintf(err, errlen, "--report %s is the input %s or inside it", cfg->report,
                     guarded(cfg, i));
            return SHEAF_EUSAGE;
        }
    }
    if (cfg->output && *cfg->output) {
        absolute(cfg->output, absout, sizeof absout);
        if (inside(absrep, absout)) {
            snprintf(err, errlen, "--report %s is inside the output %s (the report is there "
                                  "already, as _report.json)", cfg->report, cfg->output);
            return SHEAF_EUSAGE;
        }
    }
    struct stat st;
    if (lstat(cfg->report, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "--report %s exists and is not a regular file; not "
                                  "replacing it", cfg->report);
            return SHEAF_EUSAGE;
        }
        if (!cfg->overwrite) {
            snprintf(err, errlen, "--report %s already exists (use --overwrite to replace it)",
                     cfg->report);
            return SHEAF_EUSAGE;
        }
    }
    return 0;
}

int sheaf__report_write(const char *path, const char *text, char *err, size_t errlen) {
    char dir[4096], base[4096], tmp[8400];
    split_path(path, dir, base, sizeof dir);
    snprintf(tmp, sizeof tmp, "%s/.%s.sheaf-XXXXXX", dir, base);
    int fd = mkstemp(tmp); /* O_CREAT | O_EXCL: never an existing file or a symlink's target */
    if (fd < 0) {
        snprintf(err, errlen, "cannot write the report %s: %s", path, strerror(errno));
        return SHEAF_EIO;
    }
    int slot = sheaf__cleanup_add(tmp, SHEAF__JANITOR_TREE);
    int rc = sheaf__write_all(fd, text, strlen(text));
    if (fchmod(fd, 0644) != 0 && !rc)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (rc) {
        unlink(tmp);
        snprintf(err, errlen, "cannot write the report %s: %s", path, strerror(-rc));
    }
    sheaf__cleanup_drop(slot);
    return rc ? (rc == -ENOSPC ? SHEAF_ENOSPC : SHEAF_EIO) : 0;
}

/* ---- the public form, for programs that write their own files -------------------------- */

struct sheaf_output {
    sheaf__commit c;
};

SHEAF_EXTERN int sheaf_output_begin(const sheaf_config *cfg, sheaf_output **out, char *err,
                                    size_t errlen) {
    *out = calloc(1, sizeof **out);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return SHEAF_ENOMEM;
    }
    int rc = sheaf__commit_prepare(cfg, &(*out)->c, err, errlen);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

SHEAF_EXTERN const char *sheaf_output_dir(const sheaf_output *out) {
    return out->c.tmp;
}

SHEAF_EXTERN int sheaf_output_commit(sheaf_output *out, char *err, size_t errlen) {
    int rc = sheaf__commit_finish(&out->c, 0, NULL, NULL, err, errlen);
    if (rc)
        sheaf__commit_abort(&out->c);
    free(out);
    return rc;
}

SHEAF_EXTERN void sheaf_output_abort(sheaf_output *out) {
    if (!out)
        return;
    sheaf__commit_abort(&out->c);
    free(out);
}
