"""What a release ships, checked as a stranger would get it.

Fast checks (always run): the version has one source and equals the installed metadata, the CHANGELOG
starts with it, the LICENSE is the Apache-2.0 text that pyproject.toml declares, ``py.typed`` is there,
the numba kernels cache outside the package, and mypy accepts the package.

The distribution checks build the sdist and the wheel, install the wheel into fresh virtual
environments outside the source tree and run it there; they need PyPI (or a pip cache) and a few
minutes, so they run only with ``DISMETRICS_TEST_DIST=1`` (``.ci/run`` sets it):

- ``python -m build``, then ``twine check --strict``; what each archive holds (the sdist: the tests,
  the docs sources, LICENSE, CHANGELOG; the wheel: the two packages, LICENSE and ``py.typed``, nothing
  else);
- the wheel in a fresh venv on the newest Python found (no torch): import, ``dismetrics metrics``,
  ``dismetrics demo``, one metric call;
- the same with site-packages made read-only (as another user when the tests run as root, since
  root writes through the permission bits), and no numba cache file inside the installed package;
- the lowest declared versions of the direct dependencies, on the oldest supported Python found,
  running the agreement tests out of the sdist against the installed wheel; with
  ``DISMETRICS_TEST_LOWEST_TORCH=1`` also the [models] extra's floor (PyTorch) and the torch tests.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dismetrics"

# sha256 of the Apache License 2.0 text as published at apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

DIST = os.environ.get("DISMETRICS_TEST_DIST") == "1"
needs_dist = pytest.mark.skipif(not DIST, reason="distribution checks: set DISMETRICS_TEST_DIST=1 (builds, "
                                                 "installs from PyPI into fresh venvs; minutes)")

# The supported Python range (pyproject.toml's requires-python and classifiers).
OLDEST_PYTHON, NEWEST_PYTHON = (3, 10), (3, 13)

# Agreement tests run against the lowest declared dependency versions, minus the ones that compare
# bit for bit with the *installed* reference library's own rounding or API, which older releases of it
# do differently without dismetrics' results changing (the reasons, one per test):
LOWEST_DEPS_TESTS = [
    "tests/test_info_kernels.py",
    "tests/test_info_metrics.py",
    "tests/test_predictor_metrics.py",
    "tests/test_wdg.py",
    "tests/test_intervention_metrics.py",
    "tests/test_wider_metrics.py",
    "tests/test_docs_plots.py",
]
# The tests that need torch, for the [models] extra at its floor (DISMETRICS_TEST_LOWEST_TORCH=1).
LOWEST_TORCH_TESTS = [
    "tests/test_models_losses.py",
    "tests/test_models_training.py",
    "tests/test_models_wasserstein.py",
    "tests/test_representation.py",
    "tests/test_representation_modeldir.py",
    "tests/test_encoder_trust.py",
    "tests/test_quickstart.py",
    "tests/test_parallel.py",
    "tests/test_evaluate.py",
]
LOWEST_DEPS_DESELECT = {
    # The sample was picked free of near-ties under the current sklearn's summation order; sklearn
    # < 1.9 rounds one split of the 6-class case differently (the kernel's DCI agrees statistically,
    # test_dci_numba_close_to_sklearn_reference, which does run). sklearn < 1.4 also does not centre
    # the multiclass decision_function (a per-row constant: same probabilities, same trees).
    "tests/test_predictor_metrics.py::test_boosting_kernel_equals_sklearn_on_one_dim",
    "tests/test_predictor_metrics.py::test_boosting_kernel_matches_sklearn_trees_and_importance_on_several_dims",
    # The reference there uses LinearSVC's default solver: dual=True (randomized) before sklearn 1.5,
    # the deterministic primal solver that dismetrics.sap pins (dual=False) from 1.5 on.
    "tests/test_predictor_metrics.py::test_sap_equals_direct_computation_and_parallel_equals_serial",
    # Calls np.trapezoid (numpy >= 2.0) in the test itself.
    "tests/test_wider_metrics.py::test_explicitness_authors_code_variant",
    # Pins D, C and I bit for bit to the values before the backend refactor, computed with the current
    # numpy; numpy's pairwise summation at the floor rounds C one unit in the last place differently
    # (0.8157047175739068 against ...67). The refactor's bit-identity is what this pins, on the current
    # stack; the agreement with the reference (to 0.005) runs at the floors too.
    "tests/test_predictor_metrics.py::test_dci_numba_values_unchanged_bit_for_bit",
}


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# --------------------------------------------------------------------------------------------------
# fast checks


def test_version_has_one_source_and_equals_the_installed_metadata():
    import dismetrics

    assert dismetrics.__version__ == importlib.metadata.version("dismetrics")
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dismetrics.__version__"}
    # written once, as a literal that setuptools reads without importing the package
    assigned = re.findall(r'^__version__ = "([^"]+)"$', (PACKAGE / "__init__.py").read_text(), re.M)
    assert assigned == [dismetrics.__version__]


def test_changelog_starts_with_this_release():
    import dismetrics

    text = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert releases and releases[0] == dismetrics.__version__, releases[:1]


def test_license_is_the_declared_apache_text():
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]  # PEP 639


def test_py_typed_marker_is_part_of_the_package():
    assert (PACKAGE / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["dismetrics"]


def _cache_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "DISMETRICS_NUMBA_CACHE",
                                                          "XDG_CACHE_HOME", "NUMBA_DISABLE_JIT")}
    env.update(extra)
    return env


_ONE_METRIC = ("import numpy as np, dismetrics as dm\n"
               "rng = np.random.default_rng(0)\n"
               "factors = rng.integers(0, 5, size=(400, 2))\n"
               "codes = np.hstack([factors / 4.0, rng.normal(size=(400, 1))])\n"
               "print(float(dm.mig(codes, factors)))\n")


def _kernel_cache_files(folder: Path, since: float = 0.0) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc") and p.stat().st_mtime >= since]


def test_numba_cache_goes_to_the_user_cache_folder_not_the_package(tmp_path):
    start = time.time() - 1
    xdg = tmp_path / "xdg"
    completed = subprocess.run([sys.executable, "-c", _ONE_METRIC + "print(dm.__file__)"], check=True,
                               capture_output=True, text=True, env=_cache_env(XDG_CACHE_HOME=str(xdg)), cwd=tmp_path)
    package = Path(completed.stdout.split()[-1]).parent  # the copy imported (installed or the checkout)
    assert _kernel_cache_files(xdg / "dismetrics" / "numba")
    assert not _kernel_cache_files(package, since=start)


def test_numba_cache_dir_settings_win_in_order(tmp_path):
    # $NUMBA_CACHE_DIR (numba's own) before $DISMETRICS_NUMBA_CACHE before the user cache folder
    code = _ONE_METRIC + textwrap.dedent("""
        from dismetrics._kernels import cache_dirs
        print(cache_dirs()[0])
    """)
    completed = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path,
                               env=_cache_env(XDG_CACHE_HOME=str(tmp_path / "xdg"),
                                              DISMETRICS_NUMBA_CACHE=str(tmp_path / "ours"),
                                              NUMBA_CACHE_DIR=str(tmp_path / "numba")))
    assert completed.stdout.split()[-1] == str(tmp_path / "ours")
    assert _kernel_cache_files(tmp_path / "numba")
    assert not (tmp_path / "ours").exists() and not (tmp_path / "xdg").exists()


def test_mypy_accepts_the_package():
    """The type checker of pyproject.toml's [tool.mypy] (what it leaves out, and why, is written there)."""
    pytest.importorskip("mypy", reason="mypy is in the [test] extra")
    completed = subprocess.run([sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT,
                               env={k: v for k, v in os.environ.items() if k != "MYPYPATH"})
    assert completed.returncode == 0, completed.stdout + completed.stderr


# --------------------------------------------------------------------------------------------------
# distribution checks (DISMETRICS_TEST_DIST=1)


def _clean_env(**extra) -> dict:
    """The environment of a stranger's shell: no path of the checkout, no venv of ours."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONSAFEPATH", "NUMBA_CACHE_DIR",
            "DISMETRICS_NUMBA_CACHE", "XDG_CACHE_HOME", "MYPYPATH", "PYTEST_ADDOPTS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if sys.prefix != sys.base_prefix:  # leave the venv the tests run in off PATH
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                      if p and not Path(p).is_relative_to(sys.prefix))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra)
    return env


def _run(cmd, *, cwd, env=None, timeout=900, check=True, user_prefix=()) -> subprocess.CompletedProcess:
    started = time.perf_counter()
    completed = subprocess.run([*user_prefix, *map(str, cmd)], cwd=cwd, env=env or _clean_env(), capture_output=True,
                               text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    print(f"[{seconds:6.1f} s] {' '.join(map(str, cmd))[:160]}")
    if check and completed.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} exited {completed.returncode}:\n"
                    f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}")
    return completed


def _python_version(executable) -> tuple[int, int] | None:
    try:
        out = subprocess.run([str(executable), "-c", "import sys, venv; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60, env=_clean_env())
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def _find_python(version: tuple[int, int]) -> str | None:
    """An interpreter of that version: on PATH, or one of pyenv's."""
    name = f"python{version[0]}.{version[1]}"
    candidates = [shutil.which(name)]
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", f"{version[0]}.{version[1]}.*", "bin", name)),
                         reverse=True)
    candidates += [f"/usr/bin/{name}", f"/usr/local/bin/{name}"]
    for candidate in candidates:
        if candidate and _python_version(candidate) == version:
            return candidate
    return None


def _python_in_range(newest_first: bool) -> str:
    versions = [(3, minor) for minor in range(OLDEST_PYTHON[1], NEWEST_PYTHON[1] + 1)]
    for version in (reversed(versions) if newest_first else versions):
        found = _find_python(version)
        if found:
            return found
    return sys.executable


def _venv(python, where: Path) -> Path:
    _run([python, "-m", "venv", where], cwd=where.parent)
    return where / "bin" / "python"


def _site_packages(python: Path) -> Path:
    return Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=python.parent).stdout.strip())


@pytest.fixture(scope="module")
def scratch():
    """A folder outside the source tree that another user can enter (the read-only check runs as one)."""
    folder = Path(tempfile.mkdtemp(prefix="dismetrics-dist-"))
    folder.chmod(0o755)
    yield folder

    if shutil.which("rm") and subprocess.run(["rm", "-rf", str(folder)], capture_output=True).returncode == 0:
        return  # (much faster than rmtree on three venvs)
    subprocess.run(["chmod", "-R", "u+w", str(folder)], capture_output=True)  # the read-only site-packages
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def dists(scratch):
    """``python -m build`` (the sdist, then the wheel built from the sdist) and ``twine check``."""
    out = scratch / "dist"
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=scratch, timeout=600,
         env=_clean_env(PATH=os.environ.get("PATH", "")))
    wheels, sdists = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, list(out.iterdir())
    _run([sys.executable, "-m", "twine", "check", "--strict", wheels[0], sdists[0]], cwd=scratch)
    return {"wheel": wheels[0], "sdist": sdists[0]}


@needs_dist
def test_wheel_holds_the_packages_license_and_py_typed_only(dists):
    import dismetrics

    wheel = dists["wheel"]
    assert wheel.name == f"dismetrics-{dismetrics.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"dismetrics-{dismetrics.__version__}.dist-info/METADATA").decode()
        license_text = archive.read(f"dismetrics-{dismetrics.__version__}.dist-info/licenses/LICENSE")
    assert hashlib.sha256(license_text).hexdigest() == APACHE_2_SHA256
    assert "dismetrics/py.typed" in names
    tops = {name.split("/")[0] for name in names}
    assert tops == {"dismetrics", "dismetrics_models", f"dismetrics-{dismetrics.__version__}.dist-info"}, tops
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]
    assert re.search(r"^License-Expression: Apache-2.0$", metadata, re.M)
    assert re.search(r"^Requires-Python: >=3\.10$", metadata, re.M)
    # every tracked module of the two packages is in the wheel
    sources = {str(p.relative_to(ROOT)) for pkg in ("dismetrics", "dismetrics_models")
               for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts}
    assert sources <= set(names), sorted(sources - set(names))


@needs_dist
def test_sdist_holds_the_tests_and_docs_sources(dists):
    import dismetrics

    prefix = f"dismetrics-{dismetrics.__version__}/"
    with tarfile.open(dists["sdist"]) as archive:
        names = {name[len(prefix):] for name in archive.getnames() if name.startswith(prefix)}
    for required in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "mkdocs.yml", "PKG-INFO",
                     "dismetrics/py.typed", "tests/conftest.py", "docs/index.md", "docs/api.md"):
        assert required in names, required
    for folder in ("tests", "docs"):
        tracked = {str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith((".pyc", ".nbi", ".nbc"))}
        assert tracked <= names, sorted(tracked - names)[:10]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".nbi", ".nbc"))]


@needs_dist
def test_the_wheel_works_in_a_fresh_venv_outside_the_source_tree(dists, scratch):
    """Newest supported Python on the machine, no torch: import, the CLI, one metric; then again with
    site-packages read-only, and no numba cache file written into the installed package."""
    python = _venv(_python_in_range(newest_first=True), scratch / "venv-smoke")
    _run([python, "-m", "pip", "install", "--only-binary", ":all:", dists["wheel"]], cwd=scratch, timeout=900)
    work = scratch / "work-smoke"
    work.mkdir()
    home = scratch / "home-smoke"
    env = _clean_env(XDG_CACHE_HOME=str(home / ".cache"))
    site = _site_packages(python)
    installed = _run([python, "-c", "import importlib.util as u, dismetrics, importlib.metadata as m; "
                      "print(dismetrics.__file__); print(dismetrics.__version__ == m.version('dismetrics')); "
                      "print(u.find_spec('torch') is None)"], cwd=work, env=env).stdout.split()
    assert Path(installed[0]).is_relative_to(site), installed  # the wheel's copy, not the checkout
    assert installed[1:] == ["True", "True"], installed  # version from metadata; torch is not needed
    assert "mig" in _run([python.parent / "dismetrics", "metrics"], cwd=work, env=env).stdout
    # every metric but the slow dci_es, at 1,000 points (the default 10,000 take minutes on 2 cores)
    demo = _run([python.parent / "dismetrics", "demo", "--n", "1000"], cwd=work, env=env, timeout=900)
    assert re.search(r"^mig\s+\d", demo.stdout, re.M) and re.search(r"^dci\s+\d", demo.stdout, re.M), demo.stdout
    value = float(_run([python, "-c", _ONE_METRIC], cwd=work, env=env).stdout.split()[-1])
    assert 0.0 < value <= 1.0

    # read-only site-packages: a fresh cache folder, so the kernels compile again and must be cached
    package = site / "dismetrics"
    assert not _kernel_cache_files(package)
    _make_read_only(site)
    env = _clean_env(XDG_CACHE_HOME=str(home / "cache-read-only"))
    assert float(_run([python, "-c", _ONE_METRIC], cwd=work, env=env).stdout.split()[-1]) == value
    assert _kernel_cache_files(home / "cache-read-only" / "dismetrics" / "numba")
    assert not _kernel_cache_files(package)


def _make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@needs_dist
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="as root only: the smoke test above "
                    "already ran with a read-only site-packages that the permission bits enforce")
def test_a_read_only_install_works_for_another_user(dists, scratch):
    """Root writes through read-only permission bits, so as root the read-only install is checked as
    user ``nobody``, with an interpreter that user can read (the system one: pyenv's live in /root)."""
    setpriv = shutil.which("setpriv")
    base = next((p for p in (f"/usr/bin/python3.{m}" for m in range(NEWEST_PYTHON[1], OLDEST_PYTHON[1] - 1, -1))
                 if _python_version(p) is not None), None)
    if setpriv is None or base is None:
        pytest.skip("needs setpriv and a system Python 3.10-3.13 that another user can run")
    python = _venv(base, scratch / "venv-nobody")
    _run([python, "-m", "pip", "install", "--only-binary", ":all:", dists["wheel"]], cwd=scratch, timeout=900)
    site = _site_packages(python)
    _make_read_only(scratch / "venv-nobody")
    home = scratch / "home-nobody"
    home.mkdir()
    os.chown(home, 65534, 65534)
    as_nobody = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
    env = _clean_env(HOME=str(home))
    probe = _run(["sh", "-c", f"touch {site}/dismetrics/probe"], cwd=home, env=env, user_prefix=as_nobody,
                 check=False)
    assert probe.returncode != 0, "site-packages should not be writable by nobody"
    value = float(_run([python, "-c", _ONE_METRIC], cwd=home, env=env, user_prefix=as_nobody).stdout.split()[-1])
    assert 0.0 < value <= 1.0
    assert _kernel_cache_files(home / ".cache" / "dismetrics" / "numba")
    assert not _kernel_cache_files(site / "dismetrics")


def _lowest_requirements(wheel: Path, extras: tuple[str, ...] = ()) -> list[str]:
    """``name==floor`` for every direct dependency in the wheel's metadata that applies here (and those
    of the given extras)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    pins = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist: "):
            continue
        requirement = Requirement(line[len("Requires-Dist: "):])
        if requirement.marker is not None and not any(requirement.marker.evaluate({"extra": extra})
                                                      for extra in ("", *extras)):
            continue
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert floors, f"{requirement} declares no lower bound"
        pins.append(f"{requirement.name}=={floors[0]}")
    return pins


def _lowest_job(dists, scratch, name, *, extras=(), tests, deselect=(), also=("pytest", "hypothesis")):
    """A venv on the oldest supported Python found with the wheel and its dependencies at their floors;
    ``tests`` run out of the sdist (its package folders removed, so they import the installed wheel)."""
    pytest.importorskip("packaging")
    pins = sorted(set(_lowest_requirements(dists["wheel"], extras)))
    python = _venv(_python_in_range(newest_first=False), scratch / f"venv-{name}")
    _run([python, "-m", "pip", "install", "--only-binary", ":all:", dists["wheel"], *pins, *also],
         cwd=scratch, timeout=1200)
    frozen = set(_run([python, "-m", "pip", "freeze"], cwd=scratch).stdout.lower().split())
    for pin in pins:
        package, version = pin.lower().split("==")
        assert any(line.split("==")[0].replace("_", "-") == package and line.endswith(f"=={version}")
                   or line == f"{package}=={version}.0" for line in frozen), (pin, sorted(frozen))
    source = scratch / f"sdist-{name}"
    with tarfile.open(dists["sdist"]) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(source, filter="data")
        else:  # pragma: no cover - Pythons before the extraction filters (3.10.12, 3.11.4)
            archive.extractall(source)
    tree = next(source.iterdir())
    for package in ("dismetrics", "dismetrics_models"):
        shutil.rmtree(tree / package)
    deselected = [arg for test in sorted(deselect) for arg in ("--deselect", test)]
    completed = _run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests, *deselected],
                     cwd=tree, env=_clean_env(CI=os.environ.get("CI", "")), timeout=1500, check=False)
    summary = completed.stdout.strip().splitlines()[-1:] if completed.stdout.strip() else []
    print(f"{name} ({', '.join(pins)}): {summary}")
    assert completed.returncode == 0, completed.stdout[-8000:] + completed.stderr[-4000:]


@needs_dist
def test_lowest_declared_dependency_versions(dists, scratch):
    """The direct dependencies at their declared floors, on the oldest supported Python found, running
    the agreement tests of every metric family and the plots against the installed wheel."""
    _lowest_job(dists, scratch, "lowest", tests=LOWEST_DEPS_TESTS, deselect=LOWEST_DEPS_DESELECT)


@needs_dist
@pytest.mark.skipif(os.environ.get("DISMETRICS_TEST_LOWEST_TORCH") != "1",
                    reason="the [models] extra at its floors: set DISMETRICS_TEST_LOWEST_TORCH=1 as well (a CUDA "
                           "build of torch from PyPI, about 5 GB and 4 minutes)")
def test_lowest_declared_torch_version(dists, scratch):
    """The floors of the core and of the [models] extra (PyTorch), running the tests that use torch."""
    _lowest_job(dists, scratch, "lowest-torch", extras=("models",), tests=LOWEST_TORCH_TESTS, also=("pytest",
                "hypothesis", "h5py"))
