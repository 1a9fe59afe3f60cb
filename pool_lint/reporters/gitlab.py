"""`gitlab`: a GitLab Code Quality report (a JSON array of issues).

Severity error -> `major`, warning -> `minor`, info -> `info`. The fingerprint is stable
across unrelated edits: a hash of the path, the code, the message and the finding's rank
among identical ones in that file, but not its line number.
"""
from __future__ import annotations

import hashlib
import json
from typing import Dict, Sequence, Tuple

from ..findings import Finding
from . import ReportContext, register

SEVERITIES = {"error": "major", "warning": "minor", "info": "info"}


@register("gitlab")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    seen: Dict[Tuple[str, str, str], int] = {}
    issues = []
    for f in findings:
        key = (f.filename, f.code, f.message)
        rank = seen.get(key, 0)
        seen[key] = rank + 1
        fingerprint = hashlib.sha256("\0".join([*key, str(rank)]).encode()).hexdigest()
        issues.append({
            "type": "issue",
            "description": f"{f.code} {f.message}",
            "check_name": f.code,
            "categories": ["Performance"],
            "fingerprint": fingerprint,
            "severity": SEVERITIES.get(f.severity, "minor"),
            "location": {
                "path": f.filename,
                "lines": {"begin": f.row, "end": f.end_row},
                "positions": {"begin": {"line": f.row, "column": f.column},
                              "end": {"line": f.end_row, "column": f.end_column}},
            },
        })
    return json.dumps(issues, indent=2) + "\n"
