"""The vocabulary every layer shares: findings, fixes and the edits a fix is made of.
It imports nothing of pool-lint: the rules, the fixes and the reporters build on it.

Positions are 1-based rows and 1-based columns counted in characters, as ruff reports them.
An `Edit` replaces the text between two positions with `content` (an insertion has equal
start and end; a deletion has empty content).
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Tuple

SEVERITIES = ("error", "warning", "info")


# Plain named tuples and slotted classes, not dataclasses: every run imports this module
# before its first file, and `dataclasses` alone costs more at start-up than the rest of it.
class Edit(NamedTuple):
    row: int
    column: int
    end_row: int
    end_column: int
    content: str

    def to_dict(self) -> dict:
        return {
            "content": self.content,
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
        }


class Fix(NamedTuple):
    applicability: str  # "safe" | "unsafe"
    message: str
    edits: Tuple[Edit, ...]

    def to_dict(self) -> dict:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [edit.to_dict() for edit in self.edits],
        }


class Finding(NamedTuple):
    code: str
    name: str
    message: str
    severity: str
    filename: str
    row: int
    column: int
    end_row: int
    end_column: int
    fix: Optional[Fix] = None
    # Rows of the whole reported construct (a multi-line call): `# noqa` on any of them counts.
    span: Tuple[int, int] = (0, 0)

    def sort_key(self) -> tuple:
        return (self.filename, self.row, self.column, self.code)

    def fixable(self, unsafe_fixes: bool = False) -> bool:
        """Does `--fix` fix it (`unsafe_fixes`: with `--unsafe-fixes`)?"""
        return self.fix is not None and (unsafe_fixes or self.fix.applicability == "safe")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "severity": self.severity,
            "filename": self.filename,
            "location": {"row": self.row, "column": self.column},
            "end_location": {"row": self.end_row, "column": self.end_column},
            "fix": self.fix.to_dict() if self.fix else None,
        }


class FileResult:
    """What checking one file gave: its findings and, with --fix, the fixed text."""

    __slots__ = ("filename", "findings", "fixed_text", "original_text", "error", "deps", "runtime", "crashed",
                 "fixed", "offers")

    def __init__(self, filename: str, findings: Optional[List[Finding]] = None, fixed_text: Optional[str] = None,
                 original_text: Optional[str] = None, error: Optional[str] = None, deps: Tuple[str, ...] = (),
                 runtime: str = "", crashed: bool = False, fixed: int = 0):
        self.filename = filename
        self.findings: List[Finding] = findings if findings is not None else []
        self.fixed_text = fixed_text  # set when --fix changed the text
        self.original_text = original_text
        self.error = error  # a fix that could not be applied safely, or an internal error
        self.deps = deps  # other project files the analysis read
        self.runtime = runtime  # the key of the runtime verdict the analysis used
        self.crashed = crashed  # an internal error stopped its check (`error` says which)
        self.fixed = fixed  # with --fix or --diff: how many findings the fixed text no longer has
        # Fixes whose edits are still to be made (fixes.Offers), for the process that
        # collects the result (fixes.settle gives the findings their fixes); else None.
        self.offers = None

    def __repr__(self) -> str:
        return f"FileResult({self.filename!r}, {len(self.findings)} findings, error={self.error!r})"


# POL001 is reported by the pipeline, not by a rule's `check`: its name and severity are
# here, where every layer can reach them (rules/syntax.py documents it with these).
UNREADABLE = ("POL001", "unreadable-file", "error")


def unreadable(filename: str, message: str, row: int = 1, column: int = 1) -> Finding:
    """A POL001 finding: a file that cannot be read, decoded or parsed."""
    code, name, severity = UNREADABLE
    return Finding(code, name, message, severity, filename, row, column, row, column)


class FixError(Exception):
    """A planned fix that would not give the intended code; the file is left alone."""
