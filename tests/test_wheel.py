"""The user's path: build the wheel, install it into a fresh virtual environment, and from an
empty directory draft a case, run one's own one-case suite, and import the public API.

Offline and quick: the wheel is built without build isolation, the fresh environment reuses this
one's installed dependencies through a ``.pth`` line (a plain path line: the ``.pth`` files of
that directory, among them the editable install's, are *not* processed, so the source tree stays
out of reach), and the wheel goes in with ``--no-deps``. Model traffic is recorded from a loopback
fake server into the empty directory, then replayed with the server gone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from tests.llm.fake_server import FakeOpenAIServer

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent
#: What the build reads; copied alone so that the wheel cannot depend on anything else.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "drafting", "prompts",
                "reference_cases")


def _sh(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding drafting from a freshly built wheel; returns its bin directory."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    dist = base / "dist"
    _sh([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(dist), str(src)], cwd=base)  # fmt: skip
    (wheel,) = dist.glob("drafting-*.whl")
    venv = base / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    deps = sysconfig.get_paths()["purelib"]
    (site / "test-reuses-deps.pth").write_text(deps + "\n", encoding="utf-8")
    py = venv / "bin" / "python"
    # --ignore-installed: the reused directory holds an (editable) drafting of the same version,
    # which pip would take as already installed; nothing outside the new venv is touched.
    _sh([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q",
         str(wheel)], cwd=base)  # fmt: skip
    return venv / "bin"


def _env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTING_", "OPENAI_"))}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["DRAFTING_CACHE_DIR"] = str(bin_dir.parent / "cache")
    env["DRAFTING_FORBID_LOCAL_SERVER"] = "the wheel test uses a loopback fake server"
    return env


def test_package_data_comes_from_the_wheel(installed: Path, tmp_path: Path):
    probe = (
        "import json, drafting, drafting.resources as r\n"
        "from drafting import draft_report, adraft_report, ReferenceStore, Case, Draft, Report,"
        " load_case, run_suite, load_run, compare_runs, Endpoint, __version__\n"
        "from drafting.llm import resolve_endpoint\n"
        "from drafting.prompts import load_prompt_set\n"
        "print(json.dumps({'pkg': drafting.__file__, 'prompts': str(r.bundled_path('prompts')),"
        " 'refs': str(r.bundled_path('reference_cases')),"
        " 'stages': {s: p.version for s, p in load_prompt_set().items()},"
        " 'cases': ReferenceStore.load(r.bundled_path('reference_cases')).ids()}))\n"
    )
    out = json.loads(_sh([str(installed / "python"), "-c", probe], cwd=tmp_path, env=_env(installed)))
    venv = installed.parent.resolve()
    for key in ("pkg", "prompts", "refs"):
        path = Path(out[key]).resolve()
        assert venv in path.parents, f"{key} does not come from the wheel: {path}"
        assert ROOT not in path.parents
    from drafting.prompts import DEFAULT_VERSIONS

    assert out["stages"] == DEFAULT_VERSIONS  # the default versions, read from the wheel
    assert sorted(out["cases"]) == ["seed-000", "seed-003"]


def test_draft_and_own_suite_from_an_empty_directory(installed: Path, tmp_path: Path):
    work = tmp_path / "empty"
    work.mkdir()
    env = _env(installed)
    case = yaml.safe_load((ROOT / "reference_cases" / "seeds" / "seed-000.yaml").read_text())
    case["id"] = "my-case-1"
    (work / "cases").mkdir()
    (work / "cases" / "my-case-1.yaml").write_text(yaml.safe_dump(case), encoding="utf-8")
    # A prompt of one's own, layered over the bundled ones.
    bundled_dx = yaml.safe_load((ROOT / "prompts" / "diagnosis" / "v1.yaml").read_text())
    bundled_dx["version"] = "mine"
    bundled_dx["description"] = "My wording of the diagnosis prompt."
    (work / "my-prompts" / "diagnosis").mkdir(parents=True)
    (work / "my-prompts" / "diagnosis" / "mine.yaml").write_text(yaml.safe_dump(bundled_dx))
    draft = ["drafting", "draft", "cases/my-case-1.yaml", "--model", "fake-model", "--format", "json",
             "--fixtures-dir", "fx", "--prompts-dir", "my-prompts", "--prompt", "diagnosis=mine"]
    suite = {
        "name": "mine",
        "cases": {"dir": "cases"},
        "drafter": {"model": "fake-model", "prompts": {"diagnosis": "mine"},
                    "prompts_dir": "my-prompts", "k": 3},
        "metrics": ["structure.sections_present", "structure.disclaimer"],
        "fixtures": {"mode": "replay", "dir": "fx"},
    }
    with FakeOpenAIServer() as server:
        suite["drafter"]["base_url"] = server.base_url
        _sh([*draft, "--base-url", server.base_url, "--fixtures", "record"], cwd=work, env=env)
        url = server.base_url
    assert server.requests, "nothing reached the fake server"
    (work / "suite.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")

    replayed = json.loads(_sh([*draft, "--base-url", url, "--fixtures", "replay"], cwd=work, env=env))
    prov = replayed["provenance"]
    assert {r["case_id"] for r in prov["references"]} <= {"seed-000", "seed-003"}  # the bundled ones
    assert prov["references"]
    assert {p["stage"]: p["version"] for p in prov["prompts"]}["diagnosis"] == "mine"
    assert replayed["report"]["diagnosis"]["primary"]
    assert list((work / "fx").rglob("*.json")), "fixtures were not written into the user's directory"

    out = _sh(["drafting", "eval", "run", "suite.yaml", "--quiet"], cwd=work, env=env)
    run_dir = Path(out.strip().splitlines()[-1])
    assert run_dir.resolve().is_relative_to(work.resolve()), run_dir
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cases"]["total"] == 1 and summary["cases"]["failed"] == 0
    site = installed.parent
    assert not any(site.rglob("eval/runs")), "a run was written inside the installation"
