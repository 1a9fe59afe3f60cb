"""What a rule is: a code, a name, a severity, a fix applicability, ruff-style
documentation, examples that run as tests (Fixit style: an invalid example states every
finding it expects), and a `check` that asks the analysis layer questions and yields
`Report`s whose messages are the rule module's named constants. Rules never parse, walk
files or resolve imports themselves, and never read the project index's plan or the
file's raw text: the checker applies the plan first."""
from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import ClassVar, Dict, Iterable, Optional, Sequence, Tuple

from ..fixes import KeywordFix


# A rule's fix applicability (`Rule.fix`): no fix, only safe fixes, only unsafe ones
# (`--unsafe-fixes`), or safe for some findings and unsafe for others. The docs' "## Fix"
# section says the same in words (tests/test_rule_examples.py checks that they agree).
FIXES = ("none", "safe", "unsafe", "safe/unsafe")


@dataclass(frozen=True)
class Example:
    """A snippet a rule must (invalid) or must not (valid) report.

    `settings` are `[tool.pool-lint]` keys; `path` is where the snippet pretends to live
    (file roles depend on it); `fixed` is the expected result of `--fix` (with
    `--unsafe-fixes` when `unsafe`); `expect`, for an invalid example, is every finding of
    the rule it gives, as the text output shows them: (line, column, message start), line
    and column 1-based, in the order of the output (None on a valid example)."""

    source: str
    settings: Tuple[Tuple[str, object], ...] = ()
    path: str = "app/db.py"
    fixed: Optional[str] = None
    unsafe: bool = False
    files: Tuple[Tuple[str, str], ...] = ()  # (path, text): the project around it (deployment files)
    expect: Optional[Tuple[Tuple[int, int, str], ...]] = None

    def __post_init__(self):
        object.__setattr__(self, "source", inspect.cleandoc(self.source) + "\n")
        if self.fixed is not None:
            object.__setattr__(self, "fixed", inspect.cleandoc(self.fixed) + "\n")


def example(source: str, fixed: Optional[str] = None, unsafe: bool = False, path: str = "app/db.py",
            files: Tuple[Tuple[str, str], ...] = (), expect: Optional[Sequence[Tuple[int, int, str]]] = None,
            **settings) -> Example:
    return Example(source, tuple((k.replace("_", "-"), v) for k, v in settings.items()), path, fixed, unsafe, files,
                   None if expect is None else tuple(tuple(e) for e in expect))


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
    fix: ClassVar[str] = "none"  # FIXES: what `--fix` (and `--unsafe-fixes`) can do with its findings
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


REGISTRY: Dict[str, type] = {}


def register(cls):
    assert cls.code not in REGISTRY, cls.code
    REGISTRY[cls.code] = cls
    return cls
