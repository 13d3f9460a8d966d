"""The report builder on a folder of sample records."""

import re

import numpy as np
import pytest

from emnist_lib import plots
from emnist_lib.report import REFERENCES, build_report, render_markdown
from emnist_lib.results import make_record, write_record


def _values(rng):
    return float(np.round(rng.uniform(0.1, 0.99), 6))


def make_sample(out, synthetic: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    data = {"source": "synthetic", "generator": {"generator_version": "1.0", "fonts": ["a.ttf"]}} if synthetic \
        else {"source": "nist", "sha256": {"emnist-balanced-test-images-idx3-ubyte.gz": "ab" * 32}}
    res = out / "results"

    def rec(nb, name, metrics, config=None, extra=None, data=data, **kw):
        write_record(res, make_record(name, notebook=nb, data=data, config=config or {}, seed=0, metrics=metrics,
                                      extra=extra or {"params": 1234}, wall_time_s=_values(rng) * 10,
                                      images_per_s=_values(rng) * 1000, **kw))

    rec("00_data", "dataset_emnist-balanced", {"name": "emnist-balanced", "train_size": 940, "test_size": 470,
                                                "num_classes": 47})
    ad_data = {"source": "synthetic", "generator_version": "1.0", "fonts": ["b.ttf"]} if synthetic \
        else {"source": "roweis", "sha256": "3e" * 32}
    rec("00_data", "dataset_alphadigits-letters", {"name": "alphadigits-letters", "train_size": 760, "test_size": 254,
                                                    "num_classes": 27}, data=ad_data)
    run = lambda: {"train_accuracy": _values(rng), "test_accuracy": _values(rng), "test_loss": _values(rng),  # noqa: E731
                   "val_accuracy": _values(rng), "test_f1_macro": _values(rng)}
    rec("01_chollet_baselines", "emnist-mnist__chollet_dense", run(), {"model": "chollet_dense"})
    var = lambda: {"val_accuracy": _values(rng), "train_accuracy": _values(rng), "epochs_run": 2}  # noqa: E731
    for group in ("activation", "learning_rate", "optimizer", "regularisation"):
        rec("02_dnn_learning_rules", f"{group}__a", var())
    rec("02_dnn_learning_rules", "best_mlp", var(), extra={"from": "activation__a"})
    rec("03_cnn_depth", "1_conv_+_pool", run())
    rec("04_regularisation_tuning", "ablation__baseline", var())
    rec("04_regularisation_tuning", "cv__baseline", {"cv_mean": _values(rng), "cv_std": _values(rng) / 10})
    rec("04_regularisation_tuning", "best_cnn", {"mean": _values(rng)}, extra={"from": "baseline"})
    rec("05_architectures", "emnist-balanced__resnet_small", run(), {"model": "resnet_small"})
    for k in (0, 5):
        rec("06_blur_robustness", f"train_blur_{k}", {"test_accuracy_blur_0": _values(rng),
                                                     "test_accuracy_blur_5": _values(rng)}, {"train_blur": k})
    rec("07_transfer_learning", "holdout__frozen", {"test_accuracy": _values(rng)}, {"method": "frozen base + new head"})
    rec("07_transfer_learning", "holdout__from", {"test_accuracy": _values(rng)}, {"method": "from scratch"})
    rec("07_transfer_learning", "kfold", {k: _values(rng) for k in ("transfer_frozen_mean", "scratch_mean",
                                                                      "transfer_frozen_std", "scratch_std")}, {"k": 3})
    final = lambda: {k: _values(rng) for k in ("accuracy", "precision_macro", "recall_macro", "f1_macro", "top_k_accuracy")}  # noqa: E731
    rec("08_final_evaluation", "final__mlp", final(), {"model": "mlp"})
    rec("08_final_evaluation", "final__cnn", final(), {"model": "cnn"})
    rec("08_final_evaluation", "most_confused_cnn", {"pairs": [{"true": "O", "predicted": "0", "count": 7}]})
    fig = plots.blur_curves([0, 5], {"m": [0.9, 0.4]}, "Blur", synthetic)
    plots.save(fig, out / "figures" / "06_blur_robustness_blur_curves.png")
    plots.save(fig, out / "figures" / "00_data_samples.png")


def _all_numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _all_numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _all_numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield float(obj)


@pytest.mark.parametrize("synthetic", [True, False])
def test_every_percentage_in_the_text_comes_from_a_record(tmp_path, synthetic):
    make_sample(tmp_path, synthetic)
    text, facts = render_markdown(tmp_path, "quick")
    from emnist_lib.results import read_records

    allowed = {f"{100 * v:.2f}%" for r in read_records(tmp_path / "results") for v in _all_numbers(r)}
    allowed |= {f"{100 * v:.2f}%" for v, _ in REFERENCES.values()}
    shown = re.findall(r"\d+\.\d\d%", text)
    assert shown and set(shown) <= allowed
    assert len(facts.used) >= len(shown)


def test_synthetic_banner_appears_exactly_when_synthetic(tmp_path):
    make_sample(tmp_path / "s", True)
    make_sample(tmp_path / "r", False)
    syn, _ = render_markdown(tmp_path / "s", "quick")
    real, _ = render_markdown(tmp_path / "r", "quick")
    assert syn.splitlines()[0].endswith("[SYNTHETIC DATA]") and syn.count("**SYNTHETIC DATA.**") == 1
    assert "SYNTHETIC" not in real and "not comparable" not in real
    assert "(not comparable)" in syn


def test_every_referenced_figure_exists_and_names_its_notebook(tmp_path):
    make_sample(tmp_path, True)
    md_path, html_path = build_report(tmp_path, "quick")
    text = md_path.read_text()
    refs = re.findall(r"\]\((figures/[^)]+)\)", text)
    assert refs and all((tmp_path / r).exists() for r in refs)
    assert "made by `notebooks/06_blur_robustness.ipynb`" in text
    html = html_path.read_text()
    assert html.count("data:image/png;base64,") == len(refs) and 'src="figures/' not in html


def test_no_records_is_a_clear_error(tmp_path):
    (tmp_path / "results").mkdir()
    with pytest.raises(ValueError, match="no result records; run the notebooks first"):
        render_markdown(tmp_path, "quick")
