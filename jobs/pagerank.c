/*
 * pagerank.c: PageRank over an edge list, one MapReduce round per iteration.
 *
 * Input: lines `src dst` (ids are any tokens without whitespace; more fields after the
 * second are ignored; blank lines and lines starting with '#' are skipped). A repeated edge
 * counts as often as it appears. Output: `node<TAB>rank` for every node, the ranks summing to
 * 1, each partition sorted by node.
 *
 * The formula, with N nodes and damping d (--damping, default 0.85):
 *   rank'(v) = (1 - d) / N + d * (sum over edges u->v of rank(u) / outdeg(u) + D / N)
 * where D is the total rank of dangling nodes (no out-edges), spread evenly over all nodes.
 * Every node starts at 1/N; --iterations (default 10) rounds follow.
 *
 * Rounds (the driver): round 0 turns the edge list into adjacency lines
 * `node<TAB>rank<TAB>dst dst ...` in a fresh work directory (OUT.work-pagerank-XXXXXX, or
 * inside --work-dir; removed at the end unless --keep-work); each iteration reads the
 * previous adjacency lines, sends rank/outdeg along every edge and the adjacency to the node
 * itself, and writes new adjacency lines; the last iteration writes OUT. Rank state between
 * rounds is therefore in files, written at full precision (%.17g). The two numbers a round needs from the whole
 * graph, N and D, come from the round before: N is round 0's output record count, and each
 * reducer adds up the new rank of its dangling nodes, which the driver sums over ranks with
 * MPI_Allreduce between rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

typedef struct pr_opts {
    uint64_t iterations;
    double damping;
    const char *work;
    bool keep;
    int round;   /* 0: build adjacency; else an iteration */
    bool final;  /* this round writes OUT */
    double n;    /* nodes */
    double dmass; /* dangling rank of the previous round, over all ranks */
    double my_dangling; /* this rank's dangling rank (or node count in round 0) */
    sj_buf adj, val;
} pr_opts;

static pr_opts popts = {.iterations = 10, .damping = 0.85};

static int pr_parse(void *udata, const char *name, const char *value) {
    pr_opts *o = udata;
    if (!name)
        return -1;
    if (!strcmp(name, "iterations"))
        return sj_parse_u64(value, &o->iterations) || o->iterations == 0 ||
                       o->iterations > 100000
                   ? -1
                   : 0;
    if (!strcmp(name, "damping"))
        return sj_parse_double(value, &o->damping) || o->damping < 0 || o->damping > 1 ? -1 : 0;
    if (!strcmp(name, "work-dir"))
        o->work = value;
    else if (!strcmp(name, "keep-work"))
        o->keep = true;
    else
        return -1;
    return 0;
}

static int pr_configure(void *udata, sheaf_config *cfg) {
    (void)udata;
    const char *f = cfg->input_format ? cfg->input_format : "lines";
    if (strcmp(f, "lines"))
        return sj_usage("pagerank", "the edge list is read as lines (src dst)");
    return 0;
}

static int pr_setup(sheaf_ctx *ctx, void *udata) {
    pr_opts *o = udata;
    (void)ctx;
    o->my_dangling = 0;
    return 0;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next whitespace-separated token of [*p, end). */
static bool token(const char **p, const char *end, const char **t, size_t *n) {
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    const char *e = s;
    while (e < end && !is_space(*e))
        e++;
    *p = e;
    *t = s;
    *n = (size_t)(e - s);
    return e > s;
}

static int build_map(sheaf_ctx *ctx, const sheaf_record *rec) {
    const char *p = rec->data, *end = p + rec->len, *src, *dst;
    size_t sl, dl;
    if (!token(&p, end, &src, &sl) || src[0] == '#')
        return 0;
    if (!token(&p, end, &dst, &dl))
        return sheaf_counter_add(ctx, "lines without an edge", 1);
    pr_opts *o = &popts;
    o->val.len = 0;
    if (sj_buf_addc(&o->val, 'L') || sj_buf_add(&o->val, dst, dl))
        return SHEAF_ENOMEM;
    int rc = sheaf_emit(ctx, src, sl, o->val.p, o->val.len);
    return rc ? rc : sheaf_emit(ctx, dst, dl, "N", 1);
}

static int iter_map(sheaf_ctx *ctx, const sheaf_record *rec, pr_opts *o) {
    const char *t1 = memchr(rec->data, '\t', rec->len);
    const char *end = rec->data + rec->len;
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(end - t1 - 1)) : NULL;
    if (!t2)
        return sheaf_fail(ctx, SHEAF_EFORMAT, "%s: not an adjacency line at offset %llu",
                          rec->file, (unsigned long long)rec->offset);
    const char *node = rec->data;
    size_t nl = (size_t)(t1 - rec->data);
    double r;
    if (t1[1] == '-')
        r = o->n > 0 ? 1.0 / o->n : 0;
    else if (sj_field_double(t1 + 1, (size_t)(t2 - t1 - 1), &r))
        return sheaf_fail(ctx, SHEAF_EFORMAT, "%s: bad rank at offset %llu", rec->file,
                          (unsigned long long)rec->offset);
    const char *adj = t2 + 1;
    size_t al = (size_t)(end - adj);
    o->val.len = 0;
    if (sj_buf_addc(&o->val, 'A') || sj_buf_add(&o->val, adj, al))
        return SHEAF_ENOMEM;
    int rc = sheaf_emit(ctx, node, nl, o->val.p, o->val.len);
    size_t deg = 0;
    const char *p = adj, *t;
    size_t tl;
    while (token(&p, end, &t, &tl))
        deg++;
    if (!deg || rc)
        return rc;
    char contrib[9];
    double c = r / (double)deg;
    contrib[0] = 'R';
    memcpy(contrib + 1, &c, 8);
    p = adj;
    while (!rc && token(&p, end, &t, &tl))
        rc = sheaf_emit(ctx, t, tl, contrib, sizeof contrib);
    return rc;
}

static int pr_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    pr_opts *o = udata;
    return o->round == 0 ? build_map(ctx, rec) : iter_map(ctx, rec, o);
}

static int pr_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                     void *udata) {
    pr_opts *o = udata;
    const void *v;
    size_t vlen;
    o->adj.len = 0;
    double sum = 0;
    while (sheaf_values_next(vals, &v, &vlen)) {
        const char *s = v;
        if (!vlen)
            continue;
        if (s[0] == 'L') { /* round 0: an out-edge */
            if ((o->adj.len && sj_buf_addc(&o->adj, ' ')) || sj_buf_add(&o->adj, s + 1, vlen - 1))
                return SHEAF_ENOMEM;
        } else if (s[0] == 'A') {
            if (sj_buf_add(&o->adj, s + 1, vlen - 1))
                return SHEAF_ENOMEM;
        } else if (s[0] == 'R' && vlen == 9) {
            double c;
            memcpy(&c, s + 1, 8);
            sum += c;
        }
    }
    char num[64];
    o->val.len = 0;
    if (o->round == 0) {
        if (!o->adj.len)
            o->my_dangling += 1;
        if (sj_buf_printf(&o->val, "-\t%s", o->adj.len ? o->adj.p : ""))
            return SHEAF_ENOMEM;
        return sheaf_emit(ctx, key, klen, o->val.p, o->val.len);
    }
    double r = (1 - o->damping) / o->n + o->damping * (sum + o->dmass / o->n);
    if (!o->adj.len)
        o->my_dangling += r;
    if (o->final) {
        sj_fmt_double(num, sizeof num, r);
        return sheaf_emit(ctx, key, klen, num, strlen(num));
    }
    if (sj_buf_printf(&o->val, "%.17g\t", r) || sj_buf_add(&o->val, o->adj.p, o->adj.len))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, key, klen, o->val.p, o->val.len);
}

static int pr_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                  sheaf_result *res) {
    pr_opts *o = cmd->udata;
    sj_work w;
    int rc = sj_work_open(comm, o->work, cfg, "pagerank", &w, res);
    if (rc)
        return rc;
    sj_buf dir[2] = {{0}, {0}};
    if (sj_work_sub(&w, "a", &dir[0]) || sj_work_sub(&w, "b", &dir[1])) {
        sj_work_close(comm, &w, false, "pagerank", cfg->quiet);
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    }
    o->round = 0;
    o->final = false;
    rc = sj_round(comm, cmd->job, cfg, cfg->inputs, cfg->ninputs, dir[0].p, res);
    if (!rc) {
        o->n = (double)res->output_records;
        MPI_Allreduce(&o->my_dangling, &o->dmass, 1, MPI_DOUBLE, MPI_SUM, comm);
        o->dmass = o->n > 0 ? o->dmass / o->n : 0; /* each dangling node holds 1/N */
    }
    for (uint64_t it = 1; it <= o->iterations && !rc; it++) {
        const char *in[1] = {dir[(it - 1) % 2].p};
        o->round = (int)it;
        o->final = it == o->iterations;
        if (o->final) {
            sheaf_config c = *cfg;
            c.input_format = "lines";
            rc = sj_final_round(comm, cmd->job, &c, in, 1, res);
        } else {
            rc = sj_round(comm, cmd->job, cfg, in, 1, dir[it % 2].p, res);
        }
        double d = 0;
        MPI_Allreduce(&o->my_dangling, &d, 1, MPI_DOUBLE, MPI_SUM, comm);
        o->dmass = d;
    }
    sj_work_close(comm, &w, o->keep, "pagerank", cfg->quiet);
    sj_buf_free(&dir[0]);
    sj_buf_free(&dir[1]);
    return rc;
}

static const sheaf_option pr_options[] = {
    {"iterations", "N", "rounds of the power iteration (default 10)"},
    {"damping", "D", "damping factor (default 0.85)"},
    {"work-dir", "DIR", "work in a fresh directory inside DIR (default: beside OUT)"},
    {"keep-work", NULL, "keep the work directory (its name is printed)"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def pagerank_job = {
    .name = "pagerank",
    .map = pr_map,
    .reduce = pr_reduce,
    .setup = pr_setup,
    .udata = &popts,
};

const sheaf_command sheaf_cmd_pagerank = {
    .name = "pagerank",
    .summary = "PageRank over an edge list (src dst per line): node TAB rank",
    .options = pr_options,
    .parse_option = pr_parse,
    .configure = pr_configure,
    .udata = &popts,
    .job = &pagerank_job,
    .run = pr_run,
};
