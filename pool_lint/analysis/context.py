"""`FileContext`: everything the rules may ask about one file, computed lazily and once.

It is a `file.FileView` (source, names, values, project) with the analyses on top
(role, engines, sessions, runtime), and what the checker lets the running rule see:
before each rule, the checker sets `scope` from the file's plan (plan.Plan.lines), and
`functions()` and `calls()` give only those the rule may report in.
"""
from __future__ import annotations

import ast
from functools import cached_property
from typing import List, Optional

from ..plan import Ranges
from .file import FileView


def _ordered(scope: Ranges) -> bool:
    """Do the ranges' first lines, and their last lines, never go back?"""
    return all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(scope, scope[1:]))


class FileContext(FileView):
    # The line ranges the running rule may report in (set by the checker); None: anywhere.
    scope: Optional[Ranges] = None

    def _in_scope(self, node: ast.AST) -> bool:
        line = node.lineno
        return any(first <= line <= last for first, last in self.scope)

    def _scoped(self, nodes: List[ast.AST]) -> List[ast.AST]:
        """The nodes (in source order) whose first line is in `scope`: where the ranges
        come in order (first and last lines both never going back, as a plan writes
        them), one pass over both; else range by range for each node."""
        scope = self.scope
        if not scope:
            return []
        if not _ordered(scope):
            return [node for node in nodes if self._in_scope(node)]
        out: List[ast.AST] = []
        at, count = 0, len(scope)
        first, last = scope[0]
        for node in nodes:
            line = node.lineno
            while line > last:  # the first range that does not end before the line
                at += 1
                if at == count:
                    return out
                first, last = scope[at]
            if line >= first:
                out.append(node)
        return out

    def calls(self) -> List[ast.Call]:
        """The calls of the file that the running rule may report in, in source order."""
        if self.scope is None:
            return self.source.calls
        return self._scoped(self.source.calls)

    def functions(self) -> List[ast.AST]:
        """The functions and methods of the file that the running rule may report in."""
        if self.scope is None:
            return self.source.functions
        return self._scoped(self.source.functions)

    # -- analyses --------------------------------------------------------------------------
    @cached_property
    def role(self) -> str:
        from .roles import role

        return role(self.relative_path, self.names)

    @cached_property
    def engines(self):
        from .engines import find_engine_calls
        from .flask import find_flask_engines

        return find_engine_calls(self) + find_flask_engines(self)

    @cached_property
    def sessions(self):
        from .sessions import SessionAnalysis

        return SessionAnalysis(self)

    @cached_property
    def runtime(self):
        from .runtime import detect_runtime

        verdict = self.project.verdict or detect_runtime(self.project.root, self.settings.runtime)
        self.project.runtime_seen = verdict.key()
        return verdict

    @property
    def plans_capacity(self) -> bool:
        """Does this project plan the capacity of its own pools (SPEC 3b, "Who plans
        capacity")? Only a project root whose runtime is known to be a long-running server
        or worker (detected, or `runtime = "server"`) does; a library, an SDK or a
        framework that builds an engine from its caller's URL leaves it to the caller."""
        return self.runtime.kind == "server"
