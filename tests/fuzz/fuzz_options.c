/*
 * fuzz_options.c: libFuzzer target for sheaf_command_main's command line parser.
 *
 * The parser is static in runtime/main.c, so the target goes through sheaf_command_main
 * itself, with a command whose configure callback records the parsed configuration and then
 * returns non-zero: sheaf_command_main parses, checks and stops there (status 2) without
 * running anything. MPI is initialized once, before the first input, so sheaf_command_main
 * neither initializes nor finalizes it.
 *
 * The input is split at NUL bytes into argv[1..] (argv[0] is fixed). Invariants: the status is
 * 0 (--help or --version) or 2 (a usage error, or our configure's refusal); a configuration
 * that reached configure is valid (sizes, counts and formats in range, every input an argv
 * element); and parsing the same argv twice gives the same outcome and configuration, which
 * catches state left behind between calls (getopt's).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_options: check failed at line %d: %s\n", __LINE__, #cond);   \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

typedef struct seen {
    int configured;
    sheaf_config cfg;
    const char *inputs[64]; /* cfg.inputs is sheaf_command_main's, freed when it returns */
    size_t nflags, nvalues, npositional;
    char last_value[64];
} seen;

static seen cur;

static const sheaf_option opts[] = {
    {"flag", NULL, "a flag"},
    {"value", "V", "a value; 'bad' is refused"},
    {"k", "N", "a one-letter long option"},
    {NULL, NULL, NULL},
};

static int parse_option(void *udata, const char *name, const char *value) {
    (void)udata;
    if (!name) {
        cur.npositional++;
        return value && value[0] == 'p' ? 0 : -1; /* positionals starting with p are ours */
    }
    if (!strcmp(name, "flag")) {
        CHECK(value == NULL);
        cur.nflags++;
        return 0;
    }
    CHECK(value != NULL);
    cur.nvalues++;
    snprintf(cur.last_value, sizeof cur.last_value, "%s", value);
    return strcmp(value, "bad") ? 0 : -1;
}

static int configure(void *udata, sheaf_config *cfg) {
    (void)udata;
    cur.configured = 1;
    cur.cfg = *cfg;
    CHECK(cfg->ninputs <= 64);
    for (size_t i = 0; i < cfg->ninputs; i++)
        cur.inputs[i] = cfg->inputs[i];
    cur.cfg.inputs = NULL;
    return 1; /* stop: never run the job */
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)ctx;
    (void)rec;
    (void)udata;
    abort(); /* never reached */
}

static const sheaf_job_def job = {
    .name = "fuzz",
    .map = map,
};
static const sheaf_command cmd = {
    .name = "fuzz",
    .summary = "option parser fuzzing",
    .options = opts,
    .parse_option = parse_option,
    .configure = configure,
    .job = &job,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    int provided;
    /* Open MPI would catch SIGABRT and SIGSEGV for its own stack dump; leave them to
     * libFuzzer, which saves the input that crashed. */
    setenv("OMPI_MCA_opal_signal", "", 0);
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    /* --help prints the usage on stdout; keep the fuzzer's output readable. */
    if (!freopen("/dev/null", "w", stdout))
        return 0;
    return 0;
}

static int run(char **argv, int argc, seen *out) {
    memset(&cur, 0, sizeof cur);
    /* sheaf_command_main may permute argv (getopt): hand it a copy of the pointers. */
    char **copy = malloc(((size_t)argc + 1) * sizeof *copy);
    CHECK(copy);
    memcpy(copy, argv, ((size_t)argc + 1) * sizeof *copy);
    int status = sheaf_command_main(argc, copy, &cmd);
    free(copy);
    *out = cur;
    return status;
}

static bool in_argv(const char *p, char **argv, int argc) {
    for (int i = 0; i < argc; i++)
        if (p == argv[i] || (p >= argv[i] && p <= argv[i] + strlen(argv[i])))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    /* argv[1..]: the input split at NUL bytes, in one buffer that outlives both calls. */
    char *buf = malloc(size + 1);
    CHECK(buf);
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 1;
    for (size_t i = 0; i < size; i++)
        argc += buf[i] == '\0';
    argc += 1;
    if (argc > 64) {
        free(buf);
        return 0;
    }
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    CHECK(argv);
    argv[0] = (char *)"sheaf-fuzz";
    int n = 1;
    argv[n++] = buf;
    for (size_t i = 0; i < size; i++)
        if (buf[i] == '\0')
            argv[n++] = buf + i + 1;
    CHECK(n == argc);

    seen a, b;
    int s1 = run(argv, argc, &a);
    int s2 = run(argv, argc, &b);
    CHECK(s1 == 0 || s1 == 2);
    CHECK(s1 == s2);
    CHECK(a.configured == b.configured);
    CHECK(a.nflags == b.nflags && a.nvalues == b.nvalues && a.npositional == b.npositional);
    if (a.configured) {
        const sheaf_config *c = &a.cfg;
        CHECK(s1 == 2);
        CHECK(c->memory == 0 || c->memory >= (1u << 20));
        CHECK(c->reducers <= 1000000);
        CHECK(c->sample >= 1);
        sheaf__format f;
        CHECK(sheaf__format_parse(c->input_format, &f) == 0);
        if (c->record_delimiter) {
            uint8_t d;
            CHECK(sheaf__parse_delim(c->record_delimiter, &d) == 0);
        }
        CHECK(c->ninputs <= (size_t)argc);
        for (size_t i = 0; i < c->ninputs; i++)
            CHECK(in_argv(a.inputs[i], argv, argc));
        CHECK(!c->output || in_argv(c->output, argv, argc));
        CHECK(c->memory == b.cfg.memory && c->split_size == b.cfg.split_size &&
              c->reducers == b.cfg.reducers && c->ninputs == b.cfg.ninputs &&
              c->overwrite == b.cfg.overwrite && c->quiet == b.cfg.quiet &&
              c->seed == b.cfg.seed && c->csv_header == b.cfg.csv_header);
    }
    free(argv);
    free(buf);
    return 0;
}
