"""MkDocs hook: serve MathJax from the site itself, so the docs render their maths offline.

MathJax 3 comes from the `django-static-mathjax` wheel (MathJax's own es5 build as package data,
no dependencies despite the name; it installs a `mathjax` package). Its `tex-mml-chtml.js`, the
CommonHTML fonts and the components it loads on demand are copied to `javascripts/mathjax/` of
the site, and the pages load it from there. Without the wheel the build still works and the pages
load MathJax from the jsDelivr CDN instead (said once at INFO level, which `--strict` allows).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from mkdocs.structure.files import File

log = logging.getLogger("mkdocs.hooks.mathjax_offline")

CDN_URL = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"
SITE_DIR = "javascripts/mathjax"
BUNDLE = "tex-mml-chtml.js"
# What the bundle loads at run time: TeX extensions (autoload), the CommonHTML fonts, the menu and
# the accessibility components (assistive MathML, the explorer and its speech rules).
ON_DEMAND = ("input/", "output/chtml/", "ui/", "a11y/", "sre/", "adaptors/")


def mathjax_es5_dir() -> Path | None:
    """The `es5` folder of the installed MathJax wheel, or None."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / BUNDLE).is_file():
            return es5
    return None


def on_config(config):
    es5 = mathjax_es5_dir()
    if es5 is None:
        log.info("MathJax is loaded from the CDN: install django-static-mathjax (the [docs] extra) "
                 "to serve it from the site")
        config.extra_javascript.append(CDN_URL)
    else:
        config.extra_javascript.append(f"{SITE_DIR}/{BUNDLE}")
    return config


def _site_file(config, src_uri: str, path: Path) -> File:
    if hasattr(File, "generated"):  # mkdocs >= 1.6
        return File.generated(config, src_uri, abs_src_path=str(path))
    file = File(src_uri, src_dir=str(path.parent), dest_dir=config["site_dir"], use_directory_urls=False)
    file.abs_src_path = str(path)
    return file


def on_files(files, config):
    es5 = mathjax_es5_dir()
    if es5 is None:
        return files
    for path in sorted(es5.rglob("*")):
        relative = path.relative_to(es5).as_posix()
        if path.is_file() and (relative == BUNDLE or relative.startswith(ON_DEMAND)):
            files.append(_site_file(config, f"{SITE_DIR}/{relative}", path))
    return files
