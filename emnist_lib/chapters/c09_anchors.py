"""Chapter 09, anchors: the project's strongest CNN recipe trained on everything the pool holds, against the field."""

from __future__ import annotations

from .. import analysis, stats
from ..conclusions import Section, Table, Wording, open_section, per_class, status_words, threats
from ..recipe import Recipe
from ..results import Record
from .base import Chapter, TrainingBudget

NOTEBOOK = "09_anchors"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/09_anchors.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
ANCHOR = "anchor"  # the recipe's name in every record
SPLITS = ("balanced", "letters")  # the groups: one per data set, each on its own test images
# Published test accuracies on the official EMNIST test sets (literature, not results of this project), by the
# official training images per class they used (balanced 2,400, letters 4,800) or a subset of them.
FIELD = {
    "balanced": ({"label": "Cohen et al. 2017, OPIUM linear classifier, full set", "per_class": 2400, "accuracy": 0.7802},
                 {"label": "TextCaps (Jayasundara et al. 2019), 200 per class", "per_class": 200, "accuracy": 0.8782},
                 {"label": "TextCaps (Jayasundara et al. 2019), full set", "per_class": 2400, "accuracy": 0.9046}),
    "letters": ({"label": "Cohen et al. 2017, OPIUM linear classifier, full set", "per_class": 4800, "accuracy": 0.8515},
                {"label": "TextCaps (Jayasundara et al. 2019), 200 per class", "per_class": 200, "accuracy": 0.9279},
                {"label": "TextCaps (Jayasundara et al. 2019), full set", "per_class": 4800, "accuracy": 0.9536}),
}


# --------------------------------------------------------------------------- procedures
def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: a data set the chapter does not know."""
    unknown = [s for s in params.get("splits", SPLITS) if s not in SPLITS]
    return [f"splits {', '.join(map(repr, unknown))} unknown; choose from {', '.join(SPLITS)}"] if unknown else []


def recipe(model: str, model_kwargs: dict, cfg) -> Recipe:
    """The anchor: ``model`` with ``model_kwargs``, trained with ``cfg``, as the profile's parameters declare it."""
    return Recipe(ANCHOR, model, model_kwargs, cfg, origin="the profile's parameters (benchmarks/anchor_probe.py)")


def field_for(runs: list[Record], split: str) -> tuple[dict, ...]:
    """The published accuracies that apply to ``runs``: on real EMNIST of that split only."""
    return FIELD.get(split, ()) if runs and all(r.data.split == split and not r.synthetic for r in runs) else ()


def describe(r: Recipe | Record) -> str:
    """The recipe in a few words: builder, its settings and the training levers it sets."""
    rec = r.recipe if isinstance(r, Record) else r
    settings = ", ".join(f"{k} {v}" for k, v in sorted(rec.model_settings.items()))
    t = rec.train
    name = f"{rec.model} ({settings})" if settings else rec.model
    if t is None:
        return name
    levers = [f"{t.epochs} epoch{'s' if t.epochs != 1 else ''}", f"batch {t.batch_size}", f"{t.optimizer} at {t.learning_rate:g}, {t.schedule}"]
    if t.augment:
        levers.append(f"augmentation (rotation {t.augment_rotation:g}, shift {t.augment_translation:g}, "
                      f"zoom {t.augment_zoom:g})")
    if t.label_smoothing:
        levers.append(f"label smoothing {t.label_smoothing:g}")
    return f"{name}; {', '.join(levers)}"


def anchor_figure(records: list[Record], split: str, heading: str):
    """The anchor's test accuracy on ``split`` at its training images per class, the published accuracies marked at
    theirs (:func:`emnist_lib.plots.scale_curve`); None before its runs exist."""
    from .. import plots

    rs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == split]
    if not rs:
        return None
    n = per_class(rs).get(split, [0])[-1]
    points = {WORDING.say("figure_label", model=rs[0].recipe.model): [(n, analysis.interval(rs, "test_accuracy"))]}
    return plots.scale_curve(points, field_for(rs, split), heading, any(r.synthetic for r in rs))


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    rows = []
    for split in [s for s in SPLITS if any(r.group == s for r in runs)]:
        rs = [r for r in runs if r.group == split]
        ci = analysis.interval(rs, "test_accuracy")
        n = per_class(rs).get(split, [0])[-1]
        field = field_for(rs, split)
        rows.append([split, describe(rs[0]), f"{n:,}", stats.fmt_interval(ci), status_words(analysis.status(rs))])
        rows += [[split, f"{ref['label']} (published)", f"{ref['per_class']:,}", f"{100 * ref['accuracy']:.1f}%", ""]
                 for ref in field]
        sec.conclusions.append(WORDING.finding("anchor", split=split, ci=ci, per_class=n, seeds=len(rs),
                                               n_test=rs[0].data.n_test, field=field))
    sec.tables.append(Table(WORDING.say("caption_anchors"),
                            ["data", "recipe", "training images per class", "test accuracy", "plateau test"], rows))
    sec.setup.append(WORDING.finding("recipe", recipe=describe(runs[0])))
    sec.headline = sec.conclusions[:2]
    sec.threats = threats(runs, [WORDING.finding("protocol_threat")])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, check=check,
                  budgets=(TrainingBudget("balanced_train", "epochs", "batch_size", "balanced"),
                           TrainingBudget("letters_train", "epochs", "batch_size", "letters")))
