"""Checking one file: decode, apply the file's plan (plan.Plan, made by the project
index; all of it where there is none), parse, run the enabled rules, apply `# noqa`, and
(for `--fix`) apply the fixes until none is left. The CLI, the flake8 plugin and the
Python API all come through here.

The plan is applied before any rule runs: only the rule families it names run, the file
is parsed in full only where a rule may look, and each rule sees only the functions and
calls of the lines where it may report (FileContext.scope). The engine and session rules
(POL1xx, POL2xx) do not run in test code or migrations unless `check-tests` (the file's
role, from its path and imports)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

from .analysis import catalog
from .analysis.context import FileContext
from .analysis.project import Project
from .analysis.source import Source, SourceError, decode
from .config import Settings
from .findings import FileResult, Finding, unreadable  # noqa: F401 - FileResult: part of this API
from .fixes import KeywordFix, Offers, Planner, to_edits
from .findings import Fix
from .plan import EVERYTHING, FAMILIES, Plan
from .rules import ALL_RULES
from .selection import Selection, file_is_skipped, file_noqa, suppressed

# The families silent in test code and migrations unless `check-tests` (SPEC 3, file
# roles): the engine rules (POL1xx) and the session rules (POL2xx): every family a plan names.
ROLE_FAMILIES = frozenset(FAMILIES)
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
    def analyse(self, text: str, filename: str, path: Optional[Path], project: Project, plan: Plan = EVERYTHING,
                heads=None):
        """(context, [(rule, report)]) for a decoded text; raises SourceError. `plan`:
        what the project index lets fire in the file, and where; `heads`: the text's
        statements.heads, known from the scan (for its lazy parse)."""
        kept = plan.parsed_whole()
        source = Source.parse(text, filename) if kept is None else Source.parse_lazily(text, filename, kept, heads)
        file = FileContext(source, self.settings, project, path, filename, plan)
        out = []
        for rule in self.rules_for(file):
            file.scope = plan.lines(rule.family)
            for report in rule.check(file):
                out.append((rule, report))
        file.scope = None
        return file, out

    def rules_for(self, file: FileContext) -> list:
        """The rules to run on a file: enabled for its path, of a family its plan lets
        fire; the engine and session rules only in application code (not in tests or
        migrations) unless `check-tests`."""
        enabled = self.selection.for_file(file.relative_path)
        plan = file.plan
        rules = [rule for rule in self.rules if rule.code in enabled and plan.runs(rule.family)]
        if not self.settings.check_tests and any(rule.family in ROLE_FAMILIES for rule in rules) \
                and file.role != "app":
            rules = [rule for rule in rules if rule.family not in ROLE_FAMILIES]
        return rules

    def _findings(self, file: FileContext, reports, defer: bool = False
                  ) -> Tuple[List[Finding], List[KeywordFix], Planner, Optional[Offers]]:
        """The findings left after `# noqa`, each with its fix when the fix can be made
        (fixes.Planner: LibCST is loaded only when a finding has a fix to offer). With
        `defer`, no edit is made here: the fixes to offer come back as Offers, for the
        process that collects the result to make (fixes.settle), and LibCST is not loaded."""
        findings, fixes = [], []
        lines = file.source.lines
        exempt = file_noqa(file.source.text) or ()  # `# pool-lint: noqa: POL101,POL105`
        planner = Planner(file.source)
        deferred = []
        for rule, report in reports:
            if exempt and rule.code.startswith(exempt):
                continue
            span = report.span or report.node
            if suppressed(lines, span.lineno, span.end_lineno, rule.code):
                continue
            row, column = file.source.start(report.node)
            end_row, end_column = file.source.end(report.node)
            fix = request = None
            if report.fix is not None and self.offer_fixes:
                if defer:
                    request = planner.request(report.fix, FIX_ORDER)
                else:
                    edit = planner.edit(report.fix, FIX_ORDER)
                    if edit is not None:
                        fix = Fix(report.fix.applicability, report.fix.message, to_edits(file.source.text, [edit]))
                        fixes.append(report.fix)
            finding = Finding(
                rule.code, rule.name, report.message, report.severity or rule.severity, file.filename,
                row, column + 1, end_row, end_column + 1, fix, (span.lineno, span.end_lineno),
            )
            findings.append(finding)
            if request is not None:
                deferred.append((finding, report.fix.applicability, report.fix.message, request))
        findings.sort(key=Finding.sort_key)
        offers = None
        if deferred:  # each edit asked in the order planner.edit would have been asked
            index = {id(finding): i for i, finding in enumerate(findings)}
            offers = (file.source.text, tuple((index[id(finding)], applicability, message) + request
                                              for finding, applicability, message, request in deferred))
        return findings, fixes, planner, offers

    def check_text(self, text: str, filename: str, path: Optional[Path], project: Project,
                   plan: Plan = EVERYTHING) -> List[Finding]:
        return self._checked(text, filename, path, project, plan)[0]

    def _checked(self, text: str, filename: str, path: Optional[Path], project: Project,
                 plan: Plan = EVERYTHING, defer: bool = False, heads=None) -> Tuple[List[Finding], Optional[Offers]]:
        """(findings, the fixes left to make with `defer`: Offers, or None)."""
        if file_is_skipped(text):
            return [], None
        try:
            file, reports = self.analyse(text, filename, path, project, plan, heads)
        except SourceError as exc:
            return self._pol001(filename, exc, text), None
        findings, _, _, offers = self._findings(file, reports, defer)
        return findings, offers

    def _pol001(self, filename: str, exc: SourceError, text: str = "") -> List[Finding]:
        if "POL001" not in self.selection.enabled:
            return []
        exempt = file_noqa(text) or ()
        if exempt and "POL001".startswith(exempt):
            return []
        return [unreadable(filename, exc.message, exc.row, exc.column)]

    def check_bytes(self, data: bytes, filename: str, path: Optional[Path], project: Project,
                    fix: bool = False, unsafe: bool = False, plan: Plan = EVERYTHING,
                    defer_fixes: bool = False, heads=None) -> FileResult:
        """`plan` (from the project index; ignored with `fix`, whose passes move lines):
        what may fire in the file, and where. `defer_fixes` (without `fix`): the edits of
        the fixes to offer are left to the caller, in `offers` (fixes.settle makes them).
        `heads`: the statements.heads of these bytes, where the scan laid them out."""
        result = FileResult(filename)
        project.begin_file()
        try:
            text = decode(data)
        except SourceError as exc:
            result.findings = self._pol001(filename, exc)
            return result
        if fix:
            return self.fix_text(text, filename, path, project, unsafe)
        result.findings, result.offers = self._checked(text, filename, path, project, plan, defer_fixes, heads)
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
        found = None  # how many findings the text had before the first fix
        for _ in range(MAX_FIX_PASSES):
            try:
                file, reports = self.analyse(current, filename, path, project)
            except SourceError as exc:
                result.findings = self._pol001(filename, exc, current)
                return result  # never write a file that does not parse
            findings, fixes, planner, _ = self._findings(file, reports)
            found = len(findings) if found is None else found
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
        if result.fixed_text is not None:  # the findings the fixes made go away (a pass may
            # fix a call's removals first and its insertions next: counted once, here)
            result.fixed = max(0, (found or 0) - len(result.findings))
        return result
