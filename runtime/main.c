/*
 * main.c: sheaf_command_main() and sheaf_main(), the common command line of every Sheaf
 * program.
 *
 * It starts MPI when the program was not started under it already, parses the options every
 * job shares and the command's own, checks that the MPI world is what the launcher meant (an
 * `srun` without PMI starts lone singletons), runs the command on MPI_COMM_WORLD (its run
 * function, or one sheaf_run of its job), and turns the outcome into one line on stderr and
 * an exit status: 0 success, 1 the job failed, 2 bad usage. Only rank 0 prints.
 */
#include "codec.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <glob.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct parsed {
    const char *prog; /* messages name it: "sheaf JOB", or the program's name */
    sheaf_config cfg;
    const char **inputs;
    size_t ninputs;
    char *fmtlist;        /* --input-formats, split in place */
    const char **fmts;
    size_t nfmts;
    int help, version;
} parsed;

/* An option's handler: takes its argument (NULL for a flag) into p. Returns 0, or 2 with the
 * message (without the program's name) in err. */
typedef int (*opt_fn)(parsed *p, const char *arg, char *err, size_t errlen);

#define OPT_FAIL(...)                                                                          \
    do {                                                                                       \
        snprintf(err, errlen, __VA_ARGS__);                                                    \
        return 2;                                                                              \
    } while (0)

static int opt_input(parsed *p, const char *arg, char *err, size_t errlen) {
    p->inputs[p->ninputs++] = arg;
    return 0;
}
static int opt_output(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.output = arg;
    return 0;
}
static int opt_quiet(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.quiet = 1;
    return 0;
}
static int opt_help(parsed *p, const char *arg, char *err, size_t errlen) {
    p->help = 1;
    return 0;
}
static int opt_version(parsed *p, const char *arg, char *err, size_t errlen) {
    p->version = 1;
    return 0;
}
static int opt_reducers(parsed *p, const char *arg, char *err, size_t errlen) {
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (errno || *end || end == arg || n < 1 || n > (long)SHEAF_MAX_REDUCERS)
        OPT_FAIL("--reducers: '%s' is not a number from 1 to %u (each reducer is a part file)",
                 arg, SHEAF_MAX_REDUCERS);
    p->cfg.reducers = (uint32_t)n;
    return 0;
}
static int opt_split(parsed *p, const char *arg, char *err, size_t errlen) {
    uint64_t v;
    if (sheaf_parse_size(arg, &v) || v == 0)
        OPT_FAIL("--split-size: invalid size '%s' (a positive size such as 64M)", arg);
    p->cfg.split_size = v;
    return 0;
}
static int opt_memory(parsed *p, const char *arg, char *err, size_t errlen) {
    uint64_t v;
    if (sheaf_parse_size(arg, &v) || v < (1u << 20))
        OPT_FAIL("--memory: invalid size '%s' (at least 1M, such as 512M or 2G)", arg);
    p->cfg.memory = v;
    return 0;
}
static int opt_spill(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.spill_dir = arg;
    return 0;
}
static int opt_bind(parsed *p, const char *arg, char *err, size_t errlen) {
    if (!strcmp(arg, "auto")) p->cfg.bind = SHEAF_BIND_AUTO;
    else if (!strcmp(arg, "core")) p->cfg.bind = SHEAF_BIND_CORE;
    else if (!strcmp(arg, "numa")) p->cfg.bind = SHEAF_BIND_NUMA;
    else if (!strcmp(arg, "none")) p->cfg.bind = SHEAF_BIND_NONE;
    else OPT_FAIL("--bind: unknown policy '%s' (auto, core, numa or none)", arg);
    return 0;
}
static int opt_schedule(parsed *p, const char *arg, char *err, size_t errlen) {
    if (!strcmp(arg, "dynamic")) p->cfg.schedule = SHEAF_SCHEDULE_DYNAMIC;
    else if (!strcmp(arg, "static")) p->cfg.schedule = SHEAF_SCHEDULE_STATIC;
    else OPT_FAIL("--schedule: unknown mode '%s' (dynamic or static)", arg);
    return 0;
}
static int opt_infmt(parsed *p, const char *arg, char *err, size_t errlen) {
    sheaf__format f;
    if (sheaf__format_parse(arg, &f))
        OPT_FAIL("--input-format: unknown format '%s' (lines, csv, tsv, fixed:N or parquet)", arg);
    p->cfg.input_format = arg;
    return 0;
}
static int opt_infmts(parsed *p, const char *arg, char *err, size_t errlen) {
    free(p->fmtlist);
    free(p->fmts);
    p->fmtlist = strdup(arg);
    p->fmts = calloc(strlen(arg) + 2, sizeof *p->fmts);
    p->nfmts = 0;
    if (!p->fmtlist || !p->fmts)
        OPT_FAIL("out of memory");
    for (char *save = NULL, *t = strtok_r(p->fmtlist, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        sheaf__format f;
        if (sheaf__format_parse(t, &f))
            OPT_FAIL("--input-formats: unknown format '%s' (lines, csv, tsv, fixed:N or "
                     "parquet)", t);
        p->fmts[p->nfmts++] = t;
    }
    return 0;
}
static int opt_csvdelim(parsed *p, const char *arg, char *err, size_t errlen) {
    uint8_t d;
    if (sheaf__parse_delim(arg, &d) || d == '"' || d == '\n')
        OPT_FAIL("--csv-delimiter: '%s' is not one byte (or \\t, \\xHH)", arg);
    p->cfg.csv_delimiter = (char)d;
    return 0;
}
static int opt_csvheader(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.csv_header = 1;
    return 0;
}
static int opt_csvnonl(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.csv_no_newlines = 1;
    return 0;
}
static int opt_recdelim(parsed *p, const char *arg, char *err, size_t errlen) {
    uint8_t d;
    if (sheaf__parse_delim(arg, &d))
        OPT_FAIL("--record-delimiter: '%s' is not one byte (or \\n \\t \\0 \\xHH)", arg);
    p->cfg.record_delimiter = arg;
    return 0;
}
static int opt_maxbad(parsed *p, const char *arg, char *err, size_t errlen) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(arg, &end, 10);
    if (errno || *end || end == arg || arg[0] == '-')
        OPT_FAIL("--max-bad-records: '%s' is not a count", arg);
    p->cfg.max_bad_records = n;
    return 0;
}
static int opt_outfmt(parsed *p, const char *arg, char *err, size_t errlen) {
    if (!sheaf__outfmt_find(arg)) {
        char names[256];
        sheaf__outfmt_names(names, sizeof names);
        OPT_FAIL("--output-format: unknown format '%s' (%s)", arg, names);
    }
    p->cfg.output_format = arg;
    return 0;
}
static int opt_outcomp(parsed *p, const char *arg, char *err, size_t errlen) {
    sheaf__codec_kind k;
    int level;
    char why[256];
    if (sheaf__codec_parse_output(arg, &k, &level, why, sizeof why))
        OPT_FAIL("--output-compression: %s", why);
    p->cfg.output_compression = arg;
    return 0;
}
static int opt_overwrite(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.overwrite = 1;
    return 0;
}
static int opt_report(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.report = arg;
    return 0;
}
static int opt_progress(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.progress = 1;
    return 0;
}
static int opt_noprogress(parsed *p, const char *arg, char *err, size_t errlen) {
    p->cfg.progress = 0;
    return 0;
}
static int opt_loglevel(parsed *p, const char *arg, char *err, size_t errlen) {
    if (!strcmp(arg, "error")) p->cfg.log_level = SHEAF_LOG_ERROR;
    else if (!strcmp(arg, "warn")) p->cfg.log_level = SHEAF_LOG_WARN;
    else if (!strcmp(arg, "info")) p->cfg.log_level = SHEAF_LOG_INFO;
    else if (!strcmp(arg, "debug")) p->cfg.log_level = SHEAF_LOG_DEBUG;
    else OPT_FAIL("--log-level: unknown level '%s' (error, warn, info, debug)", arg);
    return 0;
}
static int opt_seed(parsed *p, const char *arg, char *err, size_t errlen) {
    char *end;
    errno = 0;
    unsigned long long s = strtoull(arg, &end, 0);
    if (errno || *end || end == arg)
        OPT_FAIL("--seed: '%s' is not a number", arg);
    p->cfg.seed = s;
    return 0;
}
static int opt_sample(parsed *p, const char *arg, char *err, size_t errlen) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(arg, &end, 10);
    if (errno || *end || end == arg || arg[0] == '-' || n == 0)
        OPT_FAIL("--sample: '%s' is not a positive count", arg);
    p->cfg.sample = n;
    return 0;
}

/* The common options, in --help's order: name, its short letter (or 0), its argument's name
 * (NULL for a flag), help, and the handler. */
static const struct {
    const char *name;
    char letter;
    const char *arg, *help;
    opt_fn set;
} common[] = {
    {"input", 'i', "PATH", "input file, directory (recursive) or glob; repeatable", opt_input},
    {"output", 'o', "DIR", "output directory (must not exist, unless --overwrite)", opt_output},
    {"reducers", 0, "N", "number of output partitions, 1 to 65536 (default: one per rank)",
     opt_reducers},
    {"split-size", 0, "SIZE", "largest split of a file (default 64M, less for small inputs)",
     opt_split},
    {"memory", 0, "SIZE", "per-rank memory budget (default: a share of the node)", opt_memory},
    {"spill-dir", 0, "DIR", "where runs are spilled (default $TMPDIR or /tmp)", opt_spill},
    {"bind", 0, "POLICY", "auto, core, numa or none (default auto)", opt_bind},
    {"schedule", 0, "MODE", "dynamic (default) or static", opt_schedule},
    {"input-format", 0, "FMT", "lines (default), csv, tsv, fixed:N or parquet", opt_infmt},
    {"input-formats", 0, "LIST", "one format per -i, in order (lines,csv,...)", opt_infmts},
    {"csv-delimiter", 0, "C", "csv field separator (default ',')", opt_csvdelim},
    {"csv-header", 0, NULL, "csv, tsv: the first line of each file names the columns",
     opt_csvheader},
    {"csv-no-newlines", 0, NULL, "csv: no quoted newlines (skips the quote count)", opt_csvnonl},
    {"record-delimiter", 0, "C", "record delimiter: a byte, \\n \\t \\0 or \\xHH", opt_recdelim},
    {"max-bad-records", 0, "N", "skip up to N malformed records (default 0)", opt_maxbad},
    {"output-format", 0, "FMT", "text (default: key TAB value), csv or raw", opt_outfmt},
    {"output-compression", 0, "C", "none (default), gzip or zstd, with :LEVEL", opt_outcomp},
    {"overwrite", 0, NULL, "replace an existing output directory", opt_overwrite},
    {"report", 0, "FILE", "also write the JSON report to FILE", opt_report},
    {"progress", 0, NULL, "show progress on stderr", opt_progress},
    {"no-progress", 0, NULL, "do not show progress", opt_noprogress},
    {"quiet", 'q', NULL, "print only errors", opt_quiet},
    {"log-level", 0, "LEVEL", "error, warn, info or debug", opt_loglevel},
    {"seed", 0, "N", "seed of the key hash", opt_seed},
    {"sample", 0, "N", "records sampled for a total-order job (default 10000)", opt_sample},
    {"help", 'h', NULL, "show this help", opt_help},
    {"version", 0, NULL, "show the version", opt_version},
};
#define NCOMMON (sizeof common / sizeof common[0])
/* getopt_long's value of common option i without a letter, and of job option j. */
#define OPT_COMMON 1000
#define OPT_JOB 2000

static void usage(const char *prog, const sheaf_command *cmd, FILE *f) {
    fprintf(f, "usage: %s [OPTIONS]%s%s\n", prog, cmd->usage ? " " : "",
            cmd->usage ? cmd->usage : "");
    if (cmd->summary)
        fprintf(f, "\n%s\n", cmd->summary);
    if (cmd->options && cmd->options[0].name) {
        fprintf(f, "\nOptions of %s:\n", cmd->name);
        for (const sheaf_option *o = cmd->options; o->name; o++) {
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->argname ? " " : "",
                     o->argname ? o->argname : "");
            fprintf(f, "  %-24s %s\n", left, o->help ? o->help : "");
        }
    }
    fprintf(f, "\nCommon options:\n");
    for (size_t i = 0; i < NCOMMON; i++) {
        char left[64];
        if (common[i].letter)
            snprintf(left, sizeof left, "-%c, --%s%s%s", common[i].letter, common[i].name,
                     common[i].arg ? " " : "", common[i].arg ? common[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", common[i].name,
                     common[i].arg ? " " : "", common[i].arg ? common[i].arg : "");
        fprintf(f, "  %-24s %s\n", left, common[i].help);
    }
    fprintf(f, "\nSizes take K, M, G or T (powers of 1024). Exit status: 0 success, 1 the job "
               "failed, 2 bad usage.\n");
}

#define USAGE_ERR(...)                                                                         \
    do {                                                                                       \
        if (rank == 0) {                                                                       \
            fprintf(stderr, "%s: ", p->prog);                                                  \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
        }                                                                                      \
        return 2;                                                                              \
    } while (0)

/* The option getopt_long stopped at, for a message: a long one without its "=value". */
static void bad_option(const char *argv_word, char *out, size_t outlen) {
    size_t n = strcspn(argv_word, "=");
    if (strncmp(argv_word, "--", 2) != 0)
        n = strlen(argv_word);
    snprintf(out, outlen, "%.*s", (int)SHEAF__MIN(n, (size_t)200), argv_word);
}

static int parse_args(int argc, char **argv, const sheaf_command *cmd, parsed *p, int rank) {
    size_t njob = 0;
    if (cmd->options)
        while (cmd->options[njob].name)
            njob++;
    struct option *lo = calloc(NCOMMON + njob + 1, sizeof *lo);
    p->inputs = calloc((size_t)argc + 1, sizeof *p->inputs);
    if (!lo || !p->inputs) {
        free(lo);
        USAGE_ERR("out of memory");
    }
    for (size_t i = 0; i < NCOMMON; i++)
        lo[i] = (struct option){common[i].name, common[i].arg ? 1 : 0, NULL,
                                common[i].letter ? common[i].letter : OPT_COMMON + (int)i};
    for (size_t i = 0; i < njob; i++)
        lo[NCOMMON + i] = (struct option){cmd->options[i].name,
                                          cmd->options[i].argname ? 1 : 0, NULL,
                                          OPT_JOB + (int)i};
    sheaf_config_init(&p->cfg);
    opterr = 0;
    optind = 0; /* 0, not 1: glibc then forgets a previous call's state entirely */
    int c;
    char err[512];
    /* "-" first: positional arguments come back in order as option 1. */
    while ((c = getopt_long(argc, argv, "-i:o:qh", lo, NULL)) != -1) {
        if (c == 1) {
            if (!cmd->parse_option || cmd->parse_option(cmd->udata, NULL, optarg) != 0) {
                free(lo);
                USAGE_ERR("unexpected argument '%s' (see --help)", optarg);
            }
            continue;
        }
        if (c == '?' || c == ':') {
            /* optopt is the option's value when the option is known but its argument is
             * missing, or given to a flag; 0 (or an unknown letter) when it is unknown. */
            char bad[256];
            bad_option(argv[optind - 1], bad, sizeof bad);
            bool known = false, has_arg = false; /* read before lo is freed */
            for (size_t i = 0; optopt && i < NCOMMON + njob; i++)
                if (lo[i].val == optopt) {
                    known = true;
                    has_arg = lo[i].has_arg != 0;
                }
            free(lo);
            if (known && has_arg)
                USAGE_ERR("option '%s' needs an argument (see --help)", bad);
            if (known)
                USAGE_ERR("option '%s' takes no argument (see --help)", bad);
            USAGE_ERR("unknown option '%s' (see --help)", bad);
        }
        if (c >= OPT_JOB && c < OPT_JOB + (int)njob) {
            const char *name = cmd->options[c - OPT_JOB].name;
            if (!cmd->parse_option || cmd->parse_option(cmd->udata, name, optarg) != 0) {
                free(lo);
                USAGE_ERR("--%s: invalid value '%s'", name, optarg ? optarg : "");
            }
            continue;
        }
        for (size_t i = 0; i < NCOMMON; i++) {
            if (c != (common[i].letter ? common[i].letter : OPT_COMMON + (int)i))
                continue;
            if (common[i].set(p, optarg, err, sizeof err)) {
                free(lo);
                USAGE_ERR("%s", err);
            }
            break;
        }
    }
    free(lo);
    sheaf_config *cfg = &p->cfg;
    cfg->inputs = p->inputs;
    cfg->ninputs = p->ninputs;
    if (p->nfmts) {
        if (p->nfmts != p->ninputs)
            USAGE_ERR("--input-formats names %zu formats for %zu inputs (-i): give one per input",
                      p->nfmts, p->ninputs);
        cfg->input_formats = p->fmts;
    }
    return 0;
}

/* Under srun, an MPI world smaller than the step means the ranks did not find each other. */
static int check_launcher(int size, int rank) {
    const char *nt = getenv("SLURM_STEP_NUM_TASKS");
    if (!nt || getenv("OMPI_COMM_WORLD_SIZE"))
        return 0;
    int n = atoi(nt);
    if (n > 1 && size != n) {
        if (rank == 0 || size == 1)
            fprintf(stderr,
                    "sheaf: Slurm started %d tasks but MPI sees a world of %d rank%s: the ranks "
                    "cannot reach each other. Launch with `srun --mpi=pmix` (see `srun "
                    "--mpi=list`).\n",
                    n, size, size == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

/* The end-of-job summary on stderr, like Hadoop's counters dump: the totals that are not
 * zero, grouped by phase, the bad records skipped, the user counters and the warnings. The
 * figures are the report's totals (_report.json "counters.NAME.total"); per-rank figures are in
 * OUT/_report.json and _report.html. */
static void summary(const char *prog, const sheaf_config *cfg, const sheaf_result *r) {
    fprintf(stderr, "%s: job succeeded in %.2f s -> %s\n", prog, r->seconds, cfg->output);
    for (size_t g = 0; sheaf__counter_groups[g]; g++) {
        bool shown = false;
        for (int k = 0; k < SHEAF__C_COUNT; k++) {
            const sheaf__counter_info *ci = &sheaf__counters[k];
            if (!ci->group || strcmp(ci->group, sheaf__counter_groups[g]))
                continue;
            uint64_t v;
            memcpy(&v, (const char *)r + ci->res_offset, sizeof v);
            if (!v)
                continue;
            /* Output a map-only job wrote: no record reached a reducer */
            if (!shown)
                fprintf(stderr, "  %s\n",
                        !strcmp(ci->group, "Reduce") && !r->reduce_input_records ? "Output"
                                                                                 : ci->group);
            shown = true;
            fprintf(stderr, "    %-24s %llu\n", ci->label, (unsigned long long)v);
        }
        if (!strcmp(sheaf__counter_groups[g], "Map") && r->bad_records)
            fprintf(stderr, "%s    %-24s %llu\n", shown ? "" : "  Map\n", "bad records skipped",
                    (unsigned long long)r->bad_records);
    }
    if (r->nuser_counters)
        fprintf(stderr, "  User counters\n");
    for (size_t i = 0; i < r->nuser_counters; i++)
        fprintf(stderr, "    %-24s %lld\n", r->user_counters[i].name,
                (long long)r->user_counters[i].value);
    for (const char *w = r->warnings; *w;) {
        size_t n = strcspn(w, "\n");
        fprintf(stderr, "  Warning: %.*s\n", (int)n, w);
        w += n + (w[n] == '\n');
    }
    fprintf(stderr, "  Report: %s/_report.json, %s/_report.html", cfg->output, cfg->output);
    if (cfg->report)
        fprintf(stderr, ", %s", cfg->report);
    fputc('\n', stderr);
}

/* Before MPI starts: a Slurm step of several tasks with no process-management interface in
 * the environment (srun --mpi=none) would start lone singletons, or make MPI_Init abort with a
 * long message about its build. Say what to do instead. */
static int check_launcher_env(void) {
    const char *nt = getenv("SLURM_STEP_NUM_TASKS");
    if (!nt || atoi(nt) <= 1 || getenv("OMPI_COMM_WORLD_SIZE"))
        return 0;
    if (getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("PMI_FD"))
        return 0;
    const char *id = getenv("SLURM_PROCID");
    if (!id || atoi(id) == 0)
        fprintf(stderr,
                "sheaf: Slurm started %d tasks but MPI sees a world of 1 rank: srun gave the "
                "tasks no PMI, so they cannot reach each other. Launch with `srun --mpi=pmix` "
                "(see `srun --mpi=list`).\n",
                atoi(nt));
    return 1;
}

/* True when the directory exists and holds an entry other than . and .. */
static bool dir_has_entries(const char *path) {
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool any = false;
    const struct dirent *e;
    while (!any && (e = readdir(d)) != NULL)
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* True when an Open MPI parameter file chooses a PML ("pml = ucx"), or excludes ob1; an
 * exclusion list without it ("pml = ^ucx", as Debian ships) leaves ob1 among the choices. */
static bool param_file_sets_pml(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[512];
    bool set = false;
    while (!set && fgets(line, sizeof line, f)) {
        const char *p = line + strspn(line, " \t");
        if (strncmp(p, "pml", 3) != 0)
            continue;
        p += 3 + strspn(p + 3, " \t");
        if (*p != '=')
            continue;
        p += 1 + strspn(p + 1, " \t");
        set = *p != '^' || strstr(p, "ob1") != NULL;
    }
    fclose(f);
    return set;
}

/* SHEAF_MPI_FAST_START=0 turns off the start-up shortcuts below. */
static bool fast_start_off(void) {
    const char *opt = getenv("SHEAF_MPI_FAST_START");
    return opt && strcmp(opt, "0") == 0;
}

/* True when the node has a high-speed fabric device: /sys/class/infiniband (which also lists
 * RoCE, EFA and usNIC), /sys/class/cxi, /dev/hfi1_* (Omni-Path), /dev/ipath* (TrueScale). */
static bool have_fabric(void) {
    if (dir_has_entries("/sys/class/infiniband") || dir_has_entries("/sys/class/cxi"))
        return true;
    const char *const devices[] = {"/dev/hfi1_*", "/dev/ipath*"};
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
        glob_t g;
        int found = glob(devices[i], 0, NULL, &g) == 0 && g.gl_pathc > 0;
        globfree(&g);
        if (found)
            return true;
    }
    return false;
}

/* True when an HWLOC_COMPONENTS value is unset or only leaves components out ("-linuxio,-pci",
 * as scripts/lib.sh's sheaf_quick_launch sets for mpirun): then no plugin was asked for. */
static bool only_exclusions(const char *components) {
    for (const char *p = components; p && *p; p += strcspn(p, ",")) {
        p += strspn(p, ", ");
        if (*p && *p != '-')
            return false;
    }
    return true;
}

/* Before MPI starts (no thread yet, so the environment may change), on a node with no fabric
 * device and unless SHEAF_MPI_FAST_START=0:
 *  - under Open MPI, MPI_Init picks the ob1 PML (shared memory and TCP) in the end, but first
 *    opens the other PML components, whose transports (PSM, PSM2, UCX, libfabric) probe for
 *    devices: 0.2 s of a 0.3 s start with Debian 12's Open MPI 4.1. With no PML chosen by the
 *    user (OMPI_MCA_pml, which mpirun --mca pml sets, or a "pml" line in the user's or the
 *    system's parameter file), this sets OMPI_MCA_pml=ob1, the choice Open MPI would make;
 *  - hwloc loads all its plugins when this process makes its first topology (placement),
 *    whatever the filters: the GL, OpenCL, PCI and libxml2 ones pull in libX11, libOpenCL,
 *    libpciaccess and libxml2, 2.8 ms of the 3.6 ms placement took per rank. Placement looks
 *    at cores only, and with no fabric there is no network card whose locality MPI would want,
 *    so with HWLOC_PLUGINS_BLACKLIST unset, and HWLOC_COMPONENTS unset or only leaving
 *    components out, this leaves those plugins out (HWLOC_PLUGINS_BLACKLIST). */
static void fast_mpi_start(void) {
    if (fast_start_off() || have_fabric())
        return;
    if (!getenv("HWLOC_PLUGINS_BLACKLIST") && only_exclusions(getenv("HWLOC_COMPONENTS")))
        setenv("HWLOC_PLUGINS_BLACKLIST",
               "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml,hwloc_cuda,hwloc_nvml,"
               "hwloc_rsmi,hwloc_levelzero",
               0);
#ifdef OPEN_MPI
    if (getenv("OMPI_MCA_pml"))
        return;
    char path[4096];
    const char *home = getenv("HOME");
    if (home && snprintf(path, sizeof path, "%s/.openmpi/mca-params.conf", home) <
                    (int)sizeof path && param_file_sets_pml(path))
        return;
    if (param_file_sets_pml("/etc/openmpi/openmpi-mca-params.conf") ||
        param_file_sets_pml("/etc/openmpi-mca-params.conf"))
        return;
    setenv("OMPI_MCA_pml", "ob1", 0);
#endif
}

/* The address of the local PMIx server, from the URI its launcher (mpirun's daemon, Slurm's
 * slurmstepd) hands every process: "NSPACE.RANK;tcp4://127.0.0.1:PORT" or
 * "...;tcp6://[::1]:PORT". False when there is none or it is not TCP. */
static bool pmix_server_addr(struct sockaddr_storage *sa) {
    static const char *const vars[] = {"PMIX_SERVER_URI41", "PMIX_SERVER_URI4",
                                       "PMIX_SERVER_URI3", "PMIX_SERVER_URI21",
                                       "PMIX_SERVER_URI2"};
    const char *uri = NULL;
    for (size_t i = 0; !uri && i < sizeof vars / sizeof *vars; i++)
        uri = getenv(vars[i]);
    const char *p = uri ? strchr(uri, ';') : NULL;
    if (!p)
        return false;
    bool v6 = strncmp(p, ";tcp6://[", 9) == 0;
    if (!v6 && strncmp(p, ";tcp4://", 8) != 0)
        return false;
    p += v6 ? 9 : 8;
    const char *end = v6 ? strchr(p, ']') : strrchr(p, ':');
    char host[64];
    if (!end || (size_t)(end - p) >= sizeof host)
        return false;
    memcpy(host, p, (size_t)(end - p));
    host[end - p] = '\0';
    const char *colon = v6 ? (end[1] == ':' ? end + 1 : NULL) : end;
    unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 0;
    if (port == 0 || port > 65535)
        return false;
    memset(sa, 0, sizeof *sa);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        return inet_pton(AF_INET6, host, &a->sin6_addr) == 1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

static bool same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* After MPI_Init, under a PMIx launcher: the PMIx client in this process talks to the local
 * server over a loopback TCP connection that keeps Nagle's algorithm on. MPI_Finalize writes
 * the server a few small messages back to back; each waits until the previous one is
 * acknowledged, and the server acknowledges late (Linux delays an ACK by up to 40 ms), so
 * MPI_Finalize took 45 ms where 3 ms will do. This finds that connection, the stream socket
 * whose peer is the server's address (taken from the environment the launcher gave the
 * process, before MPI_Init), and sets TCP_NODELAY on it: the messages are the same, they just
 * leave at once. A singleton (no launcher) is left alone: its MPI_Init starts a daemon of its
 * own, which its MPI_Finalize then shuts down, and that exchange is better kept as it was. */
static void nodelay_if_server(int fd, const struct sockaddr_storage *server) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int type;
    socklen_t tlen = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 || type != SOCK_STREAM ||
        getpeername(fd, (struct sockaddr *)&peer, &len) != 0 || !same_endpoint(&peer, server))
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Looks at the process's open descriptors only (/proc/self/fd: a few dozen after MPI_Init,
 * where trying every number up to 1024 took a thousand system calls), or, without /proc, at
 * descriptors 0 to 1023. */
static void quick_pmix_link(const struct sockaddr_storage *server) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        for (int fd = 0; fd < 1024; fd++)
            nodelay_if_server(fd, server);
        return;
    }
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end == '\0' && end != de->d_name && fd != self && fd >= 0 && fd <= INT_MAX)
            nodelay_if_server((int)fd, server);
    }
    closedir(d);
}

SHEAF_EXTERN int sheaf_command_main(int argc, char **argv, const sheaf_command *cmd) {
    int inited = 0, provided, rank = 0, size = 1;
    MPI_Initialized(&inited);
    if (!inited && check_launcher_env())
        return 1;
    if (!inited) {
        struct sockaddr_storage server; /* the launcher's PMIx server, if there is one */
        bool launched = !fast_start_off() && pmix_server_addr(&server);
        fast_mpi_start();
        /* The threads MPI starts inherit a mask blocking the signals the job cleans up on, so
         * those reach this thread, which then runs no job code while it cleans (cleanup.c). */
        sigset_t stop, old;
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &stop, &old);
        sheaf__janitor_start();
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        sheaf__signals_install();
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (launched)
            quick_pmix_link(&server);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* After MPI_Init, so the handler is ours: a job stopped by SIGINT, SIGTERM or SIGHUP
     * removes what it made, as a failed one does (cleanup.c). */
    if (inited)
        sheaf__signals_install();
    parsed p;
    memset(&p, 0, sizeof p);
    /* Messages name the program: "sheaf JOB" for a built-in job, else argv[0]'s base name. */
    const char *prog = "sheaf";
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    p.prog = prog;
    int status = parse_args(argc, argv, cmd, &p, rank);
    if (status == 0 && p.help) {
        if (rank == 0)
            usage(prog, cmd, stdout);
    } else if (status == 0 && p.version) {
        if (rank == 0)
            printf("sheaf %s\n", SHEAF_VERSION_STRING);
    } else if (status == 0) {
        if (cmd->configure && cmd->configure(cmd->udata, &p.cfg) != 0)
            status = 2; /* configure printed why */
        else if (!p.cfg.output) {
            if (rank == 0)
                fprintf(stderr, "%s: no output directory given (-o DIR; see --help)\n", prog);
            status = 2;
        } else if (check_launcher(size, rank)) {
            status = 1;
        } else {
            sheaf_result res;
            int rc = cmd->run ? cmd->run(MPI_COMM_WORLD, cmd, &p.cfg, &res)
                              : sheaf_run(MPI_COMM_WORLD, cmd->job, &p.cfg, &res);
            if (rc) {
                if (rank == 0)
                    fprintf(stderr, "%s: error: %s\n", prog, res.message);
                status = rc == SHEAF_EUSAGE ? 2 : 1;
            } else if (rank == 0 && !p.cfg.quiet) {
                summary(prog, &p.cfg, &res);
            }
        }
    }
    free(p.inputs);
    free(p.fmts);
    free(p.fmtlist);
    sheaf__janitor_done();
    if (!inited)
        MPI_Finalize();
    return status;
}

SHEAF_EXTERN int sheaf_main(int argc, char **argv, const sheaf_job_def *job) {
    sheaf_command cmd = {.name = job ? job->name : NULL, .job = job};
    return sheaf_command_main(argc, argv, &cmd);
}
