"""The README's train / evaluate / record / plot example runs as written (on a small synthetic set)."""

import re
from pathlib import Path

import emnist_lib.data

README = Path(__file__).resolve().parents[1] / "README.md"


def example() -> str:
    text = README.read_text()
    start = text.index("Train, evaluate, record and plot any registered model")
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


def test_readme_example_runs(monkeypatch, tmp_path, capsys):
    real = emnist_lib.data.load_emnist

    def small(split, **kwargs):  # the example's data, shrunk: 10 synthetic images per class
        return real(split, source="synthetic", n_train=470, n_test=94)

    monkeypatch.setattr(emnist_lib.data, "load_emnist", small)
    monkeypatch.chdir(tmp_path)
    code = example().replace("TrainConfig(epochs=5)", "TrainConfig(epochs=1)")
    assert "TrainConfig(epochs=1)" in code
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "synthetic" in out and "convnet" in out  # the source is printed; the table lists the record
    assert (tmp_path / "my_runs" / "mine__convnet.json").exists()
    assert (tmp_path / "my_runs" / "confusion.png").stat().st_size > 10_000
