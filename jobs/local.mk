# Built-in jobs beyond word count: add each job file here, e.g.
# sheaf_SOURCES += jobs/grep.c
