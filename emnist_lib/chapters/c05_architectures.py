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
from ..recipe import Recipe
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "05_architectures"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/05_architectures.md.j2: title, question, caption, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
GROUP = "architecture"

def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: the declared reference is a model."""
    names = params.get("model_names", [])
    return [] if params.get("reference") in names else [
        f"reference {params.get('reference')!r} is not one of model_names ({', '.join(names)})"]


def recipes(model_names: list[str], model_kwargs: dict, cfg) -> list[Recipe]:
    """One recipe per architecture, with its width multiplier and shape options, all trained with ``cfg``."""
    return [Recipe(name, name, model_kwargs.get(name, {}), cfg) for name in model_names]


def width(r: Record) -> float:
    return r.recipe.model_settings.get("width", 1.0)


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

    sec.tables.append(family_table(WORDING.say("caption_architectures"), fam, "test accuracy", extra,
                                   ["width multiplier", "parameters", "images/s"]))
    sec.comparisons += fam.comparisons
    ref = fam.summary(reference)
    if ref:
        sec.conclusions.append(WORDING.finding("reference", s=ref))
    sec.conclusions += family_findings(fam)
    sec.headline = sec.conclusions[:2]
    rank_agreement_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", WORDING.say("twin_what"))
    budget_check_findings(sec, records, NOTEBOOK, GROUP, "test_accuracy", WORDING.say("check_what"))
    widths = [f"{w:g}" for w in sorted({width(r) for r in runs})]
    sec.setup.append(WORDING.finding("widths", widths=widths))
    sec.threats = threats(runs, [WORDING.finding("widths_threat", widths=widths)])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, check=check,
                  budgets=(TrainingBudget("n_train", "epochs", "batch_size", "balanced"),))
