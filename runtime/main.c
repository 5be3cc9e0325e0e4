/*
 * main.c: sheaf_main(), the common command line of every Sheaf program.
 *
 * It starts MPI when the program was not started under it already, parses the options every
 * job shares and the job's own, checks that the MPI world is what the launcher meant (an
 * `srun` without PMI starts lone singletons), runs the job on MPI_COMM_WORLD, and turns the
 * outcome into one line on stderr and an exit status: 0 success, 1 the job failed, 2 bad
 * usage. Only rank 0 prints.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <limits.h>
#include <glob.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    OPT_REDUCERS = 1000, OPT_SPLIT, OPT_MEMORY, OPT_SPILL, OPT_BIND, OPT_SCHEDULE, OPT_INFMT,
    OPT_OUTFMT, OPT_OVERWRITE, OPT_REPORT, OPT_PROGRESS, OPT_NOPROGRESS, OPT_LOGLEVEL, OPT_SEED,
    OPT_VERSION, OPT_CSVDELIM, OPT_CSVHEADER, OPT_CSVNONL, OPT_RECDELIM, OPT_MAXBAD,
    OPT_SAMPLE, OPT_INFMTS, OPT_JOB /* job options start here */
};

static const struct {
    const char *name;
    int has_arg, val;
    const char *arg, *help;
} common[] = {
    {"input", 1, 'i', "PATH", "input file, directory (recursive) or glob; repeatable"},
    {"output", 1, 'o', "DIR", "output directory (must not exist, unless --overwrite)"},
    {"reducers", 1, OPT_REDUCERS, "N",
     "number of output partitions, 1 to 65536 (default: one per rank)"},
    {"split-size", 1, OPT_SPLIT, "SIZE", "largest split of a file (default 64M, less for small inputs)"},
    {"memory", 1, OPT_MEMORY, "SIZE", "per-rank memory budget (default: a share of the node)"},
    {"spill-dir", 1, OPT_SPILL, "DIR", "where runs are spilled (default $TMPDIR or /tmp)"},
    {"bind", 1, OPT_BIND, "POLICY", "auto, core, numa or none (default auto)"},
    {"schedule", 1, OPT_SCHEDULE, "MODE", "dynamic (default) or static"},
    {"input-format", 1, OPT_INFMT, "FMT", "lines (default), csv, tsv or fixed:N"},
    {"input-formats", 1, OPT_INFMTS, "LIST", "one format per -i, in order (lines,csv,...)"},
    {"csv-delimiter", 1, OPT_CSVDELIM, "C", "csv field separator (default ',')"},
    {"csv-header", 0, OPT_CSVHEADER, NULL, "csv: the first line of each file names the columns"},
    {"csv-no-newlines", 0, OPT_CSVNONL, NULL, "csv: no quoted newlines (lets csv files split)"},
    {"record-delimiter", 1, OPT_RECDELIM, "C", "record delimiter: a byte, \\n \\t \\0 or \\xHH"},
    {"max-bad-records", 1, OPT_MAXBAD, "N", "skip up to N malformed records (default 0)"},
    {"output-format", 1, OPT_OUTFMT, "FMT", "text (default: key TAB value), csv or raw"},
    {"overwrite", 0, OPT_OVERWRITE, NULL, "replace an existing output directory"},
    {"report", 1, OPT_REPORT, "FILE", "also write the JSON report to FILE"},
    {"progress", 0, OPT_PROGRESS, NULL, "show progress on stderr"},
    {"no-progress", 0, OPT_NOPROGRESS, NULL, "do not show progress"},
    {"quiet", 0, 'q', NULL, "print only errors"},
    {"log-level", 1, OPT_LOGLEVEL, "LEVEL", "error, warn, info or debug"},
    {"seed", 1, OPT_SEED, "N", "seed of the key hash"},
    {"sample", 1, OPT_SAMPLE, "N", "records sampled for a total-order job (default 10000)"},
    {"help", 0, 'h', NULL, "show this help"},
    {"version", 0, OPT_VERSION, NULL, "show the version"},
};
#define NCOMMON (sizeof common / sizeof common[0])

static const char *prog = "sheaf";

static void usage(const sheaf_job_def *job, FILE *f) {
    fprintf(f, "usage: %s [OPTIONS]%s%s\n", prog, job->usage ? " " : "",
            job->usage ? job->usage : "");
    if (job->summary)
        fprintf(f, "\n%s\n", job->summary);
    if (job->options && job->options[0].name) {
        fprintf(f, "\nOptions of %s:\n", job->name);
        for (const sheaf_option *o = job->options; o->name; o++) {
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->argname ? " " : "",
                     o->argname ? o->argname : "");
            fprintf(f, "  %-24s %s\n", left, o->help ? o->help : "");
        }
    }
    fprintf(f, "\nCommon options:\n");
    for (size_t i = 0; i < NCOMMON; i++) {
        char left[64];
        if (common[i].val < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", common[i].val, common[i].name,
                     common[i].arg ? " " : "", common[i].arg ? common[i].arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", common[i].name,
                     common[i].arg ? " " : "", common[i].arg ? common[i].arg : "");
        fprintf(f, "  %-24s %s\n", left, common[i].help);
    }
    fprintf(f, "\nSizes take K, M, G or T (powers of 1024). Exit status: 0 success, 1 the job "
               "failed, 2 bad usage.\n");
}

typedef struct parsed {
    sheaf_config cfg;
    const char **inputs;
    size_t ninputs;
    char *fmtlist;        /* --input-formats, split in place */
    const char **fmts;
    size_t nfmts;
    int help, version;
} parsed;

#define USAGE_ERR(...)                                                                         \
    do {                                                                                       \
        if (rank == 0) {                                                                       \
            fprintf(stderr, "%s: ", prog);                                                     \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fprintf(stderr, "\n");                                                             \
        }                                                                                      \
        return 2;                                                                              \
    } while (0)

static int parse_args(int argc, char **argv, const sheaf_job_def *job, parsed *p, int rank) {
    size_t njob = 0;
    if (job->options)
        while (job->options[njob].name)
            njob++;
    struct option *lo = calloc(NCOMMON + njob + 1, sizeof *lo);
    p->inputs = calloc((size_t)argc + 1, sizeof *p->inputs);
    if (!lo || !p->inputs)
        USAGE_ERR("out of memory");
    for (size_t i = 0; i < NCOMMON; i++)
        lo[i] = (struct option){common[i].name, common[i].has_arg, NULL, common[i].val};
    for (size_t i = 0; i < njob; i++)
        lo[NCOMMON + i] = (struct option){job->options[i].name,
                                          job->options[i].argname ? 1 : 0, NULL,
                                          OPT_JOB + (int)i};
    sheaf_config *cfg = &p->cfg;
    sheaf_config_init(cfg);
    opterr = 0;
    optind = 0; /* 0, not 1: glibc then forgets a previous call's state entirely */
    int c, rc = 0;
    uint64_t v;
    /* "-" first: positional arguments come back in order as option 1. */
    while ((c = getopt_long(argc, argv, "-i:o:qh", lo, NULL)) != -1) {
        switch (c) {
        case 1:
            if (!job->parse_option || job->parse_option(job->udata, NULL, optarg) != 0)
                rc = 2;
            if (rc) {
                free(lo);
                USAGE_ERR("unexpected argument '%s' (see --help)", optarg);
            }
            break;
        case 'i': p->inputs[p->ninputs++] = optarg; break;
        case 'o': cfg->output = optarg; break;
        case 'q': cfg->quiet = 1; break;
        case 'h': p->help = 1; break;
        case OPT_VERSION: p->version = 1; break;
        case OPT_REDUCERS: {
            char *end;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || n < 1 || n > (long)SHEAF_MAX_REDUCERS) {
                free(lo);
                USAGE_ERR("--reducers: '%s' is not a number from 1 to %u (each reducer is "
                          "a part file)", optarg, SHEAF_MAX_REDUCERS);
            }
            cfg->reducers = (uint32_t)n;
            break;
        }
        case OPT_SPLIT:
            if (sheaf_parse_size(optarg, &v) || v == 0) {
                free(lo);
                USAGE_ERR("--split-size: invalid size '%s' (a positive size such as 64M)",
                          optarg);
            }
            cfg->split_size = v;
            break;
        case OPT_MEMORY:
            if (sheaf_parse_size(optarg, &v) || v < (1u << 20)) {
                free(lo);
                USAGE_ERR("--memory: invalid size '%s' (at least 1M, such as 512M or 2G)",
                          optarg);
            }
            cfg->memory = v;
            break;
        case OPT_SPILL: cfg->spill_dir = optarg; break;
        case OPT_BIND:
            if (!strcmp(optarg, "auto")) cfg->bind = SHEAF_BIND_AUTO;
            else if (!strcmp(optarg, "core")) cfg->bind = SHEAF_BIND_CORE;
            else if (!strcmp(optarg, "numa")) cfg->bind = SHEAF_BIND_NUMA;
            else if (!strcmp(optarg, "none")) cfg->bind = SHEAF_BIND_NONE;
            else {
                free(lo);
                USAGE_ERR("--bind: unknown policy '%s' (auto, core, numa or none)", optarg);
            }
            break;
        case OPT_SCHEDULE:
            if (!strcmp(optarg, "dynamic")) cfg->schedule = SHEAF_SCHEDULE_DYNAMIC;
            else if (!strcmp(optarg, "static")) cfg->schedule = SHEAF_SCHEDULE_STATIC;
            else {
                free(lo);
                USAGE_ERR("--schedule: unknown mode '%s' (dynamic or static)", optarg);
            }
            break;
        case OPT_INFMT: {
            sheaf__format f;
            if (sheaf__format_parse(optarg, &f)) {
                free(lo);
                USAGE_ERR("--input-format: unknown format '%s' (lines, csv, tsv or fixed:N)",
                          optarg);
            }
            cfg->input_format = optarg;
            break;
        }
        case OPT_CSVDELIM: {
            uint8_t d;
            if (sheaf__parse_delim(optarg, &d) || d == '"' || d == '\n') {
                free(lo);
                USAGE_ERR("--csv-delimiter: '%s' is not one byte (or \\t, \\xHH)", optarg);
            }
            cfg->csv_delimiter = (char)d;
            break;
        }
        case OPT_INFMTS: {
            free(p->fmtlist);
            free(p->fmts);
            p->fmtlist = strdup(optarg);
            p->fmts = calloc(strlen(optarg) + 2, sizeof *p->fmts);
            p->nfmts = 0;
            if (!p->fmtlist || !p->fmts) {
                free(lo);
                USAGE_ERR("out of memory");
            }
            for (char *save = NULL, *t = strtok_r(p->fmtlist, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                sheaf__format f;
                if (sheaf__format_parse(t, &f)) {
                    free(lo);
                    USAGE_ERR("--input-formats: unknown format '%s' (lines, csv, tsv or fixed:N)",
                              t);
                }
                p->fmts[p->nfmts++] = t;
            }
            break;
        }
        case OPT_CSVHEADER: cfg->csv_header = 1; break;
        case OPT_CSVNONL: cfg->csv_no_newlines = 1; break;
        case OPT_RECDELIM: {
            uint8_t d;
            if (sheaf__parse_delim(optarg, &d)) {
                free(lo);
                USAGE_ERR("--record-delimiter: '%s' is not one byte (or \\n \\t \\0 \\xHH)",
                          optarg);
            }
            cfg->record_delimiter = optarg;
            break;
        }
        case OPT_SAMPLE: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || n == 0) {
                free(lo);
                USAGE_ERR("--sample: '%s' is not a positive count", optarg);
            }
            cfg->sample = n;
            break;
        }
        case OPT_MAXBAD: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-') {
                free(lo);
                USAGE_ERR("--max-bad-records: '%s' is not a count", optarg);
            }
            cfg->max_bad_records = n;
            break;
        }
        case OPT_OUTFMT:
            if (strcmp(optarg, "text") && strcmp(optarg, "raw") && strcmp(optarg, "csv")) {
                free(lo);
                USAGE_ERR("--output-format: unknown format '%s' (text, csv or raw)", optarg);
            }
            cfg->output_format = optarg;
            break;
        case OPT_OVERWRITE: cfg->overwrite = 1; break;
        case OPT_REPORT: cfg->report = optarg; break;
        case OPT_PROGRESS: cfg->progress = 1; break;
        case OPT_NOPROGRESS: cfg->progress = 0; break;
        case OPT_LOGLEVEL:
            if (!strcmp(optarg, "error")) cfg->log_level = SHEAF_LOG_ERROR;
            else if (!strcmp(optarg, "warn")) cfg->log_level = SHEAF_LOG_WARN;
            else if (!strcmp(optarg, "info")) cfg->log_level = SHEAF_LOG_INFO;
            else if (!strcmp(optarg, "debug")) cfg->log_level = SHEAF_LOG_DEBUG;
            else {
                free(lo);
                USAGE_ERR("--log-level: unknown level '%s' (error, warn, info, debug)", optarg);
            }
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 0);
            if (errno || *end || end == optarg) {
                free(lo);
                USAGE_ERR("--seed: '%s' is not a number", optarg);
            }
            cfg->seed = s;
            break;
        }
        case '?':
        case ':': {
            const char *bad = argv[optind - 1];
            free(lo);
            if (c == ':' || (optopt && strchr("io", optopt)))
                USAGE_ERR("option '%s' needs an argument (see --help)", bad);
            USAGE_ERR("unknown option '%s' (see --help)", bad);
        }
        default:
            if (c >= OPT_JOB && c < OPT_JOB + (int)njob) {
                const char *name = job->options[c - OPT_JOB].name;
                if (!job->parse_option || job->parse_option(job->udata, name, optarg) != 0) {
                    free(lo);
                    USAGE_ERR("--%s: invalid value '%s'", name, optarg ? optarg : "");
                }
            }
            break;
        }
    }
    free(lo);
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
 * zero, grouped by phase. Per-rank figures are in OUT/_report.json and _report.html. */
static void summary(const sheaf_config *cfg, const sheaf_result *r) {
    const struct {
        const char *group, *name;
        uint64_t v;
    } rows[] = {
        {"Map", "input records", r->input_records},
        {"Map", "input bytes", r->input_bytes},
        {"Map", "output records", r->map_output_records},
        {"Map", "output bytes", r->map_output_bytes},
        {"Map", "combine input records", r->combine_input_records},
        {"Map", "combine output records", r->combine_output_records},
        {"Shuffle", "bytes", r->shuffle_bytes},
        {"Shuffle", "rounds", r->shuffle_rounds},
        {"Spill", "records", r->spilled_records},
        {"Spill", "bytes", r->spilled_bytes},
        {"Spill", "runs", r->spill_runs},
        {"Spill", "merge passes", r->merge_passes},
        {"Reduce", "input groups", r->reduce_groups},
        {"Reduce", "output records", r->output_records},
        {"Reduce", "output bytes", r->output_bytes},
    };
    fprintf(stderr, "%s: job succeeded in %.2f s -> %s\n", prog, r->seconds, cfg->output);
    const char *group = "";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (!rows[i].v)
            continue;
        if (strcmp(group, rows[i].group)) {
            group = rows[i].group;
            fprintf(stderr, "  %s\n", group);
        }
        fprintf(stderr, "    %-24s %llu\n", rows[i].name, (unsigned long long)rows[i].v);
    }
    fprintf(stderr, "  Report: %s/_report.json, %s/_report.html\n", cfg->output, cfg->output);
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

SHEAF_EXTERN int sheaf_main(int argc, char **argv, const sheaf_job_def *job) {
    int inited = 0, provided, rank = 0, size = 1;
    MPI_Initialized(&inited);
    if (!inited && check_launcher_env())
        return 1;
    if (!inited) {
        struct sockaddr_storage server; /* the launcher's PMIx server, if there is one */
        bool launched = !fast_start_off() && pmix_server_addr(&server);
        fast_mpi_start();
        MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
        if (launched)
            quick_pmix_link(&server);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* Messages name the program: "sheaf JOB" for a built-in job, else argv[0]'s base name. */
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    parsed p;
    memset(&p, 0, sizeof p);
    int status = parse_args(argc, argv, job, &p, rank);
    if (status == 0 && p.help) {
        if (rank == 0)
            usage(job, stdout);
    } else if (status == 0 && p.version) {
        if (rank == 0)
            printf("sheaf %s\n", SHEAF_VERSION_STRING);
    } else if (status == 0) {
        if (job->configure && job->configure(job->udata, &p.cfg) != 0)
            status = 2; /* configure printed why */
        else if (!p.cfg.output) {
            if (rank == 0)
                fprintf(stderr, "%s: no output directory given (-o DIR; see --help)\n", prog);
            status = 2;
        } else if (check_launcher(size, rank)) {
            status = 1;
        } else {
            sheaf_result res;
            int rc = job->driver ? job->driver(MPI_COMM_WORLD, job, &p.cfg, &res)
                                 : sheaf_run(MPI_COMM_WORLD, job, &p.cfg, &res);
            if (rc) {
                if (rank == 0)
                    fprintf(stderr, "%s: error: %s\n", prog, res.message);
                status = rc == SHEAF_EUSAGE ? 2 : 1;
            } else if (rank == 0 && !p.cfg.quiet) {
                summary(&p.cfg, &res);
            }
        }
    }
    free(p.inputs);
    free(p.fmts);
    free(p.fmtlist);
    if (!inited)
        MPI_Finalize();
    return status;
}
