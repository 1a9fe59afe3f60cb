"""Which rules run where: `select` / `ignore` / `extend-select` with prefixes,
`per-file-ignores`, and `# noqa` comments (SPEC 5)."""
from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Iterable, Optional, Sequence, Tuple

if TYPE_CHECKING:  # configuration validates selectors with RULE_CODES: selection imports it only for types
    from .config import Settings


def _best(code: str, selectors: Iterable[str]) -> int:
    """Length of the most specific selector matching `code` (0: none; ALL counts as 'POL')."""
    best = 0
    for selector in selectors:
        selector = "POL" if selector == "ALL" else selector
        if code.startswith(selector):
            best = max(best, len(selector))
    return best


# Every rule's code and whether it is on by default: the rules carry both; this copy
# lets a run that the cache answers know its selection without loading the rules
# (tests/test_cli.py checks that the two agree).
RULE_CODES = {
    "POL001": True, "POL101": True, "POL102": True, "POL103": True, "POL104": True, "POL105": True,
    "POL106": True, "POL107": True, "POL108": True, "POL109": True, "POL110": True, "POL111": True,
    "POL112": True, "POL113": True, "POL114": True,
    "POL201": True, "POL202": False, "POL203": True, "POL204": True, "POL205": True,
}


def enabled_codes(settings: Settings) -> frozenset:
    """The codes `Selection(settings, rules).enabled` gives, from RULE_CODES."""
    return frozenset(code for code, default in RULE_CODES.items() if _enabled(settings, code, default))


def _enabled(settings: Settings, code: str, default_enabled: bool) -> bool:
    chosen = _best(code, (*settings.select, *settings.extend_select))
    if not default_enabled and chosen <= len("POL"):
        return False  # off by default: needs a selector more specific than "POL"
    return chosen > 0 and chosen > _best(code, settings.ignore)


class Selection:
    def __init__(self, settings: Settings, rules: Sequence[type]):
        self.settings = settings
        self.rules = {rule.code: rule for rule in rules}
        self.enabled = frozenset(code for code, rule in self.rules.items()
                                 if _enabled(settings, code, rule.default_enabled))

    def for_file(self, relative: Optional[PurePath]) -> frozenset:
        if relative is None or not self.settings.per_file_ignores:
            return self.enabled
        return self._for_path(relative.as_posix())

    @lru_cache(maxsize=4096)
    def _for_path(self, path: str) -> frozenset:
        ignored: Tuple[str, ...] = ()
        name = path.rsplit("/", 1)[-1]
        for glob, codes in self.settings.per_file_ignores:
            if fnmatch.fnmatch(path, glob) or fnmatch.fnmatch(name, glob) or fnmatch.fnmatch(path, f"*/{glob}"):
                ignored += codes
        if not ignored:
            return self.enabled
        return frozenset(code for code in self.enabled if _best(code, ignored) == 0)


_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(
    r"^[ \t]*#[ \t]*pool-lint:[ \t]*noqa"
    r"(?:[ \t]*:[ \t]*(?P<codes>[A-Z]+[0-9]+(?:[ \t]*[, \t][ \t]*[A-Z]+[0-9]+)*))?[ \t]*,?[ \t]*$",
    re.MULTILINE | re.IGNORECASE)


def file_noqa(text: str):
    """The file-level exemptions of a file, each on a line of its own: None when there is
    none; an empty tuple for `# pool-lint: noqa` (the whole file is skipped); else the codes
    of every `# pool-lint: noqa: POL101,POL105` (those codes, or prefixes, only)."""
    if "pool-lint" not in text:
        return None
    found = None
    for match in _FILE_NOQA.finditer(text):
        codes = match.group("codes")
        if not codes:
            return ()
        found = (found or ()) + tuple(c.upper() for c in re.split(r"[,\s]+", codes) if c)
    return found


def file_is_skipped(text: str) -> bool:
    """`# pool-lint: noqa` (no codes) on a line of its own skips the whole file."""
    return file_noqa(text) == ()


def noqa_codes(line: str):
    """None: no noqa; empty tuple: a bare `# noqa` (everything); else the listed codes."""
    if "noqa" not in line.lower():
        return None
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return ()
    return tuple(c.upper() for c in re.split(r"[,\s]+", codes) if c)


def suppressed(lines: Sequence[str], first: int, last: int, code: str) -> bool:
    """Is `code` suppressed by a `# noqa` on any of rows first..last (1-based)?"""
    for row in range(max(first, 1), min(last, len(lines)) + 1):
        codes = noqa_codes(lines[row - 1])
        if codes is None:
            continue
        if codes == () or any(code.startswith(c) for c in codes):
            return True
    return False
