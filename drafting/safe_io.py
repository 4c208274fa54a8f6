"""Reading untrusted files safely: one file reader and one YAML loader for every file the project reads.

Case files, suites, prompt files and importer mappings all come from users (or from the
internet). The reader accepts regular files only (a FIFO or ``/dev/zero`` would hang or exhaust
memory) and reads in bounded chunks under a size cap. The YAML loader constructs plain data only
and refuses, with a one-line message naming the file:

- any explicit tag beyond the plain ones (``!!binary``, ``!!python/...``, ``!!set``, local tags);
- alias expansion beyond a node budget (an "alias bomb" of a few hundred bytes expands to
  billions of nodes when the data is later serialised or hashed);
- nesting deeper than `MAX_NESTING` (measured exactly on the event stream, which libyaml parses
  without recursion, so valid text with many brackets or deep indentation is not refused);
- duplicate keys in a mapping (the second silently replaced the first).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from drafting.errors import InputError

#: Deeper nesting is refused: the composer and constructor recurse per level.
MAX_NESTING = 64
#: A document may expand (aliases counted at their full size) to at most this many nodes.
MAX_EXPANDED_NODES = 1_000_000
#: Files are read in chunks of this size, so a cap is enforced whatever ``stat`` claims.
_CHUNK = 1 << 16

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
)

try:  # the C parser is ~10x faster; both construct plain data only
    _SafeLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SafeLoader = yaml.SafeLoader


def open_regular_file(
    path: str | Path, *, error_type: type[InputError] = InputError
) -> BinaryIO:
    """Open a regular file for reading in binary mode (no FIFO, device or directory).

    Raises:
        InputError: (as ``error_type``) the path is missing, not a regular file or unreadable.
    """
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not block before the type check.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if isinstance(exc, IsADirectoryError):
            raise error_type("is a directory, not a regular file", path=p) from None
        raise error_type(f"cannot read file ({exc.strerror or exc})", path=p) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file")
        raise error_type(f"is {kind}, not a regular file", path=p)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular_file(
    path: str | Path, *, max_bytes: int, error_type: type[InputError] = InputError
) -> bytes:
    """Read a regular file of at most ``max_bytes`` bytes, in bounded chunks.

    Args:
        path: The file to read.
        max_bytes: Larger files are refused (checked before and while reading).
        error_type: The `InputError` subclass to raise.

    Returns:
        The file's bytes.

    Raises:
        InputError: (as ``error_type``) the path is missing, not a regular file (a directory,
            FIFO, device), unreadable or too large.
    """
    p = Path(path)
    with open_regular_file(p, error_type=error_type) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise error_type(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit", path=p)
        chunks: list[bytes] = []
        total = 0
        try:
            while chunk := handle.read(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise error_type(f"file is over the {max_bytes:,}-byte limit", path=p)
                chunks.append(chunk)
        except OSError as exc:
            raise error_type(f"cannot read file ({exc.strerror or exc})", path=p) from None
    return b"".join(chunks)


def read_text_file(
    path: str | Path, *, max_bytes: int, error_type: type[InputError] = InputError
) -> str:
    """`read_regular_file`, decoded as UTF-8 (one-line error naming the byte otherwise)."""
    raw = read_regular_file(path, max_bytes=max_bytes, error_type=error_type)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error_type(f"not UTF-8 text (byte {exc.start})", path=path) from None


def load_yaml_text(text: str, *, path: str | Path | None = None,
                   error_type: type[InputError] = InputError) -> Any:
    """Parse one YAML document into plain data, with the guards in the module docstring.

    Raises:
        InputError: (as ``error_type``) with a one-line message naming the file.
    """
    def fail(problem: str, mark: Any = None) -> InputError:
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return error_type(f"invalid YAML{where}: {problem}", path=path)

    if _max_depth_bound(text) > MAX_NESTING and _event_depth(text, fail) > MAX_NESTING:
        return _raise(error_type(f"YAML nested more than {MAX_NESTING} levels deep", path=path))
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(node, fail)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(problem, mark) from None
    except RecursionError:
        raise error_type("YAML nested too deeply", path=path) from None
    finally:
        loader.dispose()


def _raise(exc: Exception) -> Any:
    raise exc


def _max_depth_bound(text: str) -> int:
    """A cheap upper bound on nesting (brackets and indentation); exact check only above it."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    indent = max((len(line) - len(line.lstrip(" ")) for line in text.splitlines()), default=0)
    return max(deepest, indent // 2)


def _event_depth(text: str, fail: Any) -> int:
    """The exact collection nesting depth, from libyaml's (non-recursive) event parser."""
    depth = deepest = 0
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > deepest:
                    deepest = depth
                    if deepest > MAX_NESTING:
                        break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise fail(problem, getattr(exc, "problem_mark", None)) from None
    return deepest


def _check_nodes(root: yaml.Node, fail: Any) -> None:
    """Refuse non-plain tags, duplicate keys and alias expansion over the node budget.

    Iterative, and each node (aliased or not) is visited once: the expanded size of a shared
    node is computed once and reused, so the check itself is linear in the document.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            if node.tag not in _PLAIN_TAGS:
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                raise fail(f"tag '{tag}' is not allowed (plain data only)", node.start_mark)
            open_nodes.add(id(node))
            stack.append((node, True))
            for child in _children(node):
                if id(child) in open_nodes:
                    raise fail("an alias refers to its own collection", child.start_mark)
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        open_nodes.discard(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    ident = (key.tag, key.value)
                    if ident in seen:
                        raise fail(f"duplicate key '{key.value}'", key.start_mark)
                    seen.add(ident)
        size = 1 + sum(sizes.get(id(c), 1) for c in _children(node))
        if size > MAX_EXPANDED_NODES:
            raise fail(f"expands to more than {MAX_EXPANDED_NODES:,} nodes (alias bomb?)",
                       node.start_mark)
        sizes[id(node)] = size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []
