import json

import numpy as np
import pytest

from emnist_lib import plots
from emnist_lib.results import make_record, read_records, records_table, write_record


def _record(**kw):
    base = dict(notebook="01_x", data={"source": "synthetic", "split": "letters", "n_train": 9, "n_test": 3},
                config={"lr": 0.001},
                seed=0, metrics={"accuracy": 0.123456789})
    base.update(kw)
    return make_record(kw.pop("name", "run"), **{k: v for k, v in base.items() if k != "name"})


def test_record_has_provenance_versions_hardware_and_rounded_floats(tmp_path):
    path = write_record(tmp_path, _record())
    rec = json.loads(path.read_text())
    assert rec["synthetic"] is True and rec["data"]["source"] == "synthetic"
    assert rec["metrics"]["accuracy"] == 0.123457
    assert "keras" in rec["versions"] and rec["hardware"]["cores"] >= 1
    text = path.read_text()
    assert text.index('"config"') < text.index('"data"')  # sorted keys


def test_records_table_reads_a_folder(tmp_path):
    write_record(tmp_path, _record(name="a"))
    write_record(tmp_path, _record(name="b", metrics={"accuracy": 0.5}))
    table = records_table(tmp_path)
    assert sorted(table["name"]) == ["a", "b"] and "metrics.accuracy" in table.columns


def test_broken_record_names_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ValueError, match="bad.json: not a valid result record"):
        read_records(tmp_path)


def test_sample_grid_title_marks_synthetic_data():
    imgs = np.zeros((12, 28, 28), np.uint8)
    fig = plots.sample_grid(imgs, np.arange(12) % 3, ["a", "b", "c"], "Samples", synthetic=True, n=12)
    assert fig._suptitle.get_text() == "Samples [SYNTHETIC data]"
    fig2 = plots.sample_grid(imgs, np.arange(12) % 3, ["a", "b", "c"], "Samples", synthetic=False, n=12)
    assert "SYNTHETIC" not in fig2._suptitle.get_text()


def test_learning_curves_axes():
    fig = plots.learning_curves({"run": {"loss": [1, .5], "val_loss": [1.1, .6], "accuracy": [.3, .6],
                                         "val_accuracy": [.2, .5]}}, "Curves", synthetic=False)
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_ylabel() == "loss" and ax_acc.get_ylabel() == "accuracy"
    assert ax_loss.get_xlabel() == "epoch" and len(ax_acc.lines) == 2


def test_confusion_heatmap_is_readable_at_47_classes():
    names = [str(i) for i in range(47)]
    fig = plots.confusion_heatmap(np.eye(47, dtype=int) * 5, names, "CM", synthetic=True)
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) == 47 and ax.get_xlabel() == "predicted" and "SYNTHETIC" in ax.get_title()


def test_blur_curves_and_comparison_bars():
    fig = plots.blur_curves([0, 5, 10], {"clean": [0.9, 0.5, 0.2]}, "Blur", synthetic=False)
    assert fig.axes[0].get_ylabel() == "test accuracy"
    fig = plots.comparison_bars(["a", "b"], [0.5, 0.6], "Sweep", synthetic=False, errors=[0.01, 0.02])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b"]


def test_save_twice_gives_identical_bytes(tmp_path):
    fig = plots.blur_curves([0, 5], {"m": [0.9, 0.4]}, "Blur", synthetic=True)
    a = plots.save(fig, tmp_path / "a.png").read_bytes()
    b = plots.save(fig, tmp_path / "b.png").read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"


def test_records_name_the_instruction_set_and_onednn(monkeypatch):
    from emnist_lib import results

    assert results.instruction_set({"sse2", "avx", "avx2", "avx512f"}) == "AVX-512"
    assert results.instruction_set({"sse2", "avx", "avx2"}) == "AVX2"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert results.onednn_setting() == "off"
    rec = _record()
    assert {"isa", "onednn"} <= set(rec["hardware"])
