# Unit tests: one CUnit binary per runtime module (and one for the jobs' shared jobutil.c),
# linked statically against the runtime's convenience library so that they reach its internal
# (sheaf__) functions.
UNIT_TESTS = \
	tests/unit/test_reader \
	tests/unit/test_ctab \
	tests/unit/test_sort \
	tests/unit/test_merge \
	tests/unit/test_commit \
	tests/unit/test_util \
	tests/unit/test_jobutil \
	tests/unit/test_codec \
	tests/unit/test_codec_zlib \
	tests/unit/test_thrift \
	tests/unit/test_parquet
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_test_reader_SOURCES = tests/unit/test_reader.c tests/unit/unit.h
tests_unit_test_reader_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_reader_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_ctab_SOURCES = tests/unit/test_ctab.c tests/unit/unit.h
tests_unit_test_ctab_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_ctab_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_sort_SOURCES = tests/unit/test_sort.c tests/unit/unit.h
tests_unit_test_sort_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_sort_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_merge_SOURCES = tests/unit/test_merge.c tests/unit/unit.h
tests_unit_test_merge_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_merge_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_commit_SOURCES = tests/unit/test_commit.c tests/unit/unit.h
tests_unit_test_commit_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_commit_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_util_SOURCES = tests/unit/test_util.c tests/unit/unit.h
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_util_LDADD = libsheaf_core.la $(CUNIT_LIBS) -lm

tests_unit_test_jobutil_SOURCES = tests/unit/test_jobutil.c tests/unit/unit.h jobs/jobutil.c
tests_unit_test_jobutil_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS) -I$(top_srcdir)/jobs
tests_unit_test_jobutil_LDADD = libsheaf_core.la $(CUNIT_LIBS) -lm

tests_unit_test_codec_SOURCES = tests/unit/test_codec.c tests/unit/unit.h
tests_unit_test_codec_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_codec_LDADD = libsheaf_core.la $(CUNIT_LIBS)

# The same tests against the zlib build of the gzip decoder (what a build without ISA-L uses):
# codec.c compiled here without HAVE_ISAL takes the place of the library's.
tests_unit_test_codec_zlib_SOURCES = tests/unit/test_codec.c tests/unit/unit.h runtime/codec.c
tests_unit_test_codec_zlib_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_codec_zlib_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_thrift_SOURCES = tests/unit/test_thrift.c tests/unit/unit.h
tests_unit_test_thrift_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_thrift_LDADD = libsheaf_core.la $(CUNIT_LIBS)

tests_unit_test_parquet_SOURCES = tests/unit/test_parquet.c tests/unit/unit.h
tests_unit_test_parquet_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)
tests_unit_test_parquet_LDADD = libsheaf_core.la $(CUNIT_LIBS)
