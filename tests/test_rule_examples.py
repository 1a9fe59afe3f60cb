"""Every rule's documented examples run as tests (Fixit style): an invalid example gives
exactly the findings it states (line, column and message start, as the text output shows
them), a valid one none, and an example's `fixed` text is what `--fix` makes of it. A
rule's messages are its module's named constants, and its `fix` attribute agrees with its
docs and its examples. Adding a rule adds its tests."""
from __future__ import annotations

import re
import string
import sys

import pytest

from pool_lint import fix_source, lint_source
from pool_lint.rules import ALL_RULES
from pool_lint.rules.base import FIXES

CASES = [
    pytest.param(rule, kind, index, ex, id=f"{rule.code}-{kind}-{index}")
    for rule in ALL_RULES.values()
    for kind in ("valid", "invalid")
    for index, ex in enumerate(getattr(rule, kind))
]


def _lint(rule, ex):
    return [f for f in lint_source(ex.source, path=ex.path, settings=dict(ex.settings), select=[rule.code],
                                   extend_select=[rule.code])
            if f.code == rule.code]


@pytest.mark.parametrize("rule,kind,index,ex", CASES)
def test_example(rule, kind, index, ex, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples never see this repository's configuration
    if ex.files:  # the project around the example (deployment files), with the example in it
        for name, text in ex.files + ((ex.path, ex.source),):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text, encoding="utf-8")
    found = _lint(rule, ex)
    if kind == "valid":
        assert ex.expect is None, f"{rule.code}: a valid example expects no finding; `expect=` belongs to invalid ones"
        assert found == [], f"{rule.code} reported a valid example:\n{ex.source}\n{found}"
        return
    assert ex.expect, f"{rule.code}: an invalid example states the findings it expects (`expect=[(line, column, " \
                      f"message start)]`):\n{ex.source}\n{[(f.row, f.column, f.message) for f in found]}"
    got = [(f.row, f.column, f.message) for f in found]
    assert len(found) == len(ex.expect), f"{rule.code}: {len(found)} findings, {len(ex.expect)} expected:\n{got}"
    for (row, column, message), (line, col, start) in zip(got, ex.expect):
        assert (row, column) == (line, col), f"{rule.code}: found at {row}:{column}, expected at {line}:{col}: {message}"
        assert message.startswith(start), f"{rule.code} at {row}:{column}: {message!r} does not start with {start!r}"
    kinds = set(rule.fix.split("/")) - {"none"}
    for f in found:  # a finding's fix is of a kind the rule declares
        assert f.fix is None or f.fix.applicability in kinds, f"{rule.code} (fix {rule.fix!r}) offers {f.fix}"
    if rule is not ALL_RULES["POL001"]:  # POL001's messages are the pipeline's (the parser's words)
        templates = _templates(rule)
        for f in found:
            assert any(t.fullmatch(f.message) for t in templates), \
                f"{rule.code}: message {f.message!r} is none of its module's message constants"
    if ex.fixed is not None and ex.unsafe:  # an unsafe fix is left alone without --unsafe-fixes
        assert fix_source(ex.source, path=ex.path, settings=dict(ex.settings), select=[rule.code],
                          extend_select=[rule.code]) == ex.source
    if ex.fixed is not None:
        fixed = fix_source(ex.source, path=ex.path, settings=dict(ex.settings), unsafe=ex.unsafe,
                           select=[rule.code], extend_select=[rule.code])
        assert fixed == ex.fixed
        assert fix_source(fixed, path=ex.path, settings=dict(ex.settings), unsafe=ex.unsafe,
                          select=[rule.code], extend_select=[rule.code]) == fixed


@pytest.mark.parametrize("rule", list(ALL_RULES.values()), ids=list(ALL_RULES))
def test_rule_is_documented(rule):
    docs = rule.docs()
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix",
                    "## Options", "## References"):
        assert section in docs, f"{rule.code} docs lack {section!r}"
    assert rule.name and rule.name == rule.name.lower() and " " not in rule.name
    assert rule.severity in ("error", "warning", "info")
    assert rule.invalid, f"{rule.code} has no invalid example"
    assert rule.valid, f"{rule.code} has no valid example"


def _templates(rule):
    """The rule module's message constants (public upper-case str constants) as patterns:
    literal text, any text where a `str.format` field sits."""
    module = sys.modules[rule.__module__]
    out = []
    for name, value in vars(module).items():
        if name.isupper() and not name.startswith("_") and isinstance(value, str):
            pattern = "".join(re.escape(literal) + (".*?" if field is not None else "")
                              for literal, field, _, _ in string.Formatter().parse(value))
            out.append(re.compile(pattern, re.DOTALL))
    return out


def _documented_fix(rule) -> str:
    """The first words of the docs' "## Fix" section: None, Safe, Unsafe, or Safe ...
    Unsafe when ..."""
    text = rule.docs().split("## Fix", 1)[1].strip().split("\n\n", 1)[0]
    first = text.split(None, 1)[0].rstrip(":.").lower()
    assert first in ("none", "safe", "unsafe"), f"{rule.code}: the Fix section starts with {first!r}"
    if first == "safe" and "Unsafe when" in text:
        return "safe/unsafe"
    return first


@pytest.mark.parametrize("rule", list(ALL_RULES.values()), ids=list(ALL_RULES))
def test_fix_attribute_agrees_with_docs_and_examples(rule):
    assert rule.fix in FIXES, f"{rule.code}: fix {rule.fix!r} is none of {FIXES}"
    assert rule.fix == _documented_fix(rule), f"{rule.code}: fix {rule.fix!r}, docs say {_documented_fix(rule)!r}"
    shown = {"unsafe" if ex.unsafe else "safe" for ex in rule.invalid if ex.fixed is not None}
    if rule.fix == "none":
        assert not shown, f"{rule.code} has no fix but an example with `fixed=`"
    else:  # each kind of fix the rule offers is shown by an example
        assert shown == set(rule.fix.split("/")), f"{rule.code}: fix {rule.fix!r}, examples show {sorted(shown)}"

