/*
 * gencorpus: write a reproducible test or benchmark corpus to standard output.
 *
 * Text mode (the default) writes lines of 10 to 20 words separated by single spaces. Words are
 * drawn from a word list (one word a line, e.g. /usr/share/dict/words) or, without one, from a
 * built-in list of synthetic words, with a Zipf distribution of exponent s (default 1.0) over
 * the list's ranks. The list is shuffled with the seed first, so the frequent words are not the
 * alphabetically first ones. Binary mode writes uniformly random bytes (every value 0..255,
 * NUL included).
 *
 * The output is exactly SIZE bytes and depends only on the options and the word list: the
 * generator is xoshiro256** seeded through splitmix64, Zipf draws use Vose's alias method
 * (O(1) a word). The last line is cut to fit SIZE and ends with a newline when SIZE > 0.
 *
 *     gencorpus [-s SEED] [-n SIZE] [-w WORDLIST] [-z EXPONENT] [-b]
 *
 * SIZE accepts K, M and G suffixes (powers of 1024).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *progname = "gencorpus";

/* Prints "gencorpus: WHAT[: DETAIL]" and exits with status 2. */
static void die(const char *what, const char *detail) {
    if (detail)
        fprintf(stderr, "%s: %s: %s\n", progname, what, detail);
    else
        fprintf(stderr, "%s: %s\n", progname, what);
    exit(2);
}

/* ---- random numbers ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

typedef struct {
    uint64_t s[4];
} rng;

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static void rng_seed(rng *r, uint64_t seed) {
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&sm);
}

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* A uniform double in [0, 1). */
static double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* A uniform integer in [0, n), 0 < n < 2^53: scaling a 53-bit draw, whose bias is below 2^-32
 * for the sizes used here. */
static uint64_t rng_below(rng *r, uint64_t n) {
    return (uint64_t)(rng_unit(r) * (double)n);
}

/* ---- word list --------------------------------------------------------------------------- */

typedef struct {
    char **word;
    size_t *len;
    size_t n;
} wordlist;

static void push_word(wordlist *wl, size_t *cap, const char *w, size_t len) {
    if (wl->n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        wl->word = realloc(wl->word, *cap * sizeof *wl->word);
        wl->len = realloc(wl->len, *cap * sizeof *wl->len);
        if (!wl->word || !wl->len)
            die("out of memory", NULL);
    }
    char *copy = malloc(len);
    if (!copy)
        die("out of memory", NULL);
    memcpy(copy, w, len);
    wl->word[wl->n] = copy;
    wl->len[wl->n] = len;
    wl->n++;
}

static int is_space(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads one word a line; skips empty lines and lines holding whitespace. */
static void read_wordlist(wordlist *wl, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", progname, path, strerror(errno));
        exit(2);
    }
    size_t cap = 0, bufcap = 0;
    char *line = NULL;
    ssize_t got;
    while ((got = getline(&line, &bufcap, f)) >= 0) {
        size_t len = (size_t)got;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (len == 0)
            continue;
        int ok = 1;
        for (size_t i = 0; i < len; i++)
            if (is_space((unsigned char)line[i]))
                ok = 0;
        if (ok)
            push_word(wl, &cap, line, len);
    }
    free(line);
    fclose(f);
    if (wl->n == 0)
        die(path, "no words");
}

/* Synthetic words: one to four syllables, so the list has short and long words. */
static void synth_wordlist(wordlist *wl, size_t n, rng *r) {
    static const char *syl[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "ze", "pa",
                                "qui", "dro", "ble", "sta", "ith", "orn", "el", "ux", "an", "ye"};
    const size_t nsyl = sizeof syl / sizeof syl[0];
    size_t cap = 0;
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        size_t k = 1 + (size_t)rng_below(r, 4);
        for (size_t j = 0; j < k; j++) {
            const char *s = syl[rng_below(r, nsyl)];
            size_t sl = strlen(s);
            memcpy(buf + len, s, sl);
            len += sl;
        }
        push_word(wl, &cap, buf, len);
    }
}

static void shuffle(wordlist *wl, rng *r) {
    for (size_t i = wl->n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        char *w = wl->word[i - 1];
        size_t l = wl->len[i - 1];
        wl->word[i - 1] = wl->word[j];
        wl->len[i - 1] = wl->len[j];
        wl->word[j] = w;
        wl->len[j] = l;
    }
}

/* ---- Zipf through an alias table --------------------------------------------------------- */

typedef struct {
    double *prob;
    uint32_t *alias;
    size_t n;
} alias_table;

static void alias_build(alias_table *t, size_t n, double s) {
    double *p = malloc(n * sizeof *p);
    uint32_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
    t->prob = malloc(n * sizeof *t->prob);
    t->alias = malloc(n * sizeof *t->alias);
    t->n = n;
    if (!p || !small || !large || !t->prob || !t->alias)
        die("out of memory", NULL);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = 1.0 / pow((double)(i + 1), s);
        sum += p[i];
    }
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = p[i] * (double)n / sum;
        if (p[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t l = small[--ns], g = large[--nl];
        t->prob[l] = p[l];
        t->alias[l] = g;
        p[g] = (p[g] + p[l]) - 1.0;
        if (p[g] < 1.0)
            small[ns++] = g;
        else
            large[nl++] = g;
    }
    while (nl > 0) {
        uint32_t g = large[--nl];
        t->prob[g] = 1.0;
        t->alias[g] = g;
    }
    while (ns > 0) {
        uint32_t l = small[--ns];
        t->prob[l] = 1.0;
        t->alias[l] = l;
    }
    free(p);
    free(small);
    free(large);
}

static size_t alias_draw(const alias_table *t, rng *r) {
    size_t i = (size_t)rng_below(r, t->n);
    return rng_unit(r) < t->prob[i] ? i : t->alias[i];
}

/* ---- output ------------------------------------------------------------------------------ */

static char outbuf[1 << 20];
static size_t outlen;

static void flush_out(void) {
    if (outlen && fwrite(outbuf, 1, outlen, stdout) != outlen)
        die("write", strerror(errno));
    outlen = 0;
}

/* Appends up to len bytes without passing *left; returns how many were taken. */
static size_t put(const char *p, size_t len, uint64_t *left) {
    if (len > *left)
        len = (size_t)*left;
    size_t done = 0;
    while (done < len) {
        size_t room = sizeof outbuf - outlen;
        size_t k = len - done < room ? len - done : room;
        memcpy(outbuf + outlen, p + done, k);
        outlen += k;
        done += k;
        if (outlen == sizeof outbuf)
            flush_out();
    }
    *left -= len;
    return len;
}

static uint64_t parse_size(const char *s) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        die("bad size", s);
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1024.0 * 1024.0; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024.0 * 1024.0; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0')
        die("bad size", s);
    return (uint64_t)v;
}

static void usage(void) {
    fprintf(stderr,
            "usage: %s [-s SEED] [-n SIZE] [-w WORDLIST] [-z EXPONENT] [-b]\n"
            "  -s SEED      seed of the generator (default 1)\n"
            "  -n SIZE      bytes to write, K/M/G suffixes (default 1M)\n"
            "  -w WORDLIST  one word a line (default: built-in synthetic words)\n"
            "  -z EXPONENT  Zipf exponent (default 1.0)\n"
            "  -b           random bytes instead of text\n",
            progname);
    exit(2);
}

int main(int argc, char **argv) {
    uint64_t seed = 1, size = 1024 * 1024;
    const char *wordfile = NULL;
    double zipf_s = 1.0;
    int binary = 0, opt;

    while ((opt = getopt(argc, argv, "s:n:w:z:bh")) != -1) {
        switch (opt) {
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 'n': size = parse_size(optarg); break;
        case 'w': wordfile = optarg; break;
        case 'z': zipf_s = strtod(optarg, NULL); break;
        case 'b': binary = 1; break;
        default: usage();
        }
    }
    if (optind != argc)
        usage();

    rng r;
    rng_seed(&r, seed);
    uint64_t left = size;

    if (binary) {
        while (left > 0) {
            uint64_t x = rng_next(&r);
            put((const char *)&x, sizeof x, &left);
        }
        flush_out();
        return fflush(stdout) == 0 ? 0 : 1;
    }

    wordlist wl = {0};
    if (wordfile)
        read_wordlist(&wl, wordfile);
    else
        synth_wordlist(&wl, 5000, &r);
    shuffle(&wl, &r);
    alias_table zt;
    alias_build(&zt, wl.n, zipf_s);

    while (left > 0) {
        size_t nwords = 10 + (size_t)rng_below(&r, 11);
        for (size_t i = 0; i < nwords && left > 1; i++) {
            size_t w = alias_draw(&zt, &r);
            if (i > 0)
                put(" ", 1, &left);
            if (left > 1) {
                size_t len = wl.len[w] < left - 1 ? wl.len[w] : (size_t)(left - 1);
                put(wl.word[w], len, &left);
            }
        }
        /* left >= 1 here: the newline always fits, so the output ends with one. */
        put("\n", 1, &left);
    }
    flush_out();
    return fflush(stdout) == 0 ? 0 : 1;
}
