"""Configuration: `[tool.pool-lint]` in pyproject.toml, validated key by key (SPEC 6).

Every problem raises `ConfigError` naming the key and what was expected; the CLI turns it
into exit status 2. Nothing passes silently.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional, Tuple, Union

PerProcess = Union[None, int, Tuple[Tuple[str, int], ...]]

DEFAULT_EXCLUDES = (
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    ".tox",
    ".nox",
    "site-packages",
)


class ConfigError(Exception):
    """A configuration problem the user must fix (exit status 2)."""


class Settings(NamedTuple):
    """The settings of a run (a named tuple: `settings._replace(key=value)` makes another)."""

    select: Tuple[str, ...] = ("POL",)
    ignore: Tuple[str, ...] = ()
    extend_select: Tuple[str, ...] = ()
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    exclude: Tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: Tuple[str, ...] = ()
    respect_gitignore: bool = True  # leave out what the .gitignore files of a git work tree ignore
    check_tests: bool = False
    runtime: str = "auto"
    external_pooler: Union[bool, str] = False  # True, or "transaction" (arms POL113)
    min_recycle: int = 300
    max_recycle: int = 3600
    recycle_seconds: int = 3600
    pool_size: int = 20
    max_overflow: int = 0
    pool_timeout: Optional[int] = None  # None: 30, or a third of request-timeout when lower
    request_timeout: Optional[float] = None
    external_calls: Tuple[str, ...] = ()
    max_connections: Optional[int] = None  # POL112's limit; None: read the deployment files
    workers: PerProcess = None  # processes per replica: a number, or ((process type, n), ...)
    replicas: PerProcess = None
    # Where the settings came from (for messages and the cache key); not a user key.
    source: Optional[str] = None

    def __eq__(self, other) -> bool:  # where the settings came from does not make them differ
        return isinstance(other, Settings) and self[:-1] == other[:-1]

    def __ne__(self, other) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self[:-1])

    @property
    def fix_pool_timeout(self) -> int:
        """The value `--fix` inserts for `pool_timeout`."""
        if self.pool_timeout is not None:
            return self.pool_timeout
        if self.request_timeout is not None and self.request_timeout / 3 < 30:
            return max(1, int(self.request_timeout // 3))
        return 30

    def cache_key(self) -> str:
        return repr(tuple((name, getattr(self, name)) for name in self._fields if name != "source"))


RUNTIMES = ("auto", "server", "serverless")


def selector(key: str, code: str) -> str:
    """A rule selector, upper-cased: `ALL`, a rule code, or a prefix of at least one code
    (`POL`, `POL1`, `POL10`); anything else is an error naming `key` (as in ruff)."""
    from .selection import RULE_CODES

    code = code.strip().upper()
    if code == "ALL" or (code.startswith("POL") and any(known.startswith(code) for known in RULE_CODES)):
        return code
    raise ConfigError(f"{key}: unknown rule selector {code!r} (`pool-lint rule --all` lists the codes)")


def _codes(key: str, value: Any) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of rule codes or prefixes (strings), got {value!r}")
    return tuple(selector(key, code) for code in value)


def _strings(key: str, value: Any) -> Tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    return tuple(value)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number of seconds/connections, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{key}: expected a number >= {minimum}, got {value!r}")
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{key}: expected a positive, finite number of seconds, got {value!r}")
    return value


def _runtime(key: str, value: Any) -> str:
    if value not in RUNTIMES:
        raise ConfigError(f"{key}: expected one of {', '.join(repr(r) for r in RUNTIMES)}, got {value!r}")
    return value


def _pooler(key: str, value: Any) -> Union[bool, str]:
    if isinstance(value, bool) or value == "transaction":
        return value
    raise ConfigError(f"{key}: expected true, false or \"transaction\", got {value!r}")


def _per_process(key: str, value: Any) -> PerProcess:
    """A number for every process type, or a table of them by process type."""
    if isinstance(value, dict):
        return tuple((name, _int(f"{key}.{name}", n, 1)) for name, n in value.items())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected a whole number or a table of them by process type, got {value!r}")
    return _int(key, value, 1)


def _per_file(key: str, value: Any):
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table of glob = [codes], got {value!r}")
    return tuple((glob, _codes(f"{key}[{glob!r}]", codes)) for glob, codes in value.items())


_KEYS = {
    "select": ("select", _codes),
    "ignore": ("ignore", _codes),
    "extend-select": ("extend_select", _codes),
    "per-file-ignores": ("per_file_ignores", _per_file),
    "exclude": ("exclude", _strings),
    "extend-exclude": ("extend_exclude", _strings),
    "respect-gitignore": ("respect_gitignore", _bool),
    "check-tests": ("check_tests", _bool),
    "runtime": ("runtime", _runtime),
    "external-pooler": ("external_pooler", _pooler),
    "min-recycle": ("min_recycle", _int),
    "max-recycle": ("max_recycle", _int),
    "recycle-seconds": ("recycle_seconds", _int),
    "pool-size": ("pool_size", lambda k, v: _int(k, v, 1)),
    "max-overflow": ("max_overflow", _int),
    "pool-timeout": ("pool_timeout", lambda k, v: _int(k, v, 1)),
    "request-timeout": ("request_timeout", _number),
    "external-calls": ("external_calls", _strings),
    "max-connections": ("max_connections", lambda k, v: _int(k, v, 1)),
    "workers": ("workers", _per_process),
    "replicas": ("replicas", _per_process),
}


def settings_from_table(table: Dict[str, Any], source: str = "<config>", base: Optional[Settings] = None) -> Settings:
    """Validate a `[tool.pool-lint]` table (or CLI overrides) into Settings."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.pool-lint] must be a table")
    values: Dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}: unknown key {key!r} in [tool.pool-lint] (known keys: {known})")
        attr, check = _KEYS[key]
        try:
            values[attr] = check(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    settings = (base or Settings())._replace(source=source, **values)
    validate(settings, source)
    return settings


def validate(s: Settings, source: str) -> None:
    if s.min_recycle > s.max_recycle:
        raise ConfigError(f"{source}: min-recycle ({s.min_recycle}) must not be above max-recycle ({s.max_recycle})")
    if not s.min_recycle <= s.recycle_seconds <= s.max_recycle:
        raise ConfigError(
            f"{source}: recycle-seconds ({s.recycle_seconds}) must lie between min-recycle "
            f"({s.min_recycle}) and max-recycle ({s.max_recycle})"
        )
    if s.request_timeout is not None and s.pool_timeout is not None and s.pool_timeout >= s.request_timeout:
        raise ConfigError(
            f"{source}: pool-timeout ({s.pool_timeout}) must be below request-timeout ({s.request_timeout})"
        )


def _load_toml(path: Path) -> Dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python < 3.11
        import tomli as tomllib
    from .files import read_regular

    try:
        # A regular file within the size cap, never waited on (a FIFO planted under the name).
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def find_pyproject(start: Path) -> Optional[Path]:
    """The nearest pyproject.toml at or above `start` that has a [tool.pool-lint] table,
    stopping at the first pyproject.toml found (like ruff, the nearest one wins)."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_settings(config_file: Optional[Path], start: Path, isolated: bool = False) -> Settings:
    """Settings for a run: `--isolated` gives defaults, `--config FILE` that file, otherwise
    the nearest pyproject.toml above `start`."""
    if isolated:
        return Settings(source="<defaults>")
    if config_file is not None:
        data = _load_toml(config_file)
        # A dedicated file (pool-lint.toml) may hold the keys at top level.
        table = data.get("tool", {}).get("pool-lint", data if config_file.name != "pyproject.toml" else {})
        return settings_from_table(table, str(config_file))
    path = find_pyproject(start)
    if path is None:
        return Settings(source="<defaults>")
    table = _load_toml(path).get("tool", {}).get("pool-lint", {})
    return settings_from_table(table, str(path))
