/*
 * validate.c: data-quality rules over csv (or tsv) records.
 *
 *   sheaf validate --rule not-null:email --rule range:age:0:130 --rule 'regex:zip:^[0-9]{5}$'
 *                  --rule unique:id -i people.csv --input-format csv --csv-header -o OUT
 *
 * Rules, per column (a name or 0-based index; a name holding ':' cannot be used):
 *   not-null:COL          the field is present and not empty
 *   range:COL:MIN:MAX     the field is a number with MIN <= x <= MAX (either bound may be left
 *                         empty: range:age:0: is x >= 0)
 *   regex:COL:RE          the field matches the POSIX extended regex RE (the rest of the rule,
 *                         colons included; anchor it with ^...$ to match the whole field)
 *   unique:COL            no other row has the same value; every row of a repeated value
 *                         fails; empty fields are not checked
 *
 * Results: rank 0 prints one line per rule on stdout, `rule<TAB>passed<TAB>failed<TAB>PASS`
 * (or FAIL), the same figures go to the user counters ("RULE passed", "RULE failed"), and OUT
 * holds the violations, one per line: `rule<TAB>file:offset<TAB>field` (the byte offset of
 * the failing record), each partition sorted by rule. The exit status is 0 even when rules
 * fail, unless --strict.
 *
 * Row rules are checked in the map; unique rules shuffle (rule, value) -> location and the
 * reducer sees every location of a value. Each rank keeps its pass/fail tallies in memory and
 * the driver sums them over ranks (MPI_Allreduce) after the job.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

enum { R_NOTNULL, R_RANGE, R_REGEX, R_UNIQUE };

typedef struct rule {
    int kind;
    char *text, *col;
    double lo, hi;
    bool has_lo, has_hi;
    char *re_text;
    regex_t re;
    bool compiled;
} rule;

typedef struct val_opts {
    rule *rules;
    size_t n;
    bool strict;
    uint64_t *tally; /* per rule: passed, failed */
    sj_buf key, val, tmp;
} val_opts;

static val_opts vopts;

static int add_rule(val_opts *o, const char *text) {
    rule r = {0};
    const char *c1 = strchr(text, ':');
    if (!c1 || c1 == text)
        return sj_usage("validate", "bad rule '%s' (KIND:COL...)", text);
    size_t kl = (size_t)(c1 - text);
    const char *col = c1 + 1, *c2 = strchr(col, ':');
    size_t cl = c2 ? (size_t)(c2 - col) : strlen(col);
    if (!cl)
        return sj_usage("validate", "rule '%s' names no column", text);
    if (kl == 8 && !strncmp(text, "not-null", 8) && !c2)
        r.kind = R_NOTNULL;
    else if (kl == 6 && !strncmp(text, "unique", 6) && !c2)
        r.kind = R_UNIQUE;
    else if (kl == 5 && !strncmp(text, "regex", 5) && c2) {
        r.kind = R_REGEX;
        r.re_text = strdup(c2 + 1);
        regex_t re;
        int e = regcomp(&re, r.re_text, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char msg[256];
            regerror(e, &re, msg, sizeof msg);
            return sj_usage("validate", "rule '%s': %s", text, msg);
        }
        regfree(&re);
    } else if (kl == 5 && !strncmp(text, "range", 5) && c2) {
        r.kind = R_RANGE;
        const char *lo = c2 + 1, *c3 = strchr(lo, ':');
        if (!c3)
            return sj_usage("validate", "rule '%s': range:COL:MIN:MAX", text);
        char *los = strndup(lo, (size_t)(c3 - lo));
        r.has_lo = los && *los;
        r.has_hi = c3[1] != '\0';
        int bad = (r.has_lo && sj_parse_double(los, &r.lo)) ||
                  (r.has_hi && sj_parse_double(c3 + 1, &r.hi));
        free(los);
        if (bad)
            return sj_usage("validate", "rule '%s': MIN and MAX must be numbers", text);
    } else {
        return sj_usage("validate", "bad rule '%s' (not-null:COL, range:COL:MIN:MAX, "
                                    "regex:COL:RE, unique:COL)", text);
    }
    r.text = strdup(text);
    r.col = strndup(col, cl);
    rule *v = realloc(o->rules, (o->n + 1) * sizeof *v);
    if (!v || !r.text || !r.col)
        return -1;
    o->rules = v;
    o->rules[o->n++] = r;
    return 0;
}

static int val_parse(void *udata, const char *name, const char *value) {
    val_opts *o = udata;
    if (name && !strcmp(name, "rule"))
        return add_rule(o, value);
    if (name && !strcmp(name, "strict")) {
        o->strict = true;
        return 0;
    }
    return -1;
}

static int val_configure(void *udata, sheaf_config *cfg) {
    val_opts *o = udata;
    if (sj_need_columns("validate", cfg, "validate"))
        return -1;
    if (!o->n)
        return sj_usage("validate", "no --rule given");
    for (size_t i = 0; i < o->n; i++)
        if (sj_check_columns("validate", cfg, (const char *const *)&o->rules[i].col, 1))
            return -1;
    return 0;
}

static int val_setup(sheaf_ctx *ctx, void *udata) {
    val_opts *o = udata;
    free(o->tally);
    o->tally = calloc(2 * o->n, sizeof *o->tally);
    if (!o->tally)
        return SHEAF_ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        rule *r = &o->rules[i];
        if (r->kind == R_REGEX && !r->compiled) {
            if (regcomp(&r->re, r->re_text, REG_EXTENDED | REG_NOSUB))
                return sheaf_fail(ctx, SHEAF_EINVAL, "cannot compile %s", r->text);
            r->compiled = true;
        }
    }
    return 0;
}

static int violation(sheaf_ctx *ctx, val_opts *o, const rule *r, const char *file,
                     uint64_t off, const char *f, size_t len) {
    o->val.len = 0;
    if (sj_buf_printf(&o->val, "%s:%llu\t", file, (unsigned long long)off) ||
        sj_buf_add(&o->val, f, len))
        return SHEAF_ENOMEM;
    return sheaf_emit(ctx, r->text, strlen(r->text), o->val.p, o->val.len);
}

static int val_map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    val_opts *o = udata;
    for (size_t i = 0; i < o->n; i++) {
        rule *r = &o->rules[i];
        size_t len = 0;
        int rc;
        const char *f = sj_field(ctx, rec, r->col, &len, &rc);
        if (rc)
            return rc;
        bool ok;
        double x;
        switch (r->kind) {
        case R_NOTNULL:
            ok = f && len > 0;
            break;
        case R_RANGE:
            ok = f && sj_field_double(f, len, &x) == 0 && (!r->has_lo || x >= r->lo) &&
                 (!r->has_hi || x <= r->hi);
            break;
        case R_REGEX:
            o->tmp.len = 0;
            if (sj_buf_add(&o->tmp, f ? f : "", len))
                return SHEAF_ENOMEM;
            ok = f && memchr(o->tmp.p, '\0', len) == NULL &&
                 regexec(&r->re, o->tmp.p, 0, NULL, 0) == 0;
            break;
        default: /* unique: decided in the reduce */
            if (!f || !len)
                continue;
            o->key.len = 0;
            uint32_t idx = (uint32_t)i;
            o->val.len = 0;
            if (sj_buf_addc(&o->key, '\x01') || sj_buf_add(&o->key, &idx, 4) ||
                sj_buf_add(&o->key, f, len) ||
                sj_buf_printf(&o->val, "%s:%llu", rec->file, (unsigned long long)rec->offset))
                return SHEAF_ENOMEM;
            rc = sheaf_emit(ctx, o->key.p, o->key.len, o->val.p, o->val.len);
            if (rc)
                return rc;
            continue;
        }
        o->tally[2 * i + !ok]++;
        if (!ok && (rc = violation(ctx, o, r, rec->file, rec->offset, f ? f : "", len)))
            return rc;
    }
    return 0;
}

static int val_reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                      void *udata) {
    val_opts *o = udata;
    const char *k = key;
    const void *v;
    size_t vlen;
    int rc = 0;
    if (klen < 5 || k[0] != '\x01') { /* violations: write them */
        while (!rc && sheaf_values_next(vals, &v, &vlen))
            rc = sheaf_emit(ctx, key, klen, v, vlen);
        return rc;
    }
    uint32_t idx;
    memcpy(&idx, k + 1, 4);
    if (idx >= o->n)
        return SHEAF_EINVAL;
    rule *r = &o->rules[idx];
    /* Keep the first location; write them all once a second one shows up. */
    sj_buf first = {0};
    uint64_t n = 0;
    while (!rc && sheaf_values_next(vals, &v, &vlen)) {
        n++;
        if (n == 1) {
            if (sj_buf_add(&first, v, vlen))
                rc = SHEAF_ENOMEM;
            continue;
        }
        o->val.len = 0;
        if (n == 2) {
            if (sj_buf_add(&o->val, first.p, first.len) || sj_buf_addc(&o->val, '\t') ||
                sj_buf_add(&o->val, k + 5, klen - 5))
                rc = SHEAF_ENOMEM;
            if (!rc)
                rc = sheaf_emit(ctx, r->text, strlen(r->text), o->val.p, o->val.len);
            o->val.len = 0;
        }
        if (!rc && (sj_buf_add(&o->val, v, vlen) || sj_buf_addc(&o->val, '\t') ||
                    sj_buf_add(&o->val, k + 5, klen - 5)))
            rc = SHEAF_ENOMEM;
        if (!rc)
            rc = sheaf_emit(ctx, r->text, strlen(r->text), o->val.p, o->val.len);
    }
    sj_buf_free(&first);
    if (n == 1)
        o->tally[2 * idx]++;
    else
        o->tally[2 * idx + 1] += n;
    return rc;
}

static int val_cleanup(sheaf_ctx *ctx, void *udata) {
    val_opts *o = udata;
    int rc = 0;
    for (size_t i = 0; i < o->n && !rc; i++) {
        o->tmp.len = 0;
        if (sj_buf_printf(&o->tmp, "%s passed", o->rules[i].text))
            return SHEAF_ENOMEM;
        rc = sheaf_counter_add(ctx, o->tmp.p, (int64_t)o->tally[2 * i]);
        o->tmp.len = 0;
        if (!rc && sj_buf_printf(&o->tmp, "%s failed", o->rules[i].text))
            return SHEAF_ENOMEM;
        if (!rc)
            rc = sheaf_counter_add(ctx, o->tmp.p, (int64_t)o->tally[2 * i + 1]);
    }
    return rc;
}

static int val_run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
                   sheaf_result *res) {
    val_opts *o = cmd->udata;
    int rc = sheaf_run(comm, cmd->job, cfg, res);
    if (rc)
        return rc;
    uint64_t *sum = calloc(2 * o->n, sizeof *sum);
    if (!sum)
        return sj_result_fail(res, SHEAF_ENOMEM, "out of memory");
    MPI_Allreduce(o->tally, sum, (int)(2 * o->n), MPI_UINT64_T, MPI_SUM, comm);
    size_t failed = 0;
    int rank;
    MPI_Comm_rank(comm, &rank);
    for (size_t i = 0; i < o->n; i++) {
        failed += sum[2 * i + 1] > 0;
        if (rank == 0)
            printf("%s\t%llu\t%llu\t%s\n", o->rules[i].text, (unsigned long long)sum[2 * i],
                   (unsigned long long)sum[2 * i + 1], sum[2 * i + 1] ? "FAIL" : "PASS");
    }
    if (rank == 0)
        fflush(stdout);
    free(sum);
    if (failed && o->strict)
        return sj_result_fail(res, SHEAF_EUSER, "%zu of %zu rules failed (violations in %s)",
                              failed, o->n, cfg->output);
    return 0;
}

static const sheaf_option val_options[] = {
    {"rule", "RULE", "not-null:COL, range:COL:MIN:MAX, regex:COL:RE or unique:COL; repeatable"},
    {"strict", NULL, "exit with status 1 when a rule fails"},
    {NULL, NULL, NULL},
};

static const sheaf_job_def validate_job = {
    .name = "validate",
    .map = val_map,
    .reduce = val_reduce,
    .setup = val_setup,
    .cleanup = val_cleanup,
    .udata = &vopts,
};

const sheaf_command sheaf_cmd_validate = {
    .name = "validate",
    .summary = "data-quality rules over csv (not-null, range, regex, unique): pass/fail per "
               "rule, violations in OUT",
    .options = val_options,
    .parse_option = val_parse,
    .configure = val_configure,
    .udata = &vopts,
    .job = &validate_job,
    .run = val_run,
};
