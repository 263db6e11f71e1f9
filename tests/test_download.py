"""Data-set downloads against a local HTTP server in this process (127.0.0.1 only): resume after a cut
connection, a corrupted file refused, the offline message, archives unpacked atomically, nothing
downloaded unless asked. The files served are small files in the publishers' formats."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import struct
import tarfile
import threading
import time
import urllib.request
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from dismetrics.data import download as dl
from dismetrics.data import get_sampler, list_datasets
from dismetrics.data.download import ChecksumError, DatasetSource, DownloadError, RemoteFile

h5py = pytest.importorskip("h5py", reason="h5py writes the Shapes3D test file")


# ---- the local server ---------------------------------------------------------------------------------
class Server:
    """Serves ``files`` (name -> bytes) with HTTP Range support; ``cut[name] = k`` makes the next
    full answer of that file stop after k bytes (then the connection closes); ``corrupt`` flips a
    byte; ``no_range`` ignores Range headers. Every request is logged as (path, Range header)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.no_range = False
        self.log: list[tuple[str, str | None]] = []
        self.bytes_sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                server.log.append((name, self.headers.get("Range")))
                if name not in server.files:
                    self.send_error(404)
                    return
                data = server.files[name]
                if name in server.corrupt:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                start = 0
                ranged = self.headers.get("Range")
                if ranged and not server.no_range:
                    start = int(ranged.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                limit = server.cut.pop(name, None)
                if limit is not None:
                    self.wfile.write(body[:limit])
                    server.bytes_sent += limit
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)
                server.bytes_sent += len(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def no_real_network(monkeypatch):
    """Every request of these tests goes to 127.0.0.1; anything else fails the test."""
    real = urllib.request.urlopen

    def guarded(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        assert url.startswith("http://127.0.0.1:"), f"a test tried to reach {url}"
        return real(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


def source_for(name: str, data: bytes, *, dataset: str = "shapes3d", size=True, **extra) -> DatasetSource:
    remote = RemoteFile(name, ("http://127.0.0.1:9/unused",), size=len(data) if size else None,
                        sha256=hashlib.sha256(data).hexdigest(), source="test")
    return DatasetSource(f"test_{dataset}", dataset, (remote,), **extra)


def shapes3d_bytes(tmp_path) -> bytes:
    """A valid 3dshapes.h5 (full shape, chunked: the unwritten chunks take no space), as bytes."""
    path = tmp_path / "src.h5"
    with h5py.File(path, "w") as f:
        images = f.create_dataset("images", shape=(480000, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3))
        images[0] = 200
        f.create_dataset("labels", shape=(480000, 6), dtype=np.float64, chunks=(4096, 6))
    return path.read_bytes()


# ---- resume, refusal, offline -----------------------------------------------------------------------------
def test_resume_after_a_cut_connection(server, tmp_path):
    data = np.random.default_rng(0).bytes(300_000)
    server.files["blob.bin"] = data
    server.cut["blob.bin"] = 120_000
    source = source_for("blob.bin", data)
    started = time.perf_counter()
    with pytest.raises(DownloadError, match="interrupted") as error:
        dl.download(source, cache_dir=tmp_path, mirror=server.url, retries=0, progress=False, timeout=5)
    part = tmp_path / "datasets" / "test_shapes3d" / "blob.bin.part"
    assert part.stat().st_size == 120_000 and "resumes" in str(error.value)
    path = dl.download(source, cache_dir=tmp_path, mirror=server.url, retries=0, progress=False, timeout=5)
    assert path.read_bytes() == data and not part.exists()
    assert server.log == [("blob.bin", None), ("blob.bin", "bytes=120000-")]
    assert server.bytes_sent == len(data)  # the second request sent only the rest
    print(f"resume test: {time.perf_counter() - started:.2f} s")


def test_a_cut_connection_resumes_within_one_call(server, tmp_path):
    data = np.random.default_rng(1).bytes(200_000)
    server.files["blob.bin"] = data
    server.cut["blob.bin"] = 50_000
    path = dl.download(source_for("blob.bin", data), cache_dir=tmp_path, mirror=server.url, retries=2, progress=False, timeout=5)
    assert path.read_bytes() == data
    assert [r for _, r in server.log] == [None, "bytes=50000-"]


def test_a_server_that_ignores_range_restarts_cleanly(server, tmp_path):
    data = np.random.default_rng(2).bytes(100_000)
    server.files["blob.bin"] = data
    server.cut["blob.bin"] = 30_000
    server.no_range = True
    path = dl.download(source_for("blob.bin", data), cache_dir=tmp_path, mirror=server.url, retries=1, progress=False, timeout=5)
    assert path.read_bytes() == data


def test_a_corrupted_file_is_refused_and_deleted(server, tmp_path):
    data = np.random.default_rng(3).bytes(50_000)
    server.files["blob.bin"] = data
    server.corrupt.add("blob.bin")
    folder = tmp_path / "datasets" / "test_shapes3d"
    with pytest.raises(ChecksumError, match="not the official file.*sha256") as error:
        dl.download(source_for("blob.bin", data), cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5)
    assert "deleted" in str(error.value)
    assert not (folder / "blob.bin").exists() and not (folder / "blob.bin.part").exists()
    # an MD5-only entry is checked with its MD5
    md5_only = DatasetSource("test_md5", "shapes3d", (RemoteFile("blob.bin", ("x",), md5=hashlib.md5(data).hexdigest(), source="test"),))
    with pytest.raises(ChecksumError, match="md5"):
        dl.download(md5_only, cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5)
    server.corrupt.clear()
    assert dl.download(md5_only, cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5).read_bytes() == data


def test_a_different_size_is_refused_before_downloading(server, tmp_path):
    data = np.random.default_rng(4).bytes(40_000)
    server.files["blob.bin"] = data + b"extra"
    with pytest.raises(ChecksumError, match="serves 40,005 bytes but the official blob.bin has 40,000"):
        dl.download(source_for("blob.bin", data), cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5)
    assert server.bytes_sent == 0 or not (tmp_path / "datasets" / "test_shapes3d" / "blob.bin").exists()


def test_offline_gives_a_clear_message(tmp_path):
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = RemoteFile("3dshapes.h5", (f"http://127.0.0.1:{port}/3dshapes.h5", f"http://127.0.0.1:{port}/mirror/3dshapes.h5"),
                        sha256="0" * 64, source="test")
    with pytest.raises(DownloadError, match="could not download 3dshapes.h5") as error:
        dl.download(DatasetSource("test_offline", "shapes3d", (remote,)), cache_dir=tmp_path, progress=False, timeout=2)
    message = str(error.value)
    assert "offline" in message and "by hand" in message and message.count(f"127.0.0.1:{port}") >= 2
    assert not isinstance(error.value, ChecksumError)


def test_http_errors_try_the_next_url(server, tmp_path):
    data = b"x" * 1000
    server.files["good.bin"] = data
    remote = RemoteFile("good.bin", (f"{server.url}/moved/gone.bin", f"{server.url}/good.bin"),
                        sha256=hashlib.sha256(data).hexdigest(), source="test")
    path = dl.download(DatasetSource("test_moved", "shapes3d", (remote,)), cache_dir=tmp_path, progress=False, timeout=5)
    assert path.read_bytes() == data and [n for n, _ in server.log] == ["gone.bin", "good.bin"]


# ---- through get_sampler and the command --------------------------------------------------------------
def test_get_sampler_downloads_only_when_asked(server, tmp_path, monkeypatch):
    data = shapes3d_bytes(tmp_path)
    server.files["3dshapes.h5"] = data
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DISMETRICS_SHAPES3D", raising=False)
    real = dl.SOURCES["shapes3d"]
    test_remote = replace(real.files[0], urls=(f"{server.url}/3dshapes.h5",), size=len(data),
                          sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(dl.SOURCES, "shapes3d", replace(real, files=(test_remote,)))
    with pytest.raises(ValueError, match="download=True"):
        get_sampler("shapes3d")
    assert server.log == [] and not (tmp_path / "cache" / "datasets").exists()
    sampler = get_sampler("shapes3d", download=True)
    assert sampler.path == tmp_path / "cache" / "datasets" / "shapes3d" / "3dshapes.h5"
    x = sampler.sample_observations_from_factors(np.zeros((1, 6), dtype=int), None)
    assert np.allclose(x, 200 / 255)
    again = get_sampler("shapes3d")  # found in the cache: no request
    assert again.path == sampler.path and len(server.log) == 1
    assert {r["name"]: r for r in list_datasets()}["shapes3d"]["found"]
    with pytest.raises(ValueError, match="not both"):
        get_sampler("shapes3d", path=sampler.path, download=True)
    with pytest.raises(ValueError, match="variants"):
        get_sampler("mpi3d", download=True)


def test_download_command(server, tmp_path, monkeypatch, capsys):
    data = np.random.default_rng(5).bytes(10_000)
    server.files["mpi3d_toy.npz"] = data
    real = dl.SOURCES["mpi3d_toy"]
    monkeypatch.setitem(dl.SOURCES, "mpi3d_toy", replace(real, files=(replace(real.files[0], md5=hashlib.md5(data).hexdigest()),)))
    assert dl.download_command("mpi3d-toy", cache_dir=tmp_path, mirror=server.url, progress=False) == 0
    assert "downloaded and verified" in capsys.readouterr().out
    assert dl.download_command("mpi3d_toy", cache_dir=tmp_path, mirror=server.url) == 0
    assert "already downloaded" in capsys.readouterr().out and len(server.log) == 1
    assert dl.download_command("mnist", cache_dir=tmp_path) == 2
    assert "downloadable data sets" in capsys.readouterr().err
    server.files.clear()
    assert dl.download_command("shapes3d", cache_dir=tmp_path, mirror=server.url) == 1
    assert "HTTP 404" in capsys.readouterr().err


# ---- archives: SmallNORB (.mat.gz) and Cars3D (.tar.gz) ----------------------------------------------
def norb_matrix(magic: int, array: np.ndarray) -> bytes:
    dims = list(array.shape) + [1] * max(0, 3 - array.ndim)
    return struct.pack("<ii", magic, array.ndim) + struct.pack(f"<{len(dims)}i", *dims) + array.tobytes()


def test_smallnorb_archives_are_unpacked_into_place(server, tmp_path):
    files = []
    for split in ("training", "testing"):
        tag = "5x46789x9x18x6x2x96x96-training" if split == "training" else "5x01235x9x18x6x2x96x96-testing"
        for kind, matrix in (("dat", norb_matrix(0x1E3D4C55, np.full((2, 2, 96, 96), 7, np.uint8))),
                             ("cat", norb_matrix(0x1E3D4C54, np.array([0, 4], np.int32))),
                             ("info", norb_matrix(0x1E3D4C54, np.array([[0, 1, 2, 3], [1, 8, 34, 5]], np.int32)))):
            name = f"smallnorb-{tag}-{kind}.mat.gz"
            server.files[name] = gzip.compress(matrix)
            files.append(RemoteFile(name, ("x",), size=len(server.files[name]),
                                    sha256=hashlib.sha256(server.files[name]).hexdigest(), unpack="gunzip", source="test"))
    source = replace(dl.SOURCES["smallnorb"], files=tuple(files))
    path = dl.download(source, cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5)
    assert path == tmp_path / "datasets" / "smallnorb" / "data"
    assert sorted(p.name for p in path.iterdir()) == sorted(f.name[:-3] for f in files)
    assert not list(path.parent.glob("*.gz"))  # the verified archives are removed once unpacked
    from dismetrics.data.loaders import read_norb_matrix

    assert read_norb_matrix(path / "smallnorb-5x46789x9x18x6x2x96x96-training-info.mat").tolist()[1] == [1, 8, 34, 5]


def cars_tar(n_cars: int) -> bytes:
    from scipy.io import savemat

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def add(name, payload):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        for i in range(n_cars):
            mat = io.BytesIO()
            savemat(mat, {"im": np.full((128, 128, 3, 24, 4), 10 * (i + 1), np.uint8)}, do_compression=True)
            add(f"data/cars/car_{i:03d}_mesh.mat", mat.getvalue())
        add("data/cars/list.txt", b"\n".join(f"car_{i:03d}_mesh".encode() for i in range(n_cars)))
        add("data/shapes48.mat", b"not needed")
        add("../evil.mat", b"never written")
    return buffer.getvalue()


def test_cars3d_archive_is_unpacked_and_loads(server, tmp_path):
    data = cars_tar(2)
    server.files["nips2015-analogy-data.tar.gz"] = data
    real = dl.SOURCES["cars3d"]
    source = replace(real, files=(replace(real.files[0], md5=hashlib.md5(data).hexdigest()),), expect=2)
    path = dl.download(source, cache_dir=tmp_path, mirror=server.url, progress=False, timeout=5)
    assert sorted(p.name for p in path.iterdir()) == ["car_000_mesh.mat", "car_001_mesh.mat"]
    assert not (tmp_path / "datasets" / "evil.mat").exists() and not (tmp_path / "evil.mat").exists()
    sampler = get_sampler("cars3d", path=path, cache_dir=tmp_path / "cache")
    x = sampler.sample_observations_from_factors(np.array([[0, 0, 1]]), None)
    assert np.allclose(x, 20 / 255)
    # an archive with the wrong number of cars leaves no data folder behind
    server.files["nips2015-analogy-data.tar.gz"] = data
    with pytest.raises(DownloadError, match="expected 183"):
        dl.download(replace(source, expect=183), cache_dir=tmp_path / "other", mirror=server.url, progress=False, timeout=5)
    assert not (tmp_path / "other" / "datasets" / "cars3d" / "data").exists()


# ---- the table of official files -------------------------------------------------------------------------
def test_every_official_file_has_a_checksum_and_its_source():
    assert set(dl.SOURCES) == {"dsprites", "shapes3d", "mpi3d_toy", "mpi3d_realistic", "mpi3d_real", "smallnorb", "cars3d"}
    for source in dl.SOURCES.values():
        for remote in source.files:
            assert remote.sha256 or remote.md5, remote.name
            assert remote.sha256 is None or len(remote.sha256) == 64
            assert remote.md5 is None or len(remote.md5) == 32
            assert remote.source and all(url.startswith(("https://", "http://")) for url in remote.urls)
    assert dl.SOURCES["shapes3d"].files[0].size == 267_573_662
    assert sum(f.size for f in dl.SOURCES["smallnorb"].files) == 262_778_180
