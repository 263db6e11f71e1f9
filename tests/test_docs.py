"""The documentation site builds with warnings as errors (`mkdocs build --strict`), and renders.

The docstrings are numpydoc sections written in Markdown with `$...$` / `$$...$$` maths, which is
what mkdocstrings renders; reST/Sphinx markup (roles, directives, double backticks) would reach the
API page as raw text, so both the built HTML and the docstrings themselves are checked for it.
"""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# reST/Sphinx markup that Markdown leaves as text. In HTML a role's backticks may have become <code>.
RAW_MARKUP = re.compile(
    r":(?:math|func|class|mod|data|meth|attr|obj|exc|const|ref|py:\w+):(?:`|<code>)"  # roles
    r"|\.\. (?:math|note|warning|seealso|code-block|versionadded|deprecated)::"       # directives
    r"|(?<!`)``[^`\n][^`]*?``(?!`)|<code>`|`</code>"                                 # ``literal``
)
PACKAGES = ("dismetrics", "dismetrics_models")


def _context(text: str, match: re.Match) -> str:
    return " ".join(text[max(0, match.start() - 60):match.end() + 40].split())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site, built once for this module with `mkdocs build --strict` into a temporary folder."""
    pytest.importorskip("mkdocs", reason="the [docs] extra is not installed")
    pytest.importorskip("mkdocstrings", reason="the [docs] extra is not installed")
    site_dir = tmp_path_factory.mktemp("docs") / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    completed = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                                "-d", str(site_dir)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return site_dir


def test_mkdocs_build_strict(site):
    assert (site / "api" / "index.html").read_text().count("doc-heading") > 10


def test_the_metric_table_is_the_registry(site):
    from dismetrics.metrics.registry import metric_specs

    page = (site / "metrics" / "index.html").read_text()
    assert "metric-table" not in page  # the marker was replaced
    for spec in metric_specs():
        assert f"<code>{spec.name}</code>" in page, spec.name
        for alias in spec.aliases:
            assert f"<code>{alias}</code>" in page, alias


def test_built_html_has_no_raw_rest_markup(site):
    found = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text()
        found += [f"{page.relative_to(site)}: {_context(text, m)}" for m in RAW_MARKUP.finditer(text)]
    assert not found, f"{len(found)} pieces of raw reST markup in the built site:\n" + "\n".join(found[:50])


def test_api_page_renders_maths_and_cross_references(site):
    text = (site / "api" / "index.html").read_text()
    assert text.count('<span class="arithmatex">') > 20  # inline $...$
    assert text.count('<div class="arithmatex">') > 10  # display $$...$$
    assert text.count('class="autorefs autorefs-internal"') > 20  # [`name`][dismetrics.module.name]
    for heading in ("dismetrics.metrics.mig.mig", "dismetrics.evaluate.evaluate", "dismetrics.representation.Representation",
                    "dismetrics.intervals.evaluation_level", "dismetrics.streaming.StreamingMetric",
                    "dismetrics.monitor.TrainingMonitor", "dismetrics.data.download.download"):
        assert f'id="{heading}"' in text, heading


def test_non_page_files_stay_out_of_the_site(site):
    scripts = sorted(p.name for p in (ROOT / "docs").rglob("*.py"))
    assert "make_metric_plots.py" in scripts
    assert sorted(p.name for p in site.rglob("*.py")) == []
    assert not (site / "img" / "metric_properties" / "raw_noise.csv").exists()


def _mathjax_installed() -> bool:
    spec = importlib.util.find_spec("mathjax")
    return any((Path(p) / "static" / "mathjax" / "es5" / "tex-mml-chtml.js").is_file()
               for p in ((spec.submodule_search_locations or []) if spec else []))


def test_mathjax_is_served_from_the_site(site):
    assert _mathjax_installed(), ("django-static-mathjax (the [docs] extra, installed by the README's test command) is "
                                  "missing: the site would load MathJax from the CDN")
    bundle = site / "javascripts" / "mathjax" / "tex-mml-chtml.js"
    assert bundle.stat().st_size > 100_000
    assert (site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff").is_file()
    assert (site / "javascripts" / "mathjax" / "input" / "tex" / "extensions" / "ams.js").is_file()
    api = (site / "api" / "index.html").read_text()
    scripts = re.findall(r'<script src="([^"]+)"', api)
    assert "../javascripts/mathjax.js" in scripts and "../javascripts/mathjax/tex-mml-chtml.js" in scripts
    assert scripts.index("../javascripts/mathjax.js") < scripts.index("../javascripts/mathjax/tex-mml-chtml.js")
    remote = [(p.relative_to(site), s) for p in site.rglob("*.html")
              for s in re.findall(r'<script[^>]* src="([^"]+)"', p.read_text()) if "://" in s]
    assert remote == []


def _docstrings(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        for child in getattr(node, "body", []) if isinstance(getattr(node, "body", None), list) else []:
            if isinstance(child, ast.Expr) and isinstance(child.value, ast.Constant) and isinstance(child.value.value, str):
                yield child.lineno, child.value.value


def test_docstrings_are_markdown_not_rest():
    """The same check on the sources, without the [docs] extra: every docstring of both packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, doc in _docstrings(path):
                found += [f"{path.relative_to(ROOT)}:{line}: {_context(doc, m)}" for m in RAW_MARKUP.finditer(doc)]
    assert not found, f"{len(found)} pieces of reST markup in docstrings:\n" + "\n".join(found[:80])


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
