"""The flake8 plugin: the findings `pool-lint check` reports for the file flake8 gives it.

pool-lint's own configuration (`[tool.pool-lint]` in the nearest pyproject.toml above the
file) applies as it does for `pool-lint check`: selection (POL202 stays off unless it is
selected there), thresholds, runtime, `per-file-ignores`. flake8's `--select`,
`--extend-ignore` and `# noqa` then filter further, as for any plugin.

A configuration `pool-lint check` rejects (invalid TOML, an unknown key or rule code, a
wrongly typed value) stops flake8 too, with pool-lint's message: flake8 reports that the
plugin failed on the file and exits non-zero. It is never replaced by the defaults.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from . import __version__


class ConfigurationError(Exception):
    """A broken `[tool.pool-lint]`, as flake8 shows it (it prints the exception's repr)."""

    def __repr__(self) -> str:
        return f"an invalid pool-lint configuration: {self}"


class PoolLintChecker:
    name = "pool-lint"
    version = __version__

    def __init__(self, tree, filename: str = "stdin", lines: Optional[List[str]] = None):
        self.filename = filename
        self.lines = lines
        # Read here, where flake8 turns an exception into a message that names the plugin
        # and the file, and stops with a non-zero status.
        self.settings = self._settings()

    def _settings(self):
        from .config import ConfigError, load_settings

        where = Path(self.filename) if self.filename not in ("stdin", "-") else Path.cwd()
        try:
            return load_settings(None, where if where.exists() else Path.cwd())
        except ConfigError as exc:
            raise ConfigurationError(str(exc)) from None

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        from . import lint_source

        if self.lines is not None:
            source = "".join(self.lines)
        else:
            source = Path(self.filename).read_text(encoding="utf-8")
        path = self.filename if self.filename not in ("stdin", "-") else None
        for finding in lint_source(source, path=path, settings=self.settings, fixes=False):  # flake8 shows none
            yield finding.row, finding.column - 1, f"{finding.code} {finding.message}", type(self)
