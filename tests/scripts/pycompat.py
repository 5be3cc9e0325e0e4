#!/usr/bin/env python3
"""pycompat.py: checks that Python programs keep to Python 3.8 and its standard library.

    tests/scripts/pycompat.py FILE...

sheaf-cluster promises Python 3.8 or later (a cluster's login node may have no newer one). A
newer interpreter runs code that 3.8 rejects, so running the tests is not enough. This checker
reads each FILE and reports, with its line:
  - syntax newer than 3.8 (the parser's feature_version: `match`, parenthesised context
    managers, `except*`, ...);
  - a module added after 3.8 (zoneinfo, graphlib, tomllib);
  - a standard-library name added after 3.8, used as an attribute or imported by name
    (str.removeprefix, math.lcm, functools.cache, argparse.BooleanOptionalAction, ...), or a
    keyword argument added after it (subprocess's process_group=, shutil.rmtree's onexc=);
  - a built-in collection subscripted as a type (`list[str]`, 3.9) or a `X | Y` union in an
    annotation (3.10), unless the file has `from __future__ import annotations`, which makes
    annotations strings (subscripts elsewhere, evaluated at run time, are reported always).
Exit status 0 when every file is clean, 1 when one is not (the findings on stdout), 2 on usage.
"""
import ast
import sys

NEW_MODULES = {"zoneinfo": "3.9", "graphlib": "3.9", "tomllib": "3.11"}

# Attributes of the standard library added after 3.8, by the version that added them. Names
# common enough to be a user's own attribute (such as `cache` on an object) are checked only
# as `module.name` or `from module import name`.
NEW_ATTRS = {
    "removeprefix": "3.9", "removesuffix": "3.9", "is_relative_to": "3.9",
    "with_stem": "3.9", "randbytes": "3.9", "bit_count": "3.10",
    "pairwise": "3.10", "aiter": "3.10", "anext": "3.10", "BooleanOptionalAction": "3.9",
    "StrEnum": "3.11", "TypeAlias": "3.10", "ParamSpec": "3.10", "Self": "3.11",
    "to_thread": "3.9", "waitstatus_to_exitcode": "3.9", "pidfd_open": "3.9",
    "file_digest": "3.11", "add_note": "3.11", "TaskGroup": "3.11",
    "process_cpu_count": "3.13",
}
NEW_QUALIFIED = {
    ("functools", "cache"): "3.9", ("math", "lcm"): "3.9", ("math", "nextafter"): "3.9",
    ("math", "ulp"): "3.9", ("contextlib", "chdir"): "3.11", ("datetime", "UTC"): "3.11",
    ("enum", "verify"): "3.11", ("typing", "Annotated"): "3.9",
    ("itertools", "batched"): "3.12", ("time", "CLOCK_TAI"): "3.9",
}
# Keyword arguments of standard functions added after 3.8.
NEW_KWARGS = {"process_group": "3.11", "onexc": "3.12", "exit_on_error": "3.9",
              "usedforsecurity": "3.9", "pipesize": "3.10"}
BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}


def check(path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    found = []
    try:
        tree = ast.parse(src, path, feature_version=(3, 8))
    except SyntaxError as e:
        return ["%s:%s: syntax newer than Python 3.8: %s" % (path, e.lineno, e.msg)]
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
                 any(a.name == "annotations" for a in n.names) for n in ast.walk(tree))
    # Nodes inside annotations: strings at run time under the __future__ import.
    in_annotation = set()
    for n in ast.walk(tree):
        anns = []
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            anns.append(n.returns)
            a = n.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
                if arg is not None:
                    anns.append(arg.annotation)
        elif isinstance(n, ast.AnnAssign):
            anns.append(n.annotation)
        for ann in anns:
            if ann is not None:
                in_annotation.update(id(x) for x in ast.walk(ann))

    def report(node, what, version):
        found.append("%s:%d: %s needs Python %s" % (path, node.lineno, what, version))

    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names:
                top = a.name.split(".")[0]
                if top in NEW_MODULES:
                    report(n, "module " + top, NEW_MODULES[top])
        elif isinstance(n, ast.ImportFrom) and n.module:
            top = n.module.split(".")[0]
            if top in NEW_MODULES:
                report(n, "module " + top, NEW_MODULES[top])
            for a in n.names:
                v = NEW_QUALIFIED.get((n.module, a.name)) or NEW_ATTRS.get(a.name)
                if v:
                    report(n, "%s.%s" % (n.module, a.name), v)
        elif isinstance(n, ast.Attribute):
            v = NEW_ATTRS.get(n.attr)
            if isinstance(n.value, ast.Name):
                v = NEW_QUALIFIED.get((n.value.id, n.attr)) or v
            if v:
                report(n, "." + n.attr, v)
        elif isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name):
            if n.value.id in BUILTIN_GENERICS and not (future and id(n) in in_annotation):
                report(n, "%s[...] as a type" % n.value.id, "3.9")
        elif isinstance(n, ast.Call):
            for k in n.keywords:
                if k.arg in NEW_KWARGS:
                    report(n, "the keyword %s=" % k.arg, NEW_KWARGS[k.arg])
        elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            if id(n) in in_annotation and not future:
                report(n, "a union X | Y in an annotation", "3.10")
    return found


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    findings = []
    for path in argv[1:]:
        findings += check(path)
    for f in findings:
        print(f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
