"""`json`: a list with one object per finding (SPEC 5)."""
from __future__ import annotations

import json
from typing import Sequence

from ..findings import Finding
from . import ReportContext, register


@register("json")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    return json.dumps([f.to_dict() for f in findings], indent=2) + "\n"
