"""The one safe file reader and YAML loader (`drafting.safe_io`), used for every file read."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from drafting.cases import load_case, read_yaml_file
from drafting.errors import CaseFileError, ConfigError, InputError
from drafting.evaluation.suite import load_suite
from drafting.prompts import load_prompt_file
from drafting.safe_io import MAX_NESTING, load_yaml_text, read_regular_file
from tests.evaluation.harness_support import make_cases, write_suite

ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def test_alias_bomb_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="alias"):
        load_yaml_text(ALIAS_BOMB, path="bomb.yaml")
    assert time.perf_counter() - started < 5


def test_alias_bomb_in_a_suite_metric_parameter_is_a_config_error(tmp_path: Path) -> None:
    """The reported 606-byte suite: the bomb sat in a metric parameter and hung the run."""
    make_cases(tmp_path / "cases", n=1)
    suite = write_suite(tmp_path / "suite.yaml", tmp_path / "cases",
                        metrics=["structure.sections_present"])
    text = suite.read_text(encoding="utf-8")
    bomb = "".join(f"  - &l{i} [" + ",".join([f"*l{i - 1}" if i else '"x"'] * 9) + "]\n"
                   for i in range(9))
    suite.write_text(text + "anchors:\n" + bomb, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="alias"):
        load_suite(suite)
    assert time.perf_counter() - started < 5


def test_small_honest_aliases_still_load() -> None:
    assert load_yaml_text("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    assert load_yaml_text("base: &b {k: 1}\nother:\n  <<: *b\n  j: 2\n")["other"] == {"k": 1, "j": 2}


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(InputError):
        load_yaml_text("a: &a [*a]\n")


def test_duplicate_keys_are_refused_naming_the_key() -> None:
    with pytest.raises(InputError, match="line 3.*duplicate key 'input'"):
        load_yaml_text("id: x\ninput: {age: 3}\ninput: {age: 4}\n", path="case.yaml")


@pytest.mark.parametrize("text", [
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}]\n",
    "a: !local thing\n",
    "a: !!python/name:os.system\n",
    "!!python/object/apply:os.system ['true']\n",
])
def test_non_plain_tags_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="not allowed"):
        load_yaml_text(text)


def test_binary_text_in_a_case_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("id: c\ninput:\n  clinical_history: !!binary aGVsbG8=\n"
                    "  imaging: [{description: x}]\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="binary"):
        load_case(path)


def test_many_brackets_in_text_and_deep_indentation_are_not_nesting() -> None:
    """The old guard counted brackets inside strings and one level per two columns of indent."""
    brackets = "a: '" + "[" * 100 + "{" * 100 + "'\n"
    assert load_yaml_text(brackets) == {"a": "[" * 100 + "{" * 100}
    indented = "a: |\n" + " " * 130 + "indented text\n"
    assert load_yaml_text(indented)["a"].strip() == "indented text"
    deep_block = "a:\n  b:\n" + " " * 130 + "c: 1\n"
    assert load_yaml_text(deep_block) == {"a": {"b": {"c": 1}}}


def test_real_deep_nesting_is_refused() -> None:
    with pytest.raises(InputError, match="nested"):
        load_yaml_text("a: " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    assert load_yaml_text("a: " + "[" * (MAX_NESTING - 2) + "]" * (MAX_NESTING - 2)) is not None


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []

    def read() -> None:
        try:
            outcome.append(read_yaml_file(fifo))
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO hung")
    assert isinstance(outcome[0], CaseFileError) and "FIFO" in str(outcome[0])


def test_dev_zero_and_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="device"):
        read_yaml_file("/dev/zero")
    with pytest.raises(CaseFileError, match="directory"):
        read_yaml_file(tmp_path)
    with pytest.raises(ConfigError, match="directory"):
        load_suite(tmp_path)
    with pytest.raises(ConfigError, match="directory"):
        load_prompt_file(tmp_path)


def test_a_file_that_grows_past_the_cap_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"x" * 100)
    with pytest.raises(InputError, match="limit"):
        read_regular_file(path, max_bytes=99)
    assert read_regular_file(path, max_bytes=100) == b"x" * 100
