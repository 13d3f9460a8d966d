"""emnist_lib: data, models, training, evaluation and report helpers for the EMNIST study.

Importing the package is cheap: TensorFlow is imported only by the modules that
need it (models, training, evaluation), so the CLI's data commands start fast.
"""

__version__ = "0.1.0"

import os as _os

# Quieter TensorFlow C++ logs (notebook stderr); users can still override it.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
