"""`FileContext`: everything the rules may ask about one file, computed lazily and once."""
from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path, PurePath
from typing import List, Optional

from ..config import Settings
from .names import FunctionNode
from .project import Project
from .source import Source
from ..screen import HINT_FIELDS, NOTHING_FIRES


def kept_lines(hint) -> Optional[List[tuple]]:
    """The line ranges of a file that a rule can look at (FileContext.may_hold), or None
    for all of it: with the hint of a file where only session rules can fire, the ranges
    of its statements where one can. The rest of such a file is parsed only as far as a
    question reaches it (source.Source.parse_lazily)."""
    if hint is None or hint[0] is not False or hint[1] is not False:
        return None
    return [lines for ranges in hint[2:] for lines in ranges]


class FileContext:
    def __init__(self, source: Source, settings: Settings, project: Project, path: Optional[Path] = None,
                 display: Optional[str] = None):
        self.source = source
        self.settings = settings
        self.project = project
        self.path = project.real_path(path) if path is not None else None
        self.filename = display or source.filename
        self.module = project.add_source(self.path, source)
        if project.settings is None:
            project.settings = settings
        self.names = self.module.names
        self.evaluator = self.module.evaluator

    @classmethod
    def for_module(cls, module, project: Project) -> "FileContext":
        """A context for another module of the project (already parsed), made once."""
        key = ("context", id(module))
        found = project.facts.get(key)
        if found is None:
            found = cls.__new__(cls)
            found.source, found.settings, found.project = module.source, project.settings, project
            found.path, found.filename, found.module = module.path, str(module.path), module
            found.names, found.evaluator = module.names, module.evaluator
            found.hint = NOTHING_FIRES  # no rule reports in another module
            project.facts[key] = found
        return found

    # -- names ---------------------------------------------------------------------------
    def enclosing_functions(self, node: ast.AST) -> List[ast.AST]:
        return self.evaluator.enclosing_functions(node)

    def qualify(self, expr: ast.AST) -> Optional[str]:
        """The qualified name as written in this module (imports applied)."""
        return self.names.qualify(expr, self.enclosing_functions(expr))

    def resolve(self, expr: ast.AST) -> Optional[str]:
        """The canonical qualified name, re-exports through the project followed."""
        qualified = self.qualify(expr)
        if qualified is None:
            return None
        return self.project.canonical(qualified, self.path)

    def calls(self) -> List[ast.Call]:
        return self.source.calls

    def function_of(self, node: ast.AST):
        return next((f for f in self.enclosing_functions(node) if isinstance(f, FunctionNode)), None)

    # What can fire where, as the screen found it (screen.Index.hint): (the engine rules?,
    # POL204?, then per session family "external", "create", "tasks" the (first, last)
    # lines of the module-level statements that can hold one of its findings); None:
    # anything anywhere (no screen, standard input, the API, --fix).
    hint = None
    _FAMILY = {name: at for at, name in enumerate(HINT_FIELDS)}

    def may_hold(self, family: str, node: Optional[ast.AST] = None) -> bool:
        """Can the file (for a session family: `node`, a function or a call in one) hold
        a finding of the rule family?"""
        if self.hint is None:
            return True
        found = self.hint[self._FAMILY[family]]
        if isinstance(found, bool):
            return found
        line = node.lineno
        return any(first <= line <= last for first, last in found)

    # -- facts ---------------------------------------------------------------------------
    @cached_property
    def relative_path(self) -> Optional[PurePath]:
        if self.path is None:
            return PurePath(self.filename) if self.filename not in ("-", "<stdin>") else None
        try:
            return self.path.relative_to(self.project.root)
        except ValueError:
            return PurePath(self.path.name)

    @cached_property
    def role(self) -> str:
        from .roles import role

        return role(self.relative_path, self.names)

    @cached_property
    def engines(self):
        from .engines import find_engine_calls

        return find_engine_calls(self)

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
