"""The byte-level screen: can this file hold a finding at all?

Every finding needs one of a few words in the file's bytes: an engine factory name, a
session or session-factory word, or a word that can start a session scope. A file with
none of them cannot hold a finding, so it is not decoded, parsed or analysed. The screen
may let through files that hold nothing (over-select); it must never hold back one that
holds a finding (tests run the whole pipeline with and without it).
"""
from __future__ import annotations

from typing import Iterable, Tuple

from .analysis.catalog import ENGINE_FACTORY_WORDS

# Words that can make a session-rule finding possible (sessions, their factories, the
# connection blocks and dependencies that hand them out, concurrent tasks sharing them).
SESSION_WORDS: Tuple[bytes, ...] = (
    b"Session",
    b"session",
    b"sessionmaker",
    b".connect(",
    b".begin(",
    b"Depends",
)

WORDS: Tuple[bytes, ...] = ENGINE_FACTORY_WORDS + SESSION_WORDS


def may_hold_finding(data: bytes, extra: Iterable[bytes] = ()) -> bool:
    """True when the bytes contain a word some finding needs (or a project name in
    `extra`: a session factory or dependency defined elsewhere in the project)."""
    for word in WORDS:
        if word in data:
            return True
    for word in extra:
        if word in data:
            return True
    return False
