"""Finding the files to check and reading them safely (SPEC 5): paths and directories,
default excludes, `exclude` / `extend-exclude` globs, `.gitignore` files, standard input;
only regular files inside the checked root, at most MAX_BYTES each."""
from __future__ import annotations

import fnmatch
import os
import re
import stat as _stat
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

if TYPE_CHECKING:  # the configuration reads its file through read_regular: files imports it for types only
    from .config import Settings

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


def marks_root(names, in_package: bool) -> bool:
    """Is a folder whose entries are `names` a project root (SPEC 3b, "Project roots")?
    It holds `.git`, or pyproject.toml, setup.cfg or setup.py and is not inside a package
    (`in_package`: its parent folder holds `__init__.py`). A `setup.py` next to an
    `__init__.py` is a module of that package, not a marker."""
    if ".git" in names:
        return True
    if in_package:
        return False
    return "pyproject.toml" in names or "setup.cfg" in names or ("setup.py" in names and "__init__.py" not in names)


def entries_mark_root(entries, in_package: bool) -> bool:
    """`marks_root` for a folder listed by `entries_of`."""
    names = {e.name for e in entries}
    return bool(names.intersection(ROOT_MARKERS)) and marks_root(names, in_package)


def holds_package_init(entries) -> bool:
    """Do a folder's entries (`entries_of`) hold an `__init__.py`?"""
    return any(e.name == "__init__.py" for e in entries)

# The largest file pool-lint reads (SPEC 5 "Safety"): a larger one is POL001 "too large".
# A constant, not a setting (ruff has none either): a Python module of 10 MB is generated
# code or data, and what parsing and analysing one costs stays bounded (README: Safety).
MAX_BYTES = 10_000_000


class Target(NamedTuple):
    """One file to check (a tuple: a walk makes one per file)."""

    file: Optional[str]  # None for standard input
    display: str  # as walked from the argument, for reports
    missing: Optional[str] = None  # why the argument could not be used (POL001 "cannot read: ...")
    absolute: Optional[str] = None  # os.path.abspath(file), when the walk knows it already
    real: Optional[str] = None  # for a symbolic link inside the root: the real path of its target

    @property
    def path(self) -> Optional[Path]:
        return Path(self.file) if self.file is not None else None


class NotReadable(OSError):
    """A file pool-lint does not read: not a regular file, or larger than MAX_BYTES.
    `str()` is the reason, as POL001 gives it after "cannot read: "."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.strerror = reason

    def __str__(self) -> str:
        return self.strerror


_KINDS = ((_stat.S_ISDIR, "a folder"), (_stat.S_ISFIFO, "a FIFO"), (_stat.S_ISCHR, "a character device"),
          (_stat.S_ISBLK, "a block device"), (_stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a plain file")


def not_regular(mode: int) -> str:
    """The POL001 reason for a file whose stat mode is not a regular file's."""
    return f"not a regular file ({_kind(mode)})"


def too_large(size: int, limit: int = MAX_BYTES) -> str:
    return f"too large ({size:,} bytes; the limit is {limit:,})"


def read_regular(path, limit: int = MAX_BYTES, follow: bool = True, listed: bool = False) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, read without ever blocking:
    stat first (a FIFO, a device or a folder is never opened), then a non-blocking open
    (and with `follow=False`, O_NOFOLLOW: a symbolic link is not gone through), the
    opened file's own stat checked again, and at most `limit` + 1 bytes read (a file
    that grows while read is still cut off). Raises NotReadable ("not a regular file",
    "too large") or the OSError of the system. `listed`: the run's discovery saw the path
    as a regular file (the walk's listing, or its own stat): that was the stat, so it is
    not made again (either one is a look before the open; the open file's own stat is
    what holds)."""
    if not listed:
        st = os.stat(path) if follow else os.lstat(path)
        if not _stat.S_ISREG(st.st_mode):
            raise NotReadable(not_regular(st.st_mode) if not _stat.S_ISLNK(st.st_mode) else
                              "not a regular file (a symbolic link)")
        if st.st_size > limit:
            raise NotReadable(too_large(st.st_size, limit))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)  # the file opened, which a rename since the stat may have changed
        if not _stat.S_ISREG(st.st_mode):
            raise NotReadable(not_regular(st.st_mode))
        if st.st_size > limit:
            raise NotReadable(too_large(st.st_size, limit))
        chunks, left = [], limit + 1
        while left > 0:
            asked = min(left, max(st.st_size + 1, 65536))
            chunk = os.read(fd, asked)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
            # Short of what was asked, with the size the open file's stat gave: its end (no
            # read() more to learn it). A read short before the end (FUSE, a file that
            # grows or shrinks meanwhile) goes on to an empty read, as before.
            if len(chunk) < asked and limit + 1 - left == st.st_size:
                break
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if len(data) > limit:
        raise NotReadable(too_large(len(data), limit))
    return data


def read_or_none(path, listed: bool = False) -> Optional[bytes]:
    """read_regular, or None where it fails (for the files a run only consults)."""
    try:
        return read_regular(path, listed=listed)
    except OSError:
        return None


def read_text_or_none(path, limit: int) -> Optional[str]:
    """A small text file a run only consults (a Procfile, a compose file, a Dockerfile):
    read_regular within `limit` bytes, decoded as UTF-8 with replacements; None where it
    is not a regular file, is larger, or cannot be read."""
    try:
        return read_regular(path, limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def inside(path: str, folder: str) -> bool:
    """Is `path` (a real, absolute path) `folder` or below it?"""
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def real_and_inside(path: str, root: str) -> bool:
    """Is `path` an absolute, normalised path below `root` (a real folder) whose folders
    are real ones (no symbolic link among them, no `..`)? Its own last part may still be
    a link: read it with `read_regular(path, follow=False)`. For a path that comes from
    elsewhere than the walk (the cache file names the files its results depend on)."""
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        return False
    folder = os.path.dirname(path)
    return inside(folder, root) and os.path.realpath(folder) == folder


def write_atomically(path: Path, write: Callable[[object], None], mode: Optional[int] = None) -> None:
    """Write a file through a temporary one beside it, then rename it over the file: a
    reader sees the old content or the new, never half of it. `write(handle)` writes the
    bytes; `mode`: the permissions to give it (the file's own, for a fix). The temporary
    name is this process's own, so no other live process writes it (not `tempfile`,
    which costs a warm run more to import than the cache's write takes)."""
    temp = path.parent / f".{path.name}.{os.getpid()}.pool-lint"
    # Made afresh, never opened through what is there already: a name the checked
    # repository can guess, and plant as a link to a file elsewhere.
    try:
        os.unlink(temp)
    except FileNotFoundError:
        pass
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0),
                 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        if mode is not None:
            os.chmod(temp, mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def project_root(path: Path) -> Path:
    """The nearest folder at or above `path` that is a project root (`marks_root`: .git,
    or pyproject.toml, setup.cfg or setup.py outside a package); the path's own folder
    when there is none."""
    path = Path(os.path.abspath(path))
    folder = path if path.is_dir() else path.parent
    return _root_of_folder(str(folder))


def root_of_file(abs_path: str) -> Path:
    """`project_root` for an absolute path known to be a file (no stat of its own)."""
    return _root_of_folder(os.path.dirname(abs_path))


def roots_of_files(paths: Sequence[str], listing: Optional["Listing"] = None) -> List[Path]:
    """`root_of_file` of each path (absolute paths of files). `listing`: the folders the
    run's walk listed (files.discover), whose entries answer what would otherwise be a
    system call per folder and marker (a marker listed is still checked by
    os.path.exists: a link that leads nowhere marks nothing; a folder not listed, such as
    one above the walked folders, is asked as before): the same roots."""
    global _LISTED
    _LISTED = listing
    _BY_NAME.clear()
    try:
        return [_root_of_folder(os.path.dirname(path)) for path in paths]
    finally:
        _LISTED = None
        _BY_NAME.clear()


# While roots_of_files works: the walk's listing, and per listed folder its entries by name.
_LISTED: Optional["Listing"] = None
_BY_NAME: Dict[str, Optional[dict]] = {}


def _listed(folder: str) -> Optional[dict]:
    """The entries (by name) of `folder` as the run's walk listed it, or None."""
    if _LISTED is None:
        return None
    found = _BY_NAME.get(folder, _NOT_ASKED)
    if found is _NOT_ASKED:
        entries = _LISTED.get(folder)
        found = _BY_NAME[folder] = {e.name: e for e in entries} if entries is not None else None
    return found


_NOT_ASKED = object()


@lru_cache(maxsize=None)
def _root_of_folder(folder: str) -> Path:
    real = _real_folder(folder)
    found = _marked_folder(real)
    return _path_of(found if found is not None else real)


@lru_cache(maxsize=None)
def _path_of(root: str) -> Path:
    """One Path object per root (the files of a root share it: the run's tables, keyed by
    roots, hash it once and compare it by identity)."""
    return Path(root)


@lru_cache(maxsize=None)
def _real_folder(folder: str) -> str:
    """os.path.realpath of an absolute, normalised folder, with one lstat per folder: its
    parent's real path is remembered (and where the walk listed the parent, its entry
    says whether the folder is a link)."""
    parent, name = os.path.split(folder)
    if not name or parent == folder:
        return os.path.realpath(folder)
    real_parent = _real_folder(parent)
    here = os.path.join(real_parent, name)
    listed = _listed(real_parent)
    entry = listed.get(name) if listed is not None else None
    try:
        link = entry.is_symlink() if entry is not None else os.path.islink(here)
    except OSError:
        link = os.path.islink(here)
    return os.path.realpath(here) if link else here


@lru_cache(maxsize=None)
def _marked_folder(folder: str) -> Optional[str]:
    """The nearest folder at or above `folder` (a real path) that is a project root
    (`marks_root`)."""
    parent = os.path.dirname(folder)
    listed = _listed(folder)
    names = {marker for marker in ROOT_MARKERS if (listed is None or marker in listed)
             and os.path.exists(os.path.join(folder, marker))}
    if names:
        if os.path.exists(os.path.join(folder, "__init__.py")):
            names.add("__init__.py")
        in_package = parent != folder and ".git" not in names and os.path.isfile(os.path.join(parent, "__init__.py"))
        if marks_root(names, in_package):
            return folder
    return None if parent == folder else _marked_folder(parent)


class Excludes:
    """Exclude globs, split once into plain names (a set lookup) and real globs."""

    def __init__(self, patterns: Sequence[str]):
        cleaned = [p.rstrip("/") for p in patterns if p.strip("/")]
        self.names = frozenset(p for p in cleaned if not any(c in p for c in "*?[/"))
        globs = [p for p in cleaned if p not in self.names]
        self.regex = re.compile("|".join(
            f"(?:{fnmatch.translate(p)})|(?:{fnmatch.translate('*/' + p)})|(?:{fnmatch.translate(p + '/*')})"
            for p in globs)) if globs else None

    def __call__(self, rel: str, name: str) -> bool:
        if name in self.names:
            return True
        return self.regex is not None and (self.regex.match(rel) is not None or self.regex.match(name) is not None)


def _display(argument: str, rel: str) -> str:
    if argument in (".", "./", ""):
        return rel
    return os.path.join(argument, rel).replace(os.sep, "/") if os.sep != "/" else os.path.join(argument, rel)


# A folder's entries as one walk listed them (os.DirEntry, which keep what they learnt of
# each entry): absolute folder path -> entries, or None when the folder cannot be listed.
Listing = Dict[str, Optional[list]]


# The folders the current run's walk listed: what `entries_of` goes by where it is handed
# no listing (a reading of the run that is not handed one, in this process or in a worker
# forked during the run: POL112's deployment, the runtime's files). remember_listing sets it.
_RUN_LISTING: List[Optional[Listing]] = [None]


def remember_listing(listing: Optional[Listing]) -> None:
    """Set the listing of the current run (None: forget it, at the end of the run)."""
    _RUN_LISTING[0] = listing


def entries_of(folder: str, listing: Optional[Listing] = None) -> Optional[list]:
    """The entries of a folder (absolute path), from `listing` (by default the current
    run's: remember_listing) when it has them."""
    if listing is None:
        listing = _RUN_LISTING[0]
    if listing is not None and folder in listing:
        return listing[folder]
    try:
        with os.scandir(folder) as it:
            found = list(it)
    except OSError:
        found = None
    if listing is not None:
        listing[folder] = found
    return found


def _walk(base: str, absolute_base: str, listing: Optional[Listing], unreadable: Optional[Callable] = None):
    """`os.walk(base)` (top-down, symbolic links to folders listed but not entered,
    unreadable folders skipped: `unreadable(folder, reason)` is told of each), each folder
    with its absolute path, recording what it lists in `listing`."""
    stack = [(base, absolute_base)]
    while stack:
        folder, absolute = stack.pop()
        entries = entries_of(absolute, listing)
        if entries is None:
            if unreadable is not None:
                try:
                    os.scandir(absolute).close()
                    reason = "cannot list it"
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                unreadable(folder, reason)
            continue
        dirs, files, links = [], [], set()
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirs.append(entry.name)
                try:
                    if entry.is_symlink():
                        links.add(entry.name)
                except OSError:
                    pass
            else:
                files.append(entry.name)
        yield folder, absolute, dirs, files
        inside = folder if folder.endswith(os.sep) else folder + os.sep
        absolute_inside = absolute if absolute.endswith(os.sep) else absolute + os.sep
        stack.extend((inside + name, absolute_inside + name) for name in reversed(dirs) if name not in links)


class GitIgnores:
    """What git ignores under one walked folder (as ruff: only inside a git work tree,
    a folder at or above holding `.git`). Each `.gitignore` holds for its own folder and
    below, a deeper one deciding first; `.git/info/exclude` holds for the work tree,
    after all of them; a nested work tree (a folder with its own `.git`) starts afresh.
    A folder named on the command line is walked even where git ignores it (as ruff).
    The patterns are matched by `pathspec` (imported only when there are some)."""

    def __init__(self, base: str, top: str):
        self.chains: Dict[str, tuple] = {}  # real folder -> ((spec, folder), ...), deepest first
        self.tops = {top}
        parent = os.path.dirname(base)
        if base != top and self._ignored(self.chain(parent), parent, os.path.basename(base), True):
            self.tops.add(base)  # named, yet ignored: the .gitignore files above do not apply

    @classmethod
    def around(cls, base: str) -> Optional["GitIgnores"]:
        """The ignores for a walk of `base` (a real path), or None outside a git work tree."""
        folder = base
        while not os.path.lexists(os.path.join(folder, ".git")):
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent
        return cls(base, folder)

    def chain(self, folder: str) -> tuple:
        found = self.chains.get(folder)
        if found is None:
            own = _ignore_spec(os.path.join(folder, ".gitignore"))
            mine = ((own, folder),) if own is not None else ()
            if folder in self.tops or os.path.lexists(os.path.join(folder, ".git")):
                exclude = _ignore_spec(os.path.join(folder, ".git", "info", "exclude"))
                found = mine + (((exclude, folder),) if exclude is not None else ())
            else:
                parent = os.path.dirname(folder)
                found = mine + (self.chain(parent) if parent != folder else ())
            self.chains[folder] = found
        return found

    @staticmethod
    def _ignored(chain: tuple, folder: str, name: str, is_dir: bool) -> bool:
        for spec, where in chain:
            rel = name if folder == where else f"{folder[len(where) + 1:]}/{name}".replace(os.sep, "/")
            decided = spec.check_file(rel + "/" if is_dir else rel).include
            if decided is not None:
                return decided
        return False

    def ignored(self, folder: str, name: str, is_dir: bool) -> bool:
        """Does git ignore `name` in `folder` (a real path)?"""
        chain = self.chain(folder)
        return bool(chain) and self._ignored(chain, folder, name, is_dir)


def _ignore_spec(path: str):
    """The pathspec GitIgnoreSpec of an ignore file, or None when there is none or it
    holds no pattern (pathspec is not imported for a file of comments)."""
    data = read_or_none(path) if os.path.lexists(path) else None
    if not data:
        return None
    lines = data.decode("utf-8", "replace").splitlines()
    if not any(line.strip() and not line.startswith("#") for line in lines):
        return None
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _anchor(settings: Settings) -> str:
    """The folder exclude globs are relative to: the configuration file's, else the
    current folder (a real path)."""
    source = settings.source or ""
    return os.path.realpath(os.path.dirname(source) if source.endswith(".toml") else os.getcwd())


def _lead(real: str, anchor: str) -> str:
    """`real` relative to `anchor`, with a trailing slash ("" when it is the anchor or
    not below it)."""
    if real == anchor or not inside(real, anchor):
        return ""
    return real[len(anchor.rstrip(os.sep)) + 1:].replace(os.sep, "/") + "/"


def _link(path: str, display: str, absolute: str, base: str, warn: Callable[[str], None]) -> Optional[Target]:
    """The target for a symbolic link to a file: read (and fixed) through its real path
    when that is a regular file inside the checked root (the project root of the link,
    or the folder named on the command line, `base`); POL001 when it is not a regular
    file; skipped with a warning when it leaves the root."""
    real = os.path.realpath(absolute)
    try:
        st = os.stat(real)
    except OSError as exc:
        return Target(path, display, missing=f"{exc.strerror or exc} (a broken symbolic link)", absolute=absolute)
    if not _stat.S_ISREG(st.st_mode):
        return Target(path, display, missing=not_regular(st.st_mode), absolute=absolute)
    root = str(root_of_file(absolute))
    if not (inside(real, root) or inside(real, base)):
        warn(f"skipped {display}: a symbolic link to {real}, outside the checked root {root} "
             "(neither read nor fixed)")
        return None
    return Target(path, display, absolute=absolute, real=real)


def walk(argument: str, settings: Settings, listing: Optional[Listing] = None,
         warn: Optional[Callable[[str], None]] = None, anchor: Optional[str] = None,
         respect_gitignore: Optional[bool] = None) -> Iterator[Target]:
    """The Python files under the folder `argument`, as Targets: excluded and (inside a
    git work tree, unless told not to) git-ignored files and folders left out, a file
    that is not regular given as POL001, a symbolic link followed only inside the root.
    `warn(message)`: unreadable folders and links that leave the root."""
    warn = warn or (lambda message: None)
    excluded = Excludes((*settings.exclude, *settings.extend_exclude))
    listing = {} if listing is None else listing
    base = os.path.normpath(argument)
    cut = len(base) + 1
    absolute_base = os.path.abspath(base)
    real_base = os.path.realpath(absolute_base)
    lead = _lead(real_base, anchor if anchor is not None else _anchor(settings))
    gitignore = settings.respect_gitignore if respect_gitignore is None else respect_gitignore
    ignores = GitIgnores.around(real_base) if gitignore else None
    cut_absolute = len(absolute_base)

    def unreadable(folder: str, reason: str) -> None:
        warn(f"cannot read the folder {_display(argument, folder[cut:]) if folder != base else argument}: "
             f"{reason}; its files were not checked")

    for folder, absolute_folder, dirs, files in _walk(base, absolute_base, listing, unreadable):
        rel_folder = folder[cut:].replace(os.sep, "/") if folder != base else ""
        real_folder = real_base + absolute_folder[cut_absolute:] if ignores is not None else ""
        dirs[:] = sorted(d for d in dirs
                         if not excluded(f"{lead}{rel_folder}/{d}" if rel_folder else lead + d, d)
                         and not (ignores is not None and ignores.ignored(real_folder, d, True)))
        names = sorted(name for name in files if name.endswith(".py"))
        if not names:
            continue
        entries = {e.name: e for e in listing.get(absolute_folder) or () if e.name.endswith(".py")}
        inside_ = folder if folder.endswith(os.sep) else folder + os.sep  # os.path.join, without its cost
        absolute_inside = absolute_folder if absolute_folder.endswith(os.sep) else absolute_folder + os.sep
        for name in names:
            rel = f"{rel_folder}/{name}" if rel_folder else name
            if excluded(lead + rel, name) or (ignores is not None and ignores.ignored(real_folder, name, False)):
                continue
            path, display, absolute = inside_ + name, _display(argument, rel), absolute_inside + name
            entry = entries.get(name)
            try:
                regular = entry is not None and entry.is_file(follow_symlinks=False)
                link = not regular and entry is not None and entry.is_symlink()
            except OSError:
                regular = link = False
            if regular:
                yield Target(path, display, absolute=absolute)
            elif link:
                target = _link(path, display, absolute, real_base, warn)
                if target is not None:
                    yield target
            else:
                try:
                    reason = not_regular(os.lstat(absolute).st_mode)
                except OSError as exc:
                    reason = exc.strerror or str(exc)
                yield Target(path, display, missing=reason, absolute=absolute)


def force_excluded(argument: str, settings: Settings, anchor: str) -> bool:
    """`--force-exclude`: is a path named on the command line, or a folder it lies in,
    excluded (as a walk from `anchor` would have left it out)?"""
    excluded = Excludes((*settings.exclude, *settings.extend_exclude))
    absolute = os.path.abspath(argument)  # its folders' real path, the name as given (a link is matched by its name)
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    if real == anchor:
        return False
    lead = _lead(real, anchor)
    rel = lead.rstrip("/") if lead else os.path.normpath(argument).replace(os.sep, "/").lstrip("/")
    parts = [p for p in rel.split("/") if p not in ("", ".", "..")]
    return any(excluded("/".join(parts[:i + 1]), parts[i]) for i in range(len(parts)))


def discover(arguments: Sequence[str], settings: Settings, stdin_filename: Optional[str] = None,
             listing: Optional[Listing] = None, force_exclude: bool = False) -> Tuple[List[Target], List[str]]:
    """(targets, warnings). A directory without Python files gives a warning; a missing
    path gives a target that reports POL001; so does a file that is not regular. An
    unreadable folder and a symbolic link that leaves the root give a warning.
    `listing` (filled in): what the walk listed, for the run's later walks of the same
    folders. `force_exclude`: the excludes hold for paths named on the command line too."""
    targets: List[Target] = []
    warnings: List[str] = []
    seen = set()
    anchor = _anchor(settings)
    for argument in arguments:
        if argument == "-":
            if not (force_exclude and stdin_filename and force_excluded(stdin_filename, settings, anchor)):
                targets.append(Target(stdin_filename or None, stdin_filename or "-"))
            continue
        if force_exclude and force_excluded(argument, settings, anchor):
            continue
        path = Path(argument)
        if path.is_dir():
            found = 0
            for target in walk(argument, settings, listing, warnings.append, anchor):
                key = target.absolute
                if key not in seen:
                    seen.add(key)
                    targets.append(target)
                    found += 1
            if not found:
                warnings.append(f"no Python files found under {argument}")
            continue
        try:
            st = os.lstat(argument)
        except OSError as exc:
            targets.append(Target(argument, argument, missing=exc.strerror or "No such file or directory"))
            continue
        key = os.path.abspath(path)
        if key in seen:
            continue
        seen.add(key)
        if _stat.S_ISLNK(st.st_mode):
            target = _link(argument, argument, key, os.path.realpath(os.path.dirname(key)), warnings.append)
            if target is not None:
                targets.append(target)
        elif _stat.S_ISREG(st.st_mode):
            targets.append(Target(argument, argument))
        else:
            targets.append(Target(argument, argument, missing=not_regular(st.st_mode)))
    return targets, warnings
