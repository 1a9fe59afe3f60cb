"""Property-based tests of --fix (SPEC 7): engine calls generated in many layouts are
fixed so that the result parses, its AST is the original's plus exactly the inserted
keywords, a second fix changes nothing, and no finding the fix claims to repair remains."""
from __future__ import annotations

import ast

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pool_lint import fix_source, lint_source

POOL_KEYWORDS = ["pool_pre_ping=True", "pool_recycle=1800", "pool_size=10", "max_overflow=0", "pool_timeout=10"]
OTHER_ARGS = ["echo=True", "connect_args={'timeout': 5}", "future=True", "**OPTIONS", "json_serializer=dumps(x, y)"]
FIXABLE = {"POL101", "POL102", "POL105", "POL106", "POL107"}
SETTINGS = {"runtime": "server"}


@st.composite
def engine_calls(draw):
    """(source, keywords present) for an engine call in a random layout."""
    factory = draw(st.sampled_from(["create_async_engine", "sa.create_engine", "create_engine"]))
    args = ["os.environ['DATABASE_URL']"]
    args += draw(st.lists(st.sampled_from(OTHER_ARGS), unique=True, max_size=2))
    args += draw(st.lists(st.sampled_from(POOL_KEYWORDS), unique=True, max_size=4))
    args = [a for a in args if a != "**OPTIONS"] + (["**OPTIONS"] if "**OPTIONS" in args else [])
    layout = draw(st.sampled_from(["one-line", "one-per-line", "hanging", "closing-on-last"]))
    trailing = draw(st.booleans())
    comments = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    nested = draw(st.booleans())
    indent = "    "
    if layout == "one-line":
        call = f"{factory}({', '.join(args)}{', ' if trailing and args else ''})"
    elif layout == "one-per-line":
        lines = []
        for i, arg in enumerate(args):
            sep = "," if i < len(args) - 1 or trailing else ""
            lines.append(f"{indent}{arg}{sep}" + ("  # why this value" if comments and i % 2 == 0 else ""))
            if comments and i == 0:
                lines.append(f"{indent}# a comment line between arguments")
        call = f"{factory}(" + newline + newline.join(lines) + newline + ")"
    elif layout == "hanging":
        pad = " " * (len("engine = ") + len(factory) + 1)
        call = f"{factory}(" + f",{newline}{pad}".join(args) + ("," if trailing else "") + ")"
    else:
        call = f"{factory}(" + newline + f",{newline}".join(indent + a for a in args) + ("," if trailing else "") + ")"
    statement = f"engine = {call}"
    if nested:
        statement = f"Session = async_sessionmaker({call}, expire_on_commit=False)"
    # Where `ast` positions were not enough (issue 15): a parenthesised URL, a backslash
    # continuation, a form feed before the statement, a block indented with tabs.
    if draw(st.booleans()):
        statement = statement.replace("os.environ['DATABASE_URL']", "(os.environ['DATABASE_URL'])", 1)
    if draw(st.booleans()):
        statement = statement.replace(" = ", " = \\" + newline + "    ", 1)
    block = draw(st.sampled_from(["", "", "\t", "    "]))
    if block:
        statement = "if True:" + newline + newline.join(block + line for line in statement.split(newline))
    else:
        statement = draw(st.sampled_from(["", "", "\f" + newline, "\f"])) + statement
    header = (
        "import os",
        "import sqlalchemy as sa",
        "from sqlalchemy import create_engine",
        "from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine",
        "OPTIONS = {'pool_use_lifo': True}",
    )
    source = newline.join(header) + newline + statement + newline
    return source


def _keywords(tree):
    return [(node.lineno, [k.arg for k in node.keywords]) for node in ast.walk(tree) if isinstance(node, ast.Call)]


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine_calls())
def test_fix_properties(source):
    fixed = fix_source(source, path="app/db.py", settings=SETTINGS)
    tree = ast.parse(source)
    new_tree = ast.parse(fixed)  # the fixed source parses
    # Exactly the missing pool keywords were inserted, nothing else changed.
    before, after = ast.dump(tree), ast.dump(new_tree)
    engine = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and "engine" in ast.unparse(n.func))
    fixed_engine = next(n for n in ast.walk(new_tree) if isinstance(n, ast.Call) and "engine" in ast.unparse(n.func))
    present = {k.arg for k in engine.keywords}
    added = [k.arg for k in fixed_engine.keywords][len(engine.keywords):]
    order = ["pool_pre_ping", "pool_recycle", "pool_size", "max_overflow", "pool_timeout"]
    assert added == [k for k in order if k not in present]
    fixed_engine.keywords = fixed_engine.keywords[: len(engine.keywords)]
    assert ast.dump(new_tree) == before
    # Every byte outside the call is kept, line endings included.
    newline = "\r\n" if "\r\n" in source else "\n"
    assert fixed.count("\r\n") == (fixed.count("\n") if newline == "\r\n" else 0)
    # Idempotent, and nothing the fix claims to repair remains.
    assert fix_source(fixed, path="app/db.py", settings=SETTINGS) == fixed
    remaining = {f.code for f in lint_source(fixed, path="app/db.py", settings=SETTINGS)}
    assert not remaining & FIXABLE
    _ = after


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["pool_size=5", "max_overflow=2", "pool_timeout=3", "pool_use_lifo=True"]),
                unique=True, min_size=1), st.sampled_from(["one-line", "one-per-line"]), st.booleans())
def test_pol110_removal_properties(rejected, layout, trailing):
    args = ["URL", "poolclass=NullPool"] + rejected
    if layout == "one-line":
        call = f"create_async_engine({', '.join(args)}{',' if trailing else ''})"
    else:
        call = "create_async_engine(\n" + ",\n".join(f"    {a}" for a in args) + (",\n" if trailing else "\n") + ")"
    source = ("from sqlalchemy.ext.asyncio import create_async_engine\nfrom sqlalchemy.pool import NullPool\n"
              f"engine = {call}\n")
    fixed = fix_source(source, path="app/db.py", settings=SETTINGS)
    new_tree = ast.parse(fixed)
    call_node = next(n for n in ast.walk(new_tree) if isinstance(n, ast.Call))
    assert [k.arg for k in call_node.keywords] == ["poolclass"]
    assert fix_source(fixed, path="app/db.py", settings=SETTINGS) == fixed
    if layout == "one-per-line":
        assert fixed.endswith("    poolclass=NullPool" + ("," if trailing else "") + "\n)\n")
    else:
        assert fixed.endswith(f"(URL, poolclass=NullPool{',' if trailing else ''})\n")
