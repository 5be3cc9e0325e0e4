"""The reference for tests/runtime/formats.sh: parses files with Python's csv module and
writes what tests/runtime/fields.c writes (offset<TAB>input|nfields|fields...), sorted."""
import csv
import sys


def esc(s):
    return (s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\n")
            .replace("\r", "\\r"))


def main():
    delim, header = sys.argv[1], sys.argv[2] == "1"
    out = []
    for idx, path in enumerate(sys.argv[3:]):
        data = open(path, "rb").read().decode("latin-1")
        # Offsets: walk the records with the csv module over the raw text, one at a time.
        # A UTF-8 byte-order mark is not part of the first record (offsets stay the file's).
        pos, first = (3 if data.startswith("\xef\xbb\xbf") else 0), True
        while pos < len(data):
            # Find the end of the record starting at pos: a newline outside quotes.
            i, quoted = pos, False
            while i < len(data) and (quoted or data[i] != "\n"):
                if data[i] == '"':
                    quoted = not quoted
                i += 1
            line = data[pos:i]
            if line.endswith("\r"):
                line = line[:-1]
            fields = next(csv.reader([line], delimiter=delim, strict=True)) if line else [""]
            if not (header and first):
                vals = "|".join(esc(f) for f in fields)
                out.append("%020d\t%d|%d|%s" % (pos, idx, len(fields), vals))
            first = False
            pos = i + 1
    for line in sorted(out):
        print(line)


main()
