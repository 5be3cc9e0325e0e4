/*
 * place.c: where each rank runs (hwloc).
 *
 * The node-local rank comes from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED). Policies:
 *  - auto: keep a binding the launcher already set (mpirun --bind-to, srun --cpu-bind), seen
 *    as a CPU set narrower than the allowed set; otherwise act as core;
 *  - core: local rank r goes to a core of NUMA node r mod N (cores taken round robin over the
 *    NUMA nodes), memory bound to that node;
 *  - numa: to NUMA node r mod N, memory too;
 *  - none: leave the process as it is.
 * A binding is never widened: the new set is intersected with the inherited one, and when the
 * two do not meet, the inherited set is kept. More local ranks than cores is a warning; ranks
 * then share cores round robin. The resulting CPU set goes into the report.
 */
#include "internal.h"

#include <hwloc.h>
#include <stdio.h>
#include <unistd.h>

static hwloc_obj_t nth_core_spread(hwloc_topology_t topo, int r, int *ncores_out) {
    int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    *ncores_out = ncores;
    if (ncores <= 0)
        return NULL;
    if (nnuma <= 1)
        return hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(r % ncores));
    hwloc_obj_t numa = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)(r % nnuma));
    int in = hwloc_get_nbobjs_inside_cpuset_by_type(topo, numa->cpuset, HWLOC_OBJ_CORE);
    if (in <= 0)
        return hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)(r % ncores));
    return hwloc_get_obj_inside_cpuset_by_type(topo, numa->cpuset, HWLOC_OBJ_CORE,
                                               (unsigned)((r / nnuma) % in));
}

int sheaf__place(sheaf_ctx *ctx) {
    gethostname(ctx->place.host, sizeof ctx->place.host - 1);
    MPI_Comm node;
    int lrank = 0, lsize = 1;
    if (MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &lrank);
        MPI_Comm_size(node, &lsize);
        MPI_Comm_free(&node);
    }
    ctx->place.local_rank = lrank;
    ctx->place.local_size = lsize;
    /* Only cores (with the PUs and NUMA nodes hwloc always keeps) are looked at, and the
     * operating system says where they are: leaving out caches, packages and groups, and
     * hwloc's x86 backend (which runs CPUID on every PU in turn, slow from a rank already bound
     * to one core), takes discovery from 5-10 ms to 2 ms per rank here. */
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) ||
        hwloc_topology_set_all_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE) ||
        hwloc_topology_set_type_filter(topo, HWLOC_OBJ_CORE, HWLOC_TYPE_FILTER_KEEP_ALL) ||
#if HWLOC_API_VERSION >= 0x00020100
        hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86") ||
#endif
        hwloc_topology_load(topo)) {
        snprintf(ctx->place.binding, sizeof ctx->place.binding, "unknown (hwloc failed)");
        return 0;
    }
    hwloc_bitmap_t cur = hwloc_bitmap_alloc(), want = hwloc_bitmap_alloc();
    hwloc_get_cpubind(topo, cur, HWLOC_CPUBIND_PROCESS);
    hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topo);
    bool inherited = !hwloc_bitmap_isincluded(allowed, cur);
    sheaf_bind pol = ctx->cfg.bind;
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (lsize > ncores && ncores > 0 && pol != SHEAF_BIND_NONE && ctx->rank == 0)
        sheaf__log(ctx, SHEAF_LOG_WARN, "%d ranks on %s share %d cores", lsize, ctx->place.host,
                   ncores);
    hwloc_obj_t target = NULL;
    if (pol == SHEAF_BIND_AUTO && inherited) {
        snprintf(ctx->place.binding, sizeof ctx->place.binding, "inherited");
    } else if (pol == SHEAF_BIND_NONE) {
        snprintf(ctx->place.binding, sizeof ctx->place.binding, "none");
    } else if (pol == SHEAF_BIND_NUMA) {
        int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
        if (nnuma > 0)
            target = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)(lrank % nnuma));
        snprintf(ctx->place.binding, sizeof ctx->place.binding, "numa %d",
                 nnuma > 0 ? lrank % nnuma : 0);
    } else {
        int n;
        target = nth_core_spread(topo, lrank, &n);
        snprintf(ctx->place.binding, sizeof ctx->place.binding, "core %u",
                 target ? target->logical_index : 0u);
    }
    if (target && target->cpuset) {
        hwloc_bitmap_and(want, target->cpuset, cur);
        if (!hwloc_bitmap_iszero(want)) {
            if (hwloc_set_cpubind(topo, want, HWLOC_CPUBIND_PROCESS) != 0)
                sheaf__log(ctx, SHEAF_LOG_WARN, "cannot bind to %s", ctx->place.binding);
            hwloc_obj_t n = target;
            while (n && !n->nodeset)
                n = n->parent;
            if (n && n->nodeset)
                hwloc_set_membind(topo, n->nodeset, HWLOC_MEMBIND_BIND,
                                  HWLOC_MEMBIND_BYNODESET);
        } else {
            snprintf(ctx->place.binding, sizeof ctx->place.binding, "inherited (%s is outside it)",
                     target->type == HWLOC_OBJ_CORE ? "core" : "node");
        }
    }
    hwloc_get_cpubind(topo, cur, HWLOC_CPUBIND_PROCESS);
    hwloc_bitmap_list_snprintf(ctx->place.cpuset, sizeof ctx->place.cpuset, cur);
    hwloc_bitmap_free(cur);
    hwloc_bitmap_free(want);
    hwloc_topology_destroy(topo);
    return 0;
}
