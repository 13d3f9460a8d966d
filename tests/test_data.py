import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from conftest import BAD_SIZES, GLYPH, bad_size_message, write_split

from emnist_lib import data as data_mod
from emnist_lib import framing
from emnist_lib.data import load_emnist, verify_folder
from emnist_lib.errors import ChecksumError, DataFormatError, MissingDataError
from emnist_lib.fileio import sha256_file
from emnist_lib.idx import write_idx
from emnist_lib.splits import SPLITS, get_split


def test_nist_files_load_upright(isolated_dirs):
    write_split(isolated_dirs, "balanced")
    ds = load_emnist("balanced", source="nist", verify=False)
    np.testing.assert_array_equal(ds.x_train[0], GLYPH)
    assert not np.array_equal(ds.x_train[0], GLYPH.T)
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape[1:] == (28, 28)


def test_files_under_gzip_subfolder_are_found(isolated_dirs):
    write_split(isolated_dirs / "gzip", "digits")
    ds = load_emnist("digits", source="nist", verify=False)
    assert ds.num_classes == 10


@pytest.mark.parametrize("split", list(SPLITS))
def test_every_split_class_names_and_counts(isolated_dirs, split):
    labels = write_split(isolated_dirs, split)
    ds = load_emnist(split, source="nist", verify=False)
    spec = get_split(split)
    expected_classes = {"byclass": 62, "bymerge": 47, "balanced": 47, "letters": 26, "digits": 10, "mnist": 10}
    assert spec.num_labels == expected_classes[split]
    assert ds.num_classes == spec.num_outputs
    assert len(ds.y_train) == len(labels["train"]) and len(ds.y_test) == len(labels["test"])
    assert ds.class_names[spec.first_label] in ("0", "A/a")
    assert ds.provenance["source"] == "nist" and ds.provenance["split"] == split


def test_balanced_keeps_eleven_distinct_lower_case_letters():
    names = get_split("balanced").class_names()
    assert [n for n in names if n.islower()] == list("abdefghnqrt")


def test_letters_official_labels_need_27_outputs(isolated_dirs):
    write_split(isolated_dirs, "letters")
    ds = load_emnist("letters", source="nist", verify=False)
    assert ds.y_train.min() == 1 and ds.y_train.max() == 26
    assert ds.num_classes == 27 and ds.class_names[0] == "(unused)" and ds.class_names[1] == "A/a"


def test_letters_zero_based_option(isolated_dirs):
    write_split(isolated_dirs, "letters")
    ds = load_emnist("letters", source="nist", verify=False, zero_based=True)
    assert ds.y_train.min() == 0 and ds.y_train.max() == 25
    assert ds.num_classes == 26 and ds.class_names[0] == "A/a"


def test_labels_outside_the_split_are_refused(isolated_dirs):
    write_split(isolated_dirs, "digits")
    write_idx(isolated_dirs / "emnist-digits-test-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    with pytest.raises(DataFormatError, match="labels span 12..12 but split 'digits'"):
        load_emnist("digits", source="nist", verify=False)


def test_unknown_split_names_the_choices():
    with pytest.raises(ValueError, match="unknown EMNIST split 'balance'.*balanced"):
        load_emnist("balance", source="synthetic")


def test_unknown_source_is_an_error():
    with pytest.raises(ValueError, match="unknown source 'kaggle'"):
        load_emnist("letters", source="kaggle")


def test_missing_split_file_says_how_to_fetch(isolated_dirs):
    write_split(isolated_dirs, "mnist")
    (isolated_dirs / "emnist-mnist-test-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MissingDataError, match="emnist-mnist-test-labels.*data fetch --split mnist"):
        load_emnist("mnist", source="nist", download=False)


def test_image_label_count_mismatch(isolated_dirs):
    write_split(isolated_dirs, "mnist")
    write_idx(isolated_dirs / "emnist-mnist-train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DataFormatError, match="3 labels for 20 images"):
        load_emnist("mnist", source="nist", verify=False)


def test_non_official_file_fails_checksum_verification(isolated_dirs):
    write_split(isolated_dirs, "mnist")
    with pytest.raises(ChecksumError, match="emnist-mnist-.*differs from the official"):
        load_emnist("mnist", source="nist", verify=True)


def test_validation_split_is_stratified_and_seeded(isolated_dirs):
    write_split(isolated_dirs, "digits", n_train=200)
    ds = load_emnist("digits", source="nist", verify=False)
    a = ds.validation_split(0.2, seed=3)
    b = ds.validation_split(0.2, seed=3)
    c = ds.validation_split(0.2, seed=4)
    np.testing.assert_array_equal(a[3], b[3])
    assert not np.array_equal(a[3], c[3])
    assert np.bincount(a[3], minlength=10).tolist() == [4] * 10


def test_subset_is_stratified_and_recorded(isolated_dirs):
    write_split(isolated_dirs, "digits", n_train=200, n_test=100)
    ds = load_emnist("digits", source="nist", verify=False).subset(50, 20, seed=1)
    assert np.bincount(ds.y_train).tolist() == [5] * 10
    assert ds.provenance["subset"] == {"n_train": 50, "n_test": 20, "seed": 1}


def test_auto_offline_falls_back_to_synthetic_with_a_warning(monkeypatch, isolated_dirs):
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "no-shared-folder"))  # users have none
    monkeypatch.setattr(data_mod, "_WARNED_SYNTHETIC", False)
    with pytest.warns(UserWarning, match="SYNTHETIC"):
        ds = load_emnist("letters", source="auto", n_train=52, n_test=26)
    assert ds.is_synthetic and ds.provenance["requested_source"] == "auto"


def test_auto_prefers_real_files_when_present(isolated_dirs):
    write_split(isolated_dirs, "digits")
    assert data_mod.resolve_source(get_split("digits"), "auto", isolated_dirs) == "nist"


def test_verify_folder_reports_mismatch(isolated_dirs):
    write_split(isolated_dirs, "mnist")
    rows = {r["file"].split("/")[-1]: r["status"] for r in verify_folder(isolated_dirs)}
    assert rows["emnist-mnist-train-images-idx3-ubyte.gz"] == "MISMATCH"
    assert rows["emnist-letters-train-images-idx3-ubyte.gz"] == "missing"


# ---------------------------------------------------------------- download path
def _official_zip(tmp_path, split="mnist"):
    """A small zip in the official layout (gzip/<files>) and the matching fake facts."""
    src = tmp_path / "src"
    write_split(src, split)
    zpath = tmp_path / "gzip.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(src.iterdir()):
            zf.write(f, f"gzip/{f.name}")
    facts = {f.name: (sha256_file(f), f.stat().st_size) for f in src.iterdir()}
    return zpath.read_bytes(), facts


def test_fetch_good_zip_from_local_server(isolated_dirs, tmp_path, http_server, monkeypatch):
    payload, facts = _official_zip(tmp_path)
    url = http_server("/gzip.zip", payload)
    monkeypatch.setattr(data_mod, "OFFICIAL_FILES", facts)
    monkeypatch.setattr(data_mod, "GZIP_ZIP_SHA256", __import__("hashlib").sha256(payload).hexdigest())
    monkeypatch.setattr(data_mod, "GZIP_ZIP_SIZE", len(payload))
    monkeypatch.setattr(data_mod, "GZIP_ZIP_URL", url)
    ds = load_emnist("mnist", source="nist")
    np.testing.assert_array_equal(ds.x_test[0], GLYPH)
    assert ds.provenance["sha256"] == {name: sha for name, (sha, _) in facts.items()}


def test_fetch_wrong_checksum_leaves_nothing(isolated_dirs, tmp_path, http_server):
    payload, _ = _official_zip(tmp_path)
    url = http_server("/gzip.zip", payload)
    with pytest.raises(ChecksumError, match="official file has 561753746"):
        data_mod.fetch_nist(get_split("mnist"), isolated_dirs, urls=[url], progress=False)
    assert list(isolated_dirs.iterdir()) == []


def test_fetch_html_page_is_refused(isolated_dirs, http_server):
    url = http_server("/gzip.zip", b"<!DOCTYPE html><html><body>moved</body></html>", "text/html")
    with pytest.raises(Exception, match="HTML page"):
        data_mod.fetch_nist(get_split("mnist"), isolated_dirs, urls=[url], progress=False)
    assert list(isolated_dirs.iterdir()) == []


def test_connection_dropped_midway_is_retried_then_reported(isolated_dirs, tmp_path, http_server):
    from emnist_lib.download import download
    from emnist_lib.errors import DownloadError

    url = http_server("/big.bin", b"x" * 100_000, "application/octet-stream", drop_after=1000)
    with pytest.raises(DownloadError, match=r"dropped after 1000 of 100000 bytes"):
        download(url, isolated_dirs / "big.bin", retries=2, backoff=0, progress=False)
    assert list(isolated_dirs.iterdir()) == []


def test_no_network_error_says_how_to_place_files(isolated_dirs):
    from emnist_lib.errors import DownloadError

    with pytest.raises(DownloadError, match="put it, or its gzip/ files"):
        data_mod.fetch_nist(get_split("letters"), isolated_dirs, urls=["http://127.0.0.1:9/gzip.zip"], progress=False)
    assert list(isolated_dirs.iterdir()) == []


def test_corrupt_zip_is_a_clear_error(isolated_dirs):
    (isolated_dirs / "gzip.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataFormatError, match="gzip.zip: not a valid zip"):
        load_emnist("letters", source="nist")


# ---------------------------------------------------------------- alternative backends
def test_tfds_backend_is_normalised_upright(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")

    def as_dataset(self, split, *args, **kwargs):
        import tensorflow as tf

        n = 6
        images = np.repeat(GLYPH.T[None, :, :, None], n, axis=0)  # tfds keeps official storage
        labels = np.arange(1, n + 1)
        ds = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels})
        return ds

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        ds = load_emnist("letters", source="tfds")
    np.testing.assert_array_equal(ds.x_train[0], GLYPH)
    assert ds.num_classes == 27 and ds.provenance["source"] == "tfds"


def test_extra_keras_datasets_backend(tmp_path):
    from scipy.io import savemat

    n = 4
    rows = np.repeat(GLYPH.flatten(order="F")[None], n, axis=0)  # matlab rows reshape in F order
    part = {"images": rows, "labels": np.arange(1, n + 1)[:, None]}
    mat = tmp_path / "emnist-letters.mat"
    savemat(mat, {"dataset": {"train": part, "test": part}})
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "keras" / "datasets" / "emnist_matlab.npz", "w") as zf:
        zf.write(mat, "matlab/emnist-letters.mat")
    code = ("import json,numpy as np; from emnist_lib.data import load_emnist;"
            "d=load_emnist('letters', source='extra-keras-datasets');"
            "print(json.dumps({'img': d.x_train[0].tolist(), 'n': d.num_classes, 'src': d.source}))")
    env = dict(__import__("os").environ, KERAS_HOME=str(tmp_path / "keras"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.array(got["img"], np.uint8), GLYPH)
    assert got["n"] == 27 and got["src"] == "extra-keras-datasets"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emnist-letters.mat", "keras"]  # no stray .mat in cwd


# ---------------------------------------------------------------- real files, when present
def _real_letters(shared):
    from emnist_lib.data import load_real_letters_sample

    return load_real_letters_sample(shared)


def test_real_letters_labels_and_names(shared_data):
    x, y = _real_letters(shared_data)
    assert x.shape == (52, 28, 28)
    assert y[:26].tolist() == list(range(1, 27)) and set(y[26:].tolist()) == {1}
    names = get_split("letters").class_names()
    assert [names[i] for i in y[:3]] == ["A/a", "B/b", "C/c"]


def test_real_letters_load_upright(shared_data):
    """Upright real letters match upright font renderings better than their transposes do."""
    from emnist_lib import synthetic

    x, y = _real_letters(shared_data)
    fonts = synthetic.emnist_fonts()[:12]
    votes = 0
    for img, label in zip(x[:26], y[:26]):
        chars = get_split("letters").chars[label - 1]
        refs = [framing.emnist_convert(synthetic._template(f, c, 1)).astype(float) for f in fonts for c in chars]
        score = lambda im, refs=refs: max(np.corrcoef(im.ravel().astype(float), r.ravel())[0, 1] for r in refs)
        votes += score(img) > score(img.T)
    assert votes >= 20, f"only {votes}/26 real letters look upright"


def test_real_mapping_files_match_embedded_facts(shared_data):
    for name, spec in SPLITS.items():
        lines = (shared_data / "emnist" / f"emnist-{name}-mapping.txt").read_text().split("\n")
        assert [l.strip() for l in lines if l.strip()] == spec.mapping_lines()


def test_embedded_checksums_match_the_official_list(shared_data):
    from emnist_lib.splits import OFFICIAL_FILES

    listed = {}
    for line in (shared_data / "emnist" / "OFFICIAL_SHA256.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        sha, size, path = line.split()
        if path.startswith("gzip/"):
            listed[path[5:]] = (sha, int(size))
    assert listed == OFFICIAL_FILES


def test_real_letters_sample_absent_is_a_clear_error(monkeypatch):
    from emnist_lib import config
    from emnist_lib.data import load_real_letters_sample
    from emnist_lib.errors import MissingDataError

    monkeypatch.setattr(config, "shared_data_dir", lambda: None)
    with pytest.raises(MissingDataError, match="EMNIST_SHARED_DATA"):
        load_real_letters_sample()


# --------------------------------------------------------------------------- bad sizes
@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
@pytest.mark.parametrize("arg", ["n_train", "n_test"])
@pytest.mark.parametrize("source", ["synthetic", "nist"])
def test_every_source_refuses_a_bad_size_with_the_same_message(isolated_dirs, source, arg, bad):
    """nist-pool: tests/test_pool.py (on its fake official files)."""
    write_split(isolated_dirs, "letters")  # so the nist source has files it could return
    with pytest.raises(ValueError, match=bad_size_message(arg, bad)):
        load_emnist("letters", source=source, verify=False, **{arg: bad})


@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
def test_the_loaders_and_mnist_refuse_a_bad_size_with_the_same_message(isolated_dirs, bad):
    from emnist_lib import loaders, mnist

    write_split(isolated_dirs, "letters")
    calls = {"n_train": lambda: loaders.load_split("letters", "nist", n_train=bad),
             "n_test": lambda: loaders.load_mnist_split("synthetic", n_test=bad),
             "synthetic_train": lambda: mnist.load_mnist("synthetic", synthetic_train=bad)}
    for name, call in calls.items():
        with pytest.raises(ValueError, match=bad_size_message(name, bad)):
            call()


def test_sizes_may_be_numpy_integers_and_none_or_0_take_the_default(isolated_dirs):
    from emnist_lib.errors import check_size

    assert check_size("n_train", np.int64(52)) == 52 and type(check_size("n_train", np.int32(5))) is int
    assert check_size("n_train", None) is None and check_size("n_train", 0) == 0
    ds = load_emnist("letters", source="synthetic", n_train=np.int64(52), n_test=np.uint16(26))
    assert (len(ds.y_train), len(ds.y_test)) == (52, 26)
