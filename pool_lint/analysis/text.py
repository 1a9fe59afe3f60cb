"""A file's text before any parse: decoding its bytes as Python does, its lines as
Python counts them, and positions in them. Everything that reads a module's text
(`statements`, `source`, `fixes`) takes these from here."""
from __future__ import annotations

import io
import re
import tokenize
from typing import List, Sequence, Tuple

try:  # CPython's own module: hashlib would load OpenSSL first, at start-up cost
    from _blake2 import blake2b as _blake2b
except ImportError:  # pragma: no cover - another interpreter
    from hashlib import blake2b as _blake2b


class SourceError(Exception):
    """A file that cannot be read, decoded or parsed (POL001)."""

    def __init__(self, message: str, row: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


_NOT_PYTHON_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> List[str]:
    """The lines of `text` as Python counts them (`\\n`, `\\r\\n`, `\\r`), ends kept.
    `str.splitlines` also breaks at a form feed, a vertical tab or U+2028, which end no
    line for the parser: rows after one would name the wrong line."""
    if _NOT_PYTHON_LINE_BREAKS.search(text) is None:
        return text.splitlines(keepends=True)
    return _LINE.findall(text)


def decode(data: bytes) -> str:
    """Decode file bytes the way Python does (BOM, encoding cookie, default UTF-8).

    A BOM is dropped from the text (it is not source); line endings are kept as they are.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(f"cannot decode: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceError(f"cannot decode as {encoding}: {exc}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


# The line breaks Python counts (a form feed, or a U+2028 in a comment, is none).
NEWLINE = re.compile(r"\r\n|\r|\n")


# -- lines as Python counts them -------------------------------------------------------------
def line_starts(text: str) -> List[int]:
    """Offsets of the lines of `text` as Python counts them (a form feed, or a U+2028 in
    a comment, ends no line; `str.splitlines` says otherwise), and the text's length last."""
    starts = [0]
    starts.extend(m.end() for m in NEWLINE.finditer(text))
    if starts[-1] != len(text):
        starts.append(len(text))
    return starts


def char_column(text: str, starts: Sequence[int], row: int, byte_column: int) -> int:
    """The character column of an `ast` (UTF-8 byte) column on 1-based `row`."""
    line = text[starts[row - 1]:starts[row]] if row < len(starts) else text[starts[row - 1]:]
    if line.isascii():
        return byte_column
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", errors="replace"))


def smallest_edit(old: str, new: str) -> Tuple[int, int, str]:
    """(start, end, new text) in `old` of the smallest stretch that turns it into `new`.
    Whole lines inserted or deleted are slid back to start at a line (the same edit)."""
    head = 0
    limit = min(len(old), len(new))
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    removed, added = old[head:len(old) - tail], new[head:len(new) - tail]
    if bool(removed) != bool(added) and NEWLINE.search(removed or added):
        moved, at = removed or added, head
        while at > 0 and old[at - 1] == moved[-1] and old[at - 1] not in "\r\n":
            at -= 1
            moved = moved[-1] + moved[:-1]
        if at == 0 or old[at - 1] in "\r\n":
            end = at + (len(moved) if removed else 0)
            return at, end, "" if removed else moved
    return head, len(old) - tail, added


def digest(data: bytes) -> str:
    """A file's content hash: what names its bytes in the cache, and tells a process
    that the bytes it reads are those another one laid out."""
    return _blake2b(data, digest_size=16).hexdigest()
