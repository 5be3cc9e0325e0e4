#!/usr/bin/env bats
# sheaf-cluster keeps to Python 3.8 and its standard library (tests/scripts/pycompat.py reads
# it: syntax with the 3.8 grammar, and the modules, names, keywords and annotations that newer
# versions added), and the checker finds each kind of newer use in a sample.

load helpers

@test "sheaf-cluster uses nothing newer than Python 3.8" {
    run python3 "$top_srcdir/tests/scripts/pycompat.py" "$top_srcdir/scripts/sheaf-cluster"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "the checker reports newer syntax, modules, names, keywords and annotations" {
    local d=$BATS_TEST_TMPDIR
    printf 'match x:\n    case _:\n        pass\n' >"$d/syntax.py"
    run python3 "$top_srcdir/tests/scripts/pycompat.py" "$d/syntax.py"
    [ "$status" -eq 1 ]
    [[ $output == *"syntax.py:"*": syntax newer than Python 3.8"* ]]
    cat >"$d/api.py" <<'PY'
import zoneinfo
from functools import cache
def f(x: list[int]) -> int | None:
    return "a".removeprefix("b")
y = dict[str, int]
z = subprocess.run(["true"], process_group=0)
PY
    run python3 "$top_srcdir/tests/scripts/pycompat.py" "$d/api.py"
    echo "$output"
    [ "$status" -eq 1 ]
    [[ $output == *"api.py:1: module zoneinfo needs Python 3.9"* ]]
    [[ $output == *"api.py:2: functools.cache needs Python 3.9"* ]]
    [[ $output == *"api.py:3: list[...] as a type needs Python 3.9"* ]]
    [[ $output == *"api.py:3: a union X | Y in an annotation needs Python 3.10"* ]]
    [[ $output == *"api.py:4: .removeprefix needs Python 3.9"* ]]
    [[ $output == *"api.py:5: dict[...] as a type needs Python 3.9"* ]]
    [[ $output == *"api.py:6: the keyword process_group= needs Python 3.11"* ]]
    # under the __future__ import, annotations are strings: only the run-time subscript counts
    { echo 'from __future__ import annotations'; cat "$d/api.py"; } >"$d/future.py"
    run python3 "$top_srcdir/tests/scripts/pycompat.py" "$d/future.py"
    [ "$status" -eq 1 ]
    [[ $output != *"list[...]"* ]]
    [[ $output != *"union"* ]]
    [[ $output == *"future.py:6: dict[...] as a type needs Python 3.9"* ]]
}
