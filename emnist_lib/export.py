"""Export a study model for serving elsewhere, and check the export predicts what Keras predicts.

``savedmodel``: Keras' ``model.export`` (a TensorFlow SavedModel with a ``serve`` endpoint, what TF
Serving loads). ``tflite``: the TFLite converter (mobile), optionally ``quantize``d: ``int8`` weights
and activations, calibrated on training images of the model's own split, or ``dynamic`` (int8 weights,
float activations: about as small, closer to the float model, no calibration). Every export is checked
on a fixed batch of that split's test images: top-1 agreement with the Keras model and both
accuracies go into ``<export>.json`` beside it, with the model card.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from .card import read_card, resolve_model
from .errors import EmnistError
from .fileio import write_text_atomic

FORMATS = ("savedmodel", "tflite")
CHECK_IMAGES = 1000  # test images of the fixed agreement batch
CALIBRATION_IMAGES = 2000  # training images the int8 converter calibrates on
MIN_INT8_AGREEMENT = 0.98  # below it a quantized export is flagged (and the command exits 1)
QUANTIZATIONS = ("int8", "dynamic")


def check_data(card: dict, n_test: int = CHECK_IMAGES, n_calibration: int = CALIBRATION_IMAGES, seed: int = 0):
    """A fixed batch of the card's split (the same source as the training data where it is here; the
    synthetic split otherwise, said in the result): calibration images and test images with labels."""
    from .data import nist_available
    from .loaders import load_split
    from .splits import get_split

    split = card["split"]
    source = "nist" if card["data"].get("source") == "nist" and nist_available(get_split(split)) else "synthetic"
    # fixed sizes, so the check images are the same whatever is asked for (synthetic data depends on the
    # size; real data is subsampled, stratified and seeded, by load_split)
    ds = load_split(split, source, max(CALIBRATION_IMAGES, n_calibration), max(CHECK_IMAGES, n_test), seed)
    return ds.x_train[:n_calibration], ds.x_test[:n_test], ds.y_test[:n_test], ds.source


def tflite_predict(content: bytes, x: np.ndarray) -> np.ndarray:
    """Class probabilities of a TFLite model for a batch of 28x28 images."""
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's notice about ai_edge_litert
        interpreter = tf.lite.Interpreter(model_content=content)
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(inp["index"], [len(x), *inp["shape"][1:]])
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], np.asarray(x, np.float32).reshape(len(x), *inp["shape"][1:]))
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(out["index"]), np.float64)


def export(model_path: str | Path | None, fmt: str, out: str | Path | None = None, quantize: str | None = None,
           n_check: int = CHECK_IMAGES) -> dict:
    """Export the model (default: the best CNN of the newest report) and check it; returns the check."""
    import keras
    import tensorflow as tf

    if fmt not in FORMATS:
        raise EmnistError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize and fmt != "tflite":
        raise EmnistError("--quantize applies to --format tflite only (a SavedModel keeps float weights)")
    if quantize not in (None, *QUANTIZATIONS):
        raise EmnistError(f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
    model_path = resolve_model(model_path)
    card = read_card(model_path)
    model = keras.saving.load_model(model_path, compile=False)
    suffix = {"savedmodel": "savedmodel", "tflite": f"{quantize}.tflite" if quantize else "tflite"}[fmt]
    dest = Path(out) if out else model_path.parent / "export" / f"{model_path.name.removesuffix('.keras')}.{suffix}"
    calib, x, y, source = check_data(card, n_check)
    keras_top1 = np.asarray(model.predict(x, batch_size=256, verbose=0)).argmax(1)
    start = time.perf_counter()
    work = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    shutil.rmtree(work, ignore_errors=True)
    saved = work / "savedmodel"
    try:
        work.mkdir(parents=True)
        model.export(str(saved), format="tf_saved_model", verbose=False)
        if fmt == "savedmodel":
            reloaded = tf.saved_model.load(str(saved))  # as TF Serving would: the SavedModel alone, no Keras
            proba = np.asarray(reloaded.serve(tf.constant(x, tf.float32)), np.float64)
            artifact = saved
        else:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
            if quantize:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantize == "int8":
                converter.representative_dataset = lambda: ([img[None].astype(np.float32)] for img in calib)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            content = converter.convert()
            artifact = work / "model.tflite"
            artifact.write_bytes(content)
            proba = tflite_predict(content, x)
        seconds = time.perf_counter() - start
        top1 = proba.argmax(1)
        result = {
            "model": str(model_path), "card": card["name"], "format": fmt, "quantization": quantize,
            "export": str(dest), "seconds": round(seconds, 2),
            "size_bytes": (artifact.stat().st_size if artifact.is_file()
                           else sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())),
            "check": {"images": int(len(x)), "split": card["split"], "source": source,
                      "top1_agreement": float((top1 == keras_top1).mean()),
                      "accuracy_export": float((top1 == y).mean()), "accuracy_keras": float((keras_top1 == y).mean())},
        }
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(artifact, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_text_atomic(Path(f"{dest}.json"), json.dumps({**result, "model_card": card}, indent=1, default=float) + "\n")
    return result
