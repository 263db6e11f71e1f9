"""Data sets by name: `get_sampler(name, path=None, **kw)` and `list_datasets()`."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from .dsprites import DSprites
from .loaders import MPI3D, Cars3D, Shapes3D, SmallNORB

__all__ = ["get_sampler", "list_datasets", "DATASETS"]

DATASETS: dict[str, tuple[Any, str, str]] = {
    "dsprites": (DSprites, "DISMETRICS_DSPRITES", "optional: the official dsprites_ndarray_...npz (procedural without it)"),
    "shapes3d": (Shapes3D, "DISMETRICS_SHAPES3D", "3dshapes.h5"),
    "mpi3d": (MPI3D, "DISMETRICS_MPI3D", "mpi3d_{toy,realistic,real}.npz"),
    "smallnorb": (SmallNORB, "DISMETRICS_SMALLNORB", "directory with smallnorb-*-{dat,cat,info}.mat"),
    "cars3d": (Cars3D, "DISMETRICS_CARS3D", "directory with car_XXX_mesh.mat"),
}
"""name -> (class, environment variable holding the user's file/dir, what the path is)"""


def _infer_name(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        if any(path.glob("car_*_mesh.mat")):
            return "cars3d"
        if any(path.glob("smallnorb-*-dat.mat")):
            return "smallnorb"
    elif "dsprites" in name and name.endswith(".npz"):
        return "dsprites"
    elif name.endswith((".h5", ".hdf5")) and "3dshapes" in name.replace("_", ""):
        return "shapes3d"
    elif "mpi3d" in name and name.endswith(".npz"):
        return "mpi3d"
    elif name.endswith(".npz") and path.is_file() and zipfile.is_zipfile(path):
        keys = set(zipfile.ZipFile(path).namelist())
        if {"imgs.npy", "latents_classes.npy"} <= keys:
            return "dsprites"
    raise ValueError(
        f"cannot tell which data set {str(path)!r} is; pass name= one of {sorted(DATASETS)} "
        "(recognised: dsprites*.npz, 3dshapes.h5, mpi3d*.npz, a directory of car_*_mesh.mat or smallnorb-*-dat.mat)."
    )


_VARIANTS = {"mpi3dtoy": "mpi3d_toy", "mpi3drealistic": "mpi3d_realistic", "mpi3dreal": "mpi3d_real"}
"""the MPI3D variants, which share a loader: name without separators -> download name."""


def get_sampler(name: str | None = None, path: str | os.PathLike | None = None, *, download: bool = False, **kwargs: Any):
    """The sampler of a named data set: `"dsprites"` (procedural unless `path` gives the official
    file, or `download=True`), `"shapes3d"`, `"mpi3d"` (or one of its variants `"mpi3d_toy"`,
    `"mpi3d_realistic"`, `"mpi3d_real"`), `"smallnorb"`, `"cars3d"`. These read the publisher's
    files from `path`, else from the environment variable listed by
    [`list_datasets`][dismetrics.data.registry.list_datasets], else from the data cache when they were
    downloaded before; `download=True` fetches them there first (verified; see
    [`dismetrics.data.download.download`][dismetrics.data.download.download]). Nothing is downloaded
    otherwise. With `name=None` the data set is inferred from `path`. Extra keyword arguments go to the
    sampler's constructor."""
    if name is None:
        if path is None:
            raise ValueError(f"give a data-set name (one of {sorted(DATASETS)}) or a path to a data-set file.")
        name = _infer_name(Path(path))
    key = str(name).lower().replace("-", "").replace("_", "")
    variant = _VARIANTS.get(key)
    if variant is not None:
        key = "mpi3d"
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {sorted(DATASETS)} (and {sorted(_VARIANTS.values())}).")
    cls, env, what = DATASETS[key]
    if path is not None and download:
        raise ValueError("give path= or download=True, not both: download=True fetches the files into the data cache.")
    if path is None and variant is None:  # a named MPI3D variant is looked up by that name, not $DISMETRICS_MPI3D
        path = os.environ.get(env) or None
    source = variant or (None if key == "mpi3d" else key)
    if path is None and download:
        if source is None:
            raise ValueError(f"MPI3D comes in three variants; name the one to download: {sorted(_VARIANTS.values())}.")
        from .download import download as fetch

        path = fetch(source)
    elif path is None and source is not None and key != "dsprites":  # procedural dSprites stays the default
        from .download import downloaded_path

        path = downloaded_path(source)
    if path is None:
        if key == "dsprites":
            return cls(**kwargs)
        example = source or "mpi3d_real"
        raise ValueError(
            f"the data set {key!r} is read from your copy of the publisher's files: pass path= ({what}), set ${env}, "
            f"or download them once with get_sampler({example!r}, download=True) or `dismetrics datasets --download {example}`."
        )
    return cls(path, **kwargs)


def list_datasets(paths: dict[str, str | os.PathLike] | None = None) -> list[dict[str, Any]]:
    """One dict per data set: `name`, `factor_names`, `factor_sizes` (Cars3D: 183 objects published),
    `observation_shape`, `env` (the variable read for its path), `expects` (what the path is),
    `path` (from `paths[name]`, the environment, or an earlier download; else None), `found`
    (whether that path exists; procedural dSprites needs none and is always available) and
    `downloads` (the names `dismetrics datasets --download` takes for it)."""
    from .download import SOURCES, downloaded_path

    paths = dict(paths or {})
    rows = []
    for key, (cls, env, what) in DATASETS.items():
        downloads = [name for name, source in SOURCES.items() if source.dataset == key]
        path = paths.get(key) or os.environ.get(env) or None
        if path is None and key != "dsprites" and len(downloads) == 1:
            path = downloaded_path(downloads[0])
        sizes = list(getattr(cls, "factor_sizes", (4, 24, 183)))
        rows.append({
            "name": key,
            "factor_names": list(cls.factor_names),
            "factor_sizes": sizes,
            "observation_shape": list(cls.observation_shape),
            "env": env,
            "expects": what,
            "path": None if path is None else str(path),
            "found": bool(path is not None and Path(path).exists()) or (key == "dsprites" and path is None),
            "downloads": downloads,
        })
    return rows
