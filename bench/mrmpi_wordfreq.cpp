// mrmpi_wordfreq: word frequencies with MR-MPI, the benchmark peer of `sheaf wordcount`.
//
// A word is a maximal run of bytes other than space, \t, \n, \r, \v and \f, as in Sheaf.
// The program is written the way MR-MPI's documentation teaches: the files are cut into map
// tasks at newlines by MR-MPI itself (the map() variant that splits files on a separator
// character), each map task emits (word, nothing) pairs, compress() counts each rank's pairs
// locally (MR-MPI's combiner), collate() moves every word to one rank and groups it, reduce()
// sums the counts, and each rank writes its words to PREFIX.RANK as `word<TAB>count` lines.
//
//   mpirun -np N mrmpi_wordfreq [options] PREFIX FILE...
//     --no-compress   skip the local combine (the textbook map/collate/reduce)
//     --tasks N       map tasks (default: enough for chunks of at most 64 MiB, and >= ranks)
//     --delta N       longest line in bytes, for MR-MPI's chunk alignment (default 65536)
//     --page-mb N     MR-MPI page size in MiB (default: the library's, 64)
//     --tmp DIR       where MR-MPI spills pages when it runs out of memory (default .)
//
// Build: mpicxx -O2 -o mrmpi_wordfreq mrmpi_wordfreq.cpp -lMapReduceMPI

#include <mpi.h>
#include <mrmpi/keyvalue.h>
#include <mrmpi/mapreduce.h>

#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using MAPREDUCE_NS::KeyValue;
using MAPREDUCE_NS::MapReduce;

namespace {

bool is_space[256];

// Map: one chunk of a file, NUL-terminated; size counts the NUL.
void map_chunk(int, char *text, int size, KeyValue *kv, void *) {
    const unsigned char *p = reinterpret_cast<unsigned char *>(text);
    const unsigned char *end = p + (size > 0 ? size - 1 : 0);
    while (p < end) {
        while (p < end && is_space[*p]) p++;
        const unsigned char *word = p;
        while (p < end && !is_space[*p]) p++;
        if (p > word)
            kv->add(reinterpret_cast<char *>(const_cast<unsigned char *>(word)),
                    static_cast<int>(p - word), nullptr, 0);
    }
}

// Sums one word's values: a value of no bytes counts 1 (straight from map), a value of 8 bytes
// is a partial count (from compress). A word with more values than fit in one page comes in
// blocks: multivalue is then null and the blocks are read through the MapReduce object.
uint64_t sum_counts(char *multivalue, int nvalues, int *valuebytes, MapReduce *mr) {
    uint64_t total = 0;
    auto add_block = [&total](char *mv, int n, const int *sizes) {
        for (int i = 0; i < n; i++) {
            if (sizes[i] == static_cast<int>(sizeof(uint64_t))) {
                uint64_t c;
                std::memcpy(&c, mv, sizeof c);
                total += c;
            } else {
                total += 1;
            }
            mv += sizes[i];
        }
    };
    if (multivalue != nullptr) {
        add_block(multivalue, nvalues, valuebytes);
    } else {
        int nblocks = 0;
        mr->multivalue_blocks(nblocks);
        for (int b = 0; b < nblocks; b++) {
            char *mv;
            int *sizes;
            int n = mr->multivalue_block(b, &mv, &sizes);
            add_block(mv, n, sizes);
        }
    }
    return total;
}

// Compress and reduce: (word, values) -> (word, total as uint64).
void count(char *key, int keybytes, char *multivalue, int nvalues, int *valuebytes,
           KeyValue *kv, void *ptr) {
    uint64_t total = sum_counts(multivalue, nvalues, valuebytes, static_cast<MapReduce *>(ptr));
    kv->add(key, keybytes, reinterpret_cast<char *>(&total), sizeof total);
}

// Scan: writes one (word, count) pair.
void write_pair(char *key, int keybytes, char *value, int, void *ptr) {
    FILE *out = static_cast<FILE *>(ptr);
    uint64_t c;
    std::memcpy(&c, value, sizeof c);
    std::fwrite(key, 1, static_cast<size_t>(keybytes), out);
    std::fprintf(out, "\t%" PRIu64 "\n", c);
}

[[noreturn]] void usage(int rank) {
    if (rank == 0)
        std::fprintf(stderr,
                     "usage: mrmpi_wordfreq [--no-compress] [--tasks N] [--delta N] "
                     "[--page-mb N] [--tmp DIR] PREFIX FILE...\n");
    MPI_Finalize();
    std::exit(2);
}

}  // namespace

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, nprocs;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);

    bool compress = true;
    long tasks = 0, delta = 65536, page_mb = 0;
    std::string tmp = ".";
    int i = 1;
    for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; i++) {
        std::string opt = argv[i];
        if (opt == "--no-compress") {
            compress = false;
        } else if (i + 1 < argc && opt == "--tasks") {
            tasks = std::atol(argv[++i]);
        } else if (i + 1 < argc && opt == "--delta") {
            delta = std::atol(argv[++i]);
        } else if (i + 1 < argc && opt == "--page-mb") {
            page_mb = std::atol(argv[++i]);
        } else if (i + 1 < argc && opt == "--tmp") {
            tmp = argv[++i];
        } else {
            usage(rank);
        }
    }
    if (argc - i < 2) usage(rank);
    std::string prefix = argv[i++];
    std::vector<char *> files(argv + i, argv + argc);

    for (const char *c = " \t\n\r\v\f"; *c; c++) is_space[static_cast<unsigned char>(*c)] = true;

    if (tasks <= 0) {
        uint64_t total = 0;
        for (char *f : files) {
            struct stat st;
            if (stat(f, &st) == 0) total += static_cast<uint64_t>(st.st_size);
        }
        const uint64_t chunk = 64ull << 20;
        tasks = static_cast<long>((total + chunk - 1) / chunk);
        tasks = (tasks + nprocs - 1) / nprocs * nprocs;  // the same number on every rank
        if (tasks < nprocs) tasks = nprocs;
    }

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();

    MapReduce *mr = new MapReduce(MPI_COMM_WORLD);
    mr->verbosity = 0;
    mr->timer = 0;
    if (page_mb > 0) mr->memsize = static_cast<int>(page_mb);
    mr->set_fpath(tmp.c_str());

    uint64_t nwords = mr->map(static_cast<int>(tasks), static_cast<int>(files.size()),
                              files.data(), 0, 0, '\n', static_cast<int>(delta), map_chunk,
                              nullptr);
    if (compress) mr->compress(count, mr);
    mr->collate(nullptr);
    uint64_t nunique = mr->reduce(count, mr);

    std::string path = prefix + "." + std::to_string(rank);
    FILE *out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
        std::fprintf(stderr, "mrmpi_wordfreq: %s: %s\n", path.c_str(), std::strerror(errno));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    mr->scan(write_pair, out);
    if (std::fclose(out) != 0) {
        std::fprintf(stderr, "mrmpi_wordfreq: %s: write failed\n", path.c_str());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    delete mr;

    MPI_Barrier(MPI_COMM_WORLD);
    double t1 = MPI_Wtime();
    if (rank == 0)
        std::fprintf(stderr, "mrmpi_wordfreq: %" PRIu64 " words, %" PRIu64
                     " distinct, %.3f s on %d ranks (%ld map tasks%s)\n",
                     nwords, nunique, t1 - t0, nprocs, tasks, compress ? ", compress" : "");
    MPI_Finalize();
    return 0;
}
