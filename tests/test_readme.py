"""Every ```python and ```bash block of README.md runs as written, in order, in one fresh directory.

Rules (so the README cannot rot):
- The Python blocks are concatenated in README order and run in one subprocess, so a later block may
  use the names an earlier Python block defined (`np`, `sampler`, `random_projection`, `rng`, `mig`).
- The shell blocks run one by one, in README order, with `bash -euo pipefail` in the same directory,
  after the Python blocks; a later block may use files an earlier one wrote (`runs/a`, `all.csv`).
- The `dismetrics` of this interpreter's environment is first on PATH; `DISMETRICS_CACHE` points into
  the temporary directory, `MPLBACKEND=Agg`.
- Only the blocks of SKIPPED are not run, each for the reason given there; SUBSTITUTIONS is the only
  rewriting of a block's text (empty: the blocks run exactly as written).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")  # the README's training examples need the [models] extra

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(python|bash)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

# (a substring identifying the block, why it is not run)
SKIPPED = [
    ("python -m pip install", "installs packages (the install commands are checked by test_packaging / CI)"),
    ("dismetrics datasets --download", "needs the network; test_download_option_parses checks the option"),
]
# (text as in the README, text run instead): none, the README's sizes are the test's sizes.
SUBSTITUTIONS: list[tuple[str, str]] = []


def _blocks() -> list[tuple[str, str]]:
    blocks = [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]
    run = []
    for language, text in blocks:
        if any(marker in text for marker, _ in SKIPPED):
            continue
        for old, new in SUBSTITUTIONS:
            text = text.replace(old, new)
        run.append((language, text))
    return run


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DISMETRICS_CACHE"] = str(tmp_path / "cache")
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONPATH", None)
    return env


def test_skip_list_matches_exactly_the_intended_blocks():
    blocks = [m.group(2) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]
    skipped = [b for b in blocks if any(marker in b for marker, _ in SKIPPED)]
    # the two install blocks of "The two commands", the install block of "Install", the download example
    assert len(skipped) == 4, skipped
    for marker, _ in SKIPPED:
        assert any(marker in b for b in skipped), marker
    for block in skipped:  # a skipped block holds nothing else worth running
        lines = [ln for ln in block.splitlines() if ln.strip()]
        assert all("pip install" in ln or "--download" in ln for ln in lines), block


def test_download_option_parses(tmp_path):
    out = subprocess.run(["dismetrics", "datasets", "--help"], cwd=tmp_path, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "--download" in out.stdout


def test_readme_blocks_run_in_order(tmp_path):
    for old, _ in SUBSTITUTIONS:  # a stale substitution fails instead of silently doing nothing
        assert old in README.read_text(encoding="utf-8"), old
    blocks = _blocks()
    assert [lang for lang, _ in blocks].count("python") >= 4 and any(lang == "bash" for lang, _ in blocks)
    env = _env(tmp_path)
    python_source = "\n\n".join(text for lang, text in blocks if lang == "python")
    (tmp_path / "readme_blocks.py").write_text(python_source, encoding="utf-8")
    out = subprocess.run([sys.executable, "readme_blocks.py"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"python blocks failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    for index, (lang, text) in enumerate(b for b in blocks if b[0] == "bash"):
        out = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"bash block {index} failed:\n{text}\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    assert (tmp_path / "runs" / "a" / "scores.json").is_file()
    assert (tmp_path / "runs" / "b" / "scores.json").is_file()
    assert (tmp_path / "all.csv").is_file()
    assert (tmp_path / "report").is_dir()
