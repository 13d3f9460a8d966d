import numpy as np
import pytest

from emnist_lib import alphadigits as ad
from emnist_lib.errors import DataFormatError
from emnist_lib.splits import ALPHADIGITS_SHA256


def _write_mat(path, per_class=3):
    from scipy.io import savemat

    dat = np.empty((36, per_class), dtype=object)
    for c in range(36):
        for j in range(per_class):
            img = np.zeros((20, 16), np.uint8)
            img[c % 20, :] = 1
            dat[c, j] = img
    labels = np.empty((1, 36), dtype=object)
    for i, name in enumerate(ad.CLASS_NAMES):
        labels[0, i] = np.array([name])
    savemat(path, {"dat": dat, "classlabels": labels})


def test_read_mat_in_roweis_layout(tmp_path):
    _write_mat(tmp_path / "a.mat")
    images, labels = ad.read_mat(tmp_path / "a.mat")
    assert images.shape == (108, 20, 16) and labels.tolist() == np.repeat(np.arange(36), 3).tolist()
    assert images[3 * 5].argmax(axis=0)[0] == 5  # class 5's row marker survives


def test_read_npz_form(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((4, 20, 16), np.uint8), labels=np.arange(4))
    images, labels = ad.read_npz(tmp_path / "a.npz")
    assert images.shape == (4, 20, 16) and labels.tolist() == [0, 1, 2, 3]


def test_bad_npz_names_missing_arrays(tmp_path):
    np.savez(tmp_path / "b.npz", x=np.zeros(3))
    with pytest.raises(DataFormatError, match="b.npz: needs arrays 'images' and 'labels'"):
        ad.read_npz(tmp_path / "b.npz")


def test_not_a_mat_file(tmp_path):
    (tmp_path / "x.mat").write_bytes(b"<html>nope</html>")
    with pytest.raises(DataFormatError, match="x.mat: not a readable MATLAB file"):
        ad.read_mat(tmp_path / "x.mat")


def test_letters_subset_uses_emnist_letter_labels():
    labels = np.arange(36)
    _, out = ad.letters_subset(np.zeros((36, 20, 16), np.uint8), labels)
    assert out.tolist() == list(range(1, 27))


def test_pad_to_28_matches_resize_with_pad_geometry():
    img = np.ones((1, 20, 16), np.uint8)
    out = ad.pad_to_28(img)[0]
    assert out.shape == (28, 28) and out.dtype == np.uint8
    cols = np.where(out.max(0) > 0)[0]
    assert out.max() == 255 and cols[-1] - cols[0] + 1 == 22  # 16 * 28/20 = 22.4 -> 22 wide
    assert 2 <= cols[0] <= 3 and out[:, cols[0]:cols[-1] + 1].min() == 255  # centred, full height


def test_dataset_split_is_stratified_and_seeded(tmp_path):
    _write_mat(tmp_path / "a.mat", per_class=8)
    a = ad.alphadigits_dataset(path=tmp_path / "a.mat", test_fraction=0.25, seed=1)
    b = ad.alphadigits_dataset(path=tmp_path / "a.mat", test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert np.bincount(a.y_test, minlength=27)[1:].tolist() == [2] * 26
    assert a.num_classes == 27 and a.x_train.shape[1:] == (28, 28)


def test_synthetic_stand_in_when_offline(isolated_dirs, monkeypatch):
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "no-shared-folder"))
    with pytest.warns(UserWarning, match="SYNTHETIC 20x16"):
        images, labels, prov = ad.load_alphadigits("auto")
    assert images.shape == (1404, 20, 16) and set(np.unique(images)) <= {0, 1}
    assert prov["source"] == "synthetic" and np.bincount(labels).tolist() == [39] * 36


def test_real_alphadigits_file(shared_data):
    path = shared_data / "binaryalphadigits" / "binaryalphadigs.mat"
    images, labels, prov = ad.load_alphadigits(path=path)
    assert images.shape == (1404, 20, 16) and set(np.unique(images)) == {0, 1}
    assert prov["sha256"] == ALPHADIGITS_SHA256 and prov["official_checksum"]
    letters, letter_labels = ad.letters_subset(images, labels)
    assert len(letters) == 1014 and letter_labels.min() == 1 and letter_labels.max() == 26


def test_auto_finds_the_real_file_in_the_shared_folder(shared_data):
    images, labels, prov = ad.load_alphadigits("auto")
    assert prov["source"] == "roweis" and prov["official_checksum"]
    assert prov["file"] == str(shared_data / "binaryalphadigits" / "binaryalphadigs.mat")
