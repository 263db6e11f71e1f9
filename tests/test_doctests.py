"""The Examples of the docstrings run as doctests under the README's test command (`python -m pytest`):
pyproject.toml collects the packages with `--doctest-modules`, and every registered metric's function
has an Examples section for it to run."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import dismetrics  # noqa: F401  (registers the built-in metrics)
from dismetrics.metrics.registry import metric_specs

ROOT = Path(__file__).resolve().parents[1]


def _pytest_section() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return text.split("[tool.pytest.ini_options]", 1)[1].split("\n[", 1)[0]


def test_the_test_command_collects_the_doctests_of_both_packages():
    section = _pytest_section()
    testpaths = re.search(r"^testpaths\s*=\s*\[(.*?)\]", section, re.M).group(1)
    assert {'"tests"', '"dismetrics"', '"dismetrics_models"'} <= {p.strip() for p in testpaths.split(",")}
    assert "--doctest-modules" in re.search(r"^addopts\s*=\s*\"(.*?)\"", section, re.M).group(1)
    assert (ROOT / "conftest.py").is_file()  # leaves out modules whose optional dependency is missing


def test_every_registered_metric_has_a_runnable_example():
    """A doctest with at least one expected output (an example that prints nothing checks nothing)."""
    finder = doctest.DocTestFinder(recurse=False)
    missing = []
    for spec in metric_specs():
        tests = finder.find(spec.func, spec.name)
        if not any(example.want.strip() for test in tests for example in test.examples):
            missing.append(spec.name)
    assert not missing, f"metrics without a doctest that checks an output: {missing}"
