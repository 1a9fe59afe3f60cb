"""pool-lint: a static checker for SQLAlchemy connection-pool hygiene.

The Python API (SPEC 8), used by the CLI, the flake8 plugin and the tests alike:

    >>> from pool_lint import lint_source, fix_source
    >>> [f.code for f in lint_source("from sqlalchemy import create_engine\\nengine = create_engine(URL)\\n",
    ...                              settings={"runtime": "server"})]
    ['POL101', 'POL102', 'POL105', 'POL106', 'POL107']
"""
from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path
from typing import List, Mapping, Optional, Union

from .findings import Edit, Finding, Fix

__all__ = ["Edit", "Finding", "Fix", "fix_source", "lint_source", "__version__"]


def _checker_for(settings, select, ignore, extend_select):
    from .checker import Checker
    from .config import Settings, selector, settings_from_table

    if settings is None:
        settings = Settings()
    elif isinstance(settings, Mapping):
        settings = settings_from_table(dict(settings), "<api>")
    changes = {}
    for key, codes in (("select", select), ("ignore", ignore), ("extend_select", extend_select)):
        if codes is not None:  # an unknown code is a ConfigError, as in the configuration
            codes = [codes] if isinstance(codes, str) else codes
            changes[key] = tuple(selector(f"{key}=", code) for code in codes)
    if changes:
        settings = settings._replace(**changes)
    return Checker(settings)


def _project(checker, path: Optional[Union[str, Path]]):
    from .files import project_root

    where = Path(path) if path is not None else Path.cwd() / "<stdin>.py"
    return checker.project(project_root(where if where.exists() else where.parent if where.parent.exists() else Path.cwd())), (
        where.resolve() if path is not None else None)


def lint_source(source: Union[str, bytes], path: Optional[Union[str, Path]] = None, *, settings=None,
                select=None, ignore=None, extend_select=None, fixes: bool = True) -> List[Finding]:
    """Findings for one file's source. `path` names it (file roles, project root, reports);
    `settings` is a `config.Settings` or a mapping of `[tool.pool-lint]` keys. With
    `fixes=False` no finding carries a fix, and LibCST is never loaded."""
    checker = _checker_for(settings, select, ignore, extend_select)
    checker.offer_fixes = fixes
    project, resolved = _project(checker, path)
    filename = str(path) if path is not None else "<stdin>"
    data = source.encode("utf-8") if isinstance(source, str) else source
    return checker.check_bytes(data, filename, resolved, project).findings


def fix_source(source: str, path: Optional[Union[str, Path]] = None, *, settings=None, unsafe: bool = False,
               select=None, ignore=None, extend_select=None) -> str:
    """The source with the applicable fixes applied (unchanged when there is nothing to fix)."""
    checker = _checker_for(settings, select, ignore, extend_select)
    project, resolved = _project(checker, path)
    filename = str(path) if path is not None else "<stdin>"
    bom = "\ufeff" if source.startswith("\ufeff") else ""
    result = checker.fix_text(source[len(bom):], filename, resolved, project, unsafe=unsafe)
    return bom + result.fixed_text if result.fixed_text is not None else source
