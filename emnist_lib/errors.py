"""Exceptions that tell the user what went wrong, where, and what to do."""


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
