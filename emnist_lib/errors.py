"""Exceptions that tell the user what went wrong, where, and what to do."""

import numbers


class EmnistError(Exception):
    """Base class for every error this package raises on bad input or data."""


class DataFormatError(EmnistError, ValueError):
    """A data file is not in the format it claims (bad magic, truncated, mismatched)."""


class ChecksumError(EmnistError):
    """A file's size or sha256 differs from the official value."""


class DownloadError(EmnistError):
    """A download failed (no network, HTTP error, an HTML page instead of data)."""


class MissingDataError(EmnistError, FileNotFoundError):
    """Required data files are not where they should be."""


def check_size(name: str, value):
    """``value`` as an ``int`` (None stays None) when it is a valid number of images for the argument
    ``name``, else a ``ValueError`` naming both: a whole number (numpy integers included, not a bool), 0 or
    more. Every data source and loader calls it before doing anything; None or 0 take the default."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return int(value)
    raise ValueError(f"{name}={value!r} is not a valid size: give a whole number of images, 0 or more "
                     "(None or 0 takes the default size)")


class StudyWarning(UserWarning):
    """A warning a user must act on, shown even by a quiet ``make report``: the data fell back to synthetic, a
    selection found nothing that trained. Other libraries' warnings go to the run's log."""
