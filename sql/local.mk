# The query layer of `sheaf sql` (sql/sql.h describes its stages): a bison grammar and a flex
# scanner, built into the sheaf command with the jobs.
AM_YFLAGS = -d -Wno-yacc
sheaf_SOURCES += \
	sql/sql.h \
	sql/parser.y \
	sql/lexer.l \
	sql/ast.c \
	sql/value.c \
	sql/bind.c \
	sql/eval.c \
	sql/schema.c \
	sql/exec.h \
	sql/exec.c \
	sql/join.c \
	sql/output.c \
	sql/explain.c \
	sql/filter.h \
	sql/filter.c
BUILT_SOURCES = sql/parser.h
