"""`github`: GitHub Actions workflow commands, shown as annotations on the pull request.

    ::warning file=app/db.py,line=10,col=10,endLine=10,endColumn=29,title=POL101 missing-pre-ping::message

Severity error -> `error`, warning -> `warning`, info -> `notice`.
"""
from __future__ import annotations

from typing import Sequence

from ..findings import Finding
from . import ReportContext, register

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


@register("github")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    lines = []
    for f in findings:
        props = (f"file={_property(f.filename)},line={f.row},col={f.column},endLine={f.end_row},"
                 f"endColumn={f.end_column},title={_property(f'{f.code} {f.name}')}")
        lines.append(f"::{LEVELS.get(f.severity, 'warning')} {props}::{_data(f'{f.code} {f.message}')}")
    return "".join(line + "\n" for line in lines)
