"""`text`: flake8's `path:line:col: CODE message`, optionally with the source line."""
from __future__ import annotations

from typing import Sequence

from ..findings import Finding
from . import ReportContext, register


@register("text")
def render(findings: Sequence[Finding], context: ReportContext) -> str:
    out = []
    for f in findings:
        out.append(f"{f.filename}:{f.row}:{f.column}: {f.code} {f.message}")
        if context.show_source:
            lines = context.sources.get(f.filename)
            if lines and 1 <= f.row <= len(lines):
                line = lines[f.row - 1].rstrip("\r\n")
                out.append(f"    {line}")
                out.append("    " + " " * (f.column - 1) + "^")
    return "\n".join(out) + ("\n" if out else "")


def statistics(findings: Sequence[Finding]) -> str:
    counts = {}
    names = {}
    fixable = {}
    for f in findings:
        counts[f.code] = counts.get(f.code, 0) + 1
        names[f.code] = f.name
        fixable[f.code] = fixable.get(f.code, False) or f.fix is not None
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(
        f"{counts[code]:>{width}}\t{code}\t{'[*] ' if fixable[code] else ''}{names[code]}\n" for code in sorted(counts)
    )
