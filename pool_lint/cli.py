"""The command line: a thin layer over config, runner and reporters (SPEC 5).

It is read with `click` (a run pays for what it imports before its first file: the
command line parser is part of every pre-commit call; click costs about its import, and
the help layout's `shutil` is avoided by giving click the terminal width)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional, Sequence, Tuple

import click

from . import __version__
from .config import ConfigError, Settings, load_settings
from .reporters import FORMAT_NAMES, ReportContext, render

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PROG = "pool-lint"


class UsageError(Exception):
    """A bad command-line value (exit status 2)."""


def _split_codes(option: str, values: Sequence[str]) -> Tuple[str, ...]:
    """The selectors of `--option` (comma- or space-separated); an unknown one is an error
    that names it (config.selector)."""
    from .config import selector

    out: List[str] = []
    for value in values:
        out += [selector(option, c) for c in value.replace(" ", ",").split(",") if c.strip()]
    return tuple(out)


def _per_file(values: Sequence[str]):
    out = []
    for value in values:
        for entry in value.split():
            glob, sep, codes = entry.rpartition(":")
            if not sep or not glob:
                raise UsageError(f"{entry!r}: expected GLOB:CODES, e.g. 'tests/*:POL1'")
            out.append((glob, _split_codes("--per-file-ignores", (codes,))))
    return tuple(out)


def _fail(message: str) -> None:
    print(f"pool-lint: error: {message}", file=sys.stderr)
    sys.exit(EXIT_ERROR)


def _emit(text: str, output_file: Optional[str], stream=None) -> None:
    """Write a report to `--output-file`, or else to the stream (standard output)."""
    if output_file:
        try:
            Path(output_file).write_text(text, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output_file}: {exc.strerror or exc}")
    else:
        (stream or sys.stdout).write(text)


class _Jobs(click.ParamType):
    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            jobs = int(value)
        except ValueError:
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if jobs < 1:
            self.fail(f"{jobs} is below 1", param, ctx)
        return jobs


def _columns() -> int:
    """The terminal's width, found without `shutil` (click imports it for help only when
    it is not given one)."""
    try:
        return int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (ValueError, OSError, AttributeError):
        return 80


class _FirstSpelling(click.Option):
    """A `--flag/--no-flag` whose help shows the first spelling only (the other is for
    callers that need to undo a flag, e.g. `--no-force-exclude`)."""

    def get_help_record(self, ctx):
        record = super().get_help_record(ctx)
        return (self.opts[0], record[1]) if record else record


def _command(name: str, params) -> click.Command:
    columns = _columns()
    return click.Command(f"{PROG} {name}", help=COMMANDS[name], params=params, add_help_option=True,
                         context_settings={"help_option_names": ["-h", "--help"],
                                           "terminal_width": columns, "max_content_width": columns})


COMMANDS = {
    "check": "Check PATHS (files or folders; default: the current folder; - for standard input).",
    "rule": "Show a rule's documentation (pool-lint rule POL101), or list all rules (--all).",
    "pools": "List every long-lived engine: pool settings, processes, replicas, worst case per database server.",
}


def _flag(*names, help=None, hidden=False):
    return click.Option(list(names), is_flag=True, default=False, help=help, hidden=hidden)


def _many(name, metavar, help, default=()):
    return click.Option([name], multiple=True, metavar=metavar, help=help, default=default)


def _check_command() -> click.Command:
    """The options of `pool-lint check`, as the argparse version had them."""
    O = click.Option
    return _command("check", [
        click.Argument(["paths"], nargs=-1, metavar="[PATHS]..."),
        O(["--output-format"], type=click.Choice(FORMAT_NAMES), default="text",
          help="How findings are printed (default: text)."),
        O(["--output-file"], metavar="FILE", help="Write findings to this file."),
        _flag("--show-source", help="Show the source line of each finding (text format)."),
        _flag("--statistics", help="Print a count of findings per code instead of the findings."),
        _flag("-q", "--quiet", help="Print findings only: no summary."),
        _flag("--exit-zero", help="Exit 0 even when findings remain."),
        _many("--select", "CODES", "Codes or prefixes to check (replaces the configured list)."),
        _many("--ignore", "CODES", "Codes or prefixes to skip."),
        _many("--extend-select", "CODES", "Codes or prefixes to add to the selection (POL202)."),
        _many("--per-file-ignores", "GLOB:CODES", "GLOB:CODES pairs, e.g. 'tests/*:POL1'."),
        _many("--exclude", "GLOBS",
              "Files and folders to leave out (comma-separated globs; replaces the configured and default list)."),
        _many("--extend-exclude", "GLOBS",
              "Files and folders to leave out, besides the excluded ones (comma-separated globs)."),
        _FirstSpelling(["--force-exclude/--no-force-exclude"], default=False,
                       help="Apply the excludes to paths named on the command line too (pre-commit passes it)."),
        O(["--respect-gitignore/--no-respect-gitignore"], default=None,
          help="Leave out what .gitignore files ignore (the default; config: respect-gitignore), "
               "or check them too."),
        _flag("--fix", help="Apply safe fixes."),
        _flag("--unsafe-fixes", help="With --fix or --diff, also apply unsafe fixes."),
        _flag("--diff", help="Print the diff --fix would apply; write nothing."),
        O(["--config", "config_file"], metavar="FILE", help="Read settings from this TOML file."),
        _flag("--isolated", help="Ignore every configuration file."),
        O(["--stdin-filename"], metavar="NAME", help="The name of the file read from standard input (-)."),
        O(["--jobs"], type=_Jobs(), metavar="N", help="Worker processes (default: all cores)."),
        _flag("--no-cache", help="Do not read or write the cache."),
        _flag("--show-runtime", help="Print the runtime verdict and its evidence per project root."),
        _flag("--no-screen", hidden=True),  # analyse every file (testing)
    ])


def _rule_command() -> click.Command:
    return _command("rule", [
        click.Argument(["code"], required=False, metavar="[CODE]"),
        click.Option(["--all", "show_all"], is_flag=True, default=False, help="List every rule."),
    ])


def _pools_command() -> click.Command:
    return _command("pools", [
        click.Argument(["paths"], nargs=-1, metavar="[PATHS]..."),
        click.Option(["--output-format"], type=click.Choice(("text", "json")), default="text",
                     help="A table (default) or JSON."),
        click.Option(["--output-file"], metavar="FILE", help="Write the inventory to this file."),
        click.Option(["--config", "config_file"], metavar="FILE", help="Read settings from this TOML file."),
        _flag("--isolated", help="Ignore every configuration file."),
    ])


def _parse(command: click.Command, args: List[str]) -> SimpleNamespace:
    """The command's options as attributes, or a usage error (exit 2, click's message on
    standard error), or its help (exit 0). The run itself happens outside click, so that
    SystemExit, KeyboardInterrupt and a broken pipe reach `entry` as they did."""
    try:
        ctx = command.make_context(command.name, list(args))
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_ERROR if isinstance(error, click.UsageError) else error.exit_code)
    params = dict(ctx.params)
    if "exclude" in params and not params["exclude"]:
        params["exclude"] = None  # not given: the configured and default list
    for name in ("select", "ignore", "extend_select", "per_file_ignores", "extend_exclude"):
        if name in params:
            params[name] = list(params[name])
    if "paths" in params:
        params["paths"] = list(params["paths"])
    return SimpleNamespace(**params)


def pools(args: SimpleNamespace) -> None:
    """`pool-lint pools`: exit 0, or 2 on a configuration or internal error."""
    from .inventory import run as inventory

    paths = tuple(args.paths) or (".",)
    try:
        start = Path(paths[0])
        settings = load_settings(Path(args.config_file) if args.config_file else None,
                                 start if start.exists() else Path.cwd(), args.isolated)
        text = inventory(paths, settings, args.output_format)
    except ConfigError as exc:
        _fail(str(exc))
    _emit(text, args.output_file)
    sys.exit(EXIT_CLEAN)


def _top_help() -> str:
    width = max(map(len, COMMANDS))
    commands = "\n".join(f"  {name:<{width}}  {text}" for name, text in COMMANDS.items())
    return (f"usage: {PROG} [-h] [--version] COMMAND [ARGS]...\n\n"
            "pool-lint: keep SQLAlchemy connection pools healthy.\n\n"
            "options:\n  -h, --help     show this help message and exit\n  -V, --version  show the version and exit\n\n"
            f"commands:\n{commands}\n\n`{PROG} COMMAND --help` describes a command.\n")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command line (`argv`: the arguments, default sys.argv[1:]); ends in SystemExit."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        (sys.stdout if args else sys.stderr).write(_top_help())
        sys.exit(EXIT_CLEAN if args else EXIT_ERROR)
    if args[0] in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        sys.exit(EXIT_CLEAN)
    command, rest = args[0], args[1:]
    if command == "check":
        check(_parse(_check_command(), rest))
    elif command == "rule":
        rule(_parse(_rule_command(), rest))
        sys.exit(EXIT_CLEAN)
    elif command == "pools":
        pools(_parse(_pools_command(), rest))
    else:
        sys.stderr.write(f"usage: {PROG} [-h] [--version] COMMAND [ARGS]...\n"
                         f"{PROG}: error: no such command {command!r} (choose from {', '.join(COMMANDS)})\n")
        sys.exit(EXIT_ERROR)


def check(args: SimpleNamespace) -> None:
    from .runner import RunOptions, discover_targets, run, run_stdin, write_fixes

    paths = tuple(args.paths) or (".",)
    stdin_filename, output_format, fix, diff = args.stdin_filename, args.output_format, args.fix, args.diff
    config_file = args.config_file
    if config_file and os.path.isdir(config_file):
        _fail(f"--config {config_file}: a folder, not a TOML file")
    if args.output_file and os.path.isdir(args.output_file):
        _fail(f"--output-file {args.output_file}: a folder, not a file")
    if args.statistics and output_format not in ("text", "json"):
        _fail(f"--statistics: not available with --output-format {output_format} (text or json)")
    try:
        start = Path(stdin_filename if paths == ("-",) and stdin_filename else paths[0])
        settings = load_settings(Path(config_file) if config_file else None,
                                 start if start.exists() else Path.cwd(), args.isolated)
        settings = _apply_cli(settings, args.select, args.ignore, args.extend_select, args.per_file_ignores)
        settings = _apply_files(settings, args.exclude, args.extend_exclude, args.respect_gitignore)
    except (ConfigError, UsageError) as exc:
        _fail(str(exc))

    options = RunOptions(fix=fix, unsafe_fixes=args.unsafe_fixes, diff=diff, jobs=args.jobs,
                         use_cache=not args.no_cache, screen=not args.no_screen)
    listing: dict = {}  # the folders the discovery lists, listed once for the whole run
    targets, warnings = discover_targets(paths, settings, stdin_filename, listing, args.force_exclude)
    for warning in warnings:
        print(f"pool-lint: warning: {warning}", file=sys.stderr)

    if args.show_runtime:
        _print_runtimes(targets, settings)

    stdin_targets = [t for t in targets if t.display == (stdin_filename or "-") and "-" in paths]
    file_targets = [t for t in targets if t not in stdin_targets]
    results = []
    stdin_fixed = None
    if stdin_targets:
        from .files import MAX_BYTES, too_large

        data = sys.stdin.buffer.read(MAX_BYTES + 1)  # never more than the cap (SPEC 5 "Safety")
        if len(data) > MAX_BYTES:
            from .findings import FileResult, unreadable

            display = stdin_targets[0].display
            stdin_result = FileResult(display, [unreadable(display, f"cannot read: {too_large(len(data))}")])
            data = b""
        else:
            stdin_result = run_stdin(data, stdin_targets[0], settings, options)
        results.append(stdin_result)
        if fix and not diff:
            stdin_fixed = stdin_result.fixed_text if stdin_result.fixed_text is not None else data.decode("utf-8", "replace")
    elif "-" in paths and fix and not diff:  # standard input left out by --force-exclude: passed on as it is
        for chunk in iter(lambda: sys.stdin.buffer.read(65536), b""):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        stdin_fixed = ""  # the report goes to standard error, as after a fix of standard input
    cache_folder = Path(settings.source).parent if settings.source and settings.source.endswith(".toml") else Path.cwd()
    run_result = run(file_targets, settings, options, cache_folder, listing, _KEPT)
    results += run_result.results
    for warning in run_result.warnings:
        print(f"pool-lint: warning: {warning}", file=sys.stderr)

    errors = [r.error for r in results if r.error]
    changed = [r for r in results if r.fixed_text is not None]
    if diff:
        import difflib

        for r in changed:
            sys.stdout.write("".join(difflib.unified_diff(
                r.original_text.splitlines(keepends=True), r.fixed_text.splitlines(keepends=True),
                fromfile=f"a/{r.filename}", tofile=f"b/{r.filename}")))
    elif fix:
        errors += write_fixes([r for r in changed if r not in [x for x in results if x.filename == "-"]],
                              {t.display: t for t in file_targets})
    for error in errors:
        print(f"pool-lint: warning: {error}", file=sys.stderr)

    findings = sorted((f for r in results for f in r.findings), key=lambda f: f.sort_key())
    fixed = sum(r.fixed for r in changed)
    if diff:  # the diff only, and on stderr what it would fix (stdout stays a patch)
        if not args.quiet:
            _diff_summary(fixed, findings, args.unsafe_fixes, sys.stderr)
        if any(r.crashed for r in results):
            sys.exit(EXIT_ERROR)
        sys.exit(EXIT_FINDINGS if changed and not args.exit_zero else EXIT_CLEAN)
    context = ReportContext(show_source=args.show_source, unsafe_fixes=args.unsafe_fixes)
    if args.show_source and not args.statistics:
        context.sources = _sources(findings, {t.display: t for t in targets}, results)
    if args.statistics:
        from .reporters.text import statistics

        rendered = statistics(findings, args.unsafe_fixes, output_format)
    else:
        rendered = render(output_format, findings, context)
    if stdin_fixed is not None:
        sys.stdout.write(stdin_fixed)
        stream = sys.stderr
    else:
        stream = sys.stdout
    _emit(rendered, args.output_file, stream)
    if output_format == "text" and not args.quiet and not args.output_file:
        _summary(findings, fixed if fix else 0, args.unsafe_fixes, stream)

    if any(r.crashed for r in results):
        sys.exit(EXIT_ERROR)  # an internal error left a file unchecked
    sys.exit(EXIT_FINDINGS if findings and not args.exit_zero else EXIT_CLEAN)


def _apply_cli(settings: Settings, select, ignore, extend_select, per_file_ignores) -> Settings:
    changes = {}
    if select:
        changes["select"] = _split_codes("--select", select)
    if ignore:
        changes["ignore"] = settings.ignore + _split_codes("--ignore", ignore)
    if extend_select:
        changes["extend_select"] = settings.extend_select + _split_codes("--extend-select", extend_select)
    if per_file_ignores:
        changes["per_file_ignores"] = settings.per_file_ignores + _per_file(per_file_ignores)
    return settings._replace(**changes) if changes else settings


def _apply_files(settings: Settings, exclude, extend_exclude, respect_gitignore) -> Settings:
    """--exclude (replaces the list), --extend-exclude (adds to it), --[no-]respect-gitignore."""
    def globs(values):
        return tuple(g.strip() for value in values for g in value.split(",") if g.strip())

    changes = {}
    if exclude is not None:
        changes["exclude"] = globs(exclude)
    if extend_exclude:
        changes["extend_exclude"] = settings.extend_exclude + globs(extend_exclude)
    if respect_gitignore is not None:
        changes["respect_gitignore"] = respect_gitignore
    return settings._replace(**changes) if changes else settings


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
        if text is None and target is not None and target.path is not None and not target.missing:
            from .files import read_or_none

            data = read_or_none(target.file)
            text = data.decode("utf-8", "replace") if data is not None else None
        if text is not None:
            sources[f.filename] = text.splitlines(keepends=True)
    return sources


def _plural(count: int, noun: str, plural: str = "s") -> str:
    return f"{count} {noun}{'' if count == 1 else plural}"


def _hidden(findings, unsafe_fixes: bool) -> int:
    """How many findings have an unsafe fix that this run's applicability leaves out."""
    return 0 if unsafe_fixes else sum(1 for f in findings if f.fix is not None and f.fix.applicability == "unsafe")


def _summary(findings, fixed: int, unsafe_fixes: bool, stream) -> None:
    """ruff's summary: what was found (and fixed, with --fix), then what --fix can fix."""
    if fixed:
        stream.write(f"Found {_plural(fixed + len(findings), 'finding')} ({fixed} fixed, {len(findings)} remaining).\n")
    elif findings:
        stream.write(f"Found {_plural(len(findings), 'finding')}.\n")
    else:
        stream.write("All checks passed!\n")
    fixable = sum(1 for f in findings if f.fixable(unsafe_fixes))
    hidden = _hidden(findings, unsafe_fixes)
    more = f"{_plural(hidden, 'unsafe fix', 'es')} available with `--fix --unsafe-fixes`"
    if fixable:
        stream.write(f"[*] {fixable} fixable with `--fix`" + (f" ({more})" if hidden else "") + ".\n")
    elif hidden:
        stream.write(f"{more}.\n")


def _diff_summary(fixed: int, remaining, unsafe_fixes: bool, stream) -> None:
    """ruff's line after --diff: how many findings --fix would fix (and what --unsafe-fixes adds)."""
    hidden = _hidden(remaining, unsafe_fixes)
    fixes = "fix" if hidden == 1 else "fixes"
    if fixed and hidden:
        stream.write(f"Would fix {_plural(fixed, 'finding')} ({hidden} additional {fixes} available with "
                     "`--unsafe-fixes`).\n")
    elif fixed:
        stream.write(f"Would fix {_plural(fixed, 'finding')}.\n")
    elif hidden:
        stream.write(f"No findings would be fixed ({hidden} {fixes} available with `--unsafe-fixes`).\n")


def _print_runtimes(targets, settings: Settings) -> None:
    from .analysis.runtime import detect_runtime
    from .files import project_root

    roots = sorted({project_root(t.path) for t in targets if t.path is not None and not t.missing})
    for root in roots:
        verdict = detect_runtime(root, settings.runtime)
        print(f"{root}: {verdict.describe()}", file=sys.stderr)


def rule(args: SimpleNamespace) -> None:
    from .rules import ALL_RULES

    code, show_all = args.code, args.show_all
    if show_all or not code:
        width = max(len(r.name) for r in ALL_RULES.values())
        for r in ALL_RULES.values():
            default = "" if r.default_enabled else "  (off by default)"
            print(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  fix: {r.fix:<11}  {r.summary()}{default}")
        return
    found = ALL_RULES.get(code.upper())
    if found is None:
        _fail(f"unknown rule {code!r}; `pool-lint rule --all` lists them")
    print(f"# {found.name} ({found.code})\n")
    print(f"Default severity: {found.severity}. Fix: {found.fix}."
          + ("" if found.default_enabled else " Off by default: enable with `extend-select = [\"" + found.code + "\"]`.")
          + "\n")
    print(found.docs())


# The run's large objects, kept to the end where the process leaves without freeing them
# (`entry`; a run in a longer-lived process frees them).
_KEPT: Optional[list] = None


def entry() -> None:
    global _KEPT
    _KEPT = []
    try:
        main()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(EXIT_ERROR)
    except BrokenPipeError:  # the reader left (`| head`): nothing more to say, and no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        os._exit(EXIT_FINDINGS)
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
