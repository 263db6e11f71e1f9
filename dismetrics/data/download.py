"""Download the publishers' files of the data sets, verified, into the data cache.

`get_sampler(name, download=True)` and `dismetrics datasets --download NAME` call
[`download`][dismetrics.data.download.download]. Nothing is ever downloaded unless asked for. For each file:

- the publisher's URL (and known mirrors, tried in order; `mirror=` replaces them all);
- a progress bar (tqdm; off when stderr is not a terminal or `progress=False`);
- resume: the bytes go to `<file>.part`; an interrupted download (cut connection, Ctrl-C) keeps it,
  and the next call asks the server for the rest (HTTP `Range`); a server that ignores the range
  sends everything again;
- a size check (the size recorded for the official file, and the server's announced size, before
  anything is downloaded) and a checksum check (SHA-256 where a published checksum list has it, else
  MD5; docs/downloads.md names the source of each) on the complete file; a file that fails is deleted
  and refused with a [`ChecksumError`][dismetrics.data.download.ChecksumError];
- the verified file is renamed into place atomically (`os.replace`); archives (SmallNORB's `.gz`,
  Cars3D's `.tar.gz`) are unpacked into a temporary folder renamed into place when complete, so a
  crash never leaves a half-written data set that a loader would accept;
- a [`DownloadError`][dismetrics.data.download.DownloadError] that says what to do when the network is
  unreachable (offline, proxy, moved link).

Layout under the data cache (`$DISMETRICS_CACHE` or `~/.cache/dismetrics`):

```text
datasets/<name>/<official file name>   dsprites, shapes3d, mpi3d_toy, mpi3d_realistic, mpi3d_real
datasets/<name>/data/                  smallnorb (the six .mat), cars3d (the 183 car_XXX_mesh.mat)
```
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import socket
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Callable, TextIO

from ._common import cache_dir as common_cache_dir

__all__ = [
    "RemoteFile",
    "DatasetSource",
    "SOURCES",
    "DownloadError",
    "ChecksumError",
    "download",
    "downloaded_path",
    "download_command",
    "dataset_dir",
]

CHUNK = 1 << 20  # bytes per read


class DownloadError(OSError):
    """A data-set file could not be downloaded (network, server, interrupted transfer)."""


class ChecksumError(DownloadError):
    """A downloaded file is not the official one: wrong size or checksum. It has been deleted."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a publisher.

    `name` is the file name in the data-set folder; `urls` are tried in order; `size` (bytes),
    `sha256` and `md5` are the official file's, where known (None: not checked); `source` says
    where the checksum and size come from; `unpack` is None, `"gunzip"` or `"cars3d"`."""

    name: str
    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None
    source: str = ""
    unpack: str | None = None


@dataclass(frozen=True)
class DatasetSource:
    """The files of one downloadable data set and where the loader reads them.

    `dataset` is the name of [`dismetrics.data.get_sampler`][dismetrics.data.registry.get_sampler]; `layout`
    is `"file"` (the loader reads `datasets/<name>/<files[0].name>`) or `"dir"` (it reads
    `datasets/<name>/data`, filled by unpacking the archives); `expect` is the number of files the unpacked
    folder must hold (0: no check)."""

    name: str
    dataset: str
    files: tuple[RemoteFile, ...]
    layout: str = "file"
    homepage: str = ""
    license: str = ""
    expect: int = 0
    keep_archives: bool = False
    notes: str = field(default="", compare=False)


_TFDS = "tensorflow/datasets {path} @ {commit}"
_TFDS_SHAPES3D = _TFDS.format(path="tensorflow_datasets/datasets/shapes3d/checksums.tsv",
                              commit="90b66237ad09c9e5b9b1bc61b646db7b1fb0713c")
_TFDS_SMALLNORB = _TFDS.format(path="tensorflow_datasets/datasets/smallnorb/checksums.tsv",
                               commit="732bfc1f122d2f54c19ce800b088655db0e31ab5")
_DISENT = "nmichlo/disent {path} @ 8f061a87076adeae8d6e5b0fa984b660cd40e026 (uri_hash 'full', MD5 of the whole file)"
_DSPRITES_MD5 = ("pm25/Regression-Datasets regsets/vision/dsprites.py @ 0e20abaa15933ae0f23620adb6d133f625fae05d and "
                 "ganmodokix/vaetc vaetc/data/dsprites.py @ 1a581d83024011a550d598f3e9c538b69eeab542 (the same MD5)")

_DSPRITES_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
_NORB = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
_MPI3D = "https://storage.googleapis.com/disentanglement_dataset/Final_Dataset/"


def _norb(split: str, kind: str, size: int, sha256: str) -> RemoteFile:
    tag = "5x46789x9x18x6x2x96x96-training" if split == "training" else "5x01235x9x18x6x2x96x96-testing"
    name = f"smallnorb-{tag}-{kind}.mat.gz"
    return RemoteFile(name, (_NORB + name,), size=size, sha256=sha256, source=_TFDS_SMALLNORB, unpack="gunzip")


def _mpi3d(variant: str, md5: str) -> DatasetSource:
    name = f"mpi3d_{variant}.npz"
    return DatasetSource(
        f"mpi3d_{variant}", "mpi3d",
        (RemoteFile(name, (_MPI3D + name,), md5=md5, source=_DISENT.format(path="disent/dataset/data/_groundtruth__mpi3d.py")),),
        homepage="https://github.com/rr-learning/disentanglement_dataset", license="CC BY 4.0",
        notes="about 12 GB (1,036,800 images); no published size",
    )


SOURCES: dict[str, DatasetSource] = {
    "dsprites": DatasetSource(
        "dsprites", "dsprites",
        (RemoteFile(
            _DSPRITES_FILE,
            (f"https://github.com/google-deepmind/dsprites-dataset/raw/master/{_DSPRITES_FILE}",
             f"https://raw.githubusercontent.com/google-deepmind/dsprites-dataset/master/{_DSPRITES_FILE}",
             f"https://github.com/deepmind/dsprites-dataset/raw/master/{_DSPRITES_FILE}"),
            md5="7da33b31b13a06f4b04a70402ce90c2e", source=_DSPRITES_MD5),),
        homepage="https://github.com/google-deepmind/dsprites-dataset", license="Apache-2.0",
    ),
    "shapes3d": DatasetSource(
        "shapes3d", "shapes3d",
        (RemoteFile("3dshapes.h5", ("https://storage.googleapis.com/3d-shapes/3dshapes.h5",), size=267573662,
                    sha256="0a0f6ed98baff276a50f3a081a7434d788da63cb135a98189b2a5b5769be1785", source=_TFDS_SHAPES3D),),
        homepage="https://github.com/google-deepmind/3d-shapes", license="Apache-2.0",
    ),
    "mpi3d_toy": _mpi3d("toy", "55889cb7c7dfc655d6e0277beee88868"),
    "mpi3d_realistic": _mpi3d("realistic", "59a6225b88b635365f70c91b3e52f70f"),
    "mpi3d_real": _mpi3d("real", "0f33f609918fb5c97996692f91129802"),
    "smallnorb": DatasetSource(
        "smallnorb", "smallnorb",
        (
            _norb("training", "dat", 131896188, "5ffd6272a07d32695ee1082a26a41a93a37aab8c28da047f8c34ed348d214873"),
            _norb("training", "cat", 348, "2784e542c1922060691090952b6cd6278879a216c90f81476f0f00256d42cdaa"),
            _norb("training", "info", 71052, "de7eb932ebe7a4ee16217fead60660d0eb3d23632c2f4d1c51f88c501c17bf32"),
            _norb("testing", "dat", 130799817, "cf7104eed3e51174d2f65b66d1e5878b9da233b886f161b0d88f4510ba2c7474"),
            _norb("testing", "cat", 347, "ecaf6d5bb8c3bc5eab9cf0258f6d2198dd474e016e374836fc097f2e5ff509ff"),
            _norb("testing", "info", 10428, "16adf314226327ee006d1a44db8cfef52773c06c829951d5653a9f6f310248a2"),
        ),
        layout="dir", expect=6, homepage="https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/",
    ),
    "cars3d": DatasetSource(
        "cars3d", "cars3d",
        (RemoteFile("nips2015-analogy-data.tar.gz",
                    ("http://www.scottreed.info/files/nips2015-analogy-data.tar.gz",
                     "http://www-personal.umich.edu/~reedscot/files/nips2015-analogy-data.tar.gz"),
                    md5="4e866a7919c1beedf53964e6f7a23686", source=_DISENT.format(path="disent/dataset/data/_groundtruth__cars3d.py"),
                    unpack="cars3d"),),
        layout="dir", expect=183, homepage="http://www.scottreed.info (Reed et al., NeurIPS 2015)",
        notes="served over plain http: the MD5 check is what vouches for the file",
    ),
}
"""download name -> what to fetch. The checksums are the official files', read from the sources named
(docs/downloads.md lists them); where only an MD5 is known, the MD5 is checked."""

VARIANTS = {"mpi3d": ("mpi3d_toy", "mpi3d_realistic", "mpi3d_real")}
"""names accepted for a data set that has variants, e.g. "mpi3d" -> pick one of them."""


def _key(name: str) -> str:
    return str(name).lower().replace("-", "_")


def resolve_source(name) -> DatasetSource:
    """The [`DatasetSource`][dismetrics.data.download.DatasetSource] of a download name (or the object
    itself)."""
    if isinstance(name, DatasetSource):
        return name
    key = _key(name)
    key = {"3dshapes": "shapes3d", "small_norb": "smallnorb", "cars_3d": "cars3d", "d_sprites": "dsprites"}.get(key, key)
    if key.replace("_", "") in {k.replace("_", "") for k in SOURCES}:
        key = next(k for k in SOURCES if k.replace("_", "") == key.replace("_", ""))
    if key in VARIANTS:
        raise ValueError(f"{name!r} comes in variants; name one of {list(VARIANTS[key])}.")
    if key not in SOURCES:
        raise ValueError(f"no download for {name!r}; downloadable data sets: {sorted(SOURCES)}.")
    return SOURCES[key]


def dataset_dir(name, cache_dir: str | os.PathLike | None = None) -> Path:
    """`<cache>/datasets/<name>`, where the files of a downloaded data set live (not created)."""
    return _folder(resolve_source(name), cache_dir)


def _folder(source: DatasetSource, cache_dir) -> Path:
    """The data set's folder in the cache, not created (a lookup must leave no trace)."""
    return common_cache_dir(cache_dir, create=False) / "datasets" / source.name


def _final_path(source: DatasetSource, folder: Path) -> Path:
    return folder / source.files[0].name if source.layout == "file" else folder / "data"


def downloaded_path(name, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The path the loader reads if `name` was downloaded and verified, else None. Never downloads."""
    source = resolve_source(name)
    path = _final_path(source, _folder(source, cache_dir))
    return path if path.exists() else None


# ---- one file -------------------------------------------------------------------------------------------
def _hashers(remote: RemoteFile) -> dict[str, "hashlib._Hash"]:
    hashers = {}
    if remote.sha256:
        hashers["sha256"] = hashlib.sha256()
    if remote.md5 and not remote.sha256:  # SHA-256 where published; MD5 only where it is all there is
        hashers["md5"] = hashlib.md5()  # noqa: S324 - a checksum of a published file, not security
    return hashers


def _hash_existing(path: Path, hashers) -> int:
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            for hasher in hashers.values():
                hasher.update(chunk)
            size += len(chunk)
    return size


def _content_range_start(value: str | None) -> tuple[int | None, int | None]:
    """`bytes START-END/TOTAL` -> (START, TOTAL); Nones when absent or unparsable."""
    match = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", value or "")
    if not match:
        return None, None
    return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))


class _Interrupted(Exception):
    """The transfer stopped before the end (the .part file keeps what arrived)."""


def _open(url: str, start: int, timeout: float):
    from .. import __version__

    headers = {"User-Agent": f"dismetrics/{__version__} (data-set download)", "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)  # noqa: S310 - https/http URLs of the table


def _fetch_once(url: str, remote: RemoteFile, part: Path, timeout: float, progress) -> None:
    """One HTTP request: append the missing bytes of `remote` to `part`."""
    from .._progress import progress_enabled

    start = part.stat().st_size if part.exists() else 0
    if remote.size is not None and start > remote.size:  # not a prefix of the official file
        part.unlink()
        start = 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start > 0:  # nothing left to send: the .part is complete (checked next)
            return
        raise
    with response:
        status = getattr(response, "status", 200)
        if start > 0 and status == 206:
            first, total = _content_range_start(response.headers.get("Content-Range"))
            if first != start:
                raise DownloadError(f"{url}: the server answered the resume request with bytes from {first}, not {start}.")
        else:  # a full answer: start over
            start, total = 0, None
        length = response.headers.get("Content-Length")
        if total is None and length is not None and length.isdigit():
            total = start + int(length)
        if remote.size is not None and total is not None and total != remote.size:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"{url} serves {total:,} bytes but the official {remote.name} has {remote.size:,} "
                f"(checksum source: {remote.source}); the file at that address changed or is not the data set. Nothing was kept."
            )
        mode = "ab" if start > 0 else "wb"
        received = start
        bar_total = remote.size or total
        from tqdm.auto import tqdm

        with part.open(mode) as handle, tqdm(total=bar_total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                                             desc=remote.name, disable=not progress_enabled(progress), leave=False) as bar:
            try:
                while chunk := response.read(CHUNK):
                    handle.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except (OSError, HTTPException) as error:  # reset, timeout, IncompleteRead
                handle.flush()
                raise _Interrupted(f"{type(error).__name__}: {error}") from None
            handle.flush()
            os.fsync(handle.fileno())
        if total is not None and received < total:
            raise _Interrupted(f"the connection closed after {received:,} of {total:,} bytes")


def _verify(remote: RemoteFile, part: Path) -> None:
    """Size and checksum of the complete `part`; deletes it and raises ChecksumError on a mismatch."""
    size = part.stat().st_size
    problems = []
    if remote.size is not None and size != remote.size:
        problems.append(f"size {size:,} bytes, expected {remote.size:,}")
    else:
        hashers = _hashers(remote)
        _hash_existing(part, hashers)
        for kind, hasher in hashers.items():
            expected = getattr(remote, kind).lower()
            if hasher.hexdigest() != expected:
                problems.append(f"{kind} {hasher.hexdigest()}, expected {expected}")
    if problems:
        part.unlink()
        raise ChecksumError(
            f"{remote.name} is not the official file ({'; '.join(problems)}; checksum source: {remote.source}). "
            "It was deleted. A download corrupted in transit passes when run again; if it fails again, the file at "
            f"{remote.urls[0]} changed: fetch it by hand from the publisher and pass its path instead."
        )


def _offline_hint(errors: list[str], remote: RemoteFile) -> str:
    return (
        f"could not download {remote.name}: " + "; ".join(errors) + ". Check the network connection (offline? a proxy "
        "needs HTTPS_PROXY), or download the file by hand from " + remote.urls[0] + " and pass its path "
        "(get_sampler(..., path=...) or the DISMETRICS_* environment variable)."
    )


def fetch_file(remote: RemoteFile, target: Path, *, urls: tuple[str, ...] | None = None, timeout: float = 60.0,
               retries: int = 3, progress: bool | None = None) -> Path:
    """Download one file to `target` (via `target.part`), verified, renamed into place."""
    target = Path(target)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors: list[str] = []
    for url in urls or remote.urls:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"only http(s) URLs are downloaded; got {url!r}.")
        attempt = 0
        while True:
            try:
                _fetch_once(url, remote, part, timeout, progress)
            except _Interrupted as cut:
                attempt += 1
                if attempt > retries:
                    have = part.stat().st_size if part.exists() else 0
                    raise DownloadError(
                        f"the download of {remote.name} from {url} was interrupted ({cut}) after {retries} "
                        f"resume(s); {have:,} bytes are kept in {part} and the next call resumes from there."
                    ) from None
                continue
            except ChecksumError:
                raise
            except urllib.error.HTTPError as error:
                errors.append(f"{url}: HTTP {error.code} {error.reason}")
                break
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, HTTPException) as error:
                reason = getattr(error, "reason", error)
                errors.append(f"{url}: {reason}")
                break
            _verify(remote, part)
            os.replace(part, target)
            return target
    raise DownloadError(_offline_hint(errors, remote))


# ---- unpacking -------------------------------------------------------------------------------------------
_CAR_MEMBER = re.compile(r"^(?:\./)?data/cars/(car_\d+_mesh\.mat)$")


def _gunzip(archive: Path, out_dir: Path) -> None:
    target = out_dir / archive.name[: -len(".gz")]
    try:
        with gzip.open(archive, "rb") as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
    except (OSError, EOFError) as error:
        raise DownloadError(f"{archive} is not a readable gzip file ({error}).") from None


def _unpack_cars3d(archive: Path, out_dir: Path) -> None:
    """The `data/cars/car_XXX_mesh.mat` members only, by base name (no other path is written)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                match = _CAR_MEMBER.match(member.name)
                if not (match and member.isfile()):
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                with source, (out_dir / match.group(1)).open("wb") as sink:
                    shutil.copyfileobj(source, sink, CHUNK)
    except (tarfile.TarError, OSError, EOFError) as error:
        raise DownloadError(f"{archive} is not a readable tar.gz archive ({error}).") from None


_UNPACK: dict[str, Callable[[Path, Path], None]] = {"gunzip": _gunzip, "cars3d": _unpack_cars3d}


def _unpack_all(source: DatasetSource, folder: Path, archives: list[Path]) -> Path:
    final = folder / "data"
    tmp = folder / f".data.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        for remote, archive in zip(source.files, archives):
            if remote.unpack is not None:
                _UNPACK[remote.unpack](archive, tmp)
        count = sum(1 for p in tmp.iterdir() if p.is_file())
        if source.expect and count != source.expect:
            raise DownloadError(f"{source.name}: the archive gave {count} files; expected {source.expect}.")
        os.replace(tmp, final)  # the folder appears complete or not at all
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if not source.keep_archives:
        for archive in archives:
            archive.unlink(missing_ok=True)
    return final


# ---- the public entry points -----------------------------------------------------------------------------
def download(
    name,
    *,
    cache_dir: str | os.PathLike | None = None,
    mirror: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
    retries: int = 3,
) -> Path:
    """Download data set `name` (unless already there) and return the path its loader reads.

    Parameters
    ----------
    name : str or DatasetSource
        `"dsprites"`, `"shapes3d"`, `"mpi3d_toy"`, `"mpi3d_realistic"`, `"mpi3d_real"`,
        `"smallnorb"`, `"cars3d"` ([`SOURCES`][dismetrics.data.download.SOURCES]).
    cache_dir : path, optional
        Root of the data cache (default `$DISMETRICS_CACHE` or `~/.cache/dismetrics`); files go to
        `<cache_dir>/datasets/<name>`.
    mirror : str, optional
        A base URL serving the same files under their official names (`<mirror>/<file name>`),
        instead of the publishers'. The checksums are the same.
    progress : bool or None
        Progress bar; None shows it when stderr is a terminal.
    timeout : float
        Seconds without data before a connection counts as lost.
    retries : int
        Resumes within this call after a cut connection; later calls resume too.

    Raises
    ------
    DownloadError
        Network unreachable, HTTP errors, an interrupted transfer (the partial file is kept and
        resumed by the next call).
    ChecksumError
        The file is not the official one (size or checksum); it is deleted.
    """
    source = resolve_source(name)
    folder = _folder(source, cache_dir)
    final = _final_path(source, folder)
    if final.exists():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    fetched = []
    for remote in source.files:
        urls = (f"{mirror.rstrip('/')}/{remote.name}",) if mirror else None
        fetched.append(fetch_file(remote, folder / remote.name, urls=urls, timeout=timeout, retries=retries, progress=progress))
    if source.layout == "dir":
        return _unpack_all(source, folder, fetched)
    return final


def download_command(
    name: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    mirror: str | None = None,
    progress: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """`dismetrics datasets --download NAME`: download, print where the files are and how to use
    them; 0 on success, 1 when the download failed, 2 for an unknown name. `NAME` may be `all`."""
    out = out or sys.stdout
    err = err or sys.stderr
    names = list(SOURCES) if str(name).lower() == "all" else [name]
    status = 0
    for item in names:
        try:
            source = resolve_source(item)
        except ValueError as error:
            print(f"dismetrics datasets: {error}", file=err)
            return 2
        try:
            already = downloaded_path(source, cache_dir)
            path = download(source, cache_dir=cache_dir, mirror=mirror, progress=progress)
        except DownloadError as error:
            print(f"dismetrics datasets: {source.name}: {error}", file=err)
            status = 1
            continue
        verb = "already downloaded" if already else "downloaded and verified"
        print(f"{source.name}: {verb}: {path}", file=out)
        print(f"{'':{len(source.name)}}  use: get_sampler({source.name!r}, download=True), or "
              f"--dataset {source.dataset} --dataset-path {path}", file=out)
    return status
