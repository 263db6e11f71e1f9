"""The documentation site builds with warnings as errors (``mkdocs build --strict``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the [docs] extra is not installed")
    pytest.importorskip("mkdocstrings", reason="the [docs] extra is not installed")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    completed = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                                "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("doc-heading") > 10


def test_every_docs_page_is_in_the_nav():
    yaml = pytest.importorskip("yaml", reason="the [docs] extra (mkdocs) brings PyYAML")

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python/name:", ""))
    listed = set()

    def walk(node):
        if isinstance(node, str):
            listed.add(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config["nav"])
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages - listed == set(), "pages missing from mkdocs.yml's nav"


def test_cli_page_states_the_small_budget_sizes():
    """docs/cli.md's `dismetrics score` example claims to be the small e2e budget's sizes: keep it true."""
    import json
    import re

    from dismetrics.cli import parse_metric_params

    sys.path.insert(0, str(ROOT / "benchmarks" / "e2e"))
    from sweep import SMALL_SCORE_SIZES

    text = (ROOT / "docs" / "cli.md").read_text()
    command = re.search(r"dismetrics score --model-dir runs/b (.*?)\n```", text, re.S).group(1)
    sizes = dict(re.findall(r"--(n|n-test|repeats) (\d+)", command))
    assert {"n": int(sizes["n"]), "n_test": int(sizes["n-test"]), "repeats": int(sizes["repeats"])} == {
        key: SMALL_SCORE_SIZES[key] for key in ("n", "n_test", "repeats")}
    assert re.search(r"--exclude (\S+)", command).group(1).split(",") == SMALL_SCORE_SIZES["exclude"]
    params = parse_metric_params(re.search(r"--metric-params '(.*?)'", command, re.S).group(1))
    assert params == json.loads(json.dumps(SMALL_SCORE_SIZES["metric_params"]))
