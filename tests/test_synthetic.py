import json

import numpy as np
import pytest

from emnist_lib import synthetic
from emnist_lib.data import load_emnist
from emnist_lib.idx import read_idx
from emnist_lib.splits import SPLITS, get_split


def test_same_seed_gives_identical_files(tmp_path):
    a = synthetic.ensure("digits", n_train=40, n_test=20, seed=5, root=tmp_path / "a")
    b = synthetic.ensure("digits", n_train=40, n_test=20, seed=5, root=tmp_path / "b")
    for f in sorted(p.name for p in a.iterdir()):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_different_seed_gives_different_images(tmp_path):
    a = synthetic.ensure("digits", n_train=40, n_test=20, seed=1, root=tmp_path)
    b = synthetic.ensure("digits", n_train=40, n_test=20, seed=2, root=tmp_path)
    name = get_split("digits").file_name("train", "images")
    assert not np.array_equal(read_idx(a / name), read_idx(b / name))


def test_result_does_not_depend_on_worker_count():
    variants = dict(synthetic.class_variants("letters"))
    labels = np.repeat(np.arange(1, 27), 22)  # 572 images: two chunks
    one = synthetic.generate(labels, variants, synthetic.emnist_fonts(), seed=3, workers=1)
    two = synthetic.generate(labels, variants, synthetic.emnist_fonts(), seed=3, workers=2)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("split", list(SPLITS))
def test_official_format_balanced_classes_every_split(tmp_path, split):
    spec = get_split(split)
    folder = synthetic.ensure(split, n_train=spec.num_labels * 2, n_test=spec.num_labels, root=tmp_path)
    labels = read_idx(folder / spec.file_name("train", "labels"))
    counts = np.bincount(labels, minlength=spec.num_outputs)[spec.first_label:]
    assert counts.tolist() == [2] * spec.num_labels
    images = read_idx(folder / spec.file_name("train", "images"))
    assert images.shape == (len(labels), 28, 28) and images.dtype == np.uint8
    assert images.max() == 255  # rescaled to 0..255 like EMNIST
    mapping = (folder / spec.mapping_name()).read_text().split("\n")
    assert [line for line in mapping if line] == spec.mapping_lines()


def test_cached_folder_is_reused(tmp_path):
    a = synthetic.ensure("mnist", n_train=20, n_test=10, root=tmp_path)
    stamp = (a / "generator.json").stat().st_mtime_ns
    b = synthetic.ensure("mnist", n_train=20, n_test=10, root=tmp_path)
    assert a == b and (b / "generator.json").stat().st_mtime_ns == stamp


def test_cache_key_names_split_size_seed_and_version(tmp_path):
    folder = synthetic.ensure("mnist", n_train=20, n_test=10, seed=9, root=tmp_path)
    assert folder.name.startswith(f"mnist-n20-t10-s9-v{synthetic.GENERATOR_VERSION}-f")
    meta = json.loads((folder / "generator.json").read_text())
    assert meta["generator_version"] == synthetic.GENERATOR_VERSION and meta["seed"] == 9


def test_stored_transposed_and_loaded_upright(tmp_path, monkeypatch):
    """Synthetic files use the official storage; the loader turns them upright like real ones."""
    monkeypatch.setenv("EMNIST_CACHE_DIR", str(tmp_path))
    ds = load_emnist("letters", source="synthetic", synthetic_train=52, synthetic_test=26, seed=0)
    spec = get_split("letters")
    folder = synthetic.ensure("letters", n_train=52, n_test=26, seed=0)
    stored = read_idx(folder / spec.file_name("train", "images"))
    np.testing.assert_array_equal(ds.x_train, stored.transpose(0, 2, 1))
    assert ds.is_synthetic and ds.provenance["generator"]["generator_version"] == synthetic.GENERATOR_VERSION


def test_letters_classes_use_both_cases():
    variants = dict(synthetic.class_variants("letters"))
    assert variants[1] == ("A", "a") and len(variants) == 26
    balanced = dict(synthetic.class_variants("balanced"))
    assert balanced[12] == ("C", "c")  # merged class
    assert balanced[10] == ("A",)  # 'a' has its own class in balanced


def test_emnist_fonts_include_every_matplotlib_text_face_and_exclude_reserved():
    from pathlib import Path

    import matplotlib

    names = {Path(f).name for f in synthetic.emnist_fonts()}
    shipped = {p.name for p in (Path(matplotlib.get_data_path()) / "fonts" / "ttf").glob("*.ttf")}
    text_faces = {n for n in shipped if synthetic._covers(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / n, synthetic.NEEDED)}
    assert text_faces - synthetic.SYMBOL_FONTS <= names
    assert not names & {Path(f).name for f in synthetic.alphadigits_fonts()}


def test_conversion_centres_character_with_border():
    img = np.zeros((128, 128), np.float32)
    img[20:100, 50:70] = 1.0  # tall thin bar
    out = synthetic.emnist_convert(img)
    rows, cols = np.where(out.any(1))[0], np.where(out.any(0))[0]
    assert rows[0] >= 1 and rows[-1] <= 26  # 2-pixel border, bicubic spill at most 1 px
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1  # centred horizontally, aspect kept
    assert out.max() == 255


def test_too_small_size_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="n_train=5 is smaller than the 47 classes"):
        synthetic.ensure("balanced", n_train=5, n_test=47, root=tmp_path)
