# shellcheck shell=bash
# Helpers shared by scripts/demo, scripts/check and scripts/bench: the Debian packages Sheaf
# needs (the one list of them), installing the missing ones, and building the tree.
# Source this file; it defines functions and variables and runs nothing.
#
# Environment:
#   SHEAF_NO_INSTALL=1   never call apt-get (report missing packages and go on)
#   SHEAF_MAKE_JOBS=N    parallel make jobs (default 2)

# Building and testing Sheaf.
# shellcheck disable=SC2034  # used by the scripts that source this file
SHEAF_PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libopenmpi-dev openmpi-bin libhwloc-dev libxxhash-dev libjansson-dev libcunit1-dev
    bats shellcheck jq wamerican
    slurmctld slurmd slurm-client munge openssh-server openssh-client
    iproute2
    chromium clang strace
    zlib1g-dev libzstd-dev libbz2-dev liblzma-dev libsnappy-dev bison flex
    gzip zstd bzip2 xz-utils nodejs
    man-db help2man go-md2man bash-completion
)
# Running scripts/bench on top of that: the peer library, GNU time, the word list.
# shellcheck disable=SC2034
SHEAF_BENCH_PACKAGES=(libmrmpi-dev time wamerican)

SHEAF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHEAF_MAKE_JOBS=${SHEAF_MAKE_JOBS:-2}
sheaf__apt_updated=0

sheaf_log() { printf '==> %s\n' "$*" >&2; }
sheaf_warn() { printf '%s: warning: %s\n' "${0##*/}" "$*" >&2; }
# sheaf_usage prints the calling script's header comment (its help).
sheaf_usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
sheaf_die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }
sheaf_usage_error() { printf '%s: %s (try --help)\n' "${0##*/}" "$*" >&2; exit 2; }

# sheaf_missing_packages PKG... prints the packages that are not installed, one a line.
sheaf_missing_packages() {
    local pkg status
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ $status == *" ok installed" ]] || printf '%s\n' "$pkg"
    done
}

# sheaf_ensure_packages PKG... installs the missing ones with apt-get (as root, or through
# sudo), running `apt-get update` once first. Without dpkg (not Debian) it only warns: the
# configure step then names what is missing.
sheaf_ensure_packages() {
    local -a missing sudo=()
    if ! command -v dpkg-query >/dev/null 2>&1; then
        sheaf_warn "not a Debian system: install by hand the equivalents of: $*"
        return 0
    fi
    mapfile -t missing < <(sheaf_missing_packages "$@")
    ((${#missing[@]} > 0)) || return 0
    if [[ ${SHEAF_NO_INSTALL:-0} == 1 ]]; then
        sheaf_warn "missing packages (not installing, SHEAF_NO_INSTALL=1): ${missing[*]}"
        return 0
    fi
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 ||
            sheaf_die "missing packages: ${missing[*]}; run as root or install them with apt-get"
        sudo=(sudo)
    fi
    sheaf_log "installing: ${missing[*]}"
    if ((sheaf__apt_updated == 0)); then
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        sheaf__apt_updated=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# sheaf_build SRCDIR BUILDDIR [CONFIGURE-ARG...] brings BUILDDIR up to date: autoreconf when
# SRCDIR has no configure script or configure.ac is newer, configure when BUILDDIR has no
# Makefile, then make. BUILDDIR may be SRCDIR itself. A second run only runs make.
# Returns non-zero at the first step that fails.
sheaf_build() {
    local srcdir=$1 builddir=$2
    shift 2
    if [[ ! -x $srcdir/configure || ! -f $srcdir/Makefile.in ||
          $srcdir/configure.ac -nt $srcdir/configure ]]; then
        sheaf_log "autoreconf -fi"
        (cd "$srcdir" && autoreconf -fi) || return
    fi
    mkdir -p "$builddir" || return
    if [[ ! -f $builddir/Makefile ]]; then
        sheaf_log "configure $*"
        (cd "$builddir" && "$srcdir/configure" "$@") || return
    fi
    sheaf_log "make -j$SHEAF_MAKE_JOBS"
    make -C "$builddir" -j"$SHEAF_MAKE_JOBS" || return
}

# sheaf_ensure_oracle installs the test oracles that come from the npm registry (DuckDB's
# Node.js package, whose native library ships inside it, and the independent Parquet
# writers) into tests/oracle/node_modules, from tests/oracle/package.json, unless they are
# there. Never a runtime dependency: only tests and benchmarks use them.
sheaf_ensure_oracle() {
    local dir=$SHEAF_ROOT/tests/oracle
    [[ -f $dir/package.json ]] || return 0
    if [[ -f $dir/node_modules/.sheaf-stamp && $dir/node_modules/.sheaf-stamp -nt $dir/package.json ]]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || { sheaf_warn "npm is missing: the DuckDB oracle tests will be skipped"; return 0; }
    sheaf_log "npm install (test oracles, tests/oracle)"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error) || return
    touch "$dir/node_modules/.sheaf-stamp"
}

# sheaf_mpi_env exports what Open MPI needs to start as root (it refuses otherwise).
sheaf_mpi_env() {
    if ((EUID == 0)); then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
}

# sheaf_quick_launch exports what makes a local mpirun start and end sooner, unless
# SHEAF_MPI_FAST_START=0; variables already set are kept (docs/performance.md).
#  - OMPI_MCA_orte_tmpdir_base=/dev/shm, when /dev/shm is a writable tmpfs and neither TMPDIR
#    nor one of Open MPI's tmpdir parameters is set: Open MPI's session directory (PMIx's
#    shared-memory store, the node's topology, each rank's directory) lives in TMPDIR or /tmp,
#    and files created, mapped and removed on a disk file system cost 3-7 ms of a word count
#    at 2 ranks. Open MPI already keeps its shared-memory transports' segments in /dev/shm.
#  - On a node with no high-speed fabric device, mpirun's hwloc, which discovers the node
#    twice, needs the cores only:
#     - HWLOC_COMPONENTS=-linuxio,-pci: no I/O discovery, which read the configuration space
#       of every PCI device through sysfs (12 ms of a 41 ms `mpirun -np 2 /bin/true`);
#     - HWLOC_PLUGINS_BLACKLIST: not the plugins that pull in libX11, OpenCL and libxml2
#       (4 ms).
#    Open MPI's ranks take their topology from mpirun, and sheaf's placement looks at cores
#    only. The device test is the one sheaf_main makes before MPI_Init.
sheaf_quick_launch() {
    local d
    [[ ${SHEAF_MPI_FAST_START:-1} != 0 ]] || return 0
    if [[ -z ${TMPDIR+set}${OMPI_MCA_orte_tmpdir_base+set} ]] &&
        [[ -z ${OMPI_MCA_orte_local_tmpdir_base+set}${OMPI_MCA_orte_remote_tmpdir_base+set} ]] &&
        [[ -d /dev/shm && -w /dev/shm && $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
        export OMPI_MCA_orte_tmpdir_base=/dev/shm
    fi
    for d in /sys/class/infiniband /sys/class/cxi; do
        [[ -z $(ls -A "$d" 2>/dev/null) ]] || return 0
    done
    if compgen -G '/dev/hfi1_*' >/dev/null || compgen -G '/dev/ipath*' >/dev/null; then
        return 0
    fi
    [[ -n ${HWLOC_COMPONENTS+set} ]] || export HWLOC_COMPONENTS=-linuxio,-pci
    local plugins=gl,opencl,pci,xml_libxml,cuda,nvml,rsmi,levelzero
    [[ -n ${HWLOC_PLUGINS_BLACKLIST+set} ]] ||
        export HWLOC_PLUGINS_BLACKLIST=hwloc_${plugins//,/,hwloc_}
}

# sheaf_mpirun_flags prints, one a line, the mpirun flags needed to start NP ranks here:
# --oversubscribe when NP exceeds the cores.
sheaf_mpirun_flags() {
    local np=$1
    if ((np > $(nproc))); then
        printf '%s\n' --oversubscribe
    fi
}
