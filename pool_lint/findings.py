"""The vocabulary every layer shares: findings, fixes and the edits a fix is made of.

Positions are 1-based rows and 1-based columns counted in characters, as ruff reports them.
An `Edit` replaces the text between two positions with `content` (an insertion has equal
start and end; a deletion has empty content).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Edit:
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


@dataclass(frozen=True)
class Fix:
    applicability: str  # "safe" | "unsafe"
    message: str
    edits: Tuple[Edit, ...]

    def to_dict(self) -> dict:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [edit.to_dict() for edit in self.edits],
        }


@dataclass(frozen=True)
class Finding:
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
    span: Tuple[int, int] = field(default=(0, 0), compare=False)

    def sort_key(self) -> tuple:
        return (self.filename, self.row, self.column, self.code)

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


@dataclass
class FileResult:
    """What checking one file gave: its findings and, with --fix, the fixed text."""

    filename: str
    findings: List[Finding] = field(default_factory=list)
    fixed_text: Optional[str] = None  # set when --fix changed the text
    original_text: Optional[str] = None
    error: Optional[str] = None  # a fix that could not be applied safely
    deps: Tuple[str, ...] = ()  # other project files the analysis read
    runtime: str = ""  # the key of the runtime verdict the analysis used
    crashed: bool = False  # an internal error stopped its check (`error` says which)


def unreadable(filename: str, message: str, row: int = 1, column: int = 1) -> Finding:
    """A POL001 finding: a file that cannot be read, decoded or parsed."""
    from .rules import ALL_RULES

    rule = ALL_RULES["POL001"]
    return Finding("POL001", rule.name, message, rule.severity, filename, row, column, row, column)
