"""Shared ground of the engine rules (POL101-POL111): which engine calls a rule looks at,
and the silences of SPEC 4 that keep every finding worth reading."""
from __future__ import annotations

import ast
from typing import Iterable, Optional, Sequence

from ..analysis.engines import EngineCall
from ..analysis.lifetime import is_one_shot
from ..fixes import KeywordFix
from .base import Report, Rule

_FAMILY_SILENCES = {
    # code range -> silenced when ...
    "pool_instance": range(101, 111),  # an explicit pool= object: configured elsewhere
    "sqlite": range(101, 110),  # SQLite (DuckDB too) runs in the process: no server connections
    "null": range(101, 108),  # a brand-new connection per checkout
    "static": range(105, 108),
    "singleton": range(105, 108),
    "assertion": range(105, 108),
    "unknown": range(105, 111),  # conditional or unresolvable poolclass
}
_ONE_SHOT_SILENCES = range(101, 108)
_CAPACITY = range(105, 108)  # planned only where the runtime is a long-running server


def applies(file, call: EngineCall, code: str) -> bool:
    """Is the rule `code` worth reading on this call (SPEC 4's silences)? Test code and
    migrations are the checker's to leave out (checker.Checker.rules_for) unless
    `check-tests`."""
    number = int(code[3:])
    if call.pool_instance and number in _FAMILY_SILENCES["pool_instance"]:
        return False
    if call.url.in_process and number in _FAMILY_SILENCES["sqlite"]:
        return False
    kind = call.pool_kind
    if kind in _FAMILY_SILENCES and number in _FAMILY_SILENCES[kind]:
        return False
    if number in _ONE_SHOT_SILENCES and call.function is not None and is_one_shot(file, call):
        return False  # SPEC 3b: serves one job and is gone: nothing to ping, recycle or size
    if number in _CAPACITY and not file.plans_capacity:
        return False  # SPEC 3b: a library's (or an unknown runtime's) caller plans capacity
    return True


class EngineRule(Rule):
    """A rule about one engine factory call."""

    family = "engine"

    def check(self, file) -> Iterable[Report]:
        said = set()  # one call that builds the same engine for several apps: said once
        for call in file.engines:
            if applies(file, call, self.code):
                for report in self.check_call(file, call):
                    key = (id(report.node), report.message)
                    if key not in said:
                        said.add(key)
                        yield report

    def check_call(self, file, call: EngineCall) -> Iterable[Report]:  # pragma: no cover
        raise NotImplementedError

    # -- helpers for reports and fixes ----------------------------------------------------
    def report(self, call: EngineCall, message: str, fix: Optional[KeywordFix] = None,
               severity: Optional[str] = None) -> Report:
        if call.label:
            message = f"{message} ({call.label})"
        return Report(node=call.node.func, message=message, span=call.node, severity=severity, fix=fix)

    def add(self, call: EngineCall, name: str, value: str) -> Optional[KeywordFix]:
        """A safe fix inserting a missing keyword (none when a ** hides the call's keywords)."""
        if call.open_keywords or not call.fixable:
            return None
        if isinstance(call.fix_node, ast.Dict):  # a literal dict of engine options (SPEC 3c)
            return KeywordFix(call.fix_node, "safe", f'Add `"{name}": {value}` to the engine options',
                              insert=((name, value),))
        return KeywordFix(call.fix_node or call.node, "safe", f"Add `{name}={value}`", insert=((name, value),))

    def set(self, call: EngineCall, name: str, value: str) -> Optional[KeywordFix]:
        """An unsafe fix giving an explicit keyword a new value (a value that comes from a
        mapping or a config dict is not at the call, and is left alone)."""
        keyword = call.keywords.get(name)
        if call.open_keywords or not call.fixable or keyword is None or keyword.node is None:
            return None
        return KeywordFix(call.node, "unsafe", f"Set `{name}={value}`", replace=((name, value),))

    def remove(self, call: EngineCall, names: Sequence[str], message: str) -> Optional[KeywordFix]:
        explicit = tuple(n for n in names if call.keywords.get(n) and call.keywords[n].node is not None)
        if call.open_keywords or not call.fixable or not explicit:
            return None
        return KeywordFix(call.node, "safe", message, remove=explicit)


def show(value) -> str:
    """A value as the user wrote it (ints without a trailing .0)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)
