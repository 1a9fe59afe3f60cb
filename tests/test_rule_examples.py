"""Every rule's documented examples run as tests (Fixit style): invalid examples must be
reported by their rule, valid ones must not, and an example's `fixed` text is what
`--fix` makes of it. Adding a rule adds its tests."""
from __future__ import annotations

import pytest

from pool_lint import fix_source, lint_source
from pool_lint.rules import ALL_RULES

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
        assert found == [], f"{rule.code} reported a valid example:\n{ex.source}\n{found}"
        return
    assert found, f"{rule.code} missed an invalid example:\n{ex.source}"
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
