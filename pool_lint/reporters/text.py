"""`text`: flake8's `path:line:col: CODE message`, with ruff's `[*]` after the code of a
finding that `--fix` can fix, optionally with the source line; and `--statistics`."""
from __future__ import annotations

from typing import Sequence

from ..findings import Finding
from . import ReportContext, register


@register("text")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    out = []
    for f in findings:
        mark = "[*] " if f.fixable(context.unsafe_fixes) else ""
        out.append(f"{f.filename}:{f.row}:{f.column}: {f.code} {mark}{f.message}")
        if context.show_source:
            lines = context.sources.get(f.filename)
            if lines and 1 <= f.row <= len(lines):
                line = lines[f.row - 1].rstrip("\r\n")
                out.append(f"    {line}")
                out.append("    " + " " * (f.column - 1) + "^")
    return "\n".join(out) + ("\n" if out else "")


def statistics(findings: Sequence[Finding], unsafe_fixes: bool = False, fmt: str = "text") -> str:
    """ruff's `--statistics`: per code, its count, `[*]` when `--fix` can fix some of its
    findings (`[ ]` when not, if any code can), and the rule's name; `json`: a list of
    {code, name, count, fixable, fixable_count}."""
    rows = {}
    for f in findings:
        row = rows.setdefault(f.code, {"code": f.code, "name": f.name, "count": 0, "fixable": False,
                                       "fixable_count": 0})
        row["count"] += 1
        if f.fixable(unsafe_fixes):
            row["fixable"] = True
            row["fixable_count"] += 1
    ordered = [rows[code] for code in sorted(rows, key=lambda code: (-rows[code]["count"], code))]
    if fmt == "json":
        import json

        return json.dumps(ordered, indent=2) + "\n"
    count_width = max((len(str(row["count"])) for row in ordered), default=1)
    code_width = max((len(row["code"]) for row in ordered), default=1)
    any_fixable = any(row["fixable"] for row in ordered)
    return "".join(
        f"{row['count']:>{count_width}}\t{row['code']:<{code_width}}\t"
        f"{('[*] ' if row['fixable'] else '[ ] ') if any_fixable else ''}{row['name']}\n" for row in ordered
    )
