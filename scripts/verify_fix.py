#!/usr/bin/env python3
"""Run `pool-lint check --fix` over a copy of a whole repository and verify SPEC 7 on
every file it changed: the file still parses, the only AST differences are keyword
arguments of engine or session factory calls, and a second `--fix` changes nothing.

Usage: python scripts/verify_fix.py REPO [--unsafe-fixes] [--cmd pool-lint]
Prints the counts; exits 1 when any file breaks a guarantee.
"""
from __future__ import annotations

import argparse
import ast
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

def _parse(data: bytes) -> ast.Module:
    """The file's tree as pool-lint reads it: `ast.parse`, and for syntax newer than the
    running Python the same rewrite through LibCST that the analysis uses."""
    try:
        return ast.parse(data)
    except SyntaxError:
        from pool_lint.analysis.downgrade import parse

        return parse(data.decode("utf-8-sig"))


FIXED_KEYWORDS = {"pool_pre_ping", "pool_recycle", "pool_size", "max_overflow", "pool_timeout",
                  "pool_use_lifo", "expire_on_commit"}
FACTORY_WORDS = ("create_engine", "create_async_engine", "engine_from_config", "async_sessionmaker", "AsyncSession")
SKIP = shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", ".pool_lint_cache")


def callee(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def strip(tree: ast.AST):
    """Remove the fixable keywords from factory calls; count the calls that had any."""
    touched = 0
    # a factory imported under another name (`from sqlalchemy import create_engine as _make`)
    aliases = {alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               for alias in node.names if alias.asname and alias.name in FACTORY_WORDS}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            kept = [k for k in node.keywords
                    if not (k.arg in FIXED_KEYWORDS and (callee(node) in FACTORY_WORDS or callee(node) in aliases))]
            touched += len(kept) != len(node.keywords)
            node.keywords = kept
    return touched


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo", type=Path)
    ap.add_argument("--cmd", default="pool-lint")
    ap.add_argument("--unsafe-fixes", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / args.repo.name
        shutil.copytree(args.repo, copy, ignore=SKIP, symlinks=True)
        before = {p: p.read_bytes() for p in copy.rglob("*.py") if p.is_file() and not p.is_symlink()}
        fix = shlex.split(args.cmd) + ["check", "--fix", "--no-cache", "--exit-zero", "-q", "."]
        if args.unsafe_fixes:
            fix.append("--unsafe-fixes")
        first = subprocess.run(fix, cwd=copy, capture_output=True, text=True)
        if first.returncode != 0:
            print(f"--fix exited {first.returncode}: {first.stderr[-500:]}")
            return 1
        after = {p: p.read_bytes() for p in before}
        changed = [p for p in before if after[p] != before[p]]
        problems, calls = [], 0
        for path in changed:
            rel = path.relative_to(copy)
            try:
                new_tree = _parse(after[path])
            except SyntaxError as exc:
                problems.append(f"{rel}: does not parse after --fix ({exc.msg})")
                continue
            old_tree = _parse(before[path])
            calls += strip(new_tree)
            strip(old_tree)
            if ast.dump(old_tree) != ast.dump(new_tree):
                problems.append(f"{rel}: --fix changed more than factory keywords")
        second = subprocess.run(fix, cwd=copy, capture_output=True, text=True)
        again = [p for p in before if p.read_bytes() != after[p]]
        if again:
            problems += [f"{p.relative_to(copy)}: a second --fix changed it again" for p in again]
        print(f"python files: {len(before)}; changed by --fix: {len(changed)}; factory calls changed: {calls}; "
              f"second run changed: {len(again)} (exit {second.returncode})")
        for problem in problems:
            print(f"  PROBLEM {problem}")
        print("all guarantees hold" if not problems else f"{len(problems)} problems")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
