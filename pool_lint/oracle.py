"""The reference the speed devices are tested against (an internal API, not part of the
command line): `pool-lint check` over a tree with no screen, no hints, no cache, one
process, and every module parsed whole (no lazy skeleton), in any file order; and the
same run with the screen, hints and lazy parses on, in any file order, to compare with
it (tests/test_screen_differential.py)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

Row = Tuple[str, int, int, str, str]  # (file, row, column, code, message)


@contextlib.contextmanager
def whole_parses():
    """Within: every module is parsed whole (source.Source.parse_lazily cuts nothing)."""
    from .analysis import source

    before, source.WHOLE = source.WHOLE, True
    try:
        yield
    finally:
        source.WHOLE = before


def check_tree(root: Path, oracle: bool = False, order: Optional[Callable[[list], list]] = None,
               jobs: int = 1, extend_select: Sequence[str] = ("POL202",)) -> List[Row]:
    """The findings of a check of `root` (its own configuration), sorted. `oracle`: no
    screen, no hints, whole parses. `order(targets)`: the order the files are analysed
    in (and so the order the project's modules are first parsed in)."""
    from .config import load_settings
    from .runner import RunOptions, discover_targets, run

    root = Path(root)
    settings = load_settings(None, root)
    settings = settings._replace(extend_select=settings.extend_select + tuple(extend_select))
    options = RunOptions(jobs=jobs, use_cache=False, screen=not oracle)
    listing: dict = {}
    targets, _ = discover_targets((str(root),), settings, None, listing)
    targets = list(targets)
    if order is not None:
        targets = order(targets)
    with whole_parses() if oracle else contextlib.nullcontext():
        result = run(targets, settings, options, None, listing)
    return sorted((f.filename, f.row, f.column, f.code, f.message) for f in result.findings)
