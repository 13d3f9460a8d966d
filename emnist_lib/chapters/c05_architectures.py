"""Chapter 05, architectures: deep CNN, ResNet, MobileNet, squeeze-and-excitation and a small ViT at one budget."""

from __future__ import annotations

from .. import analysis
from ..conclusions import (
    Section,
    Wording,
    family_findings,
    family_table,
    open_section,
    rank_agreement_findings,
    threats,
)
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "05_architectures"
TITLE = "Architectures"
QUESTION = ("Given the same data and budget, do deeper or more modern architectures (deep CNN, ResNet, MobileNet, "
            "squeeze-and-excitation, a small ViT) beat each other?")
GROUP = "architecture"

WORDING = Wording("""
{%- macro best(s) -%}Highest mean test accuracy among converged runs: {{ s.variant }} ({{ s.interval | interval }}).{%- endmacro -%}
{%- macro widths(widths) -%}model widths: multiplier {{ widths | join(", ") }} on the channel counts of the published-scale builders (1 = full width){%- endmacro -%}
{%- macro widths_threat(widths) -%}{% if widths == ["1"] %}Models at full width.{% else %}Model widths: multiplier {{ widths | join(", ") }}; the full-width models may rank differently.{% endif %}{%- endmacro -%}
""")


def variants(model_names: list[str], model_kwargs: dict) -> dict[str, dict]:
    """One variant per architecture, with its width multiplier and shape options."""
    return {name: {"model": name, "model_kwargs": model_kwargs.get(name, {})} for name in model_names}


def width(r: Record) -> float:
    return r.config.get("model_kwargs", {}).get("width", 1.0)


def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION, GROUP)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, NOTEBOOK, GROUP)
    fam = analysis.compare_family(by_variant, "test_accuracy")

    def extra(s):
        r = by_variant[s.variant][0]
        return [f"{width(r):g}", f"{r.extra.get('params', 0):,}", f"{r.images_per_s or 0:,.0f}"]

    sec.tables.append(family_table("Architectures, same data and budget", fam, "test accuracy", extra,
                                   ["width multiplier", "parameters", "images/s"]))
    sec.comparisons += fam.comparisons
    best = fam.best()
    if best:
        sec.conclusions.append(WORDING.finding("best", s=best))
    sec.conclusions += family_findings(fam, best.variant if best else None)
    sec.headline = sec.conclusions[:2]
    rank_agreement_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "architectures")
    widths = [f"{w:g}" for w in sorted({width(r) for r in runs})]
    sec.setup.append(WORDING.finding("widths", widths=widths))
    sec.threats = threats(runs, [WORDING.finding("widths_threat", widths=widths)])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "balanced"),))
