/*
 * report.c: the job report.
 *
 * Every rank contributes a fixed record (counters, phase times, peak RSS, host, CPU set) and
 * its user counters; rank 0 gathers them and builds _report.json with jansson. Counters are
 * reported as totals with the per-rank minimum, maximum and mean, so skew shows at a glance;
 * `imbalance` is max/mean of the map time and of the bytes mapped. Phase times are seconds
 * since the job started on rank 0's clock (ranks' clocks are taken at a common barrier).
 */
#include "codec.h"
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const sheaf__counter_info sheaf__counters[SHEAF__C_COUNT] = {
#define SHEAF__C_INFO(id, name, res, per_rank, group, label) {name, res, per_rank, group, label},
    SHEAF__COUNTER_MAP(SHEAF__C_INFO)
#undef SHEAF__C_INFO
};

const char *const sheaf__counter_groups[] = {"Map", "Shuffle", "Spill", "Reduce", NULL};

SHEAF_EXTERN int64_t sheaf_result_counter(const sheaf_result *res, const char *name) {
    for (size_t i = 0; i < res->nuser_counters; i++)
        if (!strcmp(res->user_counters[i].name, name))
            return res->user_counters[i].value;
    return 0;
}

const char *const sheaf__phase_names[SHEAF__PH_COUNT] = {"setup", "map", "shuffle", "sort",
                                                         "reduce", "commit"};

typedef struct rankrec {
    uint64_t c[SHEAF__C_COUNT];
    double ph_start[SHEAF__PH_COUNT], ph_end[SHEAF__PH_COUNT];
    uint64_t peak_rss, user_bytes;
    int status;
    int own_err, err_phase; /* this rank's own failure, and the phase it was in */
    double err_at;          /* when, in seconds since the start */
    char errmsg[256];
    char host[128];
    char cpuset[128];
    char binding[64];
} rankrec;

/* A counter's total is its sum over the ranks, except for a per-rank counter (shuffle rounds:
 * every rank takes part in each round), whose total is the job's figure, the most any rank
 * counted; the summary and sheaf_result show the same total. */
static json_t *counter_stats(const rankrec *rr, int n, int k) {
    uint64_t tot = 0, mn = UINT64_MAX, mx = 0;
    for (int r = 0; r < n; r++) {
        uint64_t v = rr[r].c[k];
        tot += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
    }
    if (n == 0)
        mn = 0;
    double mean = n ? (double)tot / n : 0.0;
    if (sheaf__counters[k].per_rank)
        tot = mx;
    return json_pack("{s:I,s:I,s:I,s:f}", "total", (json_int_t)tot, "min", (json_int_t)mn,
                     "max", (json_int_t)mx, "mean", mean);
}

static double ratio_max_mean(const double *v, int n) {
    double sum = 0, mx = 0;
    for (int i = 0; i < n; i++) {
        sum += v[i];
        mx = v[i] > mx ? v[i] : mx;
    }
    return sum > 0 ? mx / (sum / n) : 1.0;
}

static const char *bind_name(sheaf_bind b) {
    static const char *const n[] = {"auto", "core", "numa", "none"};
    return n[b];
}

/* The command line of this process, from /proc/self/cmdline, as one string with spaces; NULL
 * where the system does not say. */
static json_t *command_line(void) {
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n == 0)
        return NULL;
    buf[n] = '\0';
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    return json_string(buf);
}

/* The job's figures per phase over all ranks: from the first rank's start to the last rank's
 * end, the bytes the phase moved and their rate. */
static json_t *phase_totals(const rankrec *all, int P, const uint64_t *tot) {
    static const int bytes_of[SHEAF__PH_COUNT] = {-1, SHEAF__C_INPUT_BYTES,
                                                  SHEAF__C_SHUFFLE_BYTES, SHEAF__C_SPILL_BYTES,
                                                  SHEAF__C_OUTPUT_BYTES, -1};
    json_t *o = json_object();
    for (int i = 0; i < SHEAF__PH_COUNT; i++) {
        double s = -1, e = -1;
        for (int r = 0; r < P; r++) {
            if (all[r].ph_start[i] < 0)
                continue;
            double re = all[r].ph_end[i] >= 0 ? all[r].ph_end[i] : all[r].ph_start[i];
            s = s < 0 || all[r].ph_start[i] < s ? all[r].ph_start[i] : s;
            e = re > e ? re : e;
        }
        if (s < 0)
            continue;
        json_t *ph = json_pack("{s:f,s:f,s:f}", "start", s, "end", e, "seconds", e - s);
        if (bytes_of[i] >= 0) {
            uint64_t b = tot[bytes_of[i]];
            json_object_set_new(ph, "bytes", json_integer((json_int_t)b));
            json_object_set_new(ph, "bytes_per_second", json_real(e > s ? (double)b / (e - s)
                                                                        : 0.0));
        }
        json_object_set_new(o, sheaf__phase_names[i], ph);
    }
    return o;
}

char *sheaf__report(sheaf_ctx *ctx, const sheaf__plan *plan, sheaf_result *res, double t0,
                    double t1, char **html) {
    *html = NULL;
    int P = ctx->nranks;
    rankrec me;
    memset(&me, 0, sizeof me);
    memcpy(me.c, ctx->c, sizeof me.c);
    for (int i = 0; i < SHEAF__PH_COUNT; i++) {
        me.ph_start[i] = ctx->phase_start[i] ? ctx->phase_start[i] - t0 : -1;
        me.ph_end[i] = ctx->phase_end[i] ? ctx->phase_end[i] - t0 : -1;
    }
    me.peak_rss = sheaf__peak_rss();
    me.status = ctx->err;
    me.own_err = ctx->own_err;
    me.err_phase = ctx->own_err ? ctx->own_err_phase : -1;
    me.err_at = ctx->own_err ? ctx->own_err_time - t0 : -1;
    snprintf(me.errmsg, sizeof me.errmsg, "%s", ctx->own_err ? ctx->own_errmsg : "");
    /* The record is of fixed size: a longer name or CPU set is cut (at 127 bytes). */
    snprintf(me.host, sizeof me.host, "%.127s", ctx->place.host);
    snprintf(me.cpuset, sizeof me.cpuset, "%.127s", ctx->place.cpuset);
    snprintf(me.binding, sizeof me.binding, "%s", ctx->place.binding);

    /* User counters travel as "name\0" + 8 bytes. */
    sheaf__buf ub = {0};
    for (size_t i = 0; i < ctx->nuser; i++) {
        size_t nl = strlen(ctx->user[i].name) + 1;
        if (sheaf__buf_reserve(&ub, nl + 8) == 0) {
            memcpy(ub.data + ub.len, ctx->user[i].name, nl);
            memcpy(ub.data + ub.len + nl, &ctx->user[i].value, 8);
            ub.len += nl + 8;
        }
    }
    me.user_bytes = ub.len;

    rankrec *all = ctx->rank == 0 ? calloc((size_t)P, sizeof *all) : NULL;
    MPI_Gather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me, MPI_BYTE, 0, ctx->comm);
    int *ucounts = NULL, *udispl = NULL;
    uint8_t *uall = NULL;
    int myub = (int)ub.len;
    if (ctx->rank == 0) {
        ucounts = calloc((size_t)P, sizeof *ucounts);
        udispl = calloc((size_t)P, sizeof *udispl);
    }
    MPI_Gather(&myub, 1, MPI_INT, ucounts, 1, MPI_INT, 0, ctx->comm);
    size_t utotal = 0;
    if (ctx->rank == 0) {
        for (int r = 0; r < P; r++) {
            udispl[r] = (int)utotal;
            utotal += (size_t)ucounts[r];
        }
        uall = malloc(utotal ? utotal : 1);
    }
    MPI_Gatherv(ub.data, myub, MPI_BYTE, uall, ucounts, udispl, MPI_BYTE, 0, ctx->comm);
    sheaf__buf_free(&ub);

    /* The shuffle matrix (bytes each rank sent to each), for jobs of a readable size. */
    uint64_t *matrix = NULL, *row = NULL;
    if (P <= SHEAF__REPORT_MATRIX_MAX) {
        row = calloc((size_t)P, sizeof *row);
        if (row && ctx->sent_to)
            memcpy(row, ctx->sent_to, (size_t)P * sizeof *row);
        if (ctx->rank == 0)
            matrix = calloc((size_t)P * (size_t)P, sizeof *matrix);
        /* a rank short of memory sends zeros rather than leave the collective */
        uint64_t zero[SHEAF__REPORT_MATRIX_MAX] = {0};
        MPI_Gather(row ? row : zero, P, MPI_UINT64_T, matrix, P, MPI_UINT64_T, 0, ctx->comm);
        free(row);
    }

    /* Totals for every rank's result: sums, but a per-rank counter's is the most any rank
     * counted (counter_stats). */
    uint64_t tot[SHEAF__C_COUNT], mx[SHEAF__C_COUNT];
    MPI_Allreduce(ctx->c, tot, SHEAF__C_COUNT, MPI_UINT64_T, MPI_SUM, ctx->comm);
    MPI_Allreduce(ctx->c, mx, SHEAF__C_COUNT, MPI_UINT64_T, MPI_MAX, ctx->comm);
    for (int k = 0; k < SHEAF__C_COUNT; k++)
        if (sheaf__counters[k].per_rank)
            tot[k] = mx[k];
    if (res) {
        for (int k = 0; k < SHEAF__C_COUNT; k++) {
            const sheaf__counter_info *ci = &sheaf__counters[k];
            if (ci->res_offset == SHEAF__NORES)
                continue;
            memcpy((char *)res + ci->res_offset, &tot[k], sizeof tot[k]);
        }
        res->bad_records = tot[SHEAF__C_BAD_RECORDS];
        res->seconds = t1 - t0;
    }
    if (ctx->rank != 0)
        return NULL;

    /* The first failing rank: the one the agreement named, else the lowest that failed. */
    int failed_rank = -1;
    if (ctx->err && sscanf(ctx->errmsg, "rank %d:", &failed_rank) != 1)
        failed_rank = -1;
    for (int r = 0; failed_rank < 0 && r < P; r++)
        if (all[r].own_err)
            failed_rank = r;

    json_t *root = json_object();
    json_object_set_new(root, "job", json_string(ctx->job->name ? ctx->job->name : "job"));
    json_object_set_new(root, "sheaf_version", json_string(SHEAF_VERSION_STRING));
    json_object_set_new(root, "status", json_string(ctx->err ? "FAILED" : "SUCCEEDED"));
    if (ctx->err) {
        json_object_set_new(root, "failed_rank", json_integer(failed_rank));
        const rankrec *f = failed_rank >= 0 && failed_rank < P ? &all[failed_rank] : NULL;
        if (f && f->err_phase >= 0 && f->err_phase < SHEAF__PH_COUNT) {
            json_object_set_new(root, "failed_phase",
                                json_string(sheaf__phase_names[f->err_phase]));
            json_object_set_new(root, "failed_at_seconds", json_real(f->err_at));
        }
        json_object_set_new(root, "error", json_string(ctx->errmsg));
    }
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_object_set_new(root, "finished", json_string(when));
    json_object_set_new(root, "seconds", json_real(t1 - t0));
    json_object_set_new(root, "ranks_total", json_integer(P));

    json_t *cfg = json_object();
    json_t *ins = json_array();
    for (size_t i = 0; i < ctx->cfg.ninputs; i++)
        json_array_append_new(ins, json_string(ctx->cfg.inputs[i]));
    json_object_set_new(cfg, "inputs", ins);
    json_object_set_new(cfg, "output", json_string(ctx->cfg.output ? ctx->cfg.output : ""));
    json_object_set_new(cfg, "reducers", json_integer(ctx->nparts));
    json_object_set_new(cfg, "split_size",
                        json_integer((json_int_t)(plan && plan->split_size ? plan->split_size
                                                                           : ctx->cfg.split_size)));
    json_object_set_new(cfg, "memory", json_integer((json_int_t)ctx->budget));
    json_object_set_new(cfg, "spill_dir", json_string(ctx->spill_dir));
    json_object_set_new(cfg, "input_format",
                        json_string(ctx->cfg.input_format ? ctx->cfg.input_format : "lines"));
    json_object_set_new(cfg, "schedule",
                        json_string(ctx->cfg.schedule == SHEAF_SCHEDULE_STATIC ? "static"
                                                                                : "dynamic"));
    json_object_set_new(cfg, "bind", json_string(bind_name(ctx->cfg.bind)));
    json_object_set_new(cfg, "seed", json_integer((json_int_t)ctx->seed));
    json_object_set_new(cfg, "output_format",
                        json_string(ctx->cfg.output_format ? ctx->cfg.output_format : "text"));
    json_object_set_new(cfg, "max_bad_records",
                        json_integer((json_int_t)ctx->cfg.max_bad_records));
    json_t *cmd = command_line();
    if (cmd)
        json_object_set_new(cfg, "command_line", cmd);
    json_object_set_new(root, "config", cfg);

    if (plan)
        json_object_set_new(root, "input",
                            json_pack("{s:I,s:I,s:I,s:I}", "files", (json_int_t)plan->nfiles,
                                      "bytes", (json_int_t)plan->total_bytes, "splits",
                                      (json_int_t)plan->nsplits, "tasks",
                                      (json_int_t)plan->ntasks));
    if (plan) { /* the compressed files and their codecs */
        json_t *packed = json_array();
        for (size_t i = 0; i < plan->nfiles; i++) {
            sheaf__codec_kind k = sheaf__codec_by_name(plan->files[i]);
            if (k != SHEAF__CODEC_NONE)
                json_array_append_new(packed, json_pack("{s:s,s:s,s:I}", "file", plan->files[i],
                                                        "codec", sheaf__codec_name(k), "bytes",
                                                        (json_int_t)plan->sizes[i]));
        }
        json_object_set_new(json_object_get(root, "input"), "compressed", packed);
    }

    json_t *counters = json_object();
    for (int k = 0; k < SHEAF__C_COUNT; k++)
        json_object_set_new(counters, sheaf__counters[k].name, counter_stats(all, P, k));
    json_object_set_new(root, "counters", counters);

    json_t *user = json_object();
    for (int r = 0; r < P; r++) {
        const uint8_t *p = uall + udispl[r], *end = p + ucounts[r];
        while (p < end) {
            const char *name = (const char *)p;
            size_t nl = strlen(name) + 1;
            int64_t v;
            memcpy(&v, p + nl, 8);
            json_t *cur = json_object_get(user, name);
            json_int_t prev = cur ? json_integer_value(cur) : 0;
            json_object_set_new(user, name, json_integer(prev + (json_int_t)v));
            p += nl + 8;
        }
    }
    json_object_set_new(root, "user_counters", user);
    if (res) {
        const char *uk;
        json_t *uv;
        res->nuser_counters = 0;
        json_object_foreach(user, uk, uv) {
            if (res->nuser_counters == SHEAF_RESULT_COUNTERS)
                break;
            snprintf(res->user_counters[res->nuser_counters].name,
                     sizeof res->user_counters[0].name, "%s", uk);
            res->user_counters[res->nuser_counters++].value = json_integer_value(uv);
        }
    }

    double *maptime = calloc((size_t)P, sizeof *maptime), *mapbytes =
        calloc((size_t)P, sizeof *mapbytes);
    json_t *ranks = json_array();
    for (int r = 0; r < P; r++) {
        const rankrec *x = &all[r];
        json_t *o = json_object();
        json_object_set_new(o, "rank", json_integer(r));
        json_object_set_new(o, "host", json_string(x->host));
        json_object_set_new(o, "cpuset", json_string(x->cpuset));
        json_object_set_new(o, "binding", json_string(x->binding));
        json_object_set_new(o, "peak_rss_bytes", json_integer((json_int_t)x->peak_rss));
        json_object_set_new(o, "status", json_string(x->own_err ? "FAILED" : x->status ? "STOPPED"
                                                                                      : "OK"));
        if (x->own_err) {
            json_object_set_new(o, "error", json_string(x->errmsg));
            if (x->err_phase >= 0 && x->err_phase < SHEAF__PH_COUNT)
                json_object_set_new(o, "failed_phase",
                                    json_string(sheaf__phase_names[x->err_phase]));
            json_object_set_new(o, "failed_at_seconds", json_real(x->err_at));
        }
        json_object_set_new(o, "splits", json_integer((json_int_t)x->c[SHEAF__C_SPLITS]));
        json_object_set_new(o, "input_bytes",
                            json_integer((json_int_t)x->c[SHEAF__C_INPUT_BYTES]));
        double ms = x->ph_end[SHEAF__PH_MAP] >= 0 && x->ph_start[SHEAF__PH_MAP] >= 0
                        ? x->ph_end[SHEAF__PH_MAP] - x->ph_start[SHEAF__PH_MAP]
                        : 0;
        if (maptime)
            maptime[r] = ms;
        if (mapbytes)
            mapbytes[r] = (double)x->c[SHEAF__C_INPUT_BYTES];
        json_object_set_new(o, "map_seconds", json_real(ms));
        json_t *ph = json_object();
        for (int i = 0; i < SHEAF__PH_COUNT; i++) {
            if (x->ph_start[i] < 0)
                continue;
            json_object_set_new(ph, sheaf__phase_names[i],
                                json_pack("{s:f,s:f}", "start", x->ph_start[i], "end",
                                          x->ph_end[i] >= 0 ? x->ph_end[i] : x->ph_start[i]));
        }
        json_object_set_new(o, "phases", ph);
        json_t *rc = json_object();
        for (int k = 0; k < SHEAF__C_COUNT; k++)
            json_object_set_new(rc, sheaf__counters[k].name, json_integer((json_int_t)x->c[k]));
        json_object_set_new(o, "counters", rc);
        json_array_append_new(ranks, o);
    }
    json_object_set_new(root, "ranks", ranks);
    json_object_set_new(root, "phases", phase_totals(all, P, tot));
    if (matrix) {
        json_t *m = json_array();
        for (int r = 0; r < P; r++) {
            json_t *rw = json_array();
            for (int d = 0; d < P; d++)
                json_array_append_new(rw, json_integer((json_int_t)matrix[(size_t)r * P + d]));
            json_array_append_new(m, rw);
        }
        json_object_set_new(root, "shuffle_matrix", m);
    }
    /* The straggler: the rank whose map ran longest, when there are several ranks. */
    if (maptime && P > 1) {
        int sr = 0;
        double sum = 0;
        for (int r = 0; r < P; r++) {
            sum += maptime[r];
            if (maptime[r] > maptime[sr])
                sr = r;
        }
        json_object_set_new(root, "straggler",
                            json_pack("{s:i,s:f,s:f}", "rank", sr, "map_seconds", maptime[sr],
                                      "over_mean", sum > 0 ? maptime[sr] / (sum / P) : 1.0));
    }
    /* Warnings: what a person should know about a job that did not fail. */
    json_t *warn = json_array();
    int idle = 0;
    for (int r = 0; r < P; r++)
        idle += all[r].c[SHEAF__C_SPLITS] == 0;
    if (!ctx->err && plan && plan->ntasks > 0 && idle > 0) {
        char w[256];
        snprintf(w, sizeof w,
                 "the map ran on %d of %d ranks (%zu task%s for %d ranks): a smaller "
                 "--split-size or fewer ranks would use them all",
                 P - idle, P, plan->ntasks, plan->ntasks == 1 ? "" : "s", P);
        json_array_append_new(warn, json_string(w));
    }
    if (tot[SHEAF__C_BAD_RECORDS]) {
        char w[256];
        snprintf(w, sizeof w, "%llu bad record%s skipped (--max-bad-records %llu)",
                 (unsigned long long)tot[SHEAF__C_BAD_RECORDS],
                 tot[SHEAF__C_BAD_RECORDS] == 1 ? "" : "s",
                 (unsigned long long)ctx->cfg.max_bad_records);
        json_array_append_new(warn, json_string(w));
    }
    json_object_set_new(root, "warnings", warn);
    if (res) {
        size_t wl = 0;
        for (size_t i = 0; i < json_array_size(warn); i++) {
            int n = snprintf(res->warnings + wl, sizeof res->warnings - wl, "%s\n",
                             json_string_value(json_array_get(warn, i)));
            if (n < 0 || (size_t)n >= sizeof res->warnings - wl)
                break;
            wl += (size_t)n;
        }
    }
    if (maptime && mapbytes)
        json_object_set_new(root, "imbalance",
                            json_pack("{s:f,s:f}", "map_seconds_max_over_mean",
                                      ratio_max_mean(maptime, P), "input_bytes_max_over_mean",
                                      ratio_max_mean(mapbytes, P)));
    free(maptime);
    free(mapbytes);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    *html = sheaf__report_html(root);
    json_decref(root);
    free(all);
    free(matrix);
    free(ucounts);
    free(udispl);
    free(uall);
    if (text) {
        size_t n = strlen(text);
        char *t2 = realloc(text, n + 2);
        if (t2) {
            t2[n] = '\n';
            t2[n + 1] = '\0';
            text = t2;
        }
    }
    return text;
}

void sheaf__report_failed(char **json, char **html, const char *msg) {
    if (!*json)
        return;
    json_t *root = json_loads(*json, 0, NULL);
    if (!root)
        return;
    int rank = -1;
    if (sscanf(msg, "rank %d:", &rank) != 1)
        rank = -1;
    json_object_set_new(root, "status", json_string("FAILED"));
    json_object_set_new(root, "failed_rank", json_integer(rank));
    json_object_set_new(root, "failed_phase", json_string("commit"));
    json_object_set_new(root, "error", json_string(msg));
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *page = sheaf__report_html(root);
    json_decref(root);
    size_t n = text ? strlen(text) : 0;
    char *t2 = text ? realloc(text, n + 2) : NULL;
    if (t2) { /* a newline at the end, as every report has */
        t2[n] = '\n';
        t2[n + 1] = '\0';
        text = t2;
    }
    if (!text || !page) {
        free(text);
        free(page);
        return;
    }
    free(*json);
    free(*html);
    *json = text;
    *html = page;
}
