"""nist-pool: real EMNIST splits re-split from the official files at hand, on tiny fake files in the real format
(two splits whose images overlap), and on the real shared files where they are."""

import hashlib

import numpy as np
import pytest
from conftest import BAD_SIZES, GLYPH, bad_size_message

from emnist_lib import config, pool
from emnist_lib.data import load_emnist, resolve_source
from emnist_lib.errors import ChecksumError, DataFormatError, MissingDataError
from emnist_lib.fileio import sha256_file
from emnist_lib.idx import write_idx
from emnist_lib.splits import SPLITS, get_split

PER_CLASS = 8  # images per class in each fake file


def _mapping(folder, spec):
    (folder / spec.mapping_name()).write_text("\n".join(spec.mapping_lines()) + "\n")


def _register(monkeypatch, *paths):
    """Let the fake files pass the official-checksum check (their own sha256 become 'official')."""
    table = dict(pool.OFFICIAL_FILES)
    for p in paths:
        table[p.name] = (sha256_file(p), p.stat().st_size)
    monkeypatch.setattr(pool, "OFFICIAL_FILES", table)


def _write(folder, split, images, labels):
    spec = get_split(split)
    paths = (folder / spec.file_name("test", "images"), folder / spec.file_name("test", "labels"))
    write_idx(paths[0], images)
    write_idx(paths[1], labels.astype(np.uint8))
    _mapping(folder, spec)
    return paths


@pytest.fixture
def fake_pool(isolated_dirs, monkeypatch):
    """byclass and bymerge test files (random, distinct images) in the data dir; bymerge repeats 40 byclass
    images with the same character, and one byclass image stored twice carries two different labels."""
    monkeypatch.setenv("EMNIST_SHARED_DATA", str(isolated_dirs / "no-shared-folder"))
    rng = np.random.default_rng(0)
    byclass_y = np.repeat(np.arange(62), PER_CLASS)
    byclass_x = rng.integers(0, 256, (len(byclass_y), 28, 28), dtype=np.uint8)
    byclass_x[0] = GLYPH.T  # a digit '0' image, stored transposed as the official files do
    byclass_x[1] = byclass_x[2]  # the same image twice, labelled '0' both times: one copy kept
    byclass_x[-1] = byclass_x[-2 * PER_CLASS]  # the same image as 'z' and as 'y': dropped
    bymerge_y = np.repeat(np.arange(47), PER_CLASS)
    bymerge_x = rng.integers(0, 256, (len(bymerge_y), 28, 28), dtype=np.uint8)
    for d in range(10):  # 4 byclass images of each digit again in bymerge, same label (digits are 0..9 in both)
        bymerge_x[np.flatnonzero(bymerge_y == d)[:4]] = byclass_x[np.flatnonzero(byclass_y == d)[3:7]]
    paths = _write(isolated_dirs, "byclass", byclass_x, byclass_y) + _write(isolated_dirs, "bymerge", bymerge_x, bymerge_y)
    _register(monkeypatch, *paths)
    return {"folder": isolated_dirs, "byclass": (byclass_x, byclass_y), "bymerge": (bymerge_x, bymerge_y)}


def _digests(images):
    return {hashlib.sha256(im.tobytes()).hexdigest() for im in images}


def test_auto_picks_the_pool_when_the_split_files_are_absent(fake_pool):
    assert resolve_source(get_split("balanced"), "auto") == "nist-pool"


def test_balanced_from_byclass_and_bymerge_is_balanced_disjoint_and_upright(fake_pool):
    ds = load_emnist("balanced", source="nist-pool", n_train=47 * 6, n_test=47 * 2, seed=1)
    assert np.bincount(ds.y_train, minlength=47).tolist() == [6] * 47
    assert np.bincount(ds.y_test, minlength=47).tolist() == [2] * 47
    assert not _digests(ds.x_train) & _digests(ds.x_test)  # no image in both
    assert len(_digests(ds.x_train)) == len(ds.y_train)  # duplicates kept once


def test_images_come_upright_like_every_other_source(fake_pool):
    ds = load_emnist("digits", source="nist-pool", seed=0)  # unset sizes: every '0' the pool holds
    images, labels = np.concatenate([ds.x_train, ds.x_test]), np.concatenate([ds.y_train, ds.y_test])
    upright = [i for i, im in enumerate(images) if np.array_equal(im, GLYPH)]
    assert len(upright) == 1 and labels[upright[0]] == 0
    assert not any(np.array_equal(im, GLYPH.T) for im in images)


def test_labels_are_mapped_by_character(fake_pool):
    spec = get_split("balanced")
    assert pool.class_of("c", spec) == spec.class_names().index("C")  # merged case pair
    assert pool.class_of("a", spec) == spec.class_names().index("a")  # kept apart in balanced
    letters = get_split("letters")
    assert pool.class_of("c", letters) == pool.class_of("C", letters) == 3
    bymerge = SPLITS["bymerge"]
    to_byclass = pool.label_map(bymerge, pool.read_mapping(bymerge, [fake_pool["folder"]]), SPLITS["byclass"])
    c = bymerge.class_names().index("C")
    assert to_byclass[c] == -1  # bymerge's 'C' is c or C: byclass cannot take it
    assert to_byclass[bymerge.class_names().index("A")] == SPLITS["byclass"].class_names().index("A")


def test_letters_take_both_cases_and_no_digits(fake_pool):
    ds = load_emnist("letters", source="nist-pool", n_train=26 * 10, n_test=26 * 4, seed=0)
    assert ds.num_classes == 27 and set(np.unique(ds.y_train)) == set(range(1, 27))
    assert np.bincount(ds.y_train, minlength=27)[1:].tolist() == [10] * 26


def test_duplicates_and_conflicts_are_counted_in_the_provenance(fake_pool):
    ds = load_emnist("balanced", source="nist-pool", n_train=47 * 4, n_test=47 * 2, seed=0)
    p = ds.provenance
    assert p["source"] == "nist-pool" and p["real"] is True and p["official_partition"] is False
    assert "not the official train/test partition" in p["note"]
    assert set(p["official_files"]) == {f"emnist-{s}-test-{k}-idx{d}-ubyte.gz" for s in ("byclass", "bymerge")
                                        for k, d in (("images", 3), ("labels", 1))}
    r = p["resplit"]
    assert r["duplicates_removed"] == 1 + 40 and r["conflicting_removed"] == 2
    assert r["pool_images"] == 62 * PER_CLASS + 47 * PER_CLASS - 41 - 2
    assert (r["seed"], r["n_train"], r["n_test"]) == (0, 47 * 4, 47 * 2)


def test_builds_are_cached_by_files_seed_and_sizes(fake_pool):
    a = pool.ensure("balanced", 94, 47, 0)
    assert pool.ensure("balanced", 94, 47, 0) == a
    assert pool.ensure("balanced", 94, 47, 1) != a and pool.ensure("balanced", 141, 47, 0) != a
    one = load_emnist("balanced", source="nist-pool", n_train=94, n_test=47, seed=0)
    more = load_emnist("balanced", source="nist-pool", n_train=141, n_test=47, seed=0)
    np.testing.assert_array_equal(one.x_test, more.x_test)  # one seed, one test set, whatever the training size


def test_byclass_keeps_the_pool_proportions(fake_pool):
    ds = load_emnist("byclass", source="nist-pool", seed=0)
    assert ds.num_classes == 62 and len(ds.y_test) > 0
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=62)
    assert counts[0] > counts[12]  # digits come from both files, 'C' only from byclass


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
@pytest.mark.parametrize("arg", ["n_train", "n_test"])
def test_a_bad_size_is_refused_with_the_message_every_source_gives(fake_pool, arg, bad):
    with pytest.raises(ValueError, match=bad_size_message(arg, bad)):
        load_emnist("letters", source="nist-pool", **{arg: bad})
    with pytest.raises(ValueError, match=bad_size_message(arg, bad)):
        pool.ensure("letters", **{arg: bad})


def test_numpy_integer_sizes_are_accepted(fake_pool):
    ds = load_emnist("balanced", source="nist-pool", n_train=np.int64(94), n_test=np.int32(47))
    assert (len(ds.y_train), len(ds.y_test)) == (94, 47)


def _cache():
    root = config.cache_dir() / pool.SOURCE
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.fixture
def untouched_cache():
    """Asserts that the test leaves the pool cache as it found it: nothing half-built."""
    before = _cache()
    yield
    assert _cache() == before


def test_a_file_whose_sha256_differs_is_refused(fake_pool, untouched_cache, monkeypatch):
    monkeypatch.setattr(pool, "OFFICIAL_FILES", dict(pool.OFFICIAL_FILES, **{
        "emnist-bymerge-test-images-idx3-ubyte.gz": ("0" * 64, 1)}))
    with pytest.raises(ChecksumError, match="emnist-bymerge-test-images-idx3-ubyte.gz: sha256 .* differs from the official"):
        load_emnist("balanced", source="nist-pool", n_train=94, n_test=47)


def test_a_truncated_file_is_refused(fake_pool, untouched_cache, monkeypatch):
    path = fake_pool["folder"] / "emnist-byclass-test-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:2000])
    _register(monkeypatch, path)
    with pytest.raises(DataFormatError, match="emnist-byclass-test-images-idx3-ubyte.gz: cannot decompress"):
        load_emnist("balanced", source="nist-pool", n_train=94, n_test=47)


def test_an_images_file_without_its_labels_is_refused(fake_pool):
    (fake_pool["folder"] / "emnist-bymerge-test-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MissingDataError, match="emnist-bymerge-test-images-idx3-ubyte.gz has no partner file "
                                               "emnist-bymerge-test-labels-idx1-ubyte.gz"):
        load_emnist("balanced", source="nist-pool", n_train=94, n_test=47)


def test_a_label_outside_the_mapping_is_refused(fake_pool, untouched_cache, monkeypatch):
    x, y = fake_pool["bymerge"]
    y = y.copy()
    y[5] = 60  # bymerge has 47 labels
    paths = _write(fake_pool["folder"], "bymerge", x, y)
    _register(monkeypatch, *paths)
    with pytest.raises(DataFormatError, match="emnist-bymerge-test-labels-idx1-ubyte.gz: label 60 is outside the bymerge"):
        load_emnist("balanced", source="nist-pool", n_train=94, n_test=47)


def test_asking_for_more_of_a_class_than_the_pool_holds_names_split_class_and_counts(fake_pool, untouched_cache):
    with pytest.raises(ValueError, match=r"split 'letters' asks for 40 training \+ 10 test images of class '.*' "
                                         r"\(label \d+\), but the pool holds only \d+ of it"):
        load_emnist("letters", source="nist-pool", n_train=26 * 40, n_test=26 * 10)


def test_a_mapping_file_of_another_split_is_refused(fake_pool, untouched_cache):
    folder = fake_pool["folder"]
    (folder / "emnist-byclass-mapping.txt").write_text((folder / "emnist-bymerge-mapping.txt").read_text())
    with pytest.raises(DataFormatError, match="emnist-byclass-mapping.txt: its labels .* are not those of the official byclass"):
        load_emnist("balanced", source="nist-pool", n_train=47 * 3, n_test=47, seed=5)


# --------------------------------------------------------------------------- the real files
def test_the_real_pool_builds_balanced_letters_and_digits(shared_data, monkeypatch, isolated_dirs):
    if not (shared_data / "emnist" / "emnist-bymerge-test-images-idx3-ubyte.gz").exists():
        pytest.skip("the official EMNIST test files are not in ../shared/data/emnist")
    for split, classes, per in (("balanced", 47, 20), ("letters", 26, 20), ("digits", 10, 20)):
        ds = load_emnist(split, source="nist-pool", n_train=classes * per, n_test=classes * 5, seed=0)
        counts = np.bincount(ds.y_train)[get_split(split).first_label:]
        assert counts.tolist() == [per] * classes, split
        assert not _digests(ds.x_train) & _digests(ds.x_test)
        r = ds.provenance["resplit"]
        assert r["conflicting_removed"] == 0
        if split == "balanced":  # every image of the three files: 242,646 read, 223,470 distinct
            assert r["pool_images"] == 223_470 and r["duplicates_removed"] == 19_176
        assert all(len(v) == 64 for v in ds.provenance["official_files"].values())


def test_the_generators_case_shares_are_those_of_the_real_calibration_part(shared_data):
    if not (shared_data / "emnist" / "emnist-byclass-test-images-idx3-ubyte.gz").exists():
        pytest.skip("the official EMNIST test files are not in ../shared/data/emnist")
    from emnist_lib import realism, synthetic

    assert synthetic.LOWER_SHARE == realism.calibration_case_shares()
