/*
 * nodlclose.c: a dlclose() that keeps every shared object loaded, preloaded (LD_PRELOAD) into
 * the processes of the sanitizer test run by tests/sanitize/run.sh.
 *
 * Open MPI loads its components with dlopen and unloads them in MPI_Finalize, before
 * LeakSanitizer looks for leaks at exit; the stacks of what those components still hold then
 * point into unmapped code, so no suppression can name their library. With the components
 * kept loaded, lsan.supp can.
 */
int dlclose(void *handle);

int dlclose(void *handle) {
    (void)handle;
    return 0;
}
