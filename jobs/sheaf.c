/*
 * sheaf.c: the sheaf command. `sheaf jobs` lists the built-in jobs, `sheaf JOB ...` runs one
 * (with or without mpirun), `sheaf JOB --help` shows its options.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

static const sheaf_command *const jobs[] = {
    &sheaf_cmd_wordcount,
    &sheaf_cmd_stream,
    &sheaf_cmd_grep,
    &sheaf_cmd_sort,
    &sheaf_cmd_gensort,
    &sheaf_cmd_valsort,
    &sheaf_cmd_invertedindex,
    &sheaf_cmd_distinct,
    &sheaf_cmd_topk,
    &sheaf_cmd_histogram,
    &sheaf_cmd_groupby,
    &sheaf_cmd_join,
    &sheaf_cmd_pagerank,
    &sheaf_cmd_kmeans,
    &sheaf_cmd_validate,
    &sheaf_cmd_convert,
    &sheaf_cmd_sql,
};
#define NJOBS (sizeof jobs / sizeof jobs[0])

static void list(FILE *f) {
    for (size_t i = 0; i < NJOBS; i++)
        fprintf(f, "  %-14s %s\n", jobs[i]->name, jobs[i]->summary);
}

static void help(FILE *f) {
    fprintf(f, "usage: sheaf JOB [OPTIONS]      run a built-in job (under mpirun or srun for "
               "more than one rank)\n"
               "       sheaf jobs               list the built-in jobs\n"
               "       sheaf schema FILE...     the columns of Parquet and csv files\n"
               "       sheaf JOB --help         a job's options\n"
               "       sheaf --version\n\nJobs:\n");
    list(f);
}

/* The rank a launcher gave this process, from the first of its first nvars variables that is
 * set: the process-management ones (mpirun, PMIx, PMI), then Slurm's task number. NULL when
 * none is. MPI is not started yet here. */
static const char *launcher_rank(size_t nvars) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                       "SLURM_PROCID"};
    for (size_t i = 0; i < nvars && i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

/* Under mpirun or srun every rank runs this; only the first should print. */
static bool first_rank(void) {
    const char *r = launcher_rank(4);
    return !r || atoi(r) == 0;
}

/* A usage error before any job runs: every rank exits with status 2. Under mpirun the first
 * rank to exit non-zero makes mpirun kill the others, perhaps before the first rank has printed
 * why; so under a launcher with MPI process management the ranks start MPI, the first one
 * prints, and all leave through a barrier and MPI_Finalize, as sheaf_main does for its own
 * usage errors. */
static int usage_error(const char *job) {
    bool managed = launcher_rank(3) != NULL; /* not Slurm's task number alone */
    if (managed)
        MPI_Init(NULL, NULL);
    if (first_rank()) {
        if (job)
            fprintf(stderr, "sheaf: unknown job '%s' (see `sheaf jobs`)\n", job);
        else
            help(stderr);
        fflush(stderr);
    }
    if (managed) {
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Finalize();
    }
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage_error(NULL);
    const char *cmd = argv[1];
    if (!strcmp(cmd, "jobs")) {
        if (first_rank())
            list(stdout);
        return 0;
    }
    if (!strcmp(cmd, "schema"))
        return first_rank() ? sj_schema_command(argc - 1, argv + 1) : 0;
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        if (first_rank())
            printf("sheaf %s\n", SHEAF_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (first_rank())
            help(stdout);
        return 0;
    }
    for (size_t i = 0; i < NJOBS; i++) {
        if (!strcmp(cmd, jobs[i]->name)) {
            char name[128]; /* messages then say "sheaf JOB" */
            snprintf(name, sizeof name, "sheaf %s", jobs[i]->name);
            argv[1] = name;
            return sheaf_command_main(argc - 1, argv + 1, jobs[i]);
        }
    }
    return usage_error(cmd);
}
