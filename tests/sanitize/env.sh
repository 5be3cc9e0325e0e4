# shellcheck shell=bash
# Sanitizer options for running Sheaf's tests against a `--enable-sanitizers` build: source it
# before `make check` (tests/sanitize/run.sh does).
#
#   - every sanitizer stops at its first report and exits with status 86, so a test that
#     expects a job to fail with status 1 cannot mistake a sanitizer report for that failure;
#   - LeakSanitizer is on, with Open MPI's own allocations suppressed (lsan.supp);
#   - LeakSanitizer unwinds allocation stacks the slow way, through libraries built without
#     frame pointers (libc's asprintf called by Open MPI), so suppressions can match them;
#   - with SHEAF_SAN_PRELOAD set to a built nodlclose.c, it is preloaded so that Open MPI's
#     components stay mapped until the leak check (see nodlclose.c);
#   - with SHEAF_SAN_LOG_DIR set, reports also go to files there (one per process), so reports
#     from ranks whose stderr a test swallowed are still found.
# Options already in the environment come after ours and win.

sheaf_san_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sheaf_san_log=
if [[ -n ${SHEAF_SAN_LOG_DIR:-} ]]; then
    mkdir -p "$SHEAF_SAN_LOG_DIR"
    sheaf_san_log=:log_path=$SHEAF_SAN_LOG_DIR/report
fi
sheaf_san_asan=
if [[ -n ${SHEAF_SAN_PRELOAD:-} ]]; then
    export LD_PRELOAD=$SHEAF_SAN_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}
    sheaf_san_asan=:verify_asan_link_order=0
fi
sheaf_san_common=halt_on_error=1:exitcode=86:print_stacktrace=1:symbolize=1$sheaf_san_log

export ASAN_OPTIONS="$sheaf_san_common:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:fast_unwind_on_malloc=0$sheaf_san_asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="$sheaf_san_common${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$sheaf_san_dir/lsan.supp:print_suppressions=0:exitcode=86${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
unset sheaf_san_dir sheaf_san_log sheaf_san_common sheaf_san_asan
