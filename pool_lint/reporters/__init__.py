"""Reporters: findings rendered for people and for tools (SPEC 5).

Each format is a function `render(findings, context) -> str` registered in `FORMATS`.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

from ..findings import Finding


class ReportContext:
    """What a reporter may need besides the findings."""

    def __init__(self, show_source: bool = False, sources: Optional[Dict[str, List[str]]] = None,
                 rules: Optional[Dict[str, type]] = None, fix_available: bool = True, unsafe_fixes: bool = False):
        self.show_source = show_source
        self.unsafe_fixes = unsafe_fixes  # --unsafe-fixes: unsafe fixes count as available (`[*]`)
        self.sources = sources if sources is not None else {}  # filename -> lines, for --show-source
        self.rules = rules if rules is not None else {}  # code -> Rule class
        self.fix_available = fix_available


Renderer = Callable[[Sequence[Finding], ReportContext], str]
FORMATS: Dict[str, Renderer] = {}


def register(name: str):
    def wrap(fn: Renderer) -> Renderer:
        FORMATS[name] = fn
        return fn

    return wrap


def render(fmt: str, findings: Sequence[Finding], context: Optional[ReportContext] = None) -> str:
    """The findings in format `fmt` (one of FORMAT_NAMES). Only that format's module is
    imported: a run pays at start-up for what it uses."""
    import importlib

    if fmt not in FORMATS:
        importlib.import_module(f".{_MODULES.get(fmt, fmt)}", __name__)  # registers it
    return FORMATS[fmt](findings, context if context is not None else ReportContext())


def rules_of(context: ReportContext) -> Dict[str, type]:
    """code -> Rule class: the context's, or every rule (for the formats that describe
    the rules, such as SARIF)."""
    if not context.rules:
        from ..rules import ALL_RULES

        context.rules = dict(ALL_RULES)
    return context.rules


_MODULES = {"json": "json_format"}
FORMAT_NAMES = ("text", "json", "github", "sarif", "gitlab")
