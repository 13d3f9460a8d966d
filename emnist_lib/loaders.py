"""The data sets a profile asks for, at the sizes it asks for.

Synthetic data is generated, and a split re-split from the official pool (``nist-pool``) is drawn,
at exactly the size asked (per class, rounded up); other real data is subsampled (stratified,
seeded) when a size is given (0 = everything / the generator default).
"""

from __future__ import annotations

from .data import load_emnist
from .dataset import Dataset
from .errors import check_size
from .mnist import load_mnist


def load_split(split: str, source: str = "auto", n_train: int = 0, n_test: int = 0, seed: int = 0,
               zero_based: bool = False) -> Dataset:
    """An EMNIST split (:func:`emnist_lib.data.load_emnist`) at the size a profile asks for."""
    n_train, n_test = check_size("n_train", n_train), check_size("n_test", n_test)
    ds = load_emnist(split, source=source, n_train=n_train or None, n_test=n_test or None,
                     seed=seed, zero_based=zero_based)
    return _sized(ds, n_train, n_test, seed)


def load_mnist_split(source: str = "auto", n_train: int = 0, n_test: int = 0, seed: int = 0) -> Dataset:
    """The original MNIST (:func:`emnist_lib.mnist.load_mnist`) at the size a profile asks for."""
    n_train, n_test = check_size("n_train", n_train), check_size("n_test", n_test)
    ds = load_mnist(source, synthetic_train=n_train or None, synthetic_test=n_test or None, seed=seed)
    return _sized(ds, n_train, n_test, seed)


BUILT_TO_SIZE = ("synthetic", "nist-pool")


def _sized(ds: Dataset, n_train: int, n_test: int, seed: int) -> Dataset:
    if ds.source not in BUILT_TO_SIZE and (n_train or n_test):
        return ds.subset(n_train or None, n_test or None, seed=seed)
    return ds


def synthetic_twin(ds: Dataset, seed: int = 0) -> Dataset | None:
    """The synthetic version of a real EMNIST data set at the same sizes (for running a comparison on
    both: does the offline default rank methods as real data does?); None when ``ds`` is synthetic."""
    if ds.is_synthetic:
        return None
    return load_split(ds.split, "synthetic", len(ds.y_train), len(ds.y_test), seed)
