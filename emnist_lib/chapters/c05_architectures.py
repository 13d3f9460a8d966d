"""Chapter 05, architectures: deep CNN, ResNet, MobileNet, squeeze-and-excitation and a small ViT at one budget."""

from __future__ import annotations

from .. import analysis
from ..conclusions import (
    Section,
    Wording,
    budget_check_findings,
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
{%- import "findings.md.j2" as f -%}
{%- macro reference(s) -%}Reference (declared in the parameters before any run): {{ s.variant }}, {{ s.interval | interval }} test accuracy ({{ f.status(s.status) }}).{%- endmacro -%}
{%- macro widths(widths) -%}model widths: multiplier {{ widths | join(", ") }} on the channel counts of the published-scale builders (1 = full width){%- endmacro -%}
{%- macro widths_threat(widths) -%}{% if widths == ["1"] %}Models at full width.{% else %}Model widths: multiplier {{ widths | join(", ") }}; the full-width models may rank differently.{% endif %}{%- endmacro -%}
""")


def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: the declared reference is a model."""
    names = params.get("model_names", [])
    return [] if params.get("reference") in names else [
        f"reference {params.get('reference')!r} is not one of model_names ({', '.join(names)})"]


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
    reference = runs[0].extra.get("reference")  # declared in the params before anything ran
    fam = analysis.compare_family(by_variant, "test_accuracy", reference)

    def extra(s):
        r = by_variant[s.variant][0]
        return [f"{width(r):g}", f"{r.extra.get('params', 0):,}", f"{r.images_per_s or 0:,.0f}"]

    sec.tables.append(family_table("Architectures, same data and budget", fam, "test accuracy", extra,
                                   ["width multiplier", "parameters", "images/s"]))
    sec.comparisons += fam.comparisons
    ref = fam.summary(reference)
    if ref:
        sec.conclusions.append(WORDING.finding("reference", s=ref))
    sec.conclusions += family_findings(fam)
    sec.headline = sec.conclusions[:2]
    rank_agreement_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "architectures")
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", "the architectures")
    widths = [f"{w:g}" for w in sorted({width(r) for r in runs})]
    sec.setup.append(WORDING.finding("widths", widths=widths))
    sec.threats = threats(runs, [WORDING.finding("widths_threat", widths=widths)])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, check=check,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "balanced"),))
