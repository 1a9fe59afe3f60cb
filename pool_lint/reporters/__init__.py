"""Reporters: findings rendered for people and for tools (SPEC 5).

Each format is a function `render(findings, context) -> str` registered in `FORMATS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from ..findings import Finding


@dataclass
class ReportContext:
    """What a reporter may need besides the findings."""

    show_source: bool = False
    sources: Dict[str, List[str]] = field(default_factory=dict)  # filename -> lines, for --show-source
    rules: Dict[str, type] = field(default_factory=dict)  # code -> Rule class
    fix_available: bool = True


Renderer = Callable[[Sequence[Finding], ReportContext], str]
FORMATS: Dict[str, Renderer] = {}


def register(name: str):
    def wrap(fn: Renderer) -> Renderer:
        FORMATS[name] = fn
        return fn

    return wrap


def render(fmt: str, findings: Sequence[Finding], context: Optional[ReportContext] = None) -> str:
    from . import text, json_format  # noqa: F401  (registration)

    try:
        from . import github, sarif, gitlab  # noqa: F401
    except ImportError:  # pragma: no cover - formats added by later modules
        pass
    if context is None:
        context = ReportContext()
    if not context.rules:
        from ..rules import ALL_RULES

        context.rules = dict(ALL_RULES)
    return FORMATS[fmt](findings, context)


FORMAT_NAMES = ("text", "json", "github", "sarif", "gitlab")
