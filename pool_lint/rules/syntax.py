"""POL001 unreadable-file: reported by the checking pipeline, documented here."""
from __future__ import annotations

from ..findings import UNREADABLE
from .base import Rule, example, register


@register
class UnreadableFile(Rule):
    """## What it does
    Reports a file that pool-lint needs to check but cannot read, decode or parse: a
    syntax error, bytes that are not valid in the file's encoding, a file that vanished or
    is not readable, a file that is not a regular file (a FIFO, a socket, a device, or a
    link to one such as `/dev/zero`: never opened), and a file above 10 MB (10,000,000
    bytes: "too large"; no more than that is ever read).

    ## Why is this bad?
    pool-lint cannot check what it cannot read, and staying silent would pass a file that
    was never checked. The message says why; the rest of the run goes on. A syntax error is
    reported where Python's own parser puts it; a file that cannot be read or decoded at
    line 1, column 1.

    A file written for a newer Python than the one running pool-lint is no syntax error:
    LibCST reads it (PEP 695 type parameters and `type` statements, PEP 696 defaults, PEP
    701 f-strings, PEP 750 t-strings, PEP 758 `except A, B:`) and it is checked with every
    rule, as under a Python that reads it. Where a construct is newer than pool-lint can
    read under the running Python (a `match` statement under Python 3.9), the message
    names the Python the file needs: "syntax error: needs Python 3.10 or newer (PEP 634
    match statement); pool-lint runs on Python 3.9".

    The size limit bounds what one file costs: on generated modules of 10 MB (Python
    3.11, one worker), checking peaked at 2.0 GiB and `--fix` at 4.7 GiB of resident
    memory, most of it CPython's `ast` (parsing such a file alone takes 0.8 to 1.7 GiB).
    Each worker (`--jobs`) checks one file at a time (the project modules an analysis
    consults stay loaded in that worker for the run).

    Files the screen finds cannot hold a finding are not parsed at all (no engine factory
    or async session maker in them, and no function or class that names both a session
    and an external call, a task or a session made, counting the names the project's own
    modules hand out), so a syntax error or an undecodable byte in one of them is left to
    Python and your other linters. The same holds inside a kept file where only the
    session rules can fire: the functions and classes the screen keeps are parsed whole,
    the others only when the analysis reaches them by name, so a syntax error in a
    function nothing reaches is not reported. A file that cannot be read is always
    reported.

    ## Example
    ```python
    engine = create_async_engine(URL,
    ```

    ## Use instead
    ```python
    engine = create_async_engine(URL, pool_pre_ping=True)
    ```

    ## Fix
    None.

    ## Options
    None: POL001 cannot be ignored through `# noqa` (there is no parsed line to carry it),
    but `--ignore POL001` and `per-file-ignores` work.

    ## References
    - Python's `ast` module: pool-lint parses with CPython's own parser.
    - LibCST (https://libcst.readthedocs.io/): for files written for a newer Python.
    """

    code, name, severity = UNREADABLE
    fix = "none"
    valid = (example("from sqlalchemy import create_engine\n"),)
    # The pipeline writes the message (the parser's own words, so Python 3.11's here).
    invalid = (example("from sqlalchemy import create_engine\nengine = create_engine(URL,\n",
                       expect=[(2, 23, "syntax error: '(' was never closed")]),)

    def check(self, file):
        return ()
