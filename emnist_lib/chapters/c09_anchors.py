"""Chapter 09, anchors: one declared CNN recipe trained on everything the data source holds, beside the field's
published accuracies."""

from __future__ import annotations

from .. import analysis, field, stats
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


# --------------------------------------------------------------------------- procedures
def check(params: dict) -> list[str]:
    """Problems with this chapter's parameters, before anything trains: a data set the chapter does not know."""
    unknown = [s for s in params.get("splits", SPLITS) if s not in SPLITS]
    return [f"splits {', '.join(map(repr, unknown))} unknown; choose from {', '.join(SPLITS)}"] if unknown else []


def recipe(model: str, model_kwargs: dict, cfg) -> Recipe:
    """The anchor: ``model`` with ``model_kwargs``, trained with ``cfg``, as the profile's parameters declare it."""
    return Recipe(ANCHOR, model, model_kwargs, cfg, origin="the profile's parameters")


def trained_size(runs: list[Record], split: str) -> int | None:
    """The training images per class of ``runs`` (after the validation hold-out); None unless they share one."""
    sizes = per_class(runs).get(split, [])
    return sizes[0] if len(sizes) == 1 else None


def describe(r: Recipe | Record) -> str:
    """The recipe in a few words: builder, its settings and the training levers it sets."""
    rec = r.recipe if isinstance(r, Record) else r
    settings = ", ".join(f"{k} {v}" for k, v in sorted(rec.model_settings.items()))
    t = rec.train
    name = f"{rec.model} ({settings})" if settings else rec.model
    if t is None:
        return name
    levers = [f"{t.epochs} epoch{'s' if t.epochs != 1 else ''}", f"batch {t.batch_size}",
              f"{t.optimizer} at {t.learning_rate:g}, {t.schedule}"]
    if t.augment:
        levers.append(f"augmentation (rotation {t.augment_rotation:g}, shift {t.augment_translation:g}, "
                      f"zoom {t.augment_zoom:g})")
    if t.label_smoothing:
        levers.append(f"label smoothing {t.label_smoothing:g}")
    return f"{name}; {', '.join(levers)}"


def explored(runs: list[Record]) -> bool:
    """Whether the anchor's runs include the balanced pool's, whose test images exploratory runs before
    ``benchmarks/anchor_probe.py`` also scored (the section's threats and the report's Methods say so)."""
    return any(r.data.source == "nist-pool" and r.data.split == "balanced" for r in runs)


def anchor_figure(records: list[Record], split: str, heading: str):
    """The anchor's test accuracy on ``split`` at its training images per class, the published accuracies marked at
    theirs (:func:`emnist_lib.plots.scale_curve`); None before its runs exist."""
    from .. import plots

    rs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.group == split]
    n = trained_size(rs, split)  # None before its runs exist
    if n is None:
        return None
    points = {WORDING.say("figure_label", model=rs[0].recipe.model): [(n, analysis.interval(rs, "test_accuracy"))]}
    return plots.scale_curve(points, field.field_for(rs, split), heading, any(r.synthetic for r in rs))


# --------------------------------------------------------------------------- findings
def findings(records: list[Record]) -> Section:
    sec, runs = open_section(records, NOTEBOOK, TITLE, QUESTION)
    if sec.empty:
        return sec
    rows, landmarks = [], False
    for split in [s for s in SPLITS if any(r.group == s for r in runs)]:
        rs = [r for r in runs if r.group == split]
        ci = analysis.interval(rs, "test_accuracy")
        n = trained_size(rs, split)
        published = field.field_for(rs, split)
        landmarks = landmarks or bool(published)
        rows.append([split, describe(rs[0]), f"{n:,}" if n else "mixed", stats.fmt_interval(ci),
                     status_words(analysis.status(rs))])
        rows += [[split, f"{ref['label']} (published)", f"{ref['per_class']:,}", f"{100 * ref['accuracy']:.1f}%", ""]
                 for ref in published]
        sec.conclusions.append(WORDING.finding("anchor", split=split, ci=ci, per_class=n, seeds=len(rs),
                                               n_test=rs[0].data.n_test, field=published))
    sec.tables.append(Table(WORDING.say("caption_anchors"),
                            ["data", "recipe", "training images per class", "test accuracy", "plateau test"], rows))
    same = len({r.recipe.digest for r in runs}) == 1
    sec.setup.append(WORDING.finding("recipe", recipe=describe(runs[0]), same=same))
    sec.headline = sec.conclusions[:2]
    resplit = any(r.data.source == "nist-pool" for r in runs)
    sec.threats = threats(runs, [WORDING.finding("protocol_threat", resplit=resplit, explored=explored(runs))]
                          if landmarks else [])
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, in_abstract=True, check=check,
                  budgets=(TrainingBudget("balanced_train", "epochs", "batch_size", "balanced"),
                           TrainingBudget("letters_train", "epochs", "batch_size", "letters")))
