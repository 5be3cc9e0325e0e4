/*
 * test_commit.c: unit tests of the output directory protocol (commit.c).
 *
 * Each test works in its own directory under a private temporary directory. The state of a
 * tree is captured as a snapshot (every path under it, with each file's contents), so "left
 * untouched" is checked exactly, including that no staging directory was left beside it.
 */
#include "internal.h"
#include "unit.h"

#include <dirent.h>

static char tmpdir[4096];

/* ---- tree snapshots ---- */

typedef struct snap {
    char **lines;
    size_t n, cap;
    size_t root; /* length of the root path, stripped from entries */
} snap;

static snap *cur_snap;

static int snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    snap *s = cur_snap;
    const char *rel = path + s->root;
    char *line;
    if (flag == FTW_F) {
        size_t len = 0;
        char *data = unit_read_file(path, &len);
        /* contents with newlines escaped, so that an entry is one line */
        char *esc = unit_xmalloc(2 * len + 1);
        size_t e = 0;
        for (size_t i = 0; data && i < len; i++) {
            if (data[i] == '\n') {
                esc[e++] = '\\';
                esc[e++] = 'n';
            } else {
                esc[e++] = data[i];
            }
        }
        esc[e] = '\0';
        if (asprintf(&line, "F %s [%s]", rel, esc) < 0)
            line = NULL;
        free(esc);
        free(data);
    } else if (flag == FTW_SL) {
        if (asprintf(&line, "L %s", rel) < 0)
            line = NULL;
    } else {
        if (asprintf(&line, "D %s", rel) < 0)
            line = NULL;
    }
    if (!line)
        return -1;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->lines = unit_xrealloc(s->lines, s->cap * sizeof *s->lines);
    }
    s->lines[s->n++] = line;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry under root (root itself included, as ""), sorted, joined by newlines. */
static char *snapshot(const char *root) {
    snap s = {0};
    s.root = strlen(root);
    while (s.root > 1 && root[s.root - 1] == '/')
        s.root--;
    cur_snap = &s;
    if (unit_exists(root) && nftw(root, snap_one, 16, FTW_PHYS) != 0) {
        for (size_t i = 0; i < s.n; i++)
            free(s.lines[i]);
        free(s.lines);
        return strdup("(unreadable)");
    }
    qsort(s.lines, s.n, sizeof *s.lines, cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < s.n; i++)
        total += strlen(s.lines[i]) + 1;
    char *out = unit_xmalloc(total);
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < s.n; i++) {
        size_t l = strlen(s.lines[i]);
        memcpy(out + o, s.lines[i], l);
        out[o + l] = '\n';
        o += l + 1;
        free(s.lines[i]);
    }
    out[o] = '\0';
    free(s.lines);
    return out;
}

static bool same_snapshot(const char *before, const char *root, const char *what) {
    char *now = snapshot(root);
    bool same = strcmp(before, now) == 0;
    if (!same)
        fprintf(stderr, "%s: %s changed.\nbefore:\n%safter:\n%s", what, root, before, now);
    free(now);
    return same;
}

/* A fresh directory for one test. */
static void test_dir(char *buf, size_t n, const char *name) {
    unit_path(buf, n, tmpdir, name);
    CU_ASSERT_FATAL(mkdir(buf, 0755) == 0);
}

static int prepare(const char *out, int overwrite, const char *const *inputs, size_t ninputs,
                   sheaf__commit *c, char *err, size_t errlen) {
    sheaf_config cfg;
    sheaf_config_init(&cfg);
    cfg.output = out;
    cfg.overwrite = overwrite;
    cfg.inputs = inputs;
    cfg.ninputs = ninputs;
    err[0] = '\0';
    return sheaf__commit_prepare(&cfg, c, err, errlen);
}

/* Writes part files 0..n-1 into the commit's _temporary, as the ranks would. */
static void write_parts(const sheaf__commit *c, uint32_t n, const char *tag) {
    for (uint32_t p = 0; p < n; p++) {
        char path[4400], text[64];
        snprintf(path, sizeof path, "%s/part-r-%05u", c->tmp, p);
        snprintf(text, sizeof text, "%s part %u\n", tag, p);
        CU_ASSERT_FATAL(unit_write_str(path, text) == 0);
    }
}

/* The snapshot a committed output of n parts written with tag must have. */
static char *expected_output(uint32_t n, const char *tag, const char *report) {
    char *s = unit_xmalloc(4096 + 64 * (size_t)n);
    size_t o = 0;
    o += (size_t)sprintf(s + o, "D \n");
    for (uint32_t p = 0; p < n; p++)
        o += (size_t)sprintf(s + o, "F /part-r-%05u [%s part %u\\n]\n", p, tag, p);
    if (report)
        o += (size_t)sprintf(s + o, "F /_report.json [%s]\n", report);
    o += (size_t)sprintf(s + o, "F /_SUCCESS []\n");
    /* in snapshot order */
    char *lines[1100];
    size_t nl = 0;
    for (char *tok = strtok(s, "\n"); tok && nl < 1100; tok = strtok(NULL, "\n"))
        lines[nl++] = strdup(tok);
    qsort(lines, nl, sizeof *lines, cmp_str);
    o = 0;
    for (size_t i = 0; i < nl; i++) {
        o += (size_t)sprintf(s + o, "%s\n", lines[i]);
        free(lines[i]);
    }
    return s;
}

/* ---- tests ---- */

static void test_new_output(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "new");
    const char *const outs[] = {"out", "deep/er/out", "slash/"};
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        unit_path(out, sizeof out, d, outs[k]);
        sheaf__commit c;
        char err[1024];
        CU_ASSERT_EQUAL_FATAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), 0);
        UNIT_ASSERT(unit_is_dir(out));
        UNIT_ASSERT(c.created_out);
        UNIT_ASSERT_FALSE(c.replace);
        UNIT_ASSERT(unit_is_dir(c.tmp));
        /* nothing is visible as output yet: no _SUCCESS */
        char p[4500];
        UNIT_ASSERT_FALSE(unit_exists(unit_path(p, sizeof p, out, "_SUCCESS")));
        const uint32_t nparts = (uint32_t)(k * 3 + 1);
        write_parts(&c, nparts, "new");
        const char *report = k == 1 ? NULL : "{\"job\": 1}";
        UNIT_ASSERT_EQUAL(sheaf__commit_finish(&c, nparts, report, NULL, err, sizeof err), 0);
        char *want = expected_output(nparts, "new", report);
        UNIT_ASSERT(same_snapshot(want, out, "new output"));
        free(want);
    }
    /* nothing but the outputs (and the parents made for one) exists */
    char *want = strdup("D \nD /deep\nD /deep/er\nD /deep/er/out\nD /out\nD /slash\n");
    char *got = snapshot(d);
    char *filtered = unit_xcalloc(strlen(got) + 1, 1);
    for (char *line = strtok(got, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == 'D') {
            strcat(filtered, line);
            strcat(filtered, "\n");
        }
    }
    UNIT_ASSERT_STRING_EQUAL(filtered, want);
    free(filtered);
    free(got);
    free(want);
}

static void test_new_output_abort(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "newabort");
    unit_path(out, sizeof out, d, "out");
    char *before = snapshot(d);
    sheaf__commit c;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), 0);
    write_parts(&c, 2, "x");
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "aborted new output"));
    free(before);
}

static void test_existing_refused(void) {
    char d[4200], out[4400], p[4500];
    test_dir(d, sizeof d, "exists");
    unit_path(out, sizeof out, d, "out");
    CU_ASSERT_FATAL(mkdir(out, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "part-r-00000"), "old\n") == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "_SUCCESS"), "") == 0);
    char *before = snapshot(d);
    sheaf__commit c;
    char err[1024];
    UNIT_ASSERT_EQUAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), SHEAF_EEXIST);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, out));
    /* the caller aborts after a failed prepare: that must not touch the old output either */
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "refused existing output"));
    free(before);

    /* an existing regular file is refused even with overwrite */
    char file[4400];
    unit_path(file, sizeof file, d, "file");
    CU_ASSERT_FATAL(unit_write_str(file, "data\n") == 0);
    before = snapshot(d);
    UNIT_ASSERT_EQUAL(prepare(file, 0, NULL, 0, &c, err, sizeof err), SHEAF_EEXIST);
    sheaf__commit_abort(&c);
    UNIT_ASSERT_EQUAL(prepare(file, 1, NULL, 0, &c, err, sizeof err), SHEAF_EEXIST);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, file));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "refused file output"));
    free(before);
}

/* The old output of an overwrite: a few files and a subdirectory. */
static void make_old_output(const char *out) {
    char p[4500];
    CU_ASSERT_FATAL(mkdir(out, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "part-r-00000"), "old 0\n") == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "part-r-00001"), "old 1\n") == 0);
    CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, out, "sub"), 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "sub/x"), "old x\n") == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, out, "_SUCCESS"), "") == 0);
}

static void test_overwrite_abort(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "owabort");
    unit_path(out, sizeof out, d, "out");
    make_old_output(out);
    char *before = snapshot(d);
    sheaf__commit c;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(prepare(out, 1, NULL, 0, &c, err, sizeof err), 0);
    UNIT_ASSERT(c.replace);
    UNIT_ASSERT_FALSE(c.created_out);
    /* the job writes beside the old output, never into it */
    UNIT_ASSERT(unit_is_dir(c.tmp));
    UNIT_ASSERT(strncmp(c.tmp, out, strlen(out)) != 0 || c.tmp[strlen(out)] != '/');
    write_parts(&c, 3, "new");
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "overwrite then abort"));
    free(before);
}

static void test_overwrite_finish(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "owfinish");
    unit_path(out, sizeof out, d, "out");
    make_old_output(out);
    sheaf__commit c;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(prepare(out, 1, NULL, 0, &c, err, sizeof err), 0);
    write_parts(&c, 4, "new");
    /* until the commit, the old output is what readers see */
    char p[4500];
    char *old = unit_read_file(unit_path(p, sizeof p, out, "part-r-00000"), NULL);
    UNIT_ASSERT(old && !strcmp(old, "old 0\n"));
    free(old);
    UNIT_ASSERT_EQUAL(sheaf__commit_finish(&c, 4, "{}", NULL, err, sizeof err), 0);
    char *want = expected_output(4, "new", "{}");
    UNIT_ASSERT(same_snapshot(want, out, "overwritten output"));
    free(want);
    /* and nothing else is left beside it (no stage, no old copy) */
    char *all = snapshot(d);
    size_t lines = 0;
    for (char *q = all; *q; q++)
        lines += *q == '\n';
    UNIT_ASSERT_EQUAL(lines, 1 + 1 + 4 + 2); /* d, out, parts, _report.json, _SUCCESS */
    UNIT_ASSERT_PTR_NULL(strstr(all, "sheaf-"));
    free(all);
}

/* An overwrite removes the staging directories a killed job left beside the output (the lock
 * says no job is running there), and nothing else. */
static void test_overwrite_cleans_stale(void) {
    char d[4200], out[4400], p[4500];
    test_dir(d, sizeof d, "stale");
    unit_path(out, sizeof out, d, "out");
    make_old_output(out);
    const char *const stale[] = {".out.sheaf-abc123", ".out.sheaf-old-def456"};
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, stale[i]), 0755) == 0);
        char q[4600];
        snprintf(q, sizeof q, "%s/part-r-00000", p);
        CU_ASSERT_FATAL(unit_write_str(q, "killed\n") == 0);
    }
    const char *const keep[] = {".other", ".out2.sheaf-x", "out.sheaf-visible", ".out.sheafx"};
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, keep[i]), 0755) == 0);
    /* without overwrite nothing is cleaned */
    char *before = snapshot(d);
    sheaf__commit c;
    char err[1024];
    UNIT_ASSERT_EQUAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), SHEAF_EEXIST);
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "refused output with stale staging"));
    free(before);
    /* with overwrite the stale ones go, and only they */
    for (size_t i = 0; i < 2; i++)
        CU_ASSERT_FATAL(unit_rmtree(unit_path(p, sizeof p, d, stale[i])) == 0);
    before = snapshot(d);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_FATAL(mkdir(unit_path(p, sizeof p, d, stale[i]), 0755) == 0);
    }
    CU_ASSERT_EQUAL_FATAL(prepare(out, 1, NULL, 0, &c, err, sizeof err), 0);
    for (size_t i = 0; i < 2; i++)
        UNIT_ASSERT_FALSE(unit_exists(unit_path(p, sizeof p, d, stale[i])));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "overwrite cleaning stale staging"));
    free(before);
}

/* Cleaning stale staging must not reach the staging of a running job on another output,
 * even when this output's name holds glob characters. */
static void test_overwrite_spares_other_outputs(void) {
    char d[4200], run1[4400], other[4400];
    test_dir(d, sizeof d, "others");
    const char *const names[][2] = {
        {"run1", "run[12]"}, {"run2", "run?"}, {"runx", "run*"}, {"out.sheaf-x", "out"},
    };
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        unit_path(run1, sizeof run1, d, names[k][0]);
        unit_path(other, sizeof other, d, names[k][1]);
        make_old_output(run1);
        make_old_output(other);
        sheaf__commit a, b;
        char err[1024];
        /* job A is running on run1, staging beside it */
        CU_ASSERT_EQUAL_FATAL(prepare(run1, 1, NULL, 0, &a, err, sizeof err), 0);
        write_parts(&a, 2, "A");
        /* job B starts on another output */
        CU_ASSERT_EQUAL_FATAL(prepare(other, 1, NULL, 0, &b, err, sizeof err), 0);
        bool intact = unit_is_dir(a.tmp);
        if (!intact)
            fprintf(stderr, "overwriting %s removed the staging of the job writing %s\n",
                    names[k][1], names[k][0]);
        UNIT_ASSERT(intact);
        sheaf__commit_abort(&b);
        /* A still commits */
        err[0] = '\0';
        int rc = intact ? sheaf__commit_finish(&a, 2, NULL, NULL, err, sizeof err) : SHEAF_EIO;
        UNIT_ASSERT_EQUAL(rc, 0);
        if (rc) {
            sheaf__commit_abort(&a);
        } else {
            char *want = expected_output(2, "A", NULL);
            UNIT_ASSERT(same_snapshot(want, run1, "the other job's output"));
            free(want);
        }
        CU_ASSERT_FATAL(unit_rmtree(run1) == 0);
        CU_ASSERT_FATAL(unit_rmtree(other) == 0);
    }
}

static void test_output_inside_input(void) {
    char d[4200], in[4400], out[4500], p[4500];
    test_dir(d, sizeof d, "inside");
    unit_path(in, sizeof in, d, "input");
    CU_ASSERT_FATAL(mkdir(in, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, in, "data.txt"), "a b\n") == 0);
    char file[4400];
    unit_path(file, sizeof file, d, "file.txt");
    CU_ASSERT_FATAL(unit_write_str(file, "c d\n") == 0);
    char link[4400];
    unit_path(link, sizeof link, d, "link");
    CU_ASSERT_FATAL(symlink("input", link) == 0);
    char *before = snapshot(d);
    const char *inputs[2] = {file, in};
    sheaf__commit c;
    char err[1024];
    /* the input itself, a directory inside it, one through a symlink */
    const char *const outs[] = {"input", "input/out", "input/", "link/out", "input/./out"};
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        unit_path(out, sizeof out, d, outs[k]);
        for (int ow = 0; ow < 2; ow++) {
            UNIT_ASSERT_EQUAL(prepare(out, ow, inputs, 2, &c, err, sizeof err), SHEAF_EUSAGE);
            UNIT_ASSERT_PTR_NOT_NULL(strstr(err, in));
            sheaf__commit_abort(&c);
            UNIT_ASSERT(same_snapshot(before, d, outs[k]));
        }
    }
    /* an input file as the output */
    UNIT_ASSERT(prepare(file, 1, inputs, 2, &c, err, sizeof err) < 0);
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "input file as output"));
    /* beside the input is fine */
    unit_path(out, sizeof out, d, "inputs-out");
    UNIT_ASSERT_EQUAL(prepare(out, 0, inputs, 2, &c, err, sizeof err), 0);
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "output beside the input"));
    free(before);
}

/* A refused output deep inside an input must not leave new directories in the input. */
static void test_output_inside_input_no_side_effects(void) {
    char d[4200], in[4400], out[4500], p[4500];
    test_dir(d, sizeof d, "inside-deep");
    unit_path(in, sizeof in, d, "input");
    CU_ASSERT_FATAL(mkdir(in, 0755) == 0);
    CU_ASSERT_FATAL(unit_write_str(unit_path(p, sizeof p, in, "data.txt"), "a b\n") == 0);
    char *before = snapshot(d);
    const char *inputs[1] = {in};
    sheaf__commit c;
    char err[1024];
    unit_path(out, sizeof out, in, "new/sub/out");
    UNIT_ASSERT_EQUAL(prepare(out, 0, inputs, 1, &c, err, sizeof err), SHEAF_EUSAGE);
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "refused output deep inside the input"));
    free(before);
}

static void test_output_under_file(void) {
    char d[4200], file[4400], out[4500];
    test_dir(d, sizeof d, "underfile");
    unit_path(file, sizeof file, d, "regular");
    CU_ASSERT_FATAL(unit_write_str(file, "x\n") == 0);
    char *before = snapshot(d);
    const char *const outs[] = {"regular/out", "regular/sub/out"};
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        unit_path(out, sizeof out, d, outs[k]);
        for (int ow = 0; ow < 2; ow++) {
            sheaf__commit c;
            char err[1024];
            int rc = prepare(out, ow, NULL, 0, &c, err, sizeof err);
            UNIT_ASSERT_EQUAL(rc, SHEAF_EINVAL);
            UNIT_ASSERT(err[0] != '\0');
            UNIT_ASSERT_PTR_NOT_NULL(strstr(err, out));
            sheaf__commit_abort(&c);
            UNIT_ASSERT(same_snapshot(before, d, outs[k]));
        }
    }
    free(before);
}

static void test_bad_names(void) {
    sheaf__commit c;
    char err[1024];
    const char *const outs[] = {"", ".", "..", "/", "//"};
    for (size_t k = 0; k < sizeof outs / sizeof *outs; k++) {
        UNIT_ASSERT_EQUAL(prepare(outs[k], 1, NULL, 0, &c, err, sizeof err), SHEAF_EUSAGE);
        sheaf__commit_abort(&c);
    }
    UNIT_ASSERT_EQUAL(prepare(NULL, 0, NULL, 0, &c, err, sizeof err), SHEAF_EUSAGE);
    sheaf__commit_abort(&c);
}

/* A second job on the same output is refused while the first holds it, and the first is not
 * disturbed; once the first is done, the output is free again. */
static void test_lock(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "lock");
    unit_path(out, sizeof out, d, "out");
    sheaf__commit a, b;
    char err[1024];
    /* first job: a new output */
    CU_ASSERT_EQUAL_FATAL(prepare(out, 0, NULL, 0, &a, err, sizeof err), 0);
    write_parts(&a, 2, "first");
    char *during = snapshot(d);
    UNIT_ASSERT_EQUAL(prepare(out, 1, NULL, 0, &b, err, sizeof err), SHEAF_EEXIST);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, out));
    sheaf__commit_abort(&b);
    UNIT_ASSERT_EQUAL(prepare(out, 0, NULL, 0, &b, err, sizeof err), SHEAF_EEXIST);
    sheaf__commit_abort(&b);
    UNIT_ASSERT(same_snapshot(during, d, "output of a running job"));
    free(during);
    UNIT_ASSERT_EQUAL(sheaf__commit_finish(&a, 2, NULL, NULL, err, sizeof err), 0);
    char *want = expected_output(2, "first", NULL);
    UNIT_ASSERT(same_snapshot(want, out, "first job's output"));
    free(want);

    /* first job: an overwrite, holding the old output */
    CU_ASSERT_EQUAL_FATAL(prepare(out, 1, NULL, 0, &a, err, sizeof err), 0);
    write_parts(&a, 1, "second");
    during = snapshot(d);
    UNIT_ASSERT_EQUAL(prepare(out, 1, NULL, 0, &b, err, sizeof err), SHEAF_EEXIST);
    sheaf__commit_abort(&b);
    UNIT_ASSERT(same_snapshot(during, d, "output of a running overwrite"));
    free(during);
    sheaf__commit_abort(&a);
    want = expected_output(2, "first", NULL);
    UNIT_ASSERT(same_snapshot(want, out, "after the overwrite aborted"));
    /* the lock went with the abort */
    UNIT_ASSERT_EQUAL(prepare(out, 1, NULL, 0, &b, err, sizeof err), 0);
    sheaf__commit_abort(&b);
    UNIT_ASSERT(same_snapshot(want, out, "after a second abort"));
    free(want);
}

/* A part file that is missing at commit fails the commit. */
static void test_missing_part(void) {
    char d[4200], out[4400];
    test_dir(d, sizeof d, "missing");
    unit_path(out, sizeof out, d, "out");
    sheaf__commit c;
    char err[1024];
    CU_ASSERT_EQUAL_FATAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), 0);
    write_parts(&c, 2, "m");
    err[0] = '\0';
    UNIT_ASSERT_EQUAL(sheaf__commit_finish(&c, 3, NULL, NULL, err, sizeof err), SHEAF_EIO);
    UNIT_ASSERT(err[0] != '\0');
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "part"));
    char p[4500];
    UNIT_ASSERT_FALSE(unit_exists(unit_path(p, sizeof p, out, "_SUCCESS")));
    sheaf__commit_abort(&c);
    UNIT_ASSERT_FALSE(unit_exists(out));
}

/* The lock file beside OUT is never followed through a symlink, and goes when the job ends. */
static void test_lock_file(void) {
    char d[4200], out[4400], lock[4400], victim[4400];
    test_dir(d, sizeof d, "lockfile");
    unit_path(out, sizeof out, d, "out");
    unit_path(lock, sizeof lock, d, ".out.sheaf-lock");
    unit_path(victim, sizeof victim, d, "victim");
    CU_ASSERT_FATAL(unit_write_str(victim, "precious\n") == 0);
    CU_ASSERT_FATAL(symlink(victim, lock) == 0);
    char *before = snapshot(d);
    sheaf__commit c;
    char err[1024];
    UNIT_ASSERT_EQUAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), SHEAF_EIO);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "lock file"));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "a symlink as the lock file"));
    free(before);
    CU_ASSERT_FATAL(unlink(lock) == 0);
    CU_ASSERT_EQUAL_FATAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), 0);
    UNIT_ASSERT(unit_exists(lock));
    write_parts(&c, 1, "l");
    UNIT_ASSERT_EQUAL(sheaf__commit_finish(&c, 1, NULL, NULL, err, sizeof err), 0);
    UNIT_ASSERT_FALSE(unit_exists(lock));
}

/* OUT missing and its old output moved aside (a replace killed between its renames): the next
 * job puts it back before anything else. */
static void test_restore_old(void) {
    char d[4200], out[4400], old[4400];
    test_dir(d, sizeof d, "restore");
    unit_path(out, sizeof out, d, "out");
    unit_path(old, sizeof old, d, ".out.sheaf-old-Ab12Cd");
    make_old_output(out);
    char *want = snapshot(out);
    CU_ASSERT_FATAL(rename(out, old) == 0);
    sheaf__commit c;
    char err[1024];
    UNIT_ASSERT_EQUAL(prepare(out, 0, NULL, 0, &c, err, sizeof err), SHEAF_EEXIST);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "restored from"));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(want, out, "the restored output"));
    UNIT_ASSERT_FALSE(unit_exists(old));
    /* with --overwrite it is restored, then replaced */
    CU_ASSERT_FATAL(rename(out, old) == 0);
    CU_ASSERT_EQUAL_FATAL(prepare(out, 1, NULL, 0, &c, err, sizeof err), 0);
    UNIT_ASSERT(c.replace);
    UNIT_ASSERT(same_snapshot(want, out, "restored before the replace"));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(want, out, "restored, replace aborted"));
    free(want);
}

/* --overwrite never replaces an output holding an input or the current directory. */
static void test_overwrite_holds_input(void) {
    char d[4200], out[4400], in[4500], cwd[4096];
    test_dir(d, sizeof d, "holds");
    unit_path(out, sizeof out, d, "proj");
    make_old_output(out);
    unit_path(in, sizeof in, out, "sub/x");
    char *before = snapshot(d);
    const char *inputs[1] = {in};
    sheaf__commit c;
    char err[1024];
    UNIT_ASSERT_EQUAL(prepare(out, 1, inputs, 1, &c, err, sizeof err), SHEAF_EUSAGE);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "holds the input"));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "output holding an input"));
    CU_ASSERT_FATAL(getcwd(cwd, sizeof cwd) != NULL);
    char sub[4500];
    unit_path(sub, sizeof sub, out, "sub");
    CU_ASSERT_FATAL(chdir(sub) == 0);
    int rc = prepare(out, 1, NULL, 0, &c, err, sizeof err);
    CU_ASSERT_FATAL(chdir(cwd) == 0);
    UNIT_ASSERT_EQUAL(rc, SHEAF_EUSAGE);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "holds the current directory"));
    sheaf__commit_abort(&c);
    UNIT_ASSERT(same_snapshot(before, d, "output holding the current directory"));
    free(before);
}

/* --report: the refusals, and the atomic write that replaces a file but never follows a
 * symlink. */
static void test_report(void) {
    char d[4200], in[4400], out[4400], rep[4500], victim[4400], link[4400];
    test_dir(d, sizeof d, "report");
    unit_path(in, sizeof in, d, "in.txt");
    unit_path(out, sizeof out, d, "out");
    unit_path(victim, sizeof victim, d, "victim");
    unit_path(link, sizeof link, d, "link.json");
    CU_ASSERT_FATAL(unit_write_str(in, "a b\n") == 0);
    CU_ASSERT_FATAL(unit_write_str(victim, "precious\n") == 0);
    CU_ASSERT_FATAL(symlink(victim, link) == 0);
    sheaf_config cfg;
    sheaf_config_init(&cfg);
    const char *inputs[1] = {in};
    cfg.inputs = inputs;
    cfg.ninputs = 1;
    cfg.output = out;
    char err[1024];
    cfg.report = in;
    UNIT_ASSERT_EQUAL(sheaf__report_check(&cfg, err, sizeof err), SHEAF_EUSAGE);
    cfg.report = unit_path(rep, sizeof rep, out, "r.json");
    UNIT_ASSERT_EQUAL(sheaf__report_check(&cfg, err, sizeof err), SHEAF_EUSAGE);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "inside the output"));
    cfg.report = victim;
    UNIT_ASSERT_EQUAL(sheaf__report_check(&cfg, err, sizeof err), SHEAF_EUSAGE);
    UNIT_ASSERT_PTR_NOT_NULL(strstr(err, "already exists"));
    cfg.overwrite = 1;
    UNIT_ASSERT_EQUAL(sheaf__report_check(&cfg, err, sizeof err), 0);
    cfg.report = link;
    UNIT_ASSERT_EQUAL(sheaf__report_check(&cfg, err, sizeof err), SHEAF_EUSAGE);
    /* written over a symlink (were it let through), the link is replaced, not followed */
    UNIT_ASSERT_EQUAL(sheaf__report_write(link, "{}\n", err, sizeof err), 0);
    size_t len = 0;
    char *text = unit_read_file(victim, &len);
    UNIT_ASSERT(text && len == 9 && !memcmp(text, "precious\n", 9));
    free(text);
    struct stat st;
    UNIT_ASSERT(lstat(link, &st) == 0 && S_ISREG(st.st_mode));
    text = unit_read_file(link, &len);
    UNIT_ASSERT(text && len == 3 && !memcmp(text, "{}\n", 3));
    free(text);
    char *after = snapshot(d);
    UNIT_ASSERT_PTR_NULL(strstr(after, ".sheaf-"));
    free(after);
}

int main(void) {
    if (unit_mkdtemp(tmpdir, sizeof tmpdir, "commit") != 0) {
        perror("mkdtemp");
        return 99;
    }
    static const unit_test tests[] = {
        {"new_output", test_new_output},
        {"new_output_abort", test_new_output_abort},
        {"existing_refused", test_existing_refused},
        {"overwrite_abort", test_overwrite_abort},
        {"overwrite_finish", test_overwrite_finish},
        {"overwrite_cleans_stale", test_overwrite_cleans_stale},
        {"overwrite_spares_other_outputs", test_overwrite_spares_other_outputs},
        {"output_inside_input", test_output_inside_input},
        {"output_inside_input_no_side_effects", test_output_inside_input_no_side_effects},
        {"output_under_file", test_output_under_file},
        {"bad_names", test_bad_names},
        {"lock", test_lock},
        {"missing_part", test_missing_part},
        {"lock_file", test_lock_file},
        {"restore_old", test_restore_old},
        {"overwrite_holds_input", test_overwrite_holds_input},
        {"report", test_report},
        {NULL, NULL},
    };
    int rc = unit_main("commit", tests);
    if (unit_rmtree(tmpdir) != 0) {
        fprintf(stderr, "cannot remove %s\n", tmpdir);
        rc = rc ? rc : 1;
    }
    return rc;
}
