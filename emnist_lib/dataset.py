"""The in-memory data set every loader returns: images, labels, class names, split and provenance.

Numpy and scikit-learn only, so the loaders of each source (:mod:`emnist_lib.data`,
:mod:`emnist_lib.mnist`, :mod:`emnist_lib.alphadigits`) and everything above them share it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    """Images, labels and where they came from.

    ``class_names[label]`` names each label; ``num_classes`` is the number of
    model outputs the labels need (27 for official letters, label 0 unused).
    ``split`` names the task (an EMNIST split such as ``balanced``, ``mnist`` for the
    original MNIST, ``alphadigits-letters``); ``provenance`` says the source (``nist``,
    ``synthetic``, ...), the files and their sha256 or the generator version. What goes into
    every result record is :attr:`record_provenance`: the provenance with the split and
    the sizes actually used.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    provenance: dict = field(default_factory=dict)
    split: str = ""

    def __post_init__(self):
        self.split = self.split or self.provenance.get("split") or self.name

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def source(self) -> str:
        return self.provenance.get("source", "unknown")

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def record_provenance(self) -> dict:
        """The provenance a result record stores: source and files, plus the split and the
        numbers of training and test images this data set holds."""
        return {**self.provenance, "split": self.split, "n_train": int(len(self.y_train)),
                "n_test": int(len(self.y_test))}

    def describe(self) -> dict:
        """Counts, classes and provenance as a JSON-friendly dict."""
        labels = np.arange(self.num_classes)
        return {
            "name": self.name,
            "source": self.source,
            "train_size": int(len(self.y_train)),
            "test_size": int(len(self.y_test)),
            "image_shape": list(self.x_train.shape[1:]),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "train_counts": np.bincount(self.y_train, minlength=len(labels)).tolist(),
            "test_counts": np.bincount(self.y_test, minlength=len(labels)).tolist(),
            "provenance": self.provenance,
        }

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
        """A stratified random subset (same classes, same provenance, sizes recorded)."""
        rng = np.random.default_rng(seed)
        xtr, ytr = _stratified_take(self.x_train, self.y_train, n_train, rng)
        xte, yte = _stratified_take(self.x_test, self.y_test, n_test, rng)
        prov = dict(self.provenance, subset={"n_train": len(ytr), "n_test": len(yte), "seed": seed})
        return Dataset(self.name, xtr, ytr, xte, yte, list(self.class_names), prov, split=self.split)

    def set_apart(self, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
        """``(main, apart)``: a stratified, seeded ``fraction`` of the training images set apart (e.g. to tune
        on, so nothing is selected on the images a comparison is judged on); the test images stay with
        ``main``. Each part's provenance records the cut."""
        from sklearn.model_selection import train_test_split

        idx_main, idx_apart = train_test_split(np.arange(len(self.y_train)), test_size=fraction, random_state=seed,
                                               stratify=self.y_train)
        idx_main, idx_apart = np.sort(idx_main), np.sort(idx_apart)
        cut = {"fraction": fraction, "seed": seed}
        main = Dataset(self.name, self.x_train[idx_main], self.y_train[idx_main], self.x_test, self.y_test,
                       list(self.class_names), dict(self.provenance, set_apart={**cut, "part": "main"}), self.split)
        apart = Dataset(self.name, self.x_train[idx_apart], self.y_train[idx_apart], self.x_test[:0], self.y_test[:0],
                        list(self.class_names), dict(self.provenance, set_apart={**cut, "part": "apart"}), self.split)
        return main, apart

    def validation_split(self, fraction: float = 0.1, seed: int = 0):
        """Stratified, seeded train/validation split of the training set.

        Returns ``(x_train, y_train, x_val, y_val)``.
        """
        from sklearn.model_selection import train_test_split

        x_tr, x_val, y_tr, y_val = train_test_split(
            self.x_train, self.y_train, test_size=fraction, random_state=seed, stratify=self.y_train
        )
        return x_tr, y_tr, x_val, y_val


def _stratified_take(x, y, n, rng):
    if n is None or n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                              random_state=int(rng.integers(2**31)))
    idx = np.sort(idx)
    return x[idx], y[idx]
