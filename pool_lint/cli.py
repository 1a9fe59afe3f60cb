"""The command line: a thin layer over config, runner and reporters (SPEC 5)."""
from __future__ import annotations

import difflib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional, Tuple

import click

from . import __version__
from .config import ConfigError, Settings, load_settings
from .reporters import FORMAT_NAMES, ReportContext, render

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split_codes(values: Tuple[str, ...]) -> Tuple[str, ...]:
    out: List[str] = []
    for value in values:
        out += [c.strip().upper() for c in value.replace(" ", ",").split(",") if c.strip()]
    for code in out:
        if not code.startswith("POL") and code != "ALL":
            raise click.BadParameter(f"{code!r} is not a pool-lint code or prefix (expected 'POL...')")
    return tuple(out)


def _per_file(values: Tuple[str, ...]):
    out = []
    for value in values:
        for entry in value.split():
            glob, sep, codes = entry.rpartition(":")
            if not sep or not glob:
                raise click.BadParameter(f"{entry!r}: expected GLOB:CODES, e.g. 'tests/*:POL1'")
            out.append((glob, _split_codes((codes,))))
    return tuple(out)


def _fail(message: str) -> None:
    click.echo(f"pool-lint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pool-lint")
def main() -> None:
    """pool-lint: keep SQLAlchemy connection pools healthy."""


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--output-format", type=click.Choice(FORMAT_NAMES), default="text", show_default=True,
              help="How findings are printed.")
@click.option("--output-file", type=click.Path(dir_okay=False, writable=True), help="Write findings to this file.")
@click.option("--show-source", is_flag=True, help="Show the source line of each finding (text format).")
@click.option("--statistics", is_flag=True, help="Count findings per code.")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only: no summary.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--select", multiple=True, help="Codes or prefixes to check (replaces the configured list).")
@click.option("--ignore", multiple=True, help="Codes or prefixes to skip.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to add to the selection (POL202).")
@click.option("--per-file-ignores", multiple=True, help="GLOB:CODES pairs, e.g. 'tests/*:POL1'.")
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the diff --fix would apply; write nothing.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Read settings from this TOML file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--stdin-filename", help="The name of the file read from standard input (-).")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--show-runtime", is_flag=True, help="Print the runtime verdict and its evidence per project root.")
@click.option("--no-screen", is_flag=True, hidden=True, help="Analyse every file (testing).")
def check(paths, output_format, output_file, show_source, statistics, quiet, exit_zero, select, ignore,
          extend_select, per_file_ignores, fix, unsafe_fixes, diff, config_file, isolated, stdin_filename,
          jobs, no_cache, show_runtime, no_screen):
    """Check PATHS (files or folders; default: the current folder; - for standard input)."""
    from .runner import RunOptions, discover_targets, run, run_stdin, write_fixes

    paths = paths or (".",)
    try:
        start = Path(stdin_filename if paths == ("-",) and stdin_filename else paths[0])
        settings = load_settings(Path(config_file) if config_file else None,
                                 start if start.exists() else Path.cwd(), isolated)
        settings = _apply_cli(settings, select, ignore, extend_select, per_file_ignores)
    except ConfigError as exc:
        _fail(str(exc))
    except click.BadParameter as exc:
        _fail(exc.format_message())

    options = RunOptions(fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, jobs=jobs, use_cache=not no_cache,
                         screen=not no_screen)
    listing: dict = {}  # the folders the discovery lists, listed once for the whole run
    targets, warnings = discover_targets(paths, settings, stdin_filename, listing)
    for warning in warnings:
        click.echo(f"pool-lint: warning: {warning}", err=True)

    if show_runtime:
        _print_runtimes(targets, settings)

    stdin_targets = [t for t in targets if t.display == (stdin_filename or "-") and "-" in paths]
    file_targets = [t for t in targets if t not in stdin_targets]
    results = []
    stdin_fixed = None
    if stdin_targets:
        data = sys.stdin.buffer.read()
        stdin_result = run_stdin(data, stdin_targets[0], settings, options)
        results.append(stdin_result)
        if fix and not diff:
            stdin_fixed = stdin_result.fixed_text if stdin_result.fixed_text is not None else data.decode("utf-8", "replace")
    cache_folder = Path(settings.source).parent if settings.source and settings.source.endswith(".toml") else Path.cwd()
    run_result = run(file_targets, settings, options, cache_folder, listing)
    results += run_result.results
    for warning in run_result.warnings:
        click.echo(f"pool-lint: warning: {warning}", err=True)

    errors = [r.error for r in results if r.error]
    changed = [r for r in results if r.fixed_text is not None]
    if diff:
        for r in changed:
            click.echo("".join(difflib.unified_diff(
                r.original_text.splitlines(keepends=True), r.fixed_text.splitlines(keepends=True),
                fromfile=f"a/{r.filename}", tofile=f"b/{r.filename}")), nl=False)
    elif fix:
        errors += write_fixes([r for r in changed if r not in [x for x in results if x.filename == "-"]],
                              {t.display: t for t in file_targets})
    for error in errors:
        click.echo(f"pool-lint: warning: {error}", err=True)

    findings = sorted((f for r in results for f in r.findings), key=lambda f: f.sort_key())
    context = ReportContext(show_source=show_source)
    if show_source:
        context.sources = _sources(findings, {t.display: t for t in targets}, results)
    rendered = render(output_format, findings, context)
    if stdin_fixed is not None:
        sys.stdout.write(stdin_fixed)
        stream = sys.stderr
    else:
        stream = sys.stdout
    if output_file:
        try:
            Path(output_file).write_text(rendered, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output_file}: {exc.strerror or exc}")
    else:
        stream.write(rendered)
    if output_format == "text" and statistics:
        from .reporters.text import statistics as stats

        (sys.stderr if output_file else stream).write(stats(findings))
    if output_format == "text" and not quiet and not output_file:
        _summary(findings, changed, fix and not diff, stream)

    if any(r.crashed for r in results):
        sys.exit(EXIT_ERROR)  # an internal error left a file unchecked
    if diff:
        sys.exit(EXIT_FINDINGS if changed and not exit_zero else EXIT_CLEAN)
    sys.exit(EXIT_FINDINGS if findings and not exit_zero else EXIT_CLEAN)


def _apply_cli(settings: Settings, select, ignore, extend_select, per_file_ignores) -> Settings:
    changes = {}
    if select:
        changes["select"] = _split_codes(select)
    if ignore:
        changes["ignore"] = settings.ignore + _split_codes(ignore)
    if extend_select:
        changes["extend_select"] = settings.extend_select + _split_codes(extend_select)
    if per_file_ignores:
        changes["per_file_ignores"] = settings.per_file_ignores + _per_file(per_file_ignores)
    return replace(settings, **changes) if changes else settings


def _sources(findings, targets, results):
    sources = {}
    for f in findings:
        if f.filename in sources:
            continue
        target = targets.get(f.filename)
        text = None
        for r in results:
            if r.filename == f.filename and r.fixed_text is not None:
                text = r.fixed_text
        if text is None and target is not None and target.path is not None and target.path.is_file():
            try:
                text = target.path.read_bytes().decode("utf-8", "replace")
            except OSError:
                text = None
        if text is not None:
            sources[f.filename] = text.splitlines(keepends=True)
    return sources


def _summary(findings, changed, fixed: bool, stream) -> None:
    fixable = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "unsafe")
    if fixed and changed:
        stream.write(f"Fixed {len(changed)} file{'s' if len(changed) != 1 else ''}.\n")
    if not findings:
        stream.write("All checks passed!\n")
        return
    noun = "finding" if len(findings) == 1 else "findings"
    extra = []
    if fixable:
        extra.append(f"{fixable} fixable with `--fix`")
    if unsafe:
        extra.append(f"{unsafe} with `--unsafe-fixes`")
    stream.write(f"Found {len(findings)} {noun}" + (f" ({'; '.join(extra)})" if extra else "") + ".\n")


def _print_runtimes(targets, settings: Settings) -> None:
    from .analysis.runtime import detect_runtime
    from .files import project_root

    roots = sorted({project_root(t.path) for t in targets if t.path is not None and not t.missing})
    for root in roots:
        verdict = detect_runtime(root, settings.runtime)
        click.echo(f"{root}: {verdict.describe()}", err=True)


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="List every rule.")
def rule(code: Optional[str], show_all: bool):
    """Show a rule's documentation (pool-lint rule POL101), or list all rules (--all)."""
    from .rules import ALL_RULES

    if show_all or not code:
        width = max(len(r.name) for r in ALL_RULES.values())
        for r in ALL_RULES.values():
            default = "" if r.default_enabled else "  (off by default)"
            click.echo(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  fix: {r.fixable():<11}  {r.summary()}{default}")
        return
    found = ALL_RULES.get(code.upper())
    if found is None:
        _fail(f"unknown rule {code!r}; `pool-lint rule --all` lists them")
    click.echo(f"# {found.name} ({found.code})\n")
    click.echo(f"Default severity: {found.severity}. Fix: {found.fixable()}."
               + ("" if found.default_enabled else " Off by default: enable with `extend-select = [\"" + found.code + "\"]`.")
               + "\n")
    click.echo(found.docs())


def entry() -> None:
    try:
        main(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(EXIT_ERROR)
    except SystemExit as done:
        if done.code is not None and not isinstance(done.code, int):
            raise
        # Everything is written and the workers are gone: leave without tearing down the
        # run's objects one by one (a tenth of a second on a large tree's indexes).
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
                pass
        os._exit(done.code or 0)
