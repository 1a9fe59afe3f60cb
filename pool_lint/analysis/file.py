"""`FileView`: one module as the analyses see it: its source, names and values, the
project around it, and the plan the checker applies to it (where the analysis need
look for what a rule may report).

The analyses (`engines`, `sessions`, `external`) take a `FileView`; `context.FileContext`,
what the rules see, builds on it. A view of another module of the project (one that an
analysis follows a call or a dependency into) is made here too, so that no analysis
imports the context that uses it.
"""
from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path, PurePath
from typing import List, Optional

from ..config import Settings
from ..plan import EVERYTHING, NOTHING, Plan
from .names import FunctionNode
from .project import Project
from .source import Source


# The project's note of what the plan of the file being checked says of Flask-SQLAlchemy
# (plan.Plan.flask False: no module its analysis can load names flask_sqlalchemy): the
# view of another module that the analysis reaches asks analysis.flask on its behalf.
FLASK_FREE = ("flask", "free")


class FileView:
    # What the checker lets fire in the file (plan.Plan): the analysis looks for external
    # calls only where a rule may report one. Another module of the project: nothing.
    plan: Plan = EVERYTHING

    def __init__(self, source: Source, settings: Settings, project: Project, path: Optional[Path] = None,
                 display: Optional[str] = None, plan: Plan = EVERYTHING):
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
        self.plan = plan
        project.facts[FLASK_FREE] = not plan.flask

    @classmethod
    def for_module(cls, module, project: Project) -> "FileView":
        """A view of another module of the project (already parsed), made once."""
        key = ("view", id(module))
        found = project.facts.get(key)
        if found is None:
            found = FileView.__new__(FileView)
            found.source, found.settings, found.project = module.source, project.settings, project
            found.path, found.filename, found.module = module.path, str(module.path), module
            found.names, found.evaluator = module.names, module.evaluator
            found.plan = NOTHING  # no rule reports in another module
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

    def function_of(self, node: ast.AST):
        return next((f for f in self.enclosing_functions(node) if isinstance(f, FunctionNode)), None)

    # -- facts ---------------------------------------------------------------------------
    @cached_property
    def relative_path(self) -> Optional[PurePath]:
        if self.path is None:
            return PurePath(self.filename) if self.filename not in ("-", "<stdin>") else None
        try:
            return self.path.relative_to(self.project.root)
        except ValueError:
            return PurePath(self.path.name)
