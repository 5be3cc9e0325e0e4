/*
 * parser.y: the grammar of `sheaf sql` (bison, pure, with locations).
 *
 *   [EXPLAIN] SELECT [DISTINCT] item [, item]... FROM source [[AS] alias]
 *       [[INNER | LEFT [OUTER]] JOIN source [[AS] alias] ON cond]
 *       [WHERE expr] [GROUP BY expr, ...] [HAVING expr]
 *       [ORDER BY expr [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n [OFFSET m]] [;]
 *
 * source is a quoted path or glob ('data/*.csv'), a table name bound with --table, or a
 * subquery in parentheses (parsed into its own sql_query, q->sub).
 * Precedence from loosest: OR, AND, NOT, comparisons (= <> < <= > >=, IS, LIKE, IN,
 * BETWEEN), ||, + -, * / // %, unary minus. BETWEEN's bounds are arithmetic expressions
 * (b_expr), so the AND inside BETWEEN is never a boolean AND. The tree is built from
 * sql_node (ast.c); the first error stops the parse and its message names the line and
 * column, shows the line and puts a caret under the token.
 */
%define api.pure full
%define api.prefix {sql_yy}
%define parse.error verbose
%locations
%lex-param {void *scanner}
%parse-param {void *scanner} {struct sql_pstate *ps}

%code requires {
#include "sql/sql.h"
struct sql_pstate;
struct sql_lexstate;
}

%code {
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"

struct sql_pstate {
    sql_query *q;
    const char *text;
    char *err;
    size_t errlen;
    bool nomem;
};

int sql_yylex(SQL_YYSTYPE *lval, SQL_YYLTYPE *lloc, void *scanner);
static void sql_yyerror(SQL_YYLTYPE *loc, void *scanner, struct sql_pstate *ps, const char *msg);

#define NEW(v, k, l)                                                              \
    do {                                                                          \
        (v) = sql_node_new((k), (l).first_line, (l).first_column);                \
        if (!(v)) {                                                               \
            ps->nomem = true;                                                     \
            YYABORT;                                                              \
        }                                                                         \
    } while (0)
#define ADD(n, k)                                                                 \
    do {                                                                          \
        if (sql_node_add((n), (k))) {                                             \
            ps->nomem = true;                                                     \
            YYABORT;                                                              \
        }                                                                         \
    } while (0)

static sql_node *binop(int op, sql_node *a, sql_node *b, SQL_YYLTYPE l) {
    sql_node *n = sql_node_new(N_BINOP, l.first_line, l.first_column);
    if (!n || sql_node_add(n, a) || sql_node_add(n, b)) {
        sql_node_free(n);
        return NULL;
    }
    n->op = op;
    return n;
}
#define BIN(v, op, a, b, l)                                                       \
    do {                                                                          \
        if (!((v) = binop((op), (a), (b), (l)))) {                                \
            ps->nomem = true;                                                     \
            YYABORT;                                                              \
        }                                                                         \
    } while (0)

static sql_node *literal(int type, char *text, SQL_YYLTYPE l) {
    sql_node *n = sql_node_new(N_LIT, l.first_line, l.first_column);
    if (!n)
        return NULL;
    n->val.type = (uint8_t)type;
    n->str = text;
    if (type == SQL_NULL)
        n->val.null = true;
    else if (type == SQL_STRING) {
        n->val.u.s.p = text;
        n->val.u.s.n = strlen(text);
    } else if (type == SQL_INT) {
        n->val.u.i = strtoll(text, NULL, 10);
    } else if (type == SQL_DOUBLE) {
        n->val.u.d = strtod(text, NULL);
    }
    return n;
}
#define LIT(v, t, s, l)                                                           \
    do {                                                                          \
        if (!((v) = literal((t), (s), (l)))) {                                    \
            ps->nomem = true;                                                     \
            YYABORT;                                                              \
        }                                                                         \
    } while (0)
}

%union {
    char *str;
    sql_node *node;
    int num;
}

%token <str> IDENT STRING INTEGER NUMBER
%token SELECT DISTINCT FROM WHERE GROUP BY HAVING ORDER ASC DESC NULLS FIRST LAST LIMIT OFFSET
%token AS AND OR NOT IS NULL_ TRUE_ FALSE_ LIKE IN BETWEEN CASE WHEN THEN ELSE END CAST
%token DATE_ TIMESTAMP_ EXPLAIN JOIN INNER LEFT OUTER ON CONCAT IDIV NE LE GE BADCHAR BADSTRING

%type <node> expr pred b_expr primary func case_expr when_list expr_list opt_else
%type <num> opt_distinct cmp opt_not opt_desc opt_nulls
%type <str> opt_alias type_name name

%destructor { free($$); } <str>
%destructor { sql_node_free($$); } <node>

%left OR
%left AND
%right NOT
%left CONCAT
%left '+' '-'
%left '*' '/' IDIV '%'
%right UMINUS

%%

query: opt_explain select opt_semi ;

opt_explain: %empty | EXPLAIN { ps->q->explain = true; } ;
opt_semi: %empty | ';' ;

select: SELECT opt_distinct { ps->q->distinct = $2; } items FROM source opt_where opt_group
        opt_having opt_order opt_limit ;

opt_distinct: %empty { $$ = 0; } | DISTINCT { $$ = 1; } ;

items: item | items ',' item ;
item: expr opt_alias {
        sql_query *q = ps->q;
        sql_item *it = realloc(q->items, (q->nitems + 1) * sizeof *it);
        if (!it) { sql_node_free($1); free($2); ps->nomem = true; YYABORT; }
        q->items = it;
        it[q->nitems].e = $1;
        it[q->nitems++].alias = $2;
    }
    | '*' {
        sql_query *q = ps->q;
        sql_node *n;
        NEW(n, N_STAR, @1);
        sql_item *it = realloc(q->items, (q->nitems + 1) * sizeof *it);
        if (!it) { sql_node_free(n); ps->nomem = true; YYABORT; }
        q->items = it;
        it[q->nitems].e = n;
        it[q->nitems++].alias = NULL;
    }
    ;

opt_alias: %empty { $$ = NULL; } | AS name { $$ = $2; } | IDENT { $$ = $1; } ;
name: IDENT { $$ = $1; } | STRING { $$ = $1; } ;

source: STRING opt_alias { ps->q->from = $1; ps->q->from_path = true; ps->q->from_alias = $2; }
      | IDENT opt_alias { ps->q->from = $1; ps->q->from_alias = $2; }
      | '(' {
          sql_query *sub = calloc(1, sizeof *sub);
          if (!sub) { ps->nomem = true; YYABORT; }
          sub->limit = -1;
          sub->parent = ps->q;
          ps->q->sub = sub;
          ps->q = sub;
      } select ')' { ps->q = ps->q->parent; } opt_alias { ps->q->from_alias = $6; }
      | source join_type JOIN STRING opt_alias ON expr {
          if (ps->q->join) { free($4); free($5); sql_node_free($7);
                             sql_yyerror(&@3, scanner, ps, "one JOIN per query"); YYABORT; }
          ps->q->join = $4; ps->q->join_path = true; ps->q->join_alias = $5; ps->q->on = $7;
      }
      | source join_type JOIN IDENT opt_alias ON expr {
          if (ps->q->join) { free($4); free($5); sql_node_free($7);
                             sql_yyerror(&@3, scanner, ps, "one JOIN per query"); YYABORT; }
          ps->q->join = $4; ps->q->join_alias = $5; ps->q->on = $7;
      }
      ;
join_type: %empty | INNER | LEFT { ps->q->left_join = true; } | LEFT OUTER { ps->q->left_join = true; } ;

opt_where: %empty | WHERE expr { ps->q->where = $2; } ;
opt_having: %empty | HAVING expr { ps->q->having = $2; } ;

opt_group: %empty | GROUP BY group_list ;
group_list: group_key | group_list ',' group_key ;
group_key: expr {
        sql_query *q = ps->q;
        sql_node **g = realloc(q->group, (q->ngroup + 1) * sizeof *g);
        if (!g) { sql_node_free($1); ps->nomem = true; YYABORT; }
        q->group = g;
        g[q->ngroup++] = $1;
    }
    ;

opt_order: %empty | ORDER BY order_list ;
order_list: order_key | order_list ',' order_key ;
order_key: expr opt_desc opt_nulls {
        sql_query *q = ps->q;
        sql_order *o = realloc(q->order, (q->norder + 1) * sizeof *o);
        if (!o) { sql_node_free($1); ps->nomem = true; YYABORT; }
        q->order = o;
        o[q->norder].e = $1;
        o[q->norder].desc = $2;
        o[q->norder++].nulls = $3;
    }
    ;
opt_desc: %empty { $$ = 0; } | ASC { $$ = 0; } | DESC { $$ = 1; } ;
opt_nulls: %empty { $$ = 0; } | NULLS FIRST { $$ = 1; } | NULLS LAST { $$ = 2; } ;

opt_limit: %empty
    | LIMIT INTEGER { ps->q->limit = strtoll($2, NULL, 10); free($2); }
    | LIMIT INTEGER OFFSET INTEGER {
        ps->q->limit = strtoll($2, NULL, 10);
        ps->q->offset = strtoll($4, NULL, 10);
        free($2);
        free($4);
    }
    ;

expr: expr OR expr { BIN($$, OP_OR, $1, $3, @2); }
    | expr AND expr { BIN($$, OP_AND, $1, $3, @2); }
    | NOT expr { NEW($$, N_UNOP, @1); $$->op = OP_NOT; ADD($$, $2); }
    | pred { $$ = $1; }
    ;

cmp: '=' { $$ = OP_EQ; } | NE { $$ = OP_NE; } | '<' { $$ = OP_LT; } | LE { $$ = OP_LE; }
   | '>' { $$ = OP_GT; } | GE { $$ = OP_GE; } ;
opt_not: %empty { $$ = 0; } | NOT { $$ = 1; } ;

pred: b_expr cmp b_expr { BIN($$, $2, $1, $3, @2); }
    | b_expr IS opt_not NULL_ { NEW($$, N_ISNULL, @2); $$->neg = $3; ADD($$, $1); }
    | b_expr opt_not LIKE b_expr { NEW($$, N_LIKE, @3); $$->neg = $2; ADD($$, $1); ADD($$, $4); }
    | b_expr opt_not IN '(' expr_list ')' {
        $$ = $5; $$->kind = N_IN; $$->neg = $2;
        if (sql_node_add($$, $1)) { ps->nomem = true; YYABORT; }
        /* the operand goes first */
        sql_node *t = $$->kids[$$->nkids - 1];
        memmove($$->kids + 1, $$->kids, ($$->nkids - 1) * sizeof *$$->kids);
        $$->kids[0] = t;
        $$->line = @3.first_line; $$->col = @3.first_column;
    }
    | b_expr opt_not BETWEEN b_expr AND b_expr {
        NEW($$, N_BETWEEN, @3); $$->neg = $2; ADD($$, $1); ADD($$, $4); ADD($$, $6);
    }
    | b_expr { $$ = $1; }
    ;

expr_list: expr { NEW($$, N_FUNC, @1); ADD($$, $1); }
         | expr_list ',' expr { $$ = $1; ADD($$, $3); }
         ;

b_expr: b_expr '+' b_expr { BIN($$, OP_ADD, $1, $3, @2); }
      | b_expr '-' b_expr { BIN($$, OP_SUB, $1, $3, @2); }
      | b_expr '*' b_expr { BIN($$, OP_MUL, $1, $3, @2); }
      | b_expr '/' b_expr { BIN($$, OP_DIV, $1, $3, @2); }
      | b_expr IDIV b_expr { BIN($$, OP_IDIV, $1, $3, @2); }
      | b_expr '%' b_expr { BIN($$, OP_MOD, $1, $3, @2); }
      | b_expr CONCAT b_expr { BIN($$, OP_CONCAT, $1, $3, @2); }
      | '-' b_expr %prec UMINUS {
          if ($2->kind == N_LIT && ($2->val.type == SQL_INT || $2->val.type == SQL_DOUBLE)
              && $2->str && $2->str[0] != '-') {
              /* a negative literal: -9223372036854775808 is in range */
              size_t n = strlen($2->str);
              char *s = malloc(n + 2);
              if (!s) { ps->nomem = true; YYABORT; }
              s[0] = '-';
              memcpy(s + 1, $2->str, n + 1);
              free($2->str);
              $2->str = s;
              if ($2->val.type == SQL_INT) $2->val.u.i = strtoll(s, NULL, 10);
              else $2->val.u.d = -$2->val.u.d;
              $2->line = @1.first_line; $2->col = @1.first_column;
              $$ = $2;
          } else {
              NEW($$, N_UNOP, @1); $$->op = OP_NEG; ADD($$, $2);
          }
      }
      | '+' b_expr %prec UMINUS { $$ = $2; }
      | primary { $$ = $1; }
      ;

primary: INTEGER {
           errno = 0;
           (void)strtoll($1, NULL, 10);
           if (errno) LIT($$, SQL_DOUBLE, $1, @1); else LIT($$, SQL_INT, $1, @1);
       }
       | NUMBER { LIT($$, SQL_DOUBLE, $1, @1); }
       | STRING { LIT($$, SQL_STRING, $1, @1); }
       | NULL_ { LIT($$, SQL_NULL, NULL, @1); }
       | TRUE_ { LIT($$, SQL_BOOL, NULL, @1); $$->val.u.b = true; }
       | FALSE_ { LIT($$, SQL_BOOL, NULL, @1); $$->val.u.b = false; }
       | DATE_ STRING {
           LIT($$, SQL_STRING, $2, @1);
           sql_node *c; NEW(c, N_CAST, @1); c->cast_type = SQL_DATE; ADD(c, $$); $$ = c;
       }
       | TIMESTAMP_ STRING {
           LIT($$, SQL_STRING, $2, @1);
           sql_node *c; NEW(c, N_CAST, @1); c->cast_type = SQL_TS; ADD(c, $$); $$ = c;
       }
       | IDENT { NEW($$, N_COL, @1); $$->str = $1; }
       | IDENT '.' IDENT { NEW($$, N_COL, @1); $$->qual = $1; $$->str = $3; }
       | '(' expr ')' { $$ = $2; }
       | func { $$ = $1; }
       | case_expr { $$ = $1; }
       | CAST '(' expr AS type_name ')' {
           NEW($$, N_CAST, @1);
           ADD($$, $3);
           $$->cast_type = sql_type_from_name($5);
           if ($$->cast_type < 0) {
               char m[160];
               snprintf(m, sizeof m, "unknown type '%s'", $5);
               free($5);
               sql_node_free($$);
               sql_yyerror(&@5, scanner, ps, m);
               YYABORT;
           }
           free($5);
       }
       ;

type_name: IDENT { $$ = $1; } | DATE_ { $$ = strdup("date"); } | TIMESTAMP_ { $$ = strdup("timestamp"); } ;

func: IDENT '(' ')' { NEW($$, N_FUNC, @1); $$->str = $1; }
    | IDENT '(' '*' ')' { NEW($$, N_FUNC, @1); $$->str = $1; $$->star = true; }
    | IDENT '(' DISTINCT expr ')' { NEW($$, N_FUNC, @1); $$->str = $1; $$->distinct = true; ADD($$, $4); }
    | IDENT '(' expr_list ')' { $$ = $3; $$->str = $1; $$->line = @1.first_line; $$->col = @1.first_column; }
    ;

case_expr: CASE when_list opt_else END {
             $$ = $2; $$->line = @1.first_line; $$->col = @1.first_column;
             if (sql_node_add($$, $3)) { ps->nomem = true; YYABORT; }
         }
         | CASE b_expr when_list opt_else END {
             $$ = $3; $$->line = @1.first_line; $$->col = @1.first_column;
             $$->case_operand = true;
             if (sql_node_add($$, $4) || sql_node_add($$, NULL)) { ps->nomem = true; YYABORT; }
             memmove($$->kids + 1, $$->kids, ($$->nkids - 1) * sizeof *$$->kids);
             $$->kids[0] = $2;
         }
         ;
when_list: WHEN expr THEN expr { NEW($$, N_CASE, @1); ADD($$, $2); ADD($$, $4); }
         | when_list WHEN expr THEN expr { $$ = $1; ADD($$, $3); ADD($$, $5); }
         ;
opt_else: %empty { $$ = NULL; } | ELSE expr { $$ = $2; } ;

%%

int sql__lex_begin(const char *text, void **scanner, struct sql_lexstate **st);
void sql__lex_end(void *scanner, struct sql_lexstate *st);

/* Message: "syntax error at line L, column C: MSG", then the line and a caret. */
static void sql_yyerror(SQL_YYLTYPE *loc, void *scanner, struct sql_pstate *ps, const char *msg) {
    (void)scanner;
    if (ps->err[0])
        return; /* the first error only */
    sj_buf b = {0};
    int line = loc->first_line, col = loc->first_column;
    const char *p = ps->text;
    for (int l = 1; l < line && p && *p; l++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    if (!p)
        p = "";
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    /* bison's verbose messages name tokens by their %token names: make them readable */
    sj_buf m = {0};
    for (const char *s = msg; *s; s++) {
        if (!strncmp(s, "NULL_", 5) || !strncmp(s, "TRUE_", 5) || !strncmp(s, "DATE_", 5)) {
            sj_buf_add(&m, s, 4);
            s += 4;
        } else if (!strncmp(s, "FALSE_", 6)) {
            sj_buf_add(&m, s, 5);
            s += 5;
        } else if (!strncmp(s, "TIMESTAMP_", 10)) {
            sj_buf_add(&m, s, 9);
            s += 9;
        } else if (!strncmp(s, "$end", 4)) {
            sj_buf_add(&m, "end of query", 12);
            s += 3;
        } else if (!strncmp(s, "end of file", 11)) {
            sj_buf_add(&m, "end of query", 12);
            s += 10;
        } else if (!strncmp(s, "BADCHAR", 7)) {
            sj_buf_add(&m, "a character that is not SQL", 27);
            s += 6;
        } else if (!strncmp(s, "BADSTRING", 9)) {
            sj_buf_add(&m, "a string without its closing quote", 34);
            s += 8;
        } else {
            sj_buf_addc(&m, *s);
        }
    }
    sj_buf_printf(&b, "%s at line %d, column %d\n  %.*s\n  ", m.p ? m.p : msg, line, col,
                  (int)n, p);
    /* the caret goes under the column: count characters, keep tabs as tabs */
    int c = 1;
    for (size_t i = 0; i < n && c < col; i++) {
        if (((unsigned char)p[i] & 0xC0) == 0x80)
            continue;
        sj_buf_addc(&b, p[i] == '\t' ? '\t' : ' ');
        c++;
    }
    while (c++ < col)
        sj_buf_addc(&b, ' ');
    sj_buf_addc(&b, '^');
    snprintf(ps->err, ps->errlen, "%s", b.p ? b.p : msg);
    sj_buf_free(&b);
    sj_buf_free(&m);
}

int sql_parse(const char *text, sql_query *q, char *err, size_t errlen) {
    memset(q, 0, sizeof *q);
    q->limit = -1;
    err[0] = '\0';
    void *scanner;
    struct sql_lexstate *st;
    if (sql__lex_begin(text, &scanner, &st)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct sql_pstate ps = {q, text, err, errlen, false};
    int rc = sql_yyparse(scanner, &ps);
    sql__lex_end(scanner, st);
    if (rc || ps.nomem) {
        if (ps.nomem)
            snprintf(err, errlen, "out of memory");
        else if (!err[0])
            snprintf(err, errlen, "syntax error");
        sql_query_free(q);
        return -1;
    }
    return 0;
}
