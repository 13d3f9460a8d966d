import json
from pathlib import Path

import numpy as np
import pytest

from emnist_lib import framing, synthetic
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
    one = synthetic.generate(labels, variants, synthetic.emnist_style(), seed=3, workers=1)
    two = synthetic.generate(labels, variants, synthetic.emnist_style(), seed=3, workers=2)
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
    assert folder.name == f"mnist-n20-t10-s9-v{synthetic.GENERATOR_VERSION}-g{synthetic.emnist_style().digest()}"
    meta = json.loads((folder / "generator.json").read_text())
    assert meta["generator_version"] == synthetic.GENERATOR_VERSION and meta["seed"] == 9


def test_stored_transposed_and_loaded_upright(tmp_path, monkeypatch):
    """Synthetic files use the official storage; the loader turns them upright like real ones."""
    monkeypatch.setenv("EMNIST_CACHE_DIR", str(tmp_path))
    ds = load_emnist("letters", source="synthetic", n_train=52, n_test=26, seed=0)
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


def test_typeset_fonts_are_matplotlib_text_faces_and_packages_never_reserved_ones():
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
    out = framing.emnist_convert(img)
    rows, cols = np.where(out.any(1))[0], np.where(out.any(0))[0]
    assert rows[0] >= 1 and rows[-1] <= 26  # 2-pixel border, bicubic spill at most 1 px
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1  # centred horizontally, aspect kept
    assert out.max() == 255


def test_too_small_size_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="n_train=5 is smaller than the 47 classes"):
        synthetic.ensure("balanced", n_train=5, n_test=47, root=tmp_path)


# --------------------------------------------------------------------------- generator 2.0
def _fake_system_fonts(monkeypatch, folder):
    """Make matplotlib's system-font search find exactly the files in ``folder``."""
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager, "findSystemFonts",
                        lambda *a, **k: [str(p) for p in sorted(folder.glob("*.ttf"))])
    synthetic.emnist_fonts.cache_clear()


def _read_all(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".gz"}


def test_system_fonts_change_nothing_unless_asked(tmp_path, monkeypatch):
    """A machine with extra fonts (e.g. after installing chromium) generates the same data."""
    import shutil
    from pathlib import Path

    import matplotlib

    monkeypatch.delenv(synthetic.SYSTEM_FONTS_ENV, raising=False)
    plain = synthetic.ensure("digits", n_train=60, n_test=20, seed=4, root=tmp_path / "plain")
    fonts = tmp_path / "system-fonts"
    fonts.mkdir()
    shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", fonts / "FakeSystemSans.ttf")
    (fonts / "Broken.ttf").write_bytes(b"not a font")
    _fake_system_fonts(monkeypatch, fonts)
    try:
        same = synthetic.ensure("digits", n_train=60, n_test=20, seed=4, root=tmp_path / "same")
        assert same.name == plain.name and _read_all(same) == _read_all(plain)
        assert "FakeSystemSans.ttf" not in json.loads((same / "generator.json").read_text())["fonts"]

        monkeypatch.setenv(synthetic.SYSTEM_FONTS_ENV, "1")
        with pytest.warns(UserWarning, match=r"system fonts: skipped 1 font file.*Broken\.ttf"):
            opted = synthetic.ensure("digits", n_train=60, n_test=20, seed=4, root=tmp_path / "opted")
        meta = json.loads((opted / "generator.json").read_text())
        assert meta["system_fonts"] is True and "FakeSystemSans.ttf" in meta["fonts"]
        assert opted.name != plain.name  # another cache entry, never a silent mix
    finally:
        synthetic.emnist_fonts.cache_clear()


def test_bad_stroke_table_entry_is_skipped_with_one_warning():
    from emnist_lib import strokes

    table = (("4", ("1,0 0.3,6* 6,6 | 4.5,0.5 4.6,10", "1,0 oops 6,6", "3,3")),)
    with pytest.warns(UserWarning) as caught:
        glyphs = strokes.table_glyphs("4", table)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and "'1,0 oops 6,6'" in messages[0] and "fewer than two points" in messages[1]
    assert len(glyphs["4"]) == 1


def test_unknown_hershey_family_warns_and_generation_goes_on():
    from dataclasses import replace

    style = replace(synthetic.emnist_style(), hershey=("futural", "no-such-family"))
    variants = dict(synthetic.class_variants("digits"))
    with pytest.warns(UserWarning, match="Hershey font 'no-such-family' could not be loaded"):
        images = synthetic.generate(np.arange(10), variants, style, seed=0, workers=1)
    assert images.shape == (10, 28, 28) and all(img.max() > 0 for img in images)


def test_a_character_nothing_can_draw_is_an_error():
    from dataclasses import replace

    style = replace(synthetic.emnist_style(), table=False, hershey=(), fonts=())
    with pytest.raises(RuntimeError, match="can draw '0'"):
        synthetic.generate(np.arange(10), dict(synthetic.class_variants("digits")), style, seed=0, workers=1)


@pytest.mark.parametrize("split", ["byclass", "letters"])
def test_every_generated_image_has_ink(split):
    spec = get_split(split)
    variants = dict(synthetic.class_variants(split))
    labels = np.repeat(np.arange(spec.first_label, spec.first_label + spec.num_labels), 6)
    images = synthetic.generate(labels, variants, synthetic.emnist_style(), seed=12, workers=1)
    empty = [int(i) for i, img in enumerate(images) if img.max() == 0]
    assert not empty, f"images without ink: {empty[:10]}"


def test_alphadigits_stand_in_has_ink_fills_its_frame_and_uses_held_out_sources():
    from emnist_lib import alphadigits, strokes

    images, labels = alphadigits.synthetic_alphadigits(seed=0, per_class=4)
    assert images.shape == (144, 20, 16) and set(np.unique(images)) <= {0, 1}
    assert all(img.any() for img in images)
    heights = [np.ptp(np.flatnonzero(img.any(axis=1))) + 1 for img in images]
    widths = [np.ptp(np.flatnonzero(img.any(axis=0))) + 1 for img in images]
    assert np.mean(heights) / 20 > 0.95 and np.mean(widths) / 16 > 0.9  # like the original: the frame is filled
    emnist, held_out = synthetic.emnist_style(), synthetic.alphadigits_style()
    assert not set(emnist.hershey) & set(held_out.hershey) and set(held_out.hershey) == set(strokes.HERSHEY_ALPHADIGITS)
    assert not {Path(f).name for f in emnist.fonts} & {Path(f).name for f in held_out.fonts}
    assert not held_out.table


def test_killed_generation_leaves_no_cache_entry_and_next_run_regenerates(tmp_path):
    """SIGKILL mid-generation: no complete-looking folder; the next ensure() cleans up and regenerates."""
    import os
    import signal
    import subprocess
    import sys
    import time

    code = ("from emnist_lib import synthetic; "
            f"synthetic.ensure('byclass', n_train=62 * 400, n_test=62 * 40, seed=1, root={str(tmp_path)!r}, workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ})
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".*.tmp")):
        time.sleep(0.2)
    assert list(tmp_path.glob(".*.tmp")), "generation never started"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == []
    folder = synthetic.ensure("byclass", n_train=62, n_test=62, seed=1, root=tmp_path)
    assert (folder / "generator.json").exists()
    assert not list(tmp_path.glob(".*.tmp")), "the killed run's temporary folder was not removed"


def test_stroke_table_covers_every_character_and_passes_through_its_points():
    from emnist_lib import strokes

    glyphs = strokes.table_glyphs(synthetic.NEEDED)
    assert set(glyphs) == set(synthetic.NEEDED)
    for ch in "4717":
        assert len(glyphs[ch]) >= 3, f"{ch!r} needs several allographs"
    (basis, ctrl, _), = strokes.parse_allograph("0,0 5,5* 10,0")
    line = basis @ ctrl
    assert np.allclose(line[0], (0, 0)) and np.allclose(line[-1], (10, 0))
    assert np.min(np.hypot(*(line - (5, 5)).T)) < 1e-9  # the corner is on the line


def test_realism_statistics_measure_what_they_say():
    from emnist_lib import realism

    img = np.zeros((28, 28), np.uint8)
    img[4:24, 12:15] = 255  # a bar 3 px wide, 20 tall
    assert framing.stroke_width(img) == pytest.approx(3, rel=0.15)
    assert realism.aspect(img) == pytest.approx(3 / 20)
    lean = np.zeros((28, 28), np.uint8)
    for r in range(4, 24):  # top to the right
        c = 8 + (24 - r) // 2
        lean[r, c:c + 3] = 255
    assert realism.slant(lean) > 15 and abs(realism.slant(img)) < 1


def test_missing_font_file_and_font_lacking_characters_are_skipped_with_one_warning(tmp_path):
    import warnings
    from dataclasses import replace

    import matplotlib

    gone = str(tmp_path / "Deleted.ttf")
    symbols = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "STIXSizOneSymReg.ttf")  # no letters
    style = replace(synthetic.emnist_style(), fonts=(gone, symbols), weights=(0.0, 0.0, 1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="can draw '0'"):
            synthetic.generate(np.arange(10), dict(synthetic.class_variants("digits")), style, seed=0, workers=1)
    messages = [str(w.message) for w in caught]
    assert any("Deleted.ttf" in m and "unreadable" in m for m in messages)
    assert any("STIXSizOneSymReg.ttf lacks" in m for m in messages)
    # With a source left for every character, generation goes on and every image has ink.
    style = replace(style, weights=(1.0, 0.0, 1.0))
    with pytest.warns(UserWarning, match="Deleted.ttf"), pytest.warns(UserWarning, match="lacks '0123456789'"):
        images = synthetic.generate(np.arange(10), dict(synthetic.class_variants("digits")), style, seed=0, workers=1)
    assert all(img.max() > 0 for img in images)
