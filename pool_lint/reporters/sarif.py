"""`sarif`: SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it.

One run; the driver lists every rule with its documentation (`help.markdown` is the text
`pool-lint rule CODE` prints); results carry their location, level and fix. Severity
error -> `error`, warning -> `warning`, info -> `note`. Paths are relative, resolved
against `%SRCROOT%` (the folder pool-lint ran in).
"""
from __future__ import annotations

import json
from typing import Sequence

from .. import __version__
from ..findings import Finding
from . import ReportContext, register, rules_of

LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule(rule) -> dict:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": rule.docs(), "markdown": rule.docs()},
        "defaultConfiguration": {"level": LEVELS[rule.severity], "enabled": rule.default_enabled},
        "properties": {"tags": ["sqlalchemy", "connection-pool"]},
    }


def _region(row, column, end_row, end_column) -> dict:
    return {"startLine": row, "startColumn": column, "endLine": end_row, "endColumn": end_column}


def _result(f: Finding, index: int) -> dict:
    location = {"physicalLocation": {
        "artifactLocation": {"uri": f.filename, "uriBaseId": "%SRCROOT%"},
        "region": _region(f.row, f.column, f.end_row, f.end_column),
    }}
    result = {"ruleId": f.code, "ruleIndex": index, "level": LEVELS.get(f.severity, "warning"),
              "message": {"text": f.message}, "locations": [location]}
    if f.fix is not None:
        result["fixes"] = [{
            "description": {"text": f"{f.fix.message} ({f.fix.applicability})"},
            "artifactChanges": [{
                "artifactLocation": {"uri": f.filename, "uriBaseId": "%SRCROOT%"},
                "replacements": [{
                    "deletedRegion": _region(e.row, e.column, e.end_row, e.end_column),
                    "insertedContent": {"text": e.content},
                } for e in f.fix.edits],
            }],
        }]
    return result


@register("sarif")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    rules = list(rules_of(context).values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pool-lint", "version": __version__, "semanticVersion": __version__,
                                "rules": [_rule(rule) for rule in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the folder pool-lint ran in"}}},
            "results": [_result(f, index.get(f.code, 0)) for f in findings],
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(log, indent=2) + "\n"
