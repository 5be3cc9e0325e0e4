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
 * Rank 0 holds an exclusive flock on OUT for the job's life, so a second job writing the same
 * OUT is refused at the start while the first one is unharmed; a job killed outright releases
 * the lock with its process, and the next run with --overwrite, once it holds the lock,
 * removes the staging directories the killed job left beside OUT.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Removes DIR/.BASE.sheaf-XXXXXX and DIR/.BASE.sheaf-old-XXXXXX (exact names: BASE is not a
 * pattern), which only a job killed while writing BASE leaves. */
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
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        sheaf__rmtree(path);
    }
    closedir(d);
}

static int lock_dir(sheaf__commit *c, const char *dir, char *err, size_t errlen) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open output %s: %s", dir, strerror(errno));
        return SHEAF_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        snprintf(err, errlen, "output %s is being written by another job", dir);
        return SHEAF_EEXIST;
    }
    c->lockfd = fd;
    return 0;
}

int sheaf__commit_prepare(const sheaf_config *cfg, sheaf__commit *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->lockfd = -1;
    if (!cfg->output || !*cfg->output) {
        snprintf(err, errlen, "no output directory given (-o DIR)");
        return SHEAF_EUSAGE;
    }
    /* Room for the staging and part file names derived from it in the fixed buffers. */
    if (strlen(cfg->output) >= sizeof c->out - 64) {
        snprintf(err, errlen, "output %.64s...: the path is longer than %zu bytes",
                 cfg->output, sizeof c->out - 64);
        return SHEAF_EUSAGE;
    }
    snprintf(c->out, sizeof c->out, "%s", cfg->output);
    for (size_t n = strlen(c->out); n > 1 && c->out[n - 1] == '/'; n--)
        c->out[n - 1] = '\0';
    char dir[4096], base[4096];
    split_path(c->out, dir, base, sizeof dir);
    if (!strcmp(base, ".") || !strcmp(base, "..") || !strcmp(base, "/")) {
        snprintf(err, errlen, "output %s: name a directory to create", c->out);
        return SHEAF_EUSAGE;
    }
    /* Checked before anything is created, so a refused output leaves no trace. */
    char absout[PATH_MAX + 4096];
    absolute(c->out, absout, sizeof absout);
    for (size_t i = 0; i < cfg->ninputs; i++) {
        char rin[PATH_MAX];
        if (realpath(cfg->inputs[i], rin) && inside(absout, rin)) {
            snprintf(err, errlen, "output %s is the input %s or inside it", c->out,
                     cfg->inputs[i]);
            return SHEAF_EUSAGE;
        }
    }
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
    if (lstat(c->out, &st) == 0) {
        if (!cfg->overwrite) {
            snprintf(err, errlen, "output %s already exists (use --overwrite to replace it)",
                     c->out);
            return SHEAF_EEXIST;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "output %s exists and is not a directory; not replacing it",
                     c->out);
            return SHEAF_EEXIST;
        }
        int rc = lock_dir(c, c->out, err, errlen);
        if (rc)
            return rc;
        c->replace = true;
        /* Holding the lock, no other job writes OUT: staging or old directories beside it are
         * what a killed job left. */
        sweep_stale(dir, base);
        if (snprintf(c->stage, sizeof c->stage, "%s/.%s.sheaf-XXXXXX", dir, base) >=
                (int)sizeof c->stage ||
            !mkdtemp(c->stage)) {
            snprintf(err, errlen, "cannot create a staging directory beside %s: %s", c->out,
                     strerror(errno));
            return SHEAF_EIO;
        }
    } else {
        if (mkdir(c->out, 0755) != 0) {
            snprintf(err, errlen, "cannot create output %s: %s", c->out, strerror(errno));
            return errno == EEXIST ? SHEAF_EEXIST : SHEAF_EIO;
        }
        c->created_out = true;
        snprintf(c->stage, sizeof c->stage, "%s", c->out);
        int rc = lock_dir(c, c->out, err, errlen);
        if (rc)
            return rc;
    }
    if (snprintf(c->tmp, sizeof c->tmp, "%s/_temporary", c->stage) >= (int)sizeof c->tmp ||
        mkdir(c->tmp, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", c->tmp, strerror(errno));
        sheaf__commit_abort(c);
        return SHEAF_EIO;
    }
    return 0;
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
    /* Every file the ranks wrote: part-r-NNNNN and named outputs. */
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
        moved += strncmp(e->d_name, "part-r-", 7) == 0;
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
        if (snprintf(old, sizeof old, "%s/.%s.sheaf-old-XXXXXX", dir, base) >=
                (int)sizeof old ||
            !mkdtemp(old) || rename(c->out, old) != 0) {
            snprintf(err, errlen, "cannot move the old output %s aside: %s", c->out,
                     strerror(errno));
            return SHEAF_EIO;
        }
        if (rename(c->stage, c->out) != 0) {
            snprintf(err, errlen, "cannot move the new output into %s: %s", c->out,
                     strerror(errno));
            rename(old, c->out);
            return SHEAF_EIO;
        }
        sheaf__rmtree(old);
    }
    if (c->lockfd >= 0)
        close(c->lockfd);
    c->lockfd = -1;
    return 0;
}

void sheaf__commit_abort(sheaf__commit *c) {
    if (c->replace && c->stage[0])
        sheaf__rmtree(c->stage);
    else if (c->created_out)
        sheaf__rmtree(c->out);
    if (c->lockfd >= 0)
        close(c->lockfd);
    c->lockfd = -1;
}
