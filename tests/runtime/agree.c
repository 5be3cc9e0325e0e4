/*
 * agree.c: a program for tests/runtime/agree.sh that calls sheaf_agree, the public failure
 * agreement, once for every subset of the ranks failing.
 *
 * For each mask from 0 to 2^size - 1, rank r fails when bit r of the mask is set: it passes the
 * code -(r + 1) and the message "rank r failed"; the others pass 0 and a message of their own
 * ("rank r is fine"). Every rank prints one line per mask, "MASK RANK CODE MESSAGE", with
 * the code sheaf_agree returned and the message it left; the driver computes what they must be.
 */
#include <sheaf.h>

#include <stdio.h>

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int mask = 0; mask < 1 << size; mask++) {
        char msg[64];
        int fails = mask >> rank & 1;
        snprintf(msg, sizeof msg, fails ? "rank %d failed" : "rank %d is fine", rank);
        int code = sheaf_agree(MPI_COMM_WORLD, fails ? -(rank + 1) : 0, msg, sizeof msg);
        printf("%d %d %d %s\n", mask, rank, code, msg);
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
