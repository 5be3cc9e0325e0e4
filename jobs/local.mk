# The built-in jobs beyond word count, one file each, and what they share (jobutil.c).
sheaf_SOURCES += \
	jobs/jobutil.c \
	jobs/grep.c \
	jobs/sort.c \
	jobs/gensort.c \
	jobs/valsort.c \
	jobs/invertedindex.c \
	jobs/distinct.c \
	jobs/topk.c \
	jobs/histogram.c \
	jobs/groupby.c \
	jobs/join.c \
	jobs/pagerank.c \
	jobs/kmeans.c \
	jobs/validate.c \
	jobs/convert.c \
	jobs/schema.c
