"""`export`: SavedModel and TFLite give the Keras model's top-1 on a fixed batch; int8 at least 98%."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emnist_lib import export as ex
from emnist_lib.cli import main
from emnist_lib.errors import EmnistError


@pytest.mark.slow
@pytest.mark.parametrize("fmt, quantize, floor", [("savedmodel", None, 1.0), ("tflite", None, 0.999),
                                                   ("tflite", "int8", ex.MIN_INT8_AGREEMENT),
                                                   ("tflite", "dynamic", ex.MIN_INT8_AGREEMENT)])
def test_exports_predict_what_keras_predicts(study_model, tmp_path, capsys, fmt, quantize, floor):
    out = tmp_path / f"model.{fmt}"
    args = ["export", "--format", fmt, "--model", str(study_model), "--out", str(out), "--check-images", "500"]
    quant_args = {None: [], "int8": ["--quantize"], "dynamic": ["--quantize", "dynamic"]}[quantize]
    assert main(args + quant_args) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.with_name(out.name + ".json").read_text())
    check = result["check"]
    assert check["images"] == 500 and check["source"] == "synthetic" and check["split"] == "mnist"
    assert check["top1_agreement"] >= floor, check
    assert f"top-1 agreement with Keras {100 * check['top1_agreement']:.2f}%" in printed
    assert result["model_card"]["name"] == "final_cnn" and result["quantization"] == quantize
    assert out.exists() and not list(tmp_path.glob(".*part*"))
    if fmt == "savedmodel":  # what TF Serving loads: the SavedModel alone, without Keras
        import tensorflow as tf

        loaded = tf.saved_model.load(str(out))
        assert loaded.serve(tf.zeros([2, 28, 28])).shape == (2, 10)
    else:
        x = np.zeros((3, 28, 28), np.float32)
        x[:, 4:24, 13:15] = 255
        proba = ex.tflite_predict(out.read_bytes(), x)
        assert proba.shape == (3, 10) and np.allclose(proba.sum(1), 1, atol=0.02)


def test_bad_export_requests_are_clear_errors(study_model, tmp_path, capsys):
    assert main(["export", "--format", "savedmodel", "--quantize", "--model", str(study_model)]) == 2
    assert "--quantize applies to --format tflite only" in capsys.readouterr().err
    with pytest.raises(EmnistError, match="unknown export format 'onnx'"):
        ex.export(study_model, "onnx")


def test_a_failed_export_leaves_nothing_behind(study_model, tmp_path, monkeypatch):
    import tensorflow as tf

    def broken(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_saved_model", broken)
    out = tmp_path / "m.tflite"
    with pytest.raises(RuntimeError, match="converter crashed"):
        ex.export(study_model, "tflite", out, n_check=50)
    assert list(tmp_path.iterdir()) == []
