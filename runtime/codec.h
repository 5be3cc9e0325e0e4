/*
 * codec.h: the byte-stream stage between a file and a record reader or an output writer.
 *
 * A decoder turns a compressed file into its decompressed bytes, block by block: gzip (every
 * member of a multi-member file, as `cat a.gz b.gz` makes), zstd (every frame), bzip2 (every
 * stream) and xz (every stream). The codec is chosen by the file's name and confirmed by its
 * first bytes; a name that does not match the data is an error that says so. An encoder is
 * the write side: gzip or zstd at a level, written through to a file descriptor. Never
 * installed; the reader and the writer are its only users.
 */
#ifndef SHEAF_CODEC_H
#define SHEAF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SHEAF__CODEC_NONE = 0,
    SHEAF__CODEC_GZIP,
    SHEAF__CODEC_ZSTD,
    SHEAF__CODEC_BZIP2,
    SHEAF__CODEC_XZ
} sheaf__codec_kind;

/* The codec a file's name asks for (.gz, .zst, .bz2, .xz), or SHEAF__CODEC_NONE. */
sheaf__codec_kind sheaf__codec_by_name(const char *path);
/* "none", "gzip", "zstd", "bzip2" or "xz". */
const char *sheaf__codec_name(sheaf__codec_kind kind);
/* The file name suffix of a codec (".gz", ".zst", ...), "" for none. */
const char *sheaf__codec_suffix(sheaf__codec_kind kind);
/* Which library decompresses gzip: "isa-l" or "zlib". */
const char *sheaf__codec_gzip_library(void);

typedef struct sheaf__decoder sheaf__decoder;

/* Starts decoding the file open on fd (read from its current offset, which must be 0; the fd
 * stays the caller's) as kind. Reads the first bytes to check them against the codec's magic:
 * a mismatch is SHEAF_EFORMAT with "PATH: named .gz but is not gzip data (starts with ...)"
 * in err. An empty file decodes to no bytes. Returns 0 and *out, or a negative code with a
 * message in err. */
int sheaf__decoder_open(sheaf__decoder **out, sheaf__codec_kind kind, int fd, const char *path,
                        char *err, size_t errlen);
/* Decompresses up to cap bytes into buf. Returns the number of bytes (> 0), 0 at the end of
 * the last member or frame, or a negative code: SHEAF_EFORMAT for corrupt or truncated data
 * (err names the file and the compressed offset), SHEAF_EIO, SHEAF_ENOMEM. After a failure,
 * every later call fails the same way. */
long long sheaf__decoder_read(sheaf__decoder *d, void *buf, size_t cap, char *err,
                              size_t errlen);
/* Compressed bytes read from the file so far, and decompressed bytes handed out. */
uint64_t sheaf__decoder_in(const sheaf__decoder *d);
uint64_t sheaf__decoder_out(const sheaf__decoder *d);
void sheaf__decoder_free(sheaf__decoder *d);

struct sheaf__istream;
struct sheaf__ostream;

/* The decoder of the file open on fd as a byte stage under a record reader (internal.h's
 * sheaf__istream): a failed read returns -EBADMSG (damaged data), -EIO or -ENOMEM, and the
 * stage's error() gives the decoder's message. Closing the stage frees the decoder (the fd
 * stays the caller's). Returns 0 and *out, or what sheaf__decoder_open returns. */
int sheaf__codec_istream(struct sheaf__istream **out, sheaf__codec_kind kind, int fd,
                         const char *path, char *err, size_t errlen);

/* When s is a decoder's stage: true, with the compressed bytes it read and the bytes it gave. */
bool sheaf__codec_istream_counts(const struct sheaf__istream *s, uint64_t *in, uint64_t *out);

typedef struct sheaf__encoder sheaf__encoder;

/* Parses an output compression: "none", "gzip", "zstd", optionally ":LEVEL" (gzip 1-9,
 * default 6; zstd 1-19, default 3). Returns 0, or SHEAF_EUSAGE with a message in err. */
int sheaf__codec_parse_output(const char *text, sheaf__codec_kind *kind, int *level, char *err,
                              size_t errlen);
/* Starts compressing into fd (the caller's; kind is gzip or zstd; level 0 is the default).
 * Returns 0 and *out, or SHEAF_ENOMEM / SHEAF_EINVAL. */
int sheaf__encoder_open(sheaf__encoder **out, sheaf__codec_kind kind, int level, int fd);
/* Compresses n bytes and writes what the codec hands back. Returns 0 or a negative errno:
 * the failed write's, or -EINVAL for a codec error. */
int sheaf__encoder_write(sheaf__encoder *e, const void *buf, size_t n);
/* Ends the stream (trailer written), same returns as sheaf__encoder_write. */
int sheaf__encoder_finish(sheaf__encoder *e);
/* Compressed bytes written so far. */
uint64_t sheaf__encoder_out(const sheaf__encoder *e);
void sheaf__encoder_free(sheaf__encoder *e);

/* An output file written through an encoder, as a byte stage under an output writer
 * (internal.h's sheaf__ostream): path is created (O_TRUNC), its writes are compressed, and
 * close ends the stream and closes the file. NULL with *err a negative errno on failure. */
struct sheaf__ostream *sheaf__codec_ostream(const char *path, sheaf__codec_kind kind, int level,
                                            int *err);

#endif
