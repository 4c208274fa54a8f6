"""Reference-case files: load, validate and save; the `ReferenceStore`.

One YAML file per case under a directory tree. Every problem with a file becomes a
`CaseFileError` whose one-line message names the file and the field; loading many files collects
the errors instead of stopping at the first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from drafting.errors import CaseFileError, ConfigError, InputError
from drafting.safe_io import load_yaml_text, read_text_file
from drafting.schema import Case, is_safe_case_id

log = logging.getLogger(__name__)

#: Case files larger than this are refused before parsing (a case is a few kilobytes).
MAX_CASE_FILE_BYTES = 2_000_000
CASE_SUFFIXES = (".yaml", ".yml")

try:  # the C dumper is ~10x faster
    _SafeDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _SafeDumper = yaml.SafeDumper


def read_yaml_file(
    path: str | Path, *, max_bytes: int = MAX_CASE_FILE_BYTES,
    error_type: type[InputError] = CaseFileError,
) -> Any:
    """Read a YAML file safely (plain data only), with one-line errors naming the file.

    The one reader for every YAML file the project reads (cases, suites, prompts, mappings):
    regular files only, size-capped, and the guards of `drafting.safe_io.load_yaml_text`.

    Args:
        path: The file to read.
        max_bytes: Larger files are refused before parsing.
        error_type: The `InputError` subclass to raise.

    Returns:
        The parsed YAML document.

    Raises:
        CaseFileError: (or ``error_type``) The file is missing, not a regular file, too large,
            not UTF-8, empty or not valid YAML (or not plain, bounded YAML).
    """
    text = read_text_file(path, max_bytes=max_bytes, error_type=error_type)
    if not text.strip():
        raise error_type("file is empty", path=path)
    return load_yaml_text(text, path=path, error_type=error_type)


def read_config_mapping(path: str | Path, *, what: str, max_bytes: int = 200_000) -> dict[Any, Any]:
    """Read a configuration YAML file (a column mapping, a prompt, heading names) as a mapping.

    Args:
        path: The file.
        what: What its top level maps, for the message (e.g. "prompt fields").
        max_bytes: Larger files are refused before parsing.

    Raises:
        ConfigError: The file cannot be read, is not valid YAML, or is not a mapping (names the file).
    """
    data = read_yaml_file(path, max_bytes=max_bytes, error_type=ConfigError)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of {what}", path=path)
    return data


def validation_error_to_input_error(
    exc: ValidationError, *, path: str | Path | None, error_type: type[InputError] = CaseFileError
) -> InputError:
    """Turn a pydantic error into one line naming the first bad field (and how many more).

    The returned error's ``problems`` holds one error per bad field, for reports that list them all.
    """
    problems = [_one_problem(err, path, error_type) for err in exc.errors(include_url=False)]
    first = problems[0]
    extra = len(problems) - 1
    more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
    error = error_type(f"{first.message}{more}", path=path, field=first.field)
    error.problems = list(problems)
    return error


def first_validation_problem(exc: ValidationError) -> tuple[str, str]:
    """The first problem pydantic found, as pydantic words it: (message, dotted field path;
    ``(document)`` when the whole document is wrong)."""
    err = exc.errors(include_url=False)[0]
    return err["msg"], _field_path(err)


def _field_path(err: Any) -> str:
    return ".".join(str(p) for p in err["loc"]) or "(document)"


def _one_problem(err: Any, path: str | Path | None, error_type: type[InputError]) -> InputError:
    loc = _field_path(err)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    elif err["type"] == "missing":
        msg = "required field is missing"
    return error_type(msg, path=path, field=loc)


def case_from_data(data: Any, *, path: str | Path | None = None) -> Case:
    """Validate parsed data as a `Case`.

    Raises:
        CaseFileError: The data is not a mapping or does not validate.
    """
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise CaseFileError(f"expected a mapping of case fields, found {kind}", path=path)
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, path=path) from None
    except RecursionError:
        raise CaseFileError("data nested too deeply", path=path) from None


def load_case(path: str | Path) -> Case:
    """Load and validate one case file.

    Raises:
        CaseFileError: With a one-line message naming the file and the field.
    """
    return case_from_data(read_yaml_file(path), path=path)


def case_to_yaml(case: Case) -> str:
    """Serialise a case as YAML with fields in schema order and block-style long text."""
    data = case.model_dump(mode="json", exclude_defaults=False)
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def save_case(case: Case, directory: str | Path) -> Path:
    """Write a case to ``directory/<id>.yaml`` and return the path.

    Raises:
        CaseFileError: The case id cannot be used as a file name.
    """
    if not is_safe_case_id(case.id):
        raise CaseFileError("case id cannot be used as a file name", path=directory, field="id")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{case.id}.yaml"
    tmp = target.with_suffix(".yaml.tmp")
    tmp.write_text(case_to_yaml(case), encoding="utf-8")
    tmp.replace(target)
    return target


def iter_case_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and directories into case files (directories recursively, sorted).

    Raises:
        CaseFileError: A path does not exist, or a directory holds no case files.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            # Any entry named *.yaml / *.yml (any case) that is not a directory: a FIFO or a
            # device among them is reported by the reader, never silently skipped.
            found = sorted(
                f for f in p.rglob("*") if f.suffix.lower() in CASE_SUFFIXES and not f.is_dir()
            )
            if not found:
                raise CaseFileError("directory holds no case files (*.yaml)", path=p)
            yield from found
        elif p.exists():
            yield p
        else:
            raise CaseFileError("no such file or directory", path=p)


@dataclass
class LoadResult:
    """Cases that loaded, and one error per file that did not."""

    cases: list[Case] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    errors: list[CaseFileError] = field(default_factory=list)


def load_cases(paths: Iterable[str | Path]) -> LoadResult:
    """Load every case under the given files and directories, collecting errors.

    A bad file never stops the others; a duplicate id is an error on the second file.
    """
    result = LoadResult()
    seen: dict[str, Path] = {}
    for raw in paths:
        try:
            files = list(iter_case_files([raw]))
        except CaseFileError as exc:
            result.errors.append(exc)
            continue
        for f in files:
            try:
                case = load_case(f)
            except CaseFileError as exc:
                result.errors.append(exc)
                continue
            if case.id in seen:
                result.errors.append(
                    CaseFileError(f"duplicate case id '{case.id}' (also in {seen[case.id]})",
                                  path=f, field="id")
                )
                continue
            seen[case.id] = f
            result.cases.append(case)
            result.paths.append(f)
    return result


class ReferenceStore:
    """An in-memory collection of reference cases, looked up by id.

    Args:
        cases: The cases, in a stable order (retrieval indexes follow it).
    """

    def __init__(self, cases: Sequence[Case]):
        self.cases: list[Case] = list(cases)
        self._by_id = {c.id: c for c in self.cases}
        if len(self._by_id) != len(self.cases):
            raise CaseFileError("duplicate case ids in reference store")

    @classmethod
    def load(cls, *paths: str | Path, strict: bool = True) -> ReferenceStore:
        """Load a store from files and directories.

        Args:
            paths: Case files and directories of case files.
            strict: Raise on the first bad file; otherwise skip bad files (logged by path).

        Raises:
            CaseFileError: A file is bad (when strict) or nothing loaded.
        """
        result = load_cases(paths)
        if result.errors:
            if strict:
                raise result.errors[0]
            for err in result.errors:
                log.warning("skipped reference case: %s", err)
        if not result.cases:
            raise CaseFileError("no reference cases loaded", path=", ".join(map(str, paths)))
        return cls(result.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __contains__(self, case_id: object) -> bool:
        return case_id in self._by_id

    def get(self, case_id: str) -> Case:
        """The case with this id.

        Raises:
            KeyError: No such case.
        """
        return self._by_id[case_id]

    def ids(self) -> list[str]:
        """Case ids in store order."""
        return [c.id for c in self.cases]


class _BlockDumper(_SafeDumper):
    """Writes multi-line strings as literal blocks so case files stay readable in review."""


def _str_presenter(dumper: yaml.Dumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_BlockDumper.add_representer(str, _str_presenter)
