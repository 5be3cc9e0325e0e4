/*
 * kmeans.c: k-means clustering of 2-D points, one Sheaf job per iteration.
 *
 *   mpicc kmeans.c $(pkg-config --cflags --libs sheaf) -o kmeans
 *   mpirun -np 4 ./kmeans -i points.txt -o clusters/ -k 5 [-n MAX_ROUNDS]
 *
 * Input lines are "x y" (two numbers separated by blanks); other lines are skipped and counted
 * (user counter "bad_points"). The first k points of the first input file are the starting
 * centroids. Round r is one MapReduce job whose output, OUT/round-NNN/part-r-*, holds the new
 * centroids as "cluster TAB x y". Rank 0 reads them back and broadcasts them with MPI_Bcast to
 * the map of the next round. The program stops when no centroid moves (or after MAX_ROUNDS,
 * default 20) and prints the final centroids on stdout.
 *
 * This program calls sheaf_run() itself, so it starts MPI, parses its own arguments, and keeps
 * state between rounds; sheaf_main() would run a single job (a sheaf_command's run function
 * could loop the same way and take Sheaf's common options too).
 */
#define _POSIX_C_SOURCE 200809L /* getopt, glob */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sheaf.h>

typedef struct kmeans {
    int k;
    double *c; /* k centroids: x0 y0 x1 y1 ... */
} kmeans;

/* What travels from map to reduce for one cluster: a point count and coordinate sums. */
typedef struct partial {
    double n, x, y;
} partial;

/* Parses "x y" from a record (not NUL-terminated). Returns 1 on success. */
static int parse_point(const char *data, size_t len, double *x, double *y) {
    char line[128], extra;
    if (len >= sizeof line)
        return 0;
    memcpy(line, data, len);
    line[len] = '\0';
    return sscanf(line, "%lf %lf %c", x, y, &extra) == 2;
}

/* map: each point goes to its nearest centroid. */
static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const kmeans *km = udata;
    partial p = {1, 0, 0};
    char key[16];
    int best = 0;
    if (!parse_point(rec->data, rec->len, &p.x, &p.y))
        return sheaf_counter_add(ctx, "bad_points", 1);
    for (int i = 1; i < km->k; i++) {
        double dx = p.x - km->c[2 * i], dy = p.y - km->c[2 * i + 1];
        double bx = p.x - km->c[2 * best], by = p.y - km->c[2 * best + 1];
        if (dx * dx + dy * dy < bx * bx + by * by)
            best = i;
    }
    return sheaf_emit(ctx, key, (size_t)snprintf(key, sizeof key, "%d", best), &p, sizeof p);
}

/* Adds up a cluster's partials. */
static partial add_up(sheaf_values *vals) {
    partial sum = {0, 0, 0}, p;
    const void *v;
    size_t vlen;
    while (sheaf_values_next(vals, &v, &vlen)) {
        memcpy(&p, v, sizeof p);
        sum.n += p.n;
        sum.x += p.x;
        sum.y += p.y;
    }
    return sum;
}

/* combine: one partial per cluster and rank. */
static int combine(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                   void *udata) {
    partial sum = add_up(vals);
    (void)udata;
    return sheaf_emit(ctx, key, klen, &sum, sizeof sum);
}

/* reduce: the cluster's new centroid, as text. */
static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    partial sum = add_up(vals);
    char text[64];
    int n = snprintf(text, sizeof text, "%.6f %.6f", sum.x / sum.n, sum.y / sum.n);
    (void)udata;
    return sheaf_emit(ctx, key, klen, text, (size_t)n);
}

/* Reads the first k points of the file at path into km->c. Returns k, or -1. */
static int read_start(kmeans *km, const char *path) {
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int i = 0;
    if (!f)
        return -1;
    while (i < km->k && (len = getline(&line, &cap, f)) > 0)
        if (parse_point(line, (size_t)len - (line[len - 1] == '\n'), &km->c[2 * i],
                        &km->c[2 * i + 1]))
            i++;
    free(line);
    fclose(f);
    return i == km->k ? i : -1;
}

/* Reads a round's centroids from dir/part-r-* into km->c; a cluster that got no point is
 * not in the output and keeps its centroid. Returns the number of centroids read, or -1. */
static int read_round(kmeans *km, const char *dir) {
    char pattern[4200];
    glob_t g;
    int n = 0, cluster;
    double x, y;
    snprintf(pattern, sizeof pattern, "%s/part-r-*", dir);
    if (glob(pattern, 0, NULL, &g) != 0)
        return -1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        while (f && fscanf(f, "%d %lf %lf", &cluster, &x, &y) == 3) {
            if (cluster >= 0 && cluster < km->k) {
                km->c[2 * cluster] = x;
                km->c[2 * cluster + 1] = y;
                n++;
            }
        }
        if (f)
            fclose(f);
    }
    globfree(&g);
    return n;
}

int main(int argc, char **argv) {
    static kmeans km;
    static const sheaf_job_def job = {
        .name = "kmeans", .map = map, .combine = combine, .reduce = reduce, .udata = &km};
    const char **inputs = calloc((size_t)argc, sizeof *inputs), *out = NULL;
    size_t ninputs = 0;
    int rank, opt, rounds = 20, rc = 0, ok = 1;
    char dir[4096];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    while ((opt = getopt(argc, argv, "i:o:k:n:")) != -1) {
        if (opt == 'i' && inputs)
            inputs[ninputs++] = optarg;
        else if (opt == 'o')
            out = optarg;
        else if (opt == 'k')
            km.k = atoi(optarg);
        else if (opt == 'n')
            rounds = atoi(optarg);
        else
            ok = 0;
    }
    if (!ok || !ninputs || !out || km.k < 1 || rounds < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: %s -i POINTS... -o OUT -k K [-n MAX_ROUNDS]\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    km.c = calloc(2 * (size_t)km.k, sizeof *km.c);
    double *prev = calloc(2 * (size_t)km.k, sizeof *prev);

    /* Every rank must make the same decisions, so rank 0 reads and broadcasts. */
    if (rank == 0)
        ok = km.c && prev && read_start(&km, inputs[0]) == km.k;
    MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!ok) {
        if (rank == 0)
            fprintf(stderr, "%s: cannot read %d starting points from %s\n", argv[0], km.k,
                    inputs[0]);
        MPI_Finalize();
        return 1;
    }
    MPI_Bcast(km.c, 2 * km.k, MPI_DOUBLE, 0, MPI_COMM_WORLD);

    for (int r = 1; r <= rounds; r++) {
        sheaf_config cfg;
        sheaf_result res;
        sheaf_config_init(&cfg);
        cfg.inputs = inputs;
        cfg.ninputs = ninputs;
        snprintf(dir, sizeof dir, "%s/round-%03d", out, r);
        cfg.output = dir;
        cfg.quiet = 1;
        /* Collective: every rank runs the round and gets the same rc. */
        if ((rc = sheaf_run(MPI_COMM_WORLD, &job, &cfg, &res)) != 0) {
            if (rank == 0)
                fprintf(stderr, "%s: round %d failed: %s\n", argv[0], r, res.message);
            break;
        }
        memcpy(prev, km.c, 2 * (size_t)km.k * sizeof *prev);
        if (rank == 0 && (ok = read_round(&km, dir) > 0) == 0)
            fprintf(stderr, "%s: cannot read the centroids in %s\n", argv[0], dir);
        MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (!ok) {
            rc = 1;
            break;
        }
        MPI_Bcast(km.c, 2 * km.k, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (memcmp(prev, km.c, 2 * (size_t)km.k * sizeof *prev) == 0 || r == rounds) {
            if (rank == 0)
                fprintf(stderr, "%s: %s after %d rounds; centroids in %s\n", argv[0],
                        r < rounds || memcmp(prev, km.c, 2 * (size_t)km.k * sizeof *prev) == 0
                            ? "converged" : "stopped", r, dir);
            break;
        }
    }
    if (rank == 0 && rc == 0)
        for (int i = 0; i < km.k; i++)
            printf("%d\t%.6f %.6f\n", i, km.c[2 * i], km.c[2 * i + 1]);
    free(km.c);
    free(prev);
    free(inputs);
    MPI_Finalize();
    return rc ? 1 : 0;
}
