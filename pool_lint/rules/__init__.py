"""The rule catalogue: one module per rule or small family, each carrying its code,
documentation and examples. Importing this package registers them all."""
from __future__ import annotations

from typing import Dict, List

from . import syntax, pre_ping, recycle, sizing, pool_class, engine_per_request, legacy_config, sessions, budget  # noqa: F401
from .base import REGISTRY, Example, Report, Rule

ALL_RULES: Dict[str, type] = dict(sorted(REGISTRY.items()))


def all_rules() -> List[type]:
    return list(ALL_RULES.values())


def get_rule(code: str):
    return ALL_RULES.get(code.upper())


__all__ = ["ALL_RULES", "Example", "Report", "Rule", "all_rules", "get_rule"]
