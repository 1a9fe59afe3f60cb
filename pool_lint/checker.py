"""Checking one file: decode, parse, run the enabled rules, apply `# noqa`, and (for
`--fix`) apply the fixes until none is left. The CLI, the flake8 plugin and the Python API
all come through here."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

from .analysis import catalog
from .analysis.context import FileContext, kept_lines
from .analysis.project import Project
from .analysis.source import Source, SourceError, decode
from .config import Settings
from .findings import FileResult, Finding, unreadable  # noqa: F401 - FileResult: part of this API
from .fixes import KeywordFix, Planner, to_edits
from .findings import Fix
from .rules import ALL_RULES
from .selection import Selection, file_is_skipped, suppressed

# Fix order (SPEC 4): the pool keywords, then the session keywords.
FIX_ORDER = catalog.FIX_ORDER + ("expire_on_commit",)
MAX_FIX_PASSES = 4


class Checker:
    """Runs the rules over files of one configuration."""

    offer_fixes = True  # False: findings carry no fix (the flake8 plugin), LibCST is never loaded

    def __init__(self, settings: Settings, selection: Optional[Selection] = None, verdicts=None):
        self.settings = settings
        self.verdicts = verdicts or {}  # project root -> RuntimeVerdict computed by the runner
        self.selection = selection or Selection(settings, list(ALL_RULES.values()))
        self.rules = [ALL_RULES[code]() for code in sorted(self.selection.enabled) if code != "POL001"]
        self._projects = {}
        self._roots = {}  # a project root as given -> resolved

    def use_verdicts(self, verdicts) -> None:
        """Runtime verdicts of more roots: the projects loaded so far stay, with theirs."""
        if self.verdicts is verdicts or self.verdicts == verdicts:
            return
        self.verdicts = verdicts
        for project in self._projects.values():
            project.verdict = verdicts.get(project.root, project.verdict)

    def project(self, root: Path) -> Project:
        real = self._roots.get(root)
        if real is None:
            real = self._roots[root] = Path(root).resolve()
        root = real
        project = self._projects.get(root)
        if project is None:
            project = self._projects[root] = Project(root)
            project.verdict = self.verdicts.get(root)
            project.settings = self.settings
        return project

    # -- one file --------------------------------------------------------------------------
    def analyse(self, text: str, filename: str, path: Optional[Path], project: Project, hint=None):
        """(context, [(rule, report)]) for a decoded text; raises SourceError. `hint`: where
        the screen says a session rule can fire (FileContext.may_hold)."""
        kept = kept_lines(hint)
        source = Source.parse(text, filename) if kept is None else Source.parse_lazily(text, filename, kept)
        file = FileContext(source, self.settings, project, path, filename)
        file.hint = hint
        enabled = self.selection.for_file(file.relative_path)
        out = []
        for rule in self.rules:
            if rule.code in enabled:
                for report in rule.check(file):
                    out.append((rule, report))
        return file, out

    def _findings(self, file: FileContext, reports) -> Tuple[List[Finding], List[KeywordFix], Planner]:
        """The findings left after `# noqa`, each with its fix when the fix can be made
        (fixes.Planner: LibCST is loaded only when a finding has a fix to offer)."""
        findings, fixes = [], []
        lines = file.source.lines
        planner = Planner(file.source)
        for rule, report in reports:
            span = report.span or report.node
            if suppressed(lines, span.lineno, span.end_lineno, rule.code):
                continue
            row, column = file.source.start(report.node)
            end_row, end_column = file.source.end(report.node)
            fix = None
            if report.fix is not None and self.offer_fixes:
                edit = planner.edit(report.fix, FIX_ORDER)
                if edit is not None:
                    fix = Fix(report.fix.applicability, report.fix.message, to_edits(file.source.text, [edit]))
                    fixes.append(report.fix)
            findings.append(Finding(
                rule.code, rule.name, report.message, report.severity or rule.severity, file.filename,
                row, column + 1, end_row, end_column + 1, fix, (span.lineno, span.end_lineno),
            ))
        findings.sort(key=Finding.sort_key)
        return findings, fixes, planner

    def check_text(self, text: str, filename: str, path: Optional[Path], project: Project,
                   hint=None) -> List[Finding]:
        if file_is_skipped(text):
            return []
        try:
            file, reports = self.analyse(text, filename, path, project, hint)
        except SourceError as exc:
            return self._pol001(filename, exc)
        return self._findings(file, reports)[0]

    def _pol001(self, filename: str, exc: SourceError) -> List[Finding]:
        if "POL001" not in self.selection.enabled:
            return []
        return [unreadable(filename, exc.message, exc.row, exc.column)]

    def check_bytes(self, data: bytes, filename: str, path: Optional[Path], project: Project,
                    fix: bool = False, unsafe: bool = False, hint=None) -> FileResult:
        """`hint` (from the screen; ignored with `fix`, whose passes move lines): where a
        session rule can fire."""
        result = FileResult(filename)
        project.begin_file()
        try:
            text = decode(data)
        except SourceError as exc:
            result.findings = self._pol001(filename, exc)
            return result
        if fix:
            return self.fix_text(text, filename, path, project, unsafe)
        result.findings = self.check_text(text, filename, path, project, hint)
        own = project.real_path(path) if path is not None else None
        result.deps = tuple(sorted(str(p) for p in project.touched if p != own))
        result.runtime = project.runtime_seen
        return result

    def fix_text(self, text: str, filename: str, path: Optional[Path], project: Project,
                 unsafe: bool = False) -> FileResult:
        """Apply fixes pass by pass (a pass re-analyses the file) until none applies."""
        result = FileResult(filename, original_text=text)
        if file_is_skipped(text):
            return result
        current = text
        for _ in range(MAX_FIX_PASSES):
            try:
                file, reports = self.analyse(current, filename, path, project)
            except SourceError as exc:
                result.findings = self._pol001(filename, exc)
                return result  # never write a file that does not parse
            findings, fixes, planner = self._findings(file, reports)
            wanted = [f for f in fixes if f.applicability == "safe" or unsafe]
            if not wanted:
                break
            new, errors = planner.apply(wanted, FIX_ORDER)
            if errors:
                result.error = f"{filename}: fix not applied: {errors[0]}"
            if new == current:
                break
            current = new
            project.forget(path)
        if current != text:
            result.fixed_text = current
        result.findings = self.check_text(current, filename, path, project)
        return result
