"""Packaging: one version, a source distribution that can test itself, a Makefile that
rebuilds the extension, and a user who is told when the compiled path is missing."""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

import ciyu
from ciyu import _compiled, cli
from ciyu._compiled import HAVE_COMPILED, HAVE_COMPILED_TEMPLATES, _SlowPathNotice
from ciyu.decoder import Decoder
from ciyu.lexicon import Lexicon

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ciyu.__version__"}
    assert importlib.metadata.version("ciyu") == ciyu.__version__


def test_version_says_whether_the_extension_is_compiled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ciyu {ciyu.__version__} (compiled decoder: ")
    assert ("compiled decoder: yes;" in out) == HAVE_COMPILED
    assert ("compiled template parser: yes)" in out) == HAVE_COMPILED_TEMPLATES


def test_the_source_distribution_holds_what_its_tests_need(tmp_path: Path) -> None:
    pytest.importorskip("build")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (sdist,) = tmp_path.glob("ciyu-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = {
        "Makefile",
        "setup.py",
        "pyproject.toml",
        "data/zh_laws_sample.txt.gz",
        "src/ciyu/_lattice.c",
        "src/ciyu/_lattice.pyi",
        "src/ciyu/_tparse.c",
        "src/ciyu/_tparse.pyi",
        "src/ciyu/_unicode_tables.py",
        "src/ciyu/py.typed",
        "tests/conftest.py",
    }
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")}
    assert needed <= names, sorted(needed - names)
    assert not [n for n in names if n.endswith((".so", ".pyc"))]


def test_the_makefile_reinstalls_when_the_extension_changes(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for marker in (".installed", ".installed-test"):
        (venv / marker).touch()

    def plan(target: str, *pretend_changed: str) -> str:
        what_if = [arg for path in pretend_changed for arg in ("-W", path)]
        cmd = ["make", "-n", "-C", str(ROOT), f"VENV={venv}", *what_if, f"{venv}/{target}"]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    for target in (".installed", ".installed-test"):
        assert "pip install" not in plan(target)  # up to date
        for source in ("src/ciyu/_lattice.c", "src/ciyu/_tparse.c", "setup.py", "pyproject.toml"):
            assert "pip install" in plan(target, source), (target, source)


def test_a_large_job_without_the_extension_is_noticed_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notice = _SlowPathNotice()
    with caplog.at_level(logging.WARNING, logger="ciyu"):
        notice(_compiled.SLOW_PATH_NOTICE_CHARS // 2)
        assert not caplog.records  # a small job: not worth a word
        for _ in range(5):
            notice(_compiled.SLOW_PATH_NOTICE_CHARS // 2)
    assert len(caplog.records) == 1
    assert "not installed" in caplog.text and "C compiler" in caplog.text


def test_the_pure_python_paths_report_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import ciyu.model
    import ciyu.text

    seen: list[int] = []
    monkeypatch.setattr(ciyu.model, "note_slow_path", seen.append)
    monkeypatch.setattr(ciyu.text, "note_slow_path", seen.append)
    lexicon = Lexicon({"中文": 2, "中": 1, "文": 1})
    model = ciyu.Model(lexicon)
    model.decoder = Decoder(lexicon.log_probs(), lexicon.unk_logp(), compiled=False)
    assert model.segment("中文中文\n中") == "中文 中文\n中"
    monkeypatch.setattr(ciyu.text, "_lattice", None)
    assert ciyu.text.learnable_view("中文，") == "中文\0"
    assert seen == [6, 3]
