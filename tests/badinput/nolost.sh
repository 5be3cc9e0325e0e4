#!/usr/bin/env bash
# Nothing lost: paths a job may delete or overwrite. Multi-round jobs work in a fresh directory
# of their own and remove only it (never --work-dir itself, never an existing OUT.work-JOB, and
# nothing at all when refused); gensort --overwrite goes through the committer and refuses the
# current directory and its ancestors; --report never names an input, a file inside the output,
# a symlink or an existing file without --overwrite, and is not written for a refused job;
# --overwrite refuses an output that holds an input (a glob's matches, sql's JOIN table and
# join --broadcast's right input too) or a file the job reads besides them (a side input:
# convert --schema FILE, kmeans --init, stream --files, sql --file); --work-dir is never
# among a glob input's matches.
# Every refusal leaves the tree as it was.
# shellcheck disable=SC2317  # the cases are called through run_case
source "${top_srcdir:-$(dirname "$0")/../..}/tests/badinput/lib.sh"

SMALLFS=$TMP/smallfs
umount_smallfs() {
    if mountpoint -q "$SMALLFS" 2>/dev/null; then umount "$SMALLFS" || umount -l "$SMALLFS"; fi
}
trap 'umount_smallfs; cleanup' EXIT

# A user's directory: data/in.txt (the input of the issue's command), notes.txt and a
# subdirectory, so that losing any of it shows.
make_user_tree() {
    rm -rf "$TMP/u"
    mkdir -p "$TMP/u/data" "$TMP/u/keep/sub"
    printf 'x\ny\nx\n' >"$TMP/u/data/in.txt"
    echo "my notes" >"$TMP/u/notes.txt"
    echo "deep" >"$TMP/u/keep/sub/file"
}

# ref_topk_count FILE: `key<TAB>count` of the lines of FILE, most frequent first, ties by key.
ref_topk_count() {
    sort "$1" | uniq -c | awk '{print $2 "\t" $1}' | sort -t "$TAB" -k2,2nr -k1,1 | head -n 10
}

# same_tree BEFORE PATH: PATH holds exactly what tree_sum recorded in BEFORE.
same_tree() {
    if [[ $(tree_sum "$2") != "$1" ]]; then
        diff <(echo "$1") <(tree_sum "$2") >&2 || true
        fail "$2 changed"
    fi
}

case_workdir_is_input() {
    # The issue's command: exit 2, data/ untouched (it was removed), no output.
    make_user_tree
    local before
    before=$(tree_sum "$TMP/u")
    (cd "$TMP/u" && expect_fail 2 "--work-dir data is the input data or inside it" 0 \
        topk --count -i data -o out --work-dir data)
    same_tree "$before" "$TMP/u"
    (cd "$TMP/u" && expect_fail 2 "--work-dir data/sub is the input data" 2 \
        topk --count -i data -o out --work-dir data/sub)
    same_tree "$before" "$TMP/u"
    # a glob input is each of its matches: kmeans reads its input again each round, and a
    # work directory among the matches would be read with it
    printf '1,1\n1,2\n9,9\n9,8\n' >"$TMP/points.csv"
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "--work-dir $TMP/u/keep is the input $TMP/u/k*" 2 \
        kmeans -i "$TMP/u/k*" --input-format csv --k 2 -o "$TMP/km-glob" --work-dir "$TMP/u/keep"
    same_tree "$before" "$TMP/u"
}

case_workdir_dot() {
    # --work-dir . used to empty the current directory: now the job works in a fresh
    # subdirectory of it and removes only that.
    make_user_tree
    local before np
    before=$(tree_sum "$TMP/u")
    ref_topk_count "$TMP/u/data/in.txt" >"$TMP/ref-topk"
    for np in 0 2; do
        (cd "$TMP/u" && must_np "$np" topk --count -i data -o "$TMP/topk-$np" --work-dir .)
        cmp "$TMP/ref-topk" "$TMP/topk-$np/part-r-00000" || fail "topk --count output differs"
        same_tree "$before" "$TMP/u"
        [[ -z $(find "$TMP/u" -name 'topk.work-*') ]] || fail "work directory left in ."
    done
}

case_workdir_given_kept() {
    # pagerank and kmeans with --work-dir DIR: DIR and what it held stay after success.
    make_user_tree
    printf '1 2\n2 3\n3 1\n3 2\n' >"$TMP/edges.txt"
    printf '1,1\n1,2\n9,9\n9,8\n' >"$TMP/points.csv"
    local before
    before=$(tree_sum "$TMP/u")
    must_np 2 pagerank -i "$TMP/edges.txt" -o "$TMP/pr-ref"
    must_np 2 pagerank -i "$TMP/edges.txt" -o "$TMP/pr" --work-dir "$TMP/u/keep"
    cmp <(parts_sorted "$TMP/pr") <(parts_sorted "$TMP/pr-ref") || fail "pagerank differs"
    same_tree "$before" "$TMP/u"
    must_np 2 kmeans -i "$TMP/points.csv" --input-format csv --k 2 -o "$TMP/km-ref"
    must_np 2 kmeans -i "$TMP/points.csv" --input-format csv --k 2 -o "$TMP/km" \
        --work-dir "$TMP/u/keep"
    cmp <(parts_sorted "$TMP/km") <(parts_sorted "$TMP/km-ref") || fail "kmeans differs"
    same_tree "$before" "$TMP/u"
    [[ -d $TMP/u/keep/sub ]] || fail "the --work-dir's subdirectory is gone"
    # A --work-dir that did not exist is made and removed again.
    must_np 0 pagerank -i "$TMP/edges.txt" -o "$TMP/pr2" --work-dir "$TMP/newwork"
    [[ ! -e $TMP/newwork ]] || fail "the --work-dir the job made is left"
    # --keep-work leaves the fresh directory and says where it is.
    must_np 0 pagerank -i "$TMP/edges.txt" -o "$TMP/pr3" --keep-work
    local kept
    kept=$(sed -n 's/^sheaf pagerank: work directory kept: //p' "$LAST_LOG")
    [[ -n $kept && -d $kept ]] || fail "the kept work directory is not named or not there"
    [[ $kept == "$TMP/pr3.work-pagerank-"* ]] || fail "kept directory $kept is not beside OUT"
}

case_default_workdir_exists() {
    # A pre-existing OUT.work-JOB (the old default name) is the user's: kept as it was.
    make_user_tree
    seq 1 50 >"$TMP/nums.txt"
    local job before
    for job in topk histogram; do
        mkdir -p "$TMP/o-$job.work-$job"
        echo "mine" >"$TMP/o-$job.work-$job/file"
        before=$(tree_sum "$TMP/o-$job.work-$job")
    done
    must_np 2 topk --count -i "$TMP/u/data/in.txt" -o "$TMP/o-topk"
    cmp <(ref_topk_count "$TMP/u/data/in.txt") "$TMP/o-topk/part-r-00000" || fail "topk differs"
    must_np 2 histogram -i "$TMP/nums.txt" --buckets 5 -o "$TMP/o-histogram"
    [[ $(cat "$TMP/o-histogram"/part-r-* | awk -F '\t' '{s += $3} END {print s}') -eq 50 ]] ||
        fail "the histogram does not count 50 numbers"
    for job in topk histogram; do
        [[ $(tree_sum "$TMP/o-$job.work-$job") == "$before" ]] || fail "$job: OUT.work-$job changed"
        [[ -z $(compgen -G "$TMP/o-$job.work-$job-*") ]] || fail "$job left its work directory"
    done
}

case_refused_removes_nothing() {
    # Refused at usage time (output inside the input, an existing output): nothing is made,
    # nothing removed, and no round runs.
    make_user_tree
    local before
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "output $TMP/u/data/out is the input $TMP/u/data or inside it" 0 \
        topk --count -i "$TMP/u/data" -o "$TMP/u/data/out" --work-dir "$TMP/u/keep"
    same_tree "$before" "$TMP/u"
    mkdir -p "$TMP/exists"
    expect_fail 1 "output $TMP/exists already exists" 2 \
        pagerank -i "$TMP/u/data/in.txt" -o "$TMP/exists" --work-dir "$TMP/u/keep"
    expect_fail 1 "output $TMP/exists already exists" 0 \
        histogram -i "$TMP/u/data/in.txt" -o "$TMP/exists"
    same_tree "$before" "$TMP/u"
    [[ -z $(compgen -G "$TMP/exists.work-*") ]] || fail "a refused job made a work directory"
}

case_gensort_overwrite() {
    make_user_tree
    local before
    # a regular file stays a file
    echo "precious" >"$TMP/afile"
    expect_fail 1 "exists and is not a directory" 0 gensort 10 "$TMP/afile" --overwrite
    [[ $(cat "$TMP/afile") == precious ]] || fail "the file was replaced"
    # the current directory, by any name, and its ancestors
    before=$(tree_sum "$TMP/u")
    (cd "$TMP/u" && expect_fail 2 "output .: name a directory to create" 0 gensort 10 . --overwrite)
    (cd "$TMP/u" && expect_fail 2 "holds the current directory" 2 gensort 10 "$TMP/u" --overwrite)
    (cd "$TMP/u/keep/sub" && expect_fail 2 "holds the current directory" 0 \
        gensort 10 "$TMP/u" --overwrite)
    same_tree "$before" "$TMP/u"
    # an old output is replaced only by a complete new one
    must_np 2 gensort 1000 "$TMP/gen"
    must_np 0 gensort 3000 "$TMP/gen" --overwrite --files 3
    [[ $(cat "$TMP/gen"/part-* | wc -c) -eq 300000 ]] || fail "the new output is not 3000 records"
    [[ -f $TMP/gen/_SUCCESS && ! -e $TMP/gen/_temporary ]] || fail "the new output is not committed"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.gen.sheaf-*') ]] || fail "staging left beside gen"
}

gensort_full_body() {
    must_np 0 gensort 100 "$SMALLFS/g"
    local before
    before=$(tree_sum "$SMALLFS/g")
    expect_fail 1 "No space left on device" 2 gensort 200000 "$SMALLFS/g" --overwrite
    [[ $(tree_sum "$SMALLFS/g") == "$before" ]] || fail "the old output was lost"
    [[ -z $(find "$SMALLFS" -maxdepth 1 -name '.g.sheaf-*') ]] || fail "staging left"
}

case_gensort_disk_full() {
    mkdir -p "$SMALLFS"
    if ! mount -t tmpfs -o size=1m tmpfs "$SMALLFS" 2>"$TMP/mount.err"; then
        echo "# SKIP gensort-disk-full: cannot mount a tmpfs here ($(cat "$TMP/mount.err"))"
        return 0
    fi
    # Not `(body) || rc=$?`: set -e does not stop a body run on the left of ||.
    local rc
    set +e
    (set -e; gensort_full_body)
    rc=$?
    set -e
    umount_smallfs
    return "$rc"
}

case_report_file() {
    make_user_tree
    local in=$TMP/u/data/in.txt before
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "--report $in is the input $in or inside it" 0 \
        wordcount -i "$in" -o "$TMP/r1" --report "$in"
    expect_fail 2 "--report $TMP/u/data/x.json is the input $TMP/u/data" 2 \
        wordcount -i "$TMP/u/data" -o "$TMP/r1" --report "$TMP/u/data/x.json"
    same_tree "$before" "$TMP/u"
    # a committed part of the output, with _SUCCESS beside it
    must_np 2 wordcount -i "$in" -o "$TMP/r2"
    expect_fail 2 "is inside the output $TMP/r2" 2 \
        wordcount -i "$in" -o "$TMP/r2" --overwrite --report "$TMP/r2/part-r-00000"
    # an existing file: kept without --overwrite; a symlink: never followed
    echo "not a report" >"$TMP/r.json"
    expect_fail 2 "--report $TMP/r.json already exists (use --overwrite to replace it)" 0 \
        wordcount -i "$in" -o "$TMP/r3" --report "$TMP/r.json"
    [[ $(cat "$TMP/r.json") == "not a report" ]] || fail "the existing file was overwritten"
    echo "victim" >"$TMP/victim"
    ln -s "$TMP/victim" "$TMP/link.json"
    expect_fail 2 "exists and is not a regular file" 0 \
        wordcount -i "$in" -o "$TMP/r3" --report "$TMP/link.json" --overwrite
    [[ $(cat "$TMP/victim") == victim ]] || fail "the symlink's target was overwritten"
    # a job refused at usage time writes no report
    expect_fail 1 "output $TMP/r2 already exists" 0 \
        wordcount -i "$in" -o "$TMP/r2" --report "$TMP/new.json"
    [[ ! -e $TMP/new.json ]] || fail "a refused job wrote its report"
    # with --overwrite the report is replaced, whole, and says what the job read
    must_np 2 wordcount -i "$in" -o "$TMP/r4" --report "$TMP/r.json" --overwrite
    python3 -c 'import json, sys; r = json.load(open(sys.argv[1]));
sys.exit(0 if r["counters"]["input_records"]["total"] == 3 else 1)' "$TMP/r.json" ||
        fail "the report is not the job's: $(head -c 300 "$TMP/r.json")"
    [[ -z $(find "$TMP" -maxdepth 1 -name '.r.json.sheaf-*') ]] || fail "temporary report left"
}

case_overwrite_holds_input() {
    # The issue's command: proj/ must keep its data.
    make_user_tree
    local before
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "output $TMP/u holds the input $TMP/u/data/in.txt: --overwrite would delete it" \
        0 wordcount -i "$TMP/u/data/in.txt" -o "$TMP/u" --overwrite
    expect_fail 2 "holds the input" 2 wordcount -i "$TMP/u/data" -o "$TMP/u/" --overwrite
    ln -s "$TMP/u" "$TMP/ulink"
    expect_fail 2 "holds the input" 2 wordcount -i "$TMP/ulink/data/in.txt" -o "$TMP/u" --overwrite
    expect_fail 2 "holds the input" 2 topk --count -i "$TMP/u/data" -o "$TMP/u" --overwrite
    printf 'a b\n' >"$TMP/elsewhere.txt"
    (cd "$TMP/u/keep" && expect_fail 2 "holds the current directory" 0 \
        wordcount -i "$TMP/elsewhere.txt" -o "$TMP/u" --overwrite)
    same_tree "$before" "$TMP/u"
}

case_overwrite_holds_glob_input() {
    # A glob input is the files it matches: -o their directory with --overwrite deleted them,
    # and --report overwrote one.
    make_user_tree
    local before
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "output $TMP/u/data holds the input $TMP/u/data/*.txt" 0 \
        wordcount -i "$TMP/u/data/*.txt" -o "$TMP/u/data" --overwrite
    expect_fail 2 "holds the input $TMP/u/d?ta/in.*" 2 \
        wordcount -i "$TMP/u/d?ta/in.*" -o "$TMP/u" --overwrite
    expect_fail 2 "output $TMP/u/data/o is the input $TMP/u/da*" 0 \
        wordcount -i "$TMP/u/da*" -o "$TMP/u/data/o"
    expect_fail 2 "--report $TMP/u/data/in.txt is the input $TMP/u/data/*.txt or inside it" 2 \
        wordcount -i "$TMP/u/data/*.txt" -o "$TMP/g1" --report "$TMP/u/data/in.txt" --overwrite
    same_tree "$before" "$TMP/u"
    # a glob that only sits beside the output is fine
    must_np 0 wordcount -i "$TMP/u/data/*.txt" -o "$TMP/u/data/out"
    [[ -f $TMP/u/data/out/_SUCCESS ]] || fail "the output beside the glob's files is not committed"
    rm -rf "$TMP/u/data/out"
}

case_sql_join_input() {
    # sql's JOIN table is an input too: an --overwrite output holding it deleted it.
    make_user_tree
    printf 'k,v\n1,a\n2,b\n' >"$TMP/u/data/a.csv"
    printf 'k,w\n1,x\n2,y\n' >"$TMP/u/keep/b.csv"
    local before q="SELECT a.k, b.w FROM '$TMP/u/data/a.csv' a JOIN '$TMP/u/keep/b.csv' b ON a.k = b.k"
    before=$(tree_sum "$TMP/u")
    expect_fail 2 "output $TMP/u/keep holds the input $TMP/u/keep/b.csv" 0 \
        sql "$q" -o "$TMP/u/keep" --overwrite
    expect_fail 2 "output $TMP/u/keep/b.csv/x is the input $TMP/u/keep/b.csv or inside it" 2 \
        sql "$q" -o "$TMP/u/keep/b.csv/x"
    same_tree "$before" "$TMP/u"
    must_np 2 sql "$q" -o "$TMP/joined"
    # No ORDER BY: the rows may come in either order (a loaded machine changes which rank
    # maps which piece of the join round's output); the header stays first.
    local got
    got=$(cat "$TMP/joined"/part-r-*)
    [[ $(head -n 1 <<<"$got") == k,w ]] || fail "the join's header differs: $got"
    [[ $(tail -n +2 <<<"$got" | LC_ALL=C sort) == $'1,x\n2,y' ]] ||
        fail "the join's rows differ: $got"
}

case_join_broadcast_input() {
    # join --broadcast reads its right input itself: it was not checked against the output.
    make_user_tree
    printf 'k,v\n1,a\n2,b\n' >"$TMP/u/data/a.csv"
    printf 'k,w\n1,x\n2,y\n' >"$TMP/u/keep/b.csv"
    local before np
    local -a join=(join -i "$TMP/u/data/a.csv" -i "$TMP/u/keep/b.csv" --key k
        --input-format csv --csv-header --broadcast)
    before=$(tree_sum "$TMP/u")
    for np in 0 2; do
        expect_fail 2 "output $TMP/u/keep holds the input $TMP/u/keep/b.csv" "$np" \
            "${join[@]}" -o "$TMP/u/keep" --overwrite
        expect_fail 2 "output $TMP/u/keep/b.csv/x is the input $TMP/u/keep/b.csv or inside it" \
            "$np" "${join[@]}" -o "$TMP/u/keep/b.csv/x"
        same_tree "$before" "$TMP/u"
    done
    must_np 2 "${join[@]}" -o "$TMP/bjoined"
    [[ $(parts_sorted "$TMP/bjoined") == $'1,a\t1,x\n2,b\t2,y' ]] || fail "the join's result differs"
    expect_fail 1 "output $TMP/bjoined already exists" 2 "${join[@]}" -o "$TMP/bjoined"
}

case_side_inputs() {
    # Files a job reads besides its inputs (convert --schema FILE, kmeans --init, stream
    # --files, sql --file) are guarded as inputs: an --overwrite output holding one deleted it,
    # and --report overwrote it.
    make_user_tree
    printf 'k,v\n1,a\n2,b\n' >"$TMP/u/data/a.csv"
    printf '1,1\n1,2\n9,9\n9,8\n' >"$TMP/u/data/points.csv"
    echo '{"columns": [{"name": "k", "type": "int64"}, {"name": "v", "type": "string"}]}' \
        >"$TMP/u/keep/schema.json"
    printf '1,1\n9,9\n' >"$TMP/u/keep/init.csv"
    printf 'x\n' >"$TMP/u/keep/words"
    echo "SELECT k, v FROM '$TMP/u/data/a.csv' ORDER BY k DESC" >"$TMP/u/keep/q.sql"
    local before side np i
    local -a cmd
    before=$(tree_sum "$TMP/u")
    for i in 0 1 2 3; do
        case $i in
            0) side=schema.json
               cmd=(convert -i "$TMP/u/data/a.csv" --input-format csv --csv-header
                   --schema "$TMP/u/keep/schema.json") ;;
            1) side=init.csv
               cmd=(kmeans -i "$TMP/u/data/points.csv" --input-format csv --k 2
                   --init "$TMP/u/keep/init.csv") ;;
            2) side=words
               cmd=(stream -i "$TMP/u/data/in.txt" --mapper "grep -xFf words"
                   --files "$TMP/u/keep/words") ;;
            3) side=q.sql
               cmd=(sql --file "$TMP/u/keep/q.sql") ;;
        esac
        np=$((i % 2 * 2))
        expect_fail 2 "output $TMP/u/keep holds the input $TMP/u/keep/$side" "$np" \
            "${cmd[@]}" -o "$TMP/u/keep" --overwrite
        expect_fail 2 "output $TMP/u/keep/$side/x is the input $TMP/u/keep/$side or inside it" \
            "$np" "${cmd[@]}" -o "$TMP/u/keep/$side/x"
        expect_fail 2 "--report $TMP/u/keep/$side is the input $TMP/u/keep/$side" "$np" \
            "${cmd[@]}" -o "$TMP/side-$i" --report "$TMP/u/keep/$side" --overwrite
        same_tree "$before" "$TMP/u"
        [[ ! -e $TMP/side-$i ]] || fail "a refused job left $TMP/side-$i"
        # away from the output, the file is read as before
        must_np "$np" "${cmd[@]}" -o "$TMP/side-ok-$i"
        [[ -f $TMP/side-ok-$i/_SUCCESS ]] || fail "${cmd[0]}: no _SUCCESS"
    done
    [[ $(cat "$TMP/side-ok-3"/part-r-*) == $'k,v\n2,b\n1,a' ]] || fail "sql --file differs"
    [[ $(cat "$TMP/side-ok-2"/part-r-*) == $'x\nx' ]] || fail "stream --files differs"
}

case_overwrite_mode() {
    # A replaced output gets the mode of a new one (its staging directory was made 0700).
    local new
    make_user_tree
    must_np 0 wordcount -i "$TMP/u/data/in.txt" -o "$TMP/mode-new"
    new=$(stat -c %a "$TMP/mode-new")
    must_np 2 wordcount -i "$TMP/u/data/in.txt" -o "$TMP/mode-new" --overwrite
    [[ $(stat -c %a "$TMP/mode-new") == "$new" ]] ||
        fail "mode $(stat -c %a "$TMP/mode-new") after --overwrite, $new when new"
    must_np 0 gensort 10 "$TMP/mode-gen"
    must_np 0 gensort 10 "$TMP/mode-gen" --overwrite
    [[ $(stat -c %a "$TMP/mode-gen") == "$new" ]] || fail "gensort --overwrite: wrong mode"
}

run_case workdir-is-input case_workdir_is_input
run_case workdir-dot case_workdir_dot
run_case workdir-given-kept case_workdir_given_kept
run_case default-workdir-exists case_default_workdir_exists
run_case refused-removes-nothing case_refused_removes_nothing
run_case gensort-overwrite case_gensort_overwrite
run_case gensort-disk-full case_gensort_disk_full
run_case report-file case_report_file
run_case overwrite-holds-input case_overwrite_holds_input
run_case overwrite-holds-glob-input case_overwrite_holds_glob_input
run_case sql-join-input case_sql_join_input
run_case join-broadcast-input case_join_broadcast_input
run_case side-inputs case_side_inputs
run_case overwrite-mode case_overwrite_mode
finish
