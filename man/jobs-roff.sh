#!/bin/sh
# Prints, in roff for help2man's include file, a section per built-in job of the sheaf command
# given as $1: its summary and its own options, read from `sheaf JOB --help`, so the manual
# page says what the code says; then the options every job takes, once, from the first job.
set -eu
sheaf=$1

# roff OPT_HEADER: the option lines of `--help` text on stdin under the heading that starts
# with OPT_HEADER, as .TP paragraphs, until the next heading.
roff() {
    awk -v head="$1" '
        function esc(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
        index($0, head) == 1 { own = 1; next }
        /^[A-Z][a-z ]*:$/ || /^Options of / { own = 0 }
        own && /^  / {
            line = $0; sub(/^ +/, "", line)
            n = match(line, /   +/)
            if (n) { opt = substr(line, 1, n - 1); text = substr(line, n); sub(/^ +/, "", text) }
            else { opt = line; text = "" }
            if (opt ~ /^-/) printf ".TP\n.B %s\n%s\n", esc(opt), esc(text)
            else printf "%s\n", esc(line)
        }'
}

echo '[BUILT-IN JOBS]'
printf '%s\n' 'Each job is run as \fBsheaf\fR \fIJOB\fR [\fIOPTIONS\fR]; \fBsheaf jobs\fR lists them.'
first=
for job in $("$sheaf" jobs | awk '{ print $1 }'); do
    : "${first:=$job}"
    help=$("$sheaf" "$job" --help)
    printf '.SS %s\n' "$job"
    printf '%s\n' "$help" | sed -n 3p | sed -e 's/\\/\\e/g' -e 's/-/\\-/g'
    printf '%s\n' "$help" | roff 'Options of '
done
echo '[COMMON OPTIONS]'
printf '%s\n' 'Every job takes these options (\fBsheaf\fR \fIJOB\fR \fB\-\-help\fR lists them with the job'"'"'s own).'
"$sheaf" "$first" --help | roff 'Common options:'
"$sheaf" "$first" --help | awk '/^Sizes take/' | sed -e 's/-/\\-/g'
