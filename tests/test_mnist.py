"""The original MNIST: IDX files (gzip or plain) checked against the official sha256, or a clear fallback."""

import gzip
import shutil

import numpy as np
import pytest

from emnist_lib import mnist
from emnist_lib.errors import ChecksumError, MissingDataError
from emnist_lib.idx import write_idx


def _fake_mnist(folder, n=20):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, count in (("train", n), ("t10k", n // 2)):
        write_idx(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (count, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{part}-labels-idx1-ubyte.gz", (np.arange(count) % 10).astype(np.uint8))


def test_files_that_are_not_the_official_ones_are_refused_by_name(isolated_dirs, monkeypatch):
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "none"))
    _fake_mnist(isolated_dirs / "mnist")
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte.gz: sha256 .* is not the official MNIST"):
        mnist.load_mnist("auto")


def test_offline_without_files_falls_back_to_synthetic_and_says_so(isolated_dirs, monkeypatch):
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "none"))
    with pytest.warns(UserWarning, match="SYNTHETIC"):
        ds = mnist.load_mnist("auto", synthetic_train=100, synthetic_test=50)
    assert ds.is_synthetic and ds.name == "mnist" and ds.class_names == [str(d) for d in range(10)]
    assert ds.provenance["stands_in_for"].startswith("MNIST")


def test_a_failed_download_falls_back_with_one_warning_that_names_the_failure(isolated_dirs, monkeypatch):
    """Online but the download fails (a new user's offline first run where the network is only half there): one
    warning, naming the failure and the synthetic stand-in, not two."""
    import warnings

    from emnist_lib import config

    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "none"))
    monkeypatch.setattr(config, "offline", lambda: False)

    def no_network():
        raise OSError("Name or service not known")

    monkeypatch.setattr(mnist, "_load_keras", no_network)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = mnist.load_mnist("auto", synthetic_train=100, synthetic_test=50)
    said = [str(w.message) for w in caught if "MNIST" in str(w.message)]
    assert ds.is_synthetic and len(said) == 1, said
    assert "Name or service not known" in said[0] and "SYNTHETIC EMNIST 'mnist' split" in said[0]


def test_asking_for_idx_files_that_are_absent_lists_where_it_looked(isolated_dirs, monkeypatch):
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "none"))
    with pytest.raises(MissingDataError, match=f"not in any of: {isolated_dirs / 'mnist'}"):
        mnist.load_mnist("idx")


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match="unknown MNIST source 'web'"):
        mnist.load_mnist("web")


@pytest.mark.shared
def test_real_mnist_loads_from_the_shared_folder_gzip_or_plain(shared_data):
    ds = mnist.load_mnist("auto")
    assert ds.provenance["source"] == "mnist" and not ds.is_synthetic
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert np.bincount(ds.y_test).tolist()[:3] == [980, 1135, 1032]  # the official test class counts
    names = set(ds.provenance["sha256"])
    assert "train-images-idx3-ubyte" in names and "t10k-images-idx3-ubyte.gz" in names  # plain and gzip


@pytest.mark.shared
def test_a_gzip_copy_of_a_plain_official_file_is_also_accepted(shared_data, isolated_dirs, monkeypatch):
    folder = isolated_dirs / "mnist"
    folder.mkdir()
    for path in (shared_data / "mnist").iterdir():
        shutil.copy(path, folder / path.name)
    raw = folder / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(raw) as src, open(folder / "t10k-labels-idx1-ubyte", "wb") as dst:
        dst.write(src.read())  # plain form of an official gzip file: its own official sha256
    raw.unlink()
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "none"))
    assert mnist.load_mnist("idx").provenance["folder"] == str(folder)


def test_an_explicit_synthetic_source_does_not_warn(recwarn):
    ds = mnist.load_mnist("synthetic", synthetic_train=100, synthetic_test=50)
    assert ds.is_synthetic
    assert not [w for w in recwarn if "SYNTHETIC" in str(w.message)]
