#!/bin/sh
# Prints, for help2man's include file, a section with each verb of the sheaf-cluster command
# given as $1 and its `sheaf-cluster VERB --help` text, so the manual page says what the
# launcher says.
set -eu
cmd=$1
echo '[VERBS]'
for verb in $("$cmd" --help | awk '/^Verbs:/ { v = 1; next } v && /^  [a-z]/ { print $1 } v && /^$/ { v = 0 }'); do
    printf '.SS %s\n.nf\n' "$verb"
    "$cmd" "$verb" --help | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
    printf '.fi\n'
done
