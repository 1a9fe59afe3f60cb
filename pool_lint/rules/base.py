"""What a rule is: a code, a name, a severity, ruff-style documentation, examples that run
as tests (Fixit style), and a `check` that asks the analysis layer questions and yields
`Report`s. Rules never parse, walk files or resolve imports themselves, and never read
the project index's plan or the file's raw text: the checker applies the plan first."""
from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import ClassVar, Dict, Iterable, Optional, Tuple

from ..fixes import KeywordFix


@dataclass(frozen=True)
class Example:
    """A snippet a rule must (invalid) or must not (valid) report.

    `settings` are `[tool.pool-lint]` keys; `path` is where the snippet pretends to live
    (file roles depend on it); `fixed` is the expected result of `--fix` (with
    `--unsafe-fixes` when `unsafe`)."""

    source: str
    settings: Tuple[Tuple[str, object], ...] = ()
    path: str = "app/db.py"
    fixed: Optional[str] = None
    unsafe: bool = False
    files: Tuple[Tuple[str, str], ...] = ()  # (path, text): the project around it (deployment files)

    def __post_init__(self):
        object.__setattr__(self, "source", inspect.cleandoc(self.source) + "\n")
        if self.fixed is not None:
            object.__setattr__(self, "fixed", inspect.cleandoc(self.fixed) + "\n")


def example(source: str, fixed: Optional[str] = None, unsafe: bool = False, path: str = "app/db.py",
            files: Tuple[Tuple[str, str], ...] = (), **settings) -> Example:
    return Example(source, tuple((k.replace("_", "-"), v) for k, v in settings.items()), path, fixed, unsafe, files)


@dataclass
class Report:
    """A finding as a rule sees it: the node it is about and what to say."""

    node: ast.AST  # reported at this node's start (for a call: its callee)
    message: str
    span: Optional[ast.AST] = None  # the construct whose lines `# noqa` may sit on
    severity: Optional[str] = None  # overrides the rule's default
    fix: Optional[KeywordFix] = None


class Rule:
    """One rule. `family` names the rule family it belongs to (plan.FAMILIES): the
    checker runs the rule only in files whose plan lets the family fire, and its
    `check(file)` sees only the functions and calls (`file.functions()`, `file.calls()`)
    of the lines where the plan lets it report."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # plan.FAMILIES; "" for POL001, which the pipeline reports
    severity: ClassVar[str] = "warning"
    default_enabled: ClassVar[bool] = True
    valid: ClassVar[Tuple[Example, ...]] = ()
    invalid: ClassVar[Tuple[Example, ...]] = ()

    def check(self, file) -> Iterable[Report]:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does"."""
        text = cls.docs()
        section = text.split("## What it does", 1)[-1].strip().split("\n\n", 1)[0]
        return " ".join(section.split())

    @classmethod
    def fixable(cls) -> str:
        """From the "Fix" section: none, safe, unsafe, or safe/unsafe."""
        fix = cls.docs().split("## Fix", 1)[-1].strip().split("\n\n", 1)[0].lower()
        if fix.startswith("none"):
            return "none"
        if fix.startswith("unsafe"):
            return "unsafe"
        return "safe/unsafe" if "unsafe" in fix else "safe"


REGISTRY: Dict[str, type] = {}


def register(cls):
    assert cls.code not in REGISTRY, cls.code
    REGISTRY[cls.code] = cls
    return cls
