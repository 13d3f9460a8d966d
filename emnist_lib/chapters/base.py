"""What a chapter is: one notebook's question, budgets and findings, in one module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..conclusions import Section
from ..results import Record


@dataclass(frozen=True)
class TrainingBudget:
    """One kind of run a notebook trains, for the runner's budget check and the dry run: the
    parameters that set its training size (None: the whole data set), epochs and batch, and the
    data it trains on (an EMNIST split name, ``mnist``, ``alphadigits``, or ``split`` for the
    notebook's own ``split`` parameter)."""

    size: str | None
    epochs: str
    batch: str
    data: str


@dataclass(frozen=True)
class Chapter:
    """A notebook of the study. ``notebook`` is its file's stem (``notebooks/<notebook>.ipynb``,
    ``params/<profile>/<notebook>.yaml``); its first markdown cell states ``question``;
    ``findings`` builds its report section from result records; ``in_abstract`` puts the
    section's headline in the report's abstract; ``check`` names what is wrong with a profile's
    parameters (a reference that is not one of the variants) before anything trains; ``reads`` names the
    notebooks whose records it reads while it runs (a selected recipe, a twin to compare with): the runner keeps
    each such pair in the order of the sequential run when it executes notebooks at once."""

    notebook: str
    title: str
    question: str
    findings: Callable[[list[Record]], Section]
    budgets: tuple[TrainingBudget, ...] = ()
    in_abstract: bool = False
    check: Callable[[dict], list[str]] | None = None  # problems with a profile's parameters (runner, before training)
    min_seeds: int = 2  # its claims are about recipes, paired over seeds (1: about trained models, McNemar)
    reads: tuple[str, ...] = ()  # notebooks whose records it reads while it runs (runner: their order is kept)

    def section(self, records: list[Record]) -> Section:
        return self.findings(records)


F = TypeVar("F", bound=Callable)


def trains(fn: F) -> F:
    """Mark a chapter procedure that trains models: a notebook cell calling it holds results that vary
    with the hardware, so it must carry the ``nbval-ignore-output`` tag (the hygiene tests check)."""
    fn.trains = True
    return fn
