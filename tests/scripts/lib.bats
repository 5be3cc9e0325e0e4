#!/usr/bin/env bats
# scripts/lib.sh's sheaf_quick_launch, which scripts/demo and scripts/bench run mpirun under.

load helpers

setup_file() {
    ensure_packages mpirun:openmpi-bin
}

# quick ASSIGNMENT...: the Open MPI session directory base sheaf_quick_launch exports in a
# clean environment plus the assignments ("unset" when it exports none).
quick() {
    env -u TMPDIR -u OMPI_MCA_orte_tmpdir_base -u OMPI_MCA_orte_local_tmpdir_base \
        -u OMPI_MCA_orte_remote_tmpdir_base -u SHEAF_MPI_FAST_START "$@" bash -c '
        source "$1/scripts/lib.sh"
        sheaf_quick_launch
        echo "${OMPI_MCA_orte_tmpdir_base:-unset}"' quick "$top_srcdir"
}

@test "sheaf_quick_launch puts Open MPI's session directory in /dev/shm unless told otherwise" {
    shm_is_tmpfs || skip "/dev/shm is not a writable tmpfs here"
    [ "$(quick X=1)" = /dev/shm ]
    [ "$(quick SHEAF_MPI_FAST_START=0)" = unset ]
    [ "$(quick TMPDIR=/var/tmp)" = unset ]
    [ "$(quick OMPI_MCA_orte_tmpdir_base=/var/tmp)" = /var/tmp ]
    # Open MPI refuses a job given both the global and a local or remote base
    [ "$(quick OMPI_MCA_orte_local_tmpdir_base=/var/tmp)" = unset ]
    [ "$(quick OMPI_MCA_orte_remote_tmpdir_base=/var/tmp)" = unset ]
}

@test "mpirun under sheaf_quick_launch gives its ranks session directories in /dev/shm" {
    shm_is_tmpfs || skip "/dev/shm is not a writable tmpfs here"
    run env -u TMPDIR -u OMPI_MCA_orte_tmpdir_base -u SHEAF_MPI_FAST_START bash -c '
        source "$1/scripts/lib.sh"
        sheaf_quick_launch
        mpirun -np 2 sh -c "echo \$OMPI_FILE_LOCATION"' run "$top_srcdir"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} == /dev/shm/ompi.* && ${lines[1]} == /dev/shm/ompi.* ]]
}
