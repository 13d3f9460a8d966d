"""The study's chapters: one module per notebook, found here by name (``cNN_<topic>.py``).

Each module holds its notebook's title and question, the budgets its runs train, the names of
its records and groups, the procedures the notebook calls, its findings (its report section)
and their wording. This registry feeds the runner (budgets, dry run), the report (sections,
abstract, figures), the notebook hygiene tests and the tests' record factory. To add a chapter,
add ``cNN_<topic>.py`` with a ``CHAPTER``, ``notebooks/NN_<topic>.ipynb`` and
``params/<profile>/NN_<topic>.yaml`` (README: "Add a chapter").
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from ..conclusions import Section
from ..results import Record
from .base import Chapter, TrainingBudget

__all__ = ["CHAPTERS", "Chapter", "TrainingBudget", "all_sections", "conclude", "get", "section", "section_number"]


def _discover() -> tuple[Chapter, ...]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if re.fullmatch(r"c\d\d_\w+", info.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(module.CHAPTER)
    return tuple(sorted(found, key=lambda c: c.notebook))


CHAPTERS: tuple[Chapter, ...] = _discover()


def get(notebook: str) -> Chapter:
    """The chapter of ``notebook`` (a notebook file's stem); an unknown name is a clear error."""
    for chapter in CHAPTERS:
        if chapter.notebook == notebook:
            return chapter
    raise ValueError(f"unknown notebook {notebook!r}; have {', '.join(c.notebook for c in CHAPTERS)}")


def section_number(notebook: str) -> int:
    """The number of ``notebook``'s section in the report (its sections follow :data:`CHAPTERS`, from 1)."""
    return CHAPTERS.index(get(notebook)) + 1


def section(notebook: str, records: list[Record]) -> Section:
    """The section of ``notebook`` built from ``records`` (all records of a profile may be passed)."""
    return get(notebook).section(records)


def all_sections(records: list[Record]) -> list[Section]:
    return [chapter.section(records) for chapter in CHAPTERS]


def conclude(study) -> Section:
    """For a notebook's last cell: its section from the records in its output folder, printed. Its own
    records must be readable; another notebook's unreadable record (an older run, an older schema) is
    skipped with a note, so a partial re-run still concludes (the report, built from all, is strict)."""
    sec = section(study.notebook, study.records())
    print(sec.text())
    return sec
