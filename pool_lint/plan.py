"""What the project index lets the checker do in one file: a `Plan`.

The index (screen.Index) decides, from bytes, which files can hold a finding; for each
one it makes a plan: which rule families may fire there and, for a session family,
the lines of the module-level statements (a function with all it holds, or one member
of a class) where one of its rules may. The checker applies the plan before any rule
runs: it runs only the families the plan names, parses in full only the lines a rule
may look at, and shows each rule only the functions and calls of its lines. Rules
never see the plan (nor hints, nor raw text).

A plan is plain data (`to_plain` / `from_plain`: ints and lists), so that the cache
can keep it: a cached result holds only for the plan it was made with. `from_plain`
checks the shape (this module is the one place that knows it): the cache reads plans
back from a file the checked repository could have written.

This module imports nothing of pool-lint: the index, the runner, the cache and the
checker all build on it.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Tuple

Ranges = Tuple[Tuple[int, int], ...]  # (first, last) lines, both included
LAST_LINE = 1 << 30  # past the last line of any file pool-lint reads (files.MAX_BYTES)
EVERYWHERE: Ranges = ((1, LAST_LINE),)

# The rule families, in the order of a plan's fields (and of screen.Index.hint):
# "engine" POL101-POL111, "async" POL204, and the session families "external"
# POL201/POL202, "create" POL203, "tasks" POL205 (each rule names its own: Rule.family).
FAMILIES = ("engine", "async", "external", "create", "tasks")
SESSION_FAMILIES = FAMILIES[2:]
_AT = {family: at for at, family in enumerate(FAMILIES)}


class Plan(NamedTuple):
    """Which rule families may fire in a file, and where. The default: all of them,
    anywhere (no index: standard input, the Python API, `--no-screen`, `--fix`)."""

    engine: bool = True  # the engine rules: an engine factory is named (outside test code, unless `check-tests`)
    async_sessions: bool = True  # POL204: an async session maker or class is named
    external: Ranges = EVERYWHERE  # POL201/POL202: statements naming a session and an external call
    create: Ranges = EVERYWHERE  # POL203: statements making a session
    tasks: Ranges = EVERYWHERE  # POL205: statements naming a session and a task call
    # May a module the analysis can load from this file name flask_sqlalchemy? False: the
    # index saw that none can (stages.flask_free), so no name is a Flask-SQLAlchemy
    # instance and `db.session` is not looked for (analysis.flask.FlaskSessions).
    flask: bool = True

    def runs(self, family: str) -> bool:
        """May a rule of the family fire anywhere in the file? (An unknown family: yes.)"""
        at = _AT.get(family)
        return at is None or bool(self[at])

    def lines(self, family: str) -> Optional[Ranges]:
        """Where a rule of the family may fire: line ranges, or None for anywhere."""
        at = _AT.get(family)
        found = self[at] if at is not None else True
        if isinstance(found, bool):
            return None if found else ()
        return None if found == EVERYWHERE else found

    def may_fire(self, family: str, line: int) -> bool:
        """May a rule of the family fire at this line?"""
        at = _AT.get(family)
        found = self[at] if at is not None else True
        if isinstance(found, bool):
            return found
        return any(first <= line <= last for first, last in found)

    def parsed_whole(self) -> Optional[List[Tuple[int, int]]]:
        """The line ranges a rule may look at, or None for all of the file: in a file
        where only session rules can fire, the ranges of their statements (the rest is
        parsed only as far as a question reaches it: source.Source.parse_lazily)."""
        if self.engine or self.async_sessions:
            return None
        return [lines for ranges in self[2:5] for lines in ranges]

    # -- plain data ---------------------------------------------------------------------------
    def to_plain(self) -> list:
        """The plan as ints and lists (what JSON holds): from_plain gives it back."""
        return [int(self.engine), int(self.async_sessions)] + [[[first, last] for first, last in ranges]
                                                              for ranges in self[2:5]] + [int(self.flask)]

    @classmethod
    def from_plain(cls, data: Sequence, exact: bool = False) -> "Plan":
        """The plan of `to_plain` (lists or tuples alike, flags as bools or 0 and 1).
        Raises ValueError when `data` does not have a plan's shape: six fields, two
        flags, then per session family a sequence of (first, last) line pairs with
        0 <= first <= last <= LAST_LINE, then a flag. With `exact`, only what `to_plain`
        writes (as JSON gives it back: lists, the flags as the ints 0 and 1) is accepted:
        data read from a file (the cache) is refused where it differs in any way."""
        sequence = (list,) if exact else (list, tuple)
        flag_types = (int,) if exact else (int, bool)
        if type(data) not in sequence or len(data) != len(FAMILIES) + 1:
            raise ValueError("not a plan: six fields expected")
        flags = []
        for value in (*data[:2], data[5]):
            if type(value) not in flag_types or value not in (0, 1):
                raise ValueError("not a plan: a flag must be 0 or 1")
            flags.append(bool(value))
        fields = []
        for ranges in data[2:5]:
            if type(ranges) not in sequence:
                raise ValueError("not a plan: line ranges expected")
            out = []
            for pair in ranges:
                if type(pair) not in sequence or len(pair) != 2:
                    raise ValueError("not a plan: a line range is a (first, last) pair")
                first, last = pair
                if type(first) is not int or type(last) is not int or not 0 <= first <= last <= LAST_LINE:
                    raise ValueError("not a plan: a line range's lines")
                out.append((first, last))
            fields.append(tuple(out))
        return cls(*flags[:2], *fields, flags[2])

NOTHING = Plan(False, False, (), (), ())  # another module of the project: no rule reports there
EVERYTHING = Plan()
