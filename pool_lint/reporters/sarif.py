"""`sarif`: SARIF 2.1.0, as GitHub code scanning and other SARIF consumers read it.

One run; the driver lists every rule with its documentation (`help.markdown` is the text
`pool-lint rule CODE` prints); results carry their location, level and fix. Severity
error -> `error`, warning -> `warning`, info -> `note`. A file's location is a
percent-encoded URI relative to `%SRCROOT%`, the folder pool-lint ran in, which
`run.originalUriBaseIds` gives as a `file://` URI (a file outside that folder: an absolute
`file://` URI). A `#`, `%`, space or non-ASCII letter in a file name is encoded (`%23`):
written as is, `#` would start a fragment.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Sequence
from urllib.parse import quote

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


def root_uri(root: str) -> str:
    """The `file://` URI of a folder, ending in `/` (SARIF 3.14.14)."""
    uri = Path(root).resolve().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def artifact_location(filename: str, root: str) -> Dict[str, str]:
    """A file's `artifactLocation`: relative to %SRCROOT% (`root`) when it lies inside it."""
    path = os.path.abspath(os.path.join(root, filename))
    try:
        relative = os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        relative = os.pardir
    if relative == os.pardir or relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(Path(relative).as_posix(), safe="/"), "uriBaseId": "%SRCROOT%"}


def _result(f: Finding, index: int, locate) -> dict:
    location = {"physicalLocation": {
        "artifactLocation": locate(f.filename),
        "region": _region(f.row, f.column, f.end_row, f.end_column),
    }}
    result = {"ruleId": f.code, "ruleIndex": index, "level": LEVELS.get(f.severity, "warning"),
              "message": {"text": f.message}, "locations": [location]}
    if f.fix is not None:
        result["fixes"] = [{
            "description": {"text": f"{f.fix.message} ({f.fix.applicability})"},
            "artifactChanges": [{
                "artifactLocation": locate(f.filename),
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
    root = os.getcwd()
    locations: Dict[str, Dict[str, str]] = {}

    def locate(filename: str) -> Dict[str, str]:
        if filename not in locations:
            locations[filename] = artifact_location(filename, root)
        return dict(locations[filename])

    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pool-lint", "version": __version__, "semanticVersion": __version__,
                                "rules": [_rule(rule) for rule in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri(root),
                                                 "description": {"text": "the folder pool-lint ran in"}}},
            "results": [_result(f, index.get(f.code, 0), locate) for f in findings],
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(log, indent=2) + "\n"
