/* jobs.h: the built-in jobs of the sheaf command. Each job is one file defining one
 * sheaf_job_def; jobs/sheaf.c lists them. */
#ifndef SHEAF_JOBS_H
#define SHEAF_JOBS_H

#include <sheaf.h>

extern const sheaf_job_def sheaf_job_wordcount;

#endif
