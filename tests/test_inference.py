"""Model cards and `predict`: any image a person might have becomes what the models were trained on."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from conftest import GLYPH
from PIL import Image, ImageDraw

from emnist_lib import card as cards
from emnist_lib import config
from emnist_lib.cli import main
from emnist_lib.fileio import sha256_file
from emnist_lib.framing import emnist_convert
from emnist_lib.inference import ImageError, Predictor, check_pixels, decode, prepare, to_emnist


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, "PNG")
    return buf.getvalue()


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def big_glyph(h: int, w: int, top: int, left: int, size: int, dark_on_light: bool) -> np.ndarray:
    """GLYPH (an upright 'L') scaled to ``size`` pixels and drawn at (top, left) of an h x w page."""
    page = np.zeros((h, w), np.float32)
    page[top:top + size, left:left + size] = np.asarray(Image.fromarray(GLYPH).resize((size, size), Image.BILINEAR))
    page = np.clip(page, 0, 255).astype(np.uint8)
    return 255 - page if dark_on_light else page


REFERENCE = emnist_convert(GLYPH.astype(np.float32))  # GLYPH framed the way synthetic EMNIST frames its images


# --- the model card ------------------------------------------------------------------------------------------


def test_final_runs_write_a_card_beside_the_model(study_model):
    card = cards.read_card(study_model)
    assert card["split"] == "mnist" and card["class_names"] == [str(d) for d in range(10)]
    assert card["num_outputs"] == 10 and card["input"]["ink"].startswith("white on black")
    assert card["data"]["source"] == "synthetic" and card["data"]["synthetic"] is True
    assert "SYNTHETIC" in card["data"]["note"]
    t = card["test"]
    assert t["seed"] == 0 and t["n_test"] == 500
    assert t["accuracy_ci95"][0] < t["accuracy"] < t["accuracy_ci95"][1]
    assert t["over_seeds"]["seeds"] == [0, 1] and t["over_seeds"]["low"] <= t["over_seeds"]["mean"]
    assert card["records"] == ["08_final_evaluation__final__cnn__seed0.json", "08_final_evaluation__final__cnn__seed1.json"]
    # the numbers are the records' numbers, not recomputed ones
    record = json.loads((study_model.parent.parent / "results" / card["records"][0]).read_text())
    assert t["accuracy"] == record["metrics"]["test_accuracy"]
    assert card["model_sha256"] == sha256_file(study_model) and card["versions"]["keras"]
    assert card["model"]["builder"] == "chollet_convnet" and card["model"]["train"]["epochs"] == 3


def test_a_missing_or_broken_card_is_a_clear_error(study_model, tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(study_model.read_bytes())
    with pytest.raises(cards.ModelCardError, match="no model card beside m.keras"):
        cards.read_card(model)
    cards.card_path(model).write_text("{not json")
    with pytest.raises(cards.ModelCardError, match="not a JSON model card"):
        cards.read_card(model)
    cards.card_path(model).write_text(json.dumps({"name": "x"}))
    with pytest.raises(cards.ModelCardError, match="lacks split, class_names"):
        cards.read_card(model)
    good = cards.read_card(study_model)
    cards.card_path(model).write_text(json.dumps({**good, "class_names": good["class_names"][:9]}))
    with pytest.raises(cards.ModelCardError, match="9 class names for 10 outputs"):
        cards.read_card(model)


def test_a_card_that_does_not_match_its_model_is_refused(study_model, tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(study_model.read_bytes())
    good = cards.read_card(study_model)
    cards.card_path(model).write_text(json.dumps({**good, "num_outputs": 11, "class_names": good["class_names"] + ["X"]}))
    with pytest.raises(cards.ModelCardError, match="does not match its card"):
        Predictor(model)


def test_the_default_model_is_the_largest_scale_report_full_then_emnist_then_quick(monkeypatch, tmp_path):
    monkeypatch.delenv("EMNIST_OUTPUT_DIR", raising=False)
    monkeypatch.setattr(config, "REPORT_DIR", tmp_path)
    with pytest.raises(cards.ModelCardError, match="Run 'make report'"):
        cards.resolve_model(None)
    for profile in ("quick", "emnist", "full"):
        (tmp_path / profile / "models").mkdir(parents=True)
        (tmp_path / profile / "models" / "final_cnn.keras").write_bytes(b"x")
        assert cards.resolve_model(None) == tmp_path / profile / "models" / "final_cnn.keras"
    with pytest.raises(cards.ModelCardError, match="no such model file"):
        cards.resolve_model(tmp_path / "nope.keras")


def test_unused_outputs_are_never_predicted(study_model, tmp_path):
    p = Predictor(study_model)
    assert p.names == [str(d) for d in range(10)] and np.allclose(p.predict(np.zeros((3, 28, 28))).sum(1), 1)
    # a card like the letters split's: output 0 names no class
    model = tmp_path / "m.keras"
    model.write_bytes(study_model.read_bytes())
    card = cards.read_card(study_model)
    cards.card_path(model).write_text(json.dumps({**card, "class_names": ["(unused)", *card["class_names"][1:]]}))
    p = Predictor(model)
    assert p.names == [str(d) for d in range(1, 10)]
    proba = p.predict(np.stack([GLYPH] * 3))
    assert proba.shape == (3, 9) and np.allclose(proba.sum(1), 1)
    assert all(t["class"] != "(unused)" for t in p.classify(GLYPH, 10)) and len(p.classify(GLYPH, 10)) == 9


# --- the EMNIST conversion of anyone's image --------------------------------------------------------------------


def test_orientation_an_asymmetric_glyph_comes_out_upright_where_the_models_expect_it():
    page = big_glyph(700, 1100, top=150, left=600, size=400, dark_on_light=True)
    out = to_emnist(page.astype(np.float32) / 255)
    right = corr(out, REFERENCE)
    assert right > 0.9
    for wrong in (REFERENCE.T, REFERENCE[::-1], REFERENCE[:, ::-1]):  # transposed, flipped
        assert corr(out, wrong) < right - 0.3
    assert out[:, :14].sum() > out[:, 14:].sum()  # the bar is on the left
    assert out[20:].sum() > out[:8].sum()  # the foot at the bottom


@pytest.mark.parametrize("dark_on_light", [True, False])
@pytest.mark.parametrize("shape", [(3000, 4000), (400, 1000), (1000, 300), (8, 8)])
def test_both_polarities_any_size_give_the_same_28x28(dark_on_light, shape):
    h, w = shape
    size = max(4, min(h, w) * 3 // 4)
    page = big_glyph(h, w, (h - size) // 2, (w - size) // 3, size, dark_on_light)
    out = prepare(png(page), "page.png")
    assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() == 255
    assert out[:2].max() == 0 and out[-2:].max() == 0 and out[:, :2].max() == 0 and out[:, -2:].max() == 0  # border
    assert corr(out, REFERENCE) > (0.4 if h == 8 else 0.9)  # 6 pixels of glyph hold little of its shape


@pytest.mark.parametrize("ink", ["dark", "light"])
def test_rgba_strokes_on_a_transparent_canvas(ink):
    """A drawing app's export: colour only where the pen went, alpha 0 elsewhere (RGB there is black)."""
    rgba = np.zeros((600, 500, 4), np.uint8)
    glyph = big_glyph(600, 500, 100, 50, 400, dark_on_light=False)
    rgba[..., 3] = glyph
    rgba[..., :3] = 20 if ink == "dark" else 240
    out = prepare(png(rgba, "RGBA"))
    assert corr(out, REFERENCE) > 0.9


def test_a_thin_pen_on_a_large_photo_is_widened_to_an_emnist_stroke():
    from emnist_lib.realism import stroke_width

    img = Image.new("RGB", (3000, 3000), (250, 248, 240))
    ImageDraw.Draw(img).ellipse([1000, 800, 2000, 2200], outline=(10, 10, 40), width=6)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    out = prepare(buf.getvalue())
    assert 1.8 < stroke_width(out) < 4.0  # not a hair-line that vanishes at 28x28


def test_noise_and_specks_around_the_character_are_dropped():
    rng = np.random.default_rng(0)
    page = big_glyph(800, 800, 200, 200, 400, dark_on_light=True).astype(np.float32)
    page = page * 0.8 + 30 + rng.normal(0, 6, page.shape)  # grey paper, sensor noise
    for y, x in rng.integers(20, 780, (12, 2)):  # dust
        page[y:y + 3, x:x + 3] = 0
    out = prepare(png(np.clip(page, 0, 255).astype(np.uint8)))
    assert corr(out, REFERENCE) > 0.9


def test_exif_rotation_of_a_phone_photo_is_applied():
    page = big_glyph(400, 400, 50, 50, 300, dark_on_light=True)
    img = Image.fromarray(page).rotate(90, expand=True)  # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with "rotate 90 degrees clockwise to view"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=95)
    assert corr(prepare(buf.getvalue()), REFERENCE) > 0.9


def test_images_the_models_saw_in_training_survive_a_print_and_photo_round_trip(study_model):
    """Synthetic test images enlarged, inverted to dark-on-light, put off-centre on a page of another
    shape, with noise and JPEG: the model's top-1 must mostly stay what it was on the originals."""
    from emnist_lib.loaders import load_split

    p = Predictor(study_model)
    x = load_split("mnist", "synthetic", 3000, 500, 0).x_test[:60]
    rng = np.random.default_rng(1)
    converted = []
    for i, img in enumerate(x):
        s = 120 + 9 * i
        page = np.zeros((s + 40 + 31 * (i % 4), s + 50 + 7 * i), np.float32)
        page[20:20 + s, 30:30 + s] = np.asarray(Image.fromarray(img).resize((s, s), Image.BICUBIC), np.float32)
        page = np.clip(255 - page * 0.75 - 20 + rng.normal(0, 6, page.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(page).save(buf, "JPEG", quality=80)
        converted.append(prepare(buf.getvalue()))
    agreement = (p.predict(x).argmax(1) == p.predict(np.stack(converted)).argmax(1)).mean()
    assert agreement >= 0.9, agreement


# --- bad input ------------------------------------------------------------------------------------------------


def png_with_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header then claims ``width`` x ``height`` (a decompression bomb's header)."""
    raw = bytearray(png(np.zeros((1, 1), np.uint8)))
    ihdr = struct.pack(">II", width, height) + bytes(raw[24:29])
    raw[16:29] = ihdr
    raw[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(raw)


@pytest.mark.parametrize("data, message", [
    (b"", "empty \\(0 bytes\\)"),
    (b"hello, not an image", "not an image this tool can read"),
    (png_with_size(100_000, 100_000), "more than the 50,000,000|too large"),
    (png(np.full((50, 50), 200, np.uint8)), "no ink found"),
    (png(np.zeros((50, 50), np.uint8)), "no ink found"),
    (png((np.random.default_rng(0).random((300, 300)) < 0.004).astype(np.uint8) * 255), "scattered specks"),
])
def test_bad_images_are_clear_errors_naming_them(data, message):
    with pytest.raises(ImageError, match=f"^upload.png: .*({message})"):
        prepare(data, "upload.png")


def test_a_truncated_image_is_a_clear_error():
    data = png(big_glyph(200, 200, 20, 20, 150, True))
    with pytest.raises(ImageError, match="cut.png: "):
        prepare(data[: len(data) // 2], "cut.png")


@pytest.mark.parametrize("pixels, message", [
    (np.zeros((28, 27)).tolist(), "expected a 28x28 array"),
    ([["a"] * 28] * 28, r"pixels\[0\]\[0\]: expected a number 0..255, got str"),
    ([[False] * 28] * 28, "got bool"),
    (np.full((28, 28), "7"), "expected numbers 0..255, got an array of <U1"),
    (np.ones((28, 28), bool), "got an array of bool"),
    ((np.zeros((28, 28)) + np.nan).tolist(), "NaN"),
    ((np.ones((28, 28)) * 300).tolist(), "0..255"),
    (np.zeros((28, 28)).tolist(), "no ink"),
])
def test_pixel_arrays_are_checked(pixels, message):
    with pytest.raises(ImageError, match=message):
        check_pixels(pixels)


def test_decode_names_a_missing_file(tmp_path):
    with pytest.raises(ImageError, match="nope.png: cannot read the file"):
        decode(tmp_path / "nope.png")


# --- the command ----------------------------------------------------------------------------------------------


def test_predict_command_text_json_and_a_bad_file(study_model, tmp_path, capsys):
    good = tmp_path / "one.png"
    Image.fromarray(big_glyph(300, 200, 50, 20, 160, True)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"GIF89a nonsense")
    seen = tmp_path / "seen"
    assert main(["predict", str(good), str(bad), "--model", str(study_model), "--top", "3",
                 "--save-input", str(seen)]) == 2
    out, err = capsys.readouterr()
    assert "SYNTHETIC data; test accuracy" in out and "note: trained and tested on SYNTHETIC" in out
    line = next(ln for ln in out.splitlines() if ln.startswith(str(good)))
    assert len(line.split("%")) == 4  # three classes with percentages
    assert f"error: {bad}: not an image" in err
    assert np.asarray(Image.open(seen / "one_28x28.png")).shape == (28, 28)

    assert main(["predict", str(good), "--model", str(study_model), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    top = doc["predictions"][0]["top"]
    assert len(top) == 5 and abs(sum(t["probability"] for t in top) - 1) < 0.5
    assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)
    assert doc["card"]["split"] == "mnist" and doc["card"]["data"]["synthetic"] is True
    p = Predictor(study_model)
    assert top[0]["class"] == p.classify(prepare(good))[0]["class"]


def test_predict_without_a_model_says_how_to_get_one(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(config, "REPORT_DIR", tmp_path)
    monkeypatch.delenv("EMNIST_OUTPUT_DIR", raising=False)
    assert main(["predict", str(tmp_path / "x.png")]) == 2
    assert "Run 'make report'" in capsys.readouterr().err


def test_a_phone_cameras_mpo_jpeg_is_read():
    page = np.stack([big_glyph(300, 300, 40, 40, 220, dark_on_light=True)] * 3, -1)
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, "MPO", save_all=True, append_images=[Image.fromarray(page)])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    assert corr(prepare(buf.getvalue()), REFERENCE) > 0.9
