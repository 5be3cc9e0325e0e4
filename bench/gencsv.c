/*
 * gencsv: the table of the groupby benchmark (scripts/bench --suite groupby), on stdout.
 *
 *     gencsv [-s SEED] [-n ROWS]
 *
 * Writes a header line `city,category,amount,user` and ROWS rows (default 1000000):
 *   city      one of 1000 names `city-NNNN`, skewed: name floor(1000 * u^2) for a uniform u
 *             in [0, 1), so city-0000 is the most frequent and the last ones are rare
 *   category  one of 16 words, uniform
 *   amount    a price 0.00 .. 999.99 with two decimals, uniform
 *   user      an integer 1 .. 1000000, uniform
 * No field holds a comma, a quote or a newline, so `awk -F,` reads the file as csv readers do.
 * The output depends only on SEED and ROWS: each row is drawn from a splitmix64 stream seeded
 * by (SEED, row number).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const categories[16] = {
    "books", "music",  "garden", "toys",  "tools",  "food", "sports",  "health",
    "shoes", "office", "pets",   "games", "beauty", "baby", "kitchen", "travel",
};

/* The next number of a splitmix64 stream. */
static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Parses a decimal count into *out; returns 0, or -1 when S is not one. */
static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    uint64_t seed = 1, rows = 1000000;
    for (int i = 1; i < argc; i++) {
        uint64_t *dst = !strcmp(argv[i], "-s") ? &seed : !strcmp(argv[i], "-n") ? &rows : NULL;
        if (!dst || i + 1 == argc || parse_u64(argv[i + 1], dst)) {
            fprintf(stderr, "usage: gencsv [-s SEED] [-n ROWS]\n");
            return 2;
        }
        i++;
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    fputs("city,category,amount,user\n", stdout);
    for (uint64_t r = 0; r < rows; r++) {
        uint64_t st = seed * 0x2545f4914f6cdd1dULL ^ r;
        double u = (double)(splitmix64(&st) >> 11) * 0x1.0p-53;
        unsigned city = (unsigned)(1000.0 * u * u);
        unsigned cat = (unsigned)(splitmix64(&st) >> 60);
        unsigned cents = (unsigned)(splitmix64(&st) % 100000);
        unsigned user = (unsigned)(splitmix64(&st) % 1000000) + 1;
        printf("city-%04u,%s,%u.%02u,%u\n", city, categories[cat], cents / 100, cents % 100, user);
    }
    if (fflush(stdout) || ferror(stdout)) {
        perror("gencsv: stdout");
        return 1;
    }
    return 0;
}
