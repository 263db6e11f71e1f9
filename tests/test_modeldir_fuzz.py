"""Model-dir fuzzing: truncated, corrupted, wrong-typed and malicious dismetrics.json, codes.npz and
scores.json. Whatever a dir holds, `dismetrics score` gives that dir a row with a reason (or rescores a
bad scores.json), never a traceback, never writes outside the dir, and a failure makes the exit status
non-zero while the other dirs finish. (The encoder file is fuzzed with the encoder format's tests.)"""

import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dismetrics as dm
from dismetrics import modeldir, scoring
from dismetrics.cli import main
from dismetrics.scoring import score_model_dir

SIZES = (3, 6, 10)
N = 200


def make_dir(path, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, SIZES, size=(N, 3))
    codes = factors / np.array(SIZES) + 0.1 * rng.normal(size=(N, 3))
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    modeldir.write_config(path, {"model": "beta_vae", "hyperparameters": {"beta": 4.0}, "dataset": {"name": "toy"},
                                 "seed": seed, "steps": 0, "latent_dim": 3})
    modeldir.write_codes(path, codes, factors)
    return path


def true_mig(path):
    arrays = modeldir.read_codes(path)
    return dm.mig(arrays["codes"], arrays["factors"]).value


def valid_config(path):
    return json.loads((path / "dismetrics.json").read_text())


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def fifo(path):
    os.mkfifo(path)


FACTORS = np.random.default_rng(0).integers(0, SIZES, size=(N, 3))

# ---- the cases: (name, file, how to break it) -----------------------------------------------------
# Each breaker gets (model dir, an "outside" folder next to it) and corrupts one file.
_wrong_types = [
    (key, {"_not": "expected"} if "object" not in kinds else [1])
    for key, kinds in modeldir.CONFIG_SCHEMA.items() if key != "format_version"
]

CONFIG_CASES = [
    ("empty", lambda d, o: (d / "dismetrics.json").write_text("")),
    ("truncated", lambda d, o: (d / "dismetrics.json").write_text((d / "dismetrics.json").read_text()[:40])),
    ("null", lambda d, o: (d / "dismetrics.json").write_text("null")),
    ("array", lambda d, o: (d / "dismetrics.json").write_text("[1, 2]")),
    ("string", lambda d, o: (d / "dismetrics.json").write_text('"beta_vae"')),
    ("not utf-8", lambda d, o: (d / "dismetrics.json").write_bytes(b"\xff\xfe{\x00")),
    ("nested", lambda d, o: (d / "dismetrics.json").write_text("[" * 50_000 + "]" * 50_000)),
    ("huge", lambda d, o: (d / "dismetrics.json").write_text(json.dumps({**valid_config(d), "pad": "x" * (5 << 20)}))),
    ("no version", lambda d, o: (d / "dismetrics.json").write_text(json.dumps({**valid_config(d), "format_version": None}))),
    ("future version", lambda d, o: (d / "dismetrics.json").write_text(json.dumps({**valid_config(d), "format_version": 99}))),
    ("missing key", lambda d, o: (d / "dismetrics.json").write_text(json.dumps({k: v for k, v in valid_config(d).items() if k != "seed"}))),
    *[(f"wrong type {key}", lambda d, o, key=key, value=value: (d / "dismetrics.json").write_text(
        json.dumps({**valid_config(d), key: value}))) for key, value in _wrong_types],
    ("cache_dir outside", lambda d, o: (d / "dismetrics.json").write_text(json.dumps(
        {**valid_config(d), "dataset": {"name": "dsprites", "params": {"cache_dir": str(o / "cache")}}}))),
    ("cache", lambda d, o: (d / "dismetrics.json").write_text(json.dumps(
        {**valid_config(d), "dataset": {"name": "dsprites", "params": {"cache": True}}}))),
    ("private param", lambda d, o: (d / "dismetrics.json").write_text(json.dumps(
        {**valid_config(d), "dataset": {"name": "shapes3d", "path": str(o / "x.h5"), "params": {"_factor_sizes": [2]}}}))),
    ("encoder_file traversal", lambda d, o: (d / "dismetrics.json").write_text(json.dumps(
        {**valid_config(d), "encoder_file": "../outside/encoder.npz"}))),
    ("encoder_file absolute", lambda d, o: (d / "dismetrics.json").write_text(json.dumps(
        {**valid_config(d), "encoder_file": str(o / "encoder.npz")}))),
    ("a directory", lambda d, o: ((d / "dismetrics.json").unlink(), (d / "dismetrics.json").mkdir())),
    ("a fifo", lambda d, o: ((d / "dismetrics.json").unlink(), fifo(d / "dismetrics.json"))),
    ("dangling symlink", lambda d, o: ((d / "dismetrics.json").unlink(), (d / "dismetrics.json").symlink_to(o / "nowhere"))),
    ("symlink to garbage outside", lambda d, o: ((o / "garbage").write_text("{"), (d / "dismetrics.json").unlink(),
                                                  (d / "dismetrics.json").symlink_to(o / "garbage"))),
]

CODES_CASES = [
    ("empty", lambda d, o: (d / "codes.npz").write_bytes(b"")),
    ("garbage", lambda d, o: (d / "codes.npz").write_bytes(os.urandom(300))),
    ("truncated", lambda d, o: (d / "codes.npz").write_bytes((d / "codes.npz").read_bytes()[:900])),
    ("no factors", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3))))),
    ("pickled objects", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(
        codes=np.array([{"a": 1}] * N * 3, dtype=object).reshape(N, 3), factors=FACTORS))),
    ("string codes", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.full((N, 3), "x"), factors=FACTORS))),
    ("complex codes", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3), complex), factors=FACTORS))),
    ("3-D codes", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3, 1)), factors=FACTORS))),
    ("empty arrays", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((0, 3)), factors=FACTORS[:0]))),
    ("NaN codes", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.full((N, 3), np.nan), factors=FACTORS))),
    ("inf codes", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.full((N, 3), np.inf), factors=FACTORS))),
    ("NaN factors", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3)), factors=np.full((N, 3), np.nan)))),
    ("rows differ", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3)), factors=FACTORS[:10]))),
    ("test half only", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(codes=np.zeros((N, 3)), factors=FACTORS,
                                                                             codes_test=np.zeros((5, 3))))),
    ("test columns differ", lambda d, o: (d / "codes.npz").write_bytes(npz_bytes(
        codes=np.random.default_rng(1).normal(size=(N, 3)), factors=FACTORS, codes_test=np.zeros((5, 7)), factors_test=FACTORS[:5]))),
    ("forged header", lambda d, o: _forged_header(d / "codes.npz")),
    ("a directory", lambda d, o: ((d / "codes.npz").unlink(), (d / "codes.npz").mkdir())),
    ("a fifo", lambda d, o: ((d / "codes.npz").unlink(), fifo(d / "codes.npz"))),
    ("symlink to garbage outside", lambda d, o: ((o / "garbage.npz").write_bytes(b"PK\x03\x04junk"), (d / "codes.npz").unlink(),
                                                  (d / "codes.npz").symlink_to(o / "garbage.npz"))),
]


def _forged_header(path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10, 3)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("codes.npy", header.getvalue() + b"\0" * 24)
        archive.writestr("factors.npy", header.getvalue() + b"\0" * 24)


def _scores(d):
    return json.loads((d / "scores.json").read_text())


def _key():
    return scoring._settings_key(scoring.score_settings(metrics=["mig"]))


def _forge(d, edit):
    score_model_dir(d, metrics=["mig"])
    document = _scores(d)
    edit(document)
    (d / "scores.json").write_text(json.dumps(document))


def _forge_value(document):
    document["entries"][_key()]["rows"][0]["value"] = 1.0


SCORES_CASES = [  # a bad scores.json is not a failure: it is ignored, the dir rescored and the file replaced
    ("empty", lambda d, o: (d / "scores.json").write_text("")),
    ("garbage", lambda d, o: (d / "scores.json").write_bytes(os.urandom(200))),
    ("null", lambda d, o: (d / "scores.json").write_text("null")),
    ("array", lambda d, o: (d / "scores.json").write_text("[1]")),
    ("nested", lambda d, o: (d / "scores.json").write_text("[" * 50_000 + "]" * 50_000)),
    ("format 1, rows a string", lambda d, o: (d / "scores.json").write_text(json.dumps(
        {"settings_key": _key(), "settings": scoring.score_settings(metrics=["mig"]), "rows": "mig"}))),
    ("format 1, forged rows", lambda d, o: (d / "scores.json").write_text(json.dumps(
        {"settings_key": _key(), "settings": scoring.score_settings(metrics=["mig"]),
         "rows": [{"metric": "mig", "value": 1.0, "repeat": 0, "seed": 0, "seconds": 0, "error": ""}]}))),
    ("entries a list", lambda d, o: (d / "scores.json").write_text(json.dumps({"format": 2, "entries": [1]}))),
    ("entry a string", lambda d, o: (d / "scores.json").write_text(json.dumps({"format": 2, "entries": {_key(): "x"}}))),
    ("entry rows a string", lambda d, o: _forge(d, lambda doc: doc["entries"][_key()].update(rows="mig"))),
    ("entry row not a dict", lambda d, o: _forge(d, lambda doc: doc["entries"][_key()].update(rows=[1]))),
    ("forged value", lambda d, o: _forge(d, _forge_value)),
    ("forged value and checksum dropped", lambda d, o: _forge(d, lambda doc: (_forge_value(doc), doc["entries"][_key()].pop("rows_digest")))),
    ("forged digest", lambda d, o: _forge(d, lambda doc: doc["entries"][_key()].update(digest="0" * 64))),
    ("future format", lambda d, o: _forge(d, lambda doc: doc.update(format=99))),
    ("symlink to a file outside", lambda d, o: ((o / "precious.json").write_text("{}"), (d / "scores.json").symlink_to(o / "precious.json"))),
]

UNWRITABLE_CASES = [  # the rows are computed, kept in --out, and the exit status says they were not saved
    ("scores.json a directory", lambda d, o: (d / "scores.json").mkdir()),
    ("lock file a symlink outside", lambda d, o: (d / scoring.LOCK_FILE).symlink_to(o / "created")),
]


def _snapshot(root, skip):
    state = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(folder, x) not in skip]
        for name in dirs + files:
            full = os.path.join(folder, name)
            if full in skip:
                continue
            info = os.lstat(full)
            state[full] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return state


def _run(tmp_path, monkeypatch, capsys, breaker):
    monkeypatch.setenv("DISMETRICS_CACHE", str(tmp_path / "cache"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    outside = tmp_path / "outside"
    outside.mkdir()
    good, bad = make_dir(tmp_path / "good", seed=1), make_dir(tmp_path / "bad", seed=0)
    expected = true_mig(bad)
    breaker(bad, outside)
    out = tmp_path / "out.csv"
    before = _snapshot(tmp_path, {str(good), str(bad), str(out)})
    capsys.readouterr()
    status = main(["score", "--model-dir", str(bad), "--model-dir", str(good), "--metrics", "mig", "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert _snapshot(tmp_path, {str(good), str(bad), str(out)}) == before, "something was written outside the model dirs"
    assert "Traceback" not in captured.err and captured.out == ""
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert table[table.model_dir == str(good)].value.notna().all()
    return status, table[table.model_dir == str(bad)], captured.err, expected


@pytest.mark.parametrize("case", CONFIG_CASES + CODES_CASES, ids=[f"config {c[0]}" for c in CONFIG_CASES] +
                         [f"codes {c[0]}" for c in CODES_CASES])
def test_a_broken_config_or_codes_file_fails_its_dir_with_a_reason(tmp_path, monkeypatch, capsys, case):
    status, rows, err, _ = _run(tmp_path, monkeypatch, capsys, case[1])
    assert status == 1
    assert len(rows) >= 1 and (rows.error.fillna("").str.len() > 0).all()
    assert str(tmp_path / "bad") in err


@pytest.mark.parametrize("case", SCORES_CASES, ids=[c[0] for c in SCORES_CASES])
def test_a_bad_scores_json_is_ignored_and_rescored(tmp_path, monkeypatch, capsys, case):
    status, rows, err, expected = _run(tmp_path, monkeypatch, capsys, case[1])
    assert status == 0, err
    assert len(rows) == 1 and rows.value.iloc[0] == pytest.approx(expected, abs=1e-12)
    bad = tmp_path / "bad"
    assert not (bad / "scores.json").is_symlink() and _scores(bad)["entries"][_key()]["rows"][0]["value"] == rows.value.iloc[0]
    if (tmp_path / "outside" / "precious.json").exists():
        assert (tmp_path / "outside" / "precious.json").read_text() == "{}"


@pytest.mark.parametrize("case", UNWRITABLE_CASES, ids=[c[0] for c in UNWRITABLE_CASES])
def test_a_dir_whose_scores_cannot_be_written_keeps_its_rows(tmp_path, monkeypatch, capsys, case):
    status, rows, err, expected = _run(tmp_path, monkeypatch, capsys, case[1])
    assert status == 1 and "NOT SAVED" in err
    assert rows.value.iloc[0] == pytest.approx(expected, abs=1e-12)
    assert not (tmp_path / "outside" / "created").exists()


def test_a_zip_bomb_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(modeldir, "MAX_CODES_INFLATED_BYTES", 1 << 20)

    def bomb(d, o):
        buffer = io.BytesIO()
        np.savez_compressed(buffer, codes=np.zeros((300_000, 3)), factors=np.zeros((300_000, 3), dtype=int))
        (d / "codes.npz").write_bytes(buffer.getvalue())

    status, rows, err, _ = _run(tmp_path, monkeypatch, capsys, bomb)
    assert status == 1 and "zip bomb" in rows.error.iloc[0]


# ---- property-based: random content in every file ------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(replacements=st.dictionaries(st.sampled_from(sorted(modeldir.CONFIG_SCHEMA) + ["dataset.params", "dataset.name",
                                                                                       "dataset.path", "extra"]),
                                    json_values, min_size=1, max_size=3))
def test_random_config_values_never_raise(replacements):
    with tempfile.TemporaryDirectory() as root:
        path = make_dir(Path(root) / "m")
        config = valid_config(path)
        config["dataset"] = {"name": "dsprites", "params": {}}
        for key, value in replacements.items():
            if key.startswith("dataset.") and isinstance(config.get("dataset"), dict):
                config["dataset"][key.split(".", 1)[1]] = value
            elif not key.startswith("dataset."):
                config[key] = value
        (path / "dismetrics.json").write_text(json.dumps(config))
        try:
            modeldir.validate_config(config)
            valid = "format_version" in config and isinstance(config["format_version"], int) and 1 <= config["format_version"] <= 1
        except modeldir.ModelDirError:
            valid = False
        outcome = score_model_dir(path, metrics=["mig"])
        assert outcome.status in ("scored", "failed")
        if outcome.status == "failed":
            assert outcome.reason
        if not valid:
            assert outcome.status == "failed"
        assert sorted(os.listdir(root)) == ["m"]


@FUZZ
@given(data=st.data())
def test_random_corruption_of_codes_never_raises(data):
    with tempfile.TemporaryDirectory() as root:
        path = make_dir(Path(root) / "m")
        raw = bytearray((path / "codes.npz").read_bytes())
        action = data.draw(st.sampled_from(["truncate", "flip", "splice"]))
        if action == "truncate":
            raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
        elif action == "flip":
            for _ in range(data.draw(st.integers(1, 8))):
                raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        else:
            start = data.draw(st.integers(0, len(raw) - 1))
            raw[start:start] = data.draw(st.binary(min_size=1, max_size=64))
        (path / "codes.npz").write_bytes(bytes(raw))
        outcome = score_model_dir(path, metrics=["mig"])
        assert outcome.status in ("scored", "failed")
        assert outcome.status == "scored" or outcome.reason
        assert sorted(os.listdir(root)) == ["m"]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, prefix + (index,))


@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_a_mutated_scores_json_is_reused_only_when_its_entry_is_intact(data):
    with tempfile.TemporaryDirectory() as root:
        path = make_dir(Path(root) / "m")
        genuine = score_model_dir(path, metrics=["mig", "modularity"]).rows
        document = _scores(path)
        target = data.draw(st.sampled_from([p for p in _paths(document) if p]))
        value = data.draw(json_values)
        holder = document
        for step in target[:-1]:
            holder = holder[step]
        changed = json.dumps(holder[target[-1]], sort_keys=True) != json.dumps(value, sort_keys=True)
        holder[target[-1]] = value
        (path / "scores.json").write_text(json.dumps(document))
        outcome = score_model_dir(path, metrics=["mig", "modularity"])
        assert outcome.status in ("scored", "skipped")
        if outcome.status == "skipped":
            assert outcome.rows == genuine
        # forged rows are never reported; a rescoring gives the same rows (but for their timings)
        assert [{**row, "seconds": 0} for row in outcome.rows] == [{**row, "seconds": 0} for row in genuine]
        if changed and target[0] in ("format", "entries"):  # a change to what is checked is never reused
            assert outcome.status == "scored"
        assert sorted(os.listdir(path)) == [".scores.json.lock", "codes.npz", "dismetrics.json", "scores.json"]
