"""Chapter 00, data: every data set the study loads, where it comes from, and how real it looks."""

from __future__ import annotations

import json
from pathlib import Path

from .. import analysis, config
from ..conclusions import Section, Table, Wording, base, empty, source_words, threats
from ..dataset import Dataset
from ..results import Record
from .base import Chapter

NOTEBOOK = "00_data"
TITLE = "Data"
QUESTION = "Which data does the study use, where does each set come from, and is it real handwriting?"
DATASET_PREFIX = "dataset_"  # one record per data set: dataset_<name>
REALISM = "realism"  # synthetic vs real summary statistics
REALISM_CHECK = "realism_check"  # what benchmarks/realism_check.py measured for this generator
REALISM_CHECK_FILE = config.REPO_ROOT / "benchmarks" / "results" / "realism_check.json"

WORDING = Wording("""
{%- import "findings.md.j2" as f -%}
{%- macro data_setup() -%}every data set the later notebooks load, at the sizes of this profile{%- endmacro -%}
{%- macro real_data(names) -%}Real data: {{ names | join(", ") }}.{%- endmacro -%}
{%- macro synthetic_data(names) -%}Synthetic stand-ins (drawn, not written by people): {{ names | join(", ") }}; results on them are labelled SYNTHETIC throughout.{%- endmacro -%}
{%- macro realism(largest) -%}Synthetic vs real handwriting: mean ink and stroke width of the synthetic images are within {{ "%.1f" | format(100 * largest) }}% of the real ones (figure realism_samples).{%- endmacro -%}
{%- macro realism_check(version, epochs, seed, real_set, digits, letters) -%}
Trained only on synthetic data (generator v{{ version }}; chollet_convnet, {{ epochs }} epochs, seed {{ seed }}; benchmarks/realism_check.py), a convnet scores
{%- if digits %} {{ digits.interval | interval }} on the {{ "{:,}".format(digits.n) }} real MNIST {{ "test" if real_set == "test" else "development (training)" }} digits re-framed the EMNIST way{% endif %}
{%- if digits and letters %} and{% endif %}
{%- if letters %} {{ letters.interval | interval }} on the {{ letters.n }} real EMNIST letters{% endif %}.
{%- endmacro -%}
""")


# --------------------------------------------------------------------------- procedures
def record_datasets(study, datasets: list[Dataset]) -> None:
    """Record each data set (``dataset_<name>``: sizes, classes, counts) and print its provenance."""
    for ds in datasets:
        p = ds.provenance
        origin = p.get("generator", {}).get("generator_version") or p.get("generator_version")
        print(f"{ds.name}: source={p['source']}", f"generator v{origin}" if origin else p.get("sha256"))
        study.record(f"{DATASET_PREFIX}{ds.name}", ds, {k: v for k, v in ds.describe().items() if k != "provenance"})


def record_realism_check(study, letters: Dataset, path: Path = REALISM_CHECK_FILE) -> dict | None:
    """Record what ``benchmarks/realism_check.py`` measured (a convnet trained only on synthetic data,
    scored on real handwriting), when it was run for the generator that made ``letters``; the
    report then reads it from the records like every other result."""
    if not letters.is_synthetic or not path.is_file():
        return None
    res = json.loads(path.read_text())
    version = letters.provenance.get("generator", {}).get("generator_version")
    if res.get("generator_version") != version or "digits" not in res:
        return None
    where = path.relative_to(config.REPO_ROOT) if path.is_relative_to(config.REPO_ROOT) else path
    study.record(REALISM_CHECK, letters, res, extra={"from": str(where)})
    return res


# --------------------------------------------------------------------------- findings
def realism_table(statistics: dict) -> Table:
    """Synthetic vs real summary statistics (the ``realism`` record)."""
    from ..realism import stats_rows

    rows = [[part, label, f"{syn:.3f}", f"{real:.3f}", f"{100 * diff:+.1f}%"]
            for part, _, label, syn, real, diff in stats_rows(statistics)]
    return Table("Synthetic vs real handwriting (same measurements on both; real: MNIST training digits re-framed "
                 "the EMNIST way, the 52 real EMNIST letters)", ["set", "statistic", "synthetic", "real", "difference"],
                 rows)


def _scored(part: dict | None, key: str) -> dict | None:
    s = (part or {}).get(key)
    if not s:
        return None
    low, high = s["wilson_95"]
    return {"n": s["n"], "interval": {"mean": s["accuracy"], "low": low, "high": high}}


def realism_check_finding(rec: Record):
    m = rec.metrics
    return WORDING.finding("realism_check", version=rec.data.generator_version, epochs=m.get("recipe", {}).get("epochs"),
                           seed=m.get("seed"), real_set=m.get("real_set"),
                           digits=_scored(m.get("digits"), "real_mnist_reframed"),
                           letters=_scored(m.get("letters"), "real_emnist_letters_52"))


def findings(records: list[Record]) -> Section:
    runs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.name.startswith(DATASET_PREFIX)]
    if not runs:
        return empty(NOTEBOOK, TITLE, QUESTION)
    sec = base(NOTEBOOK, TITLE, QUESTION, runs)
    sec.setup = [WORDING.finding("data_setup")]
    rows = [[r.metrics.get("name", r.name), source_words(r.data), f"{r.metrics.get('train_size', 0):,}",
             f"{r.metrics.get('test_size', 0):,}", str(r.metrics.get("num_classes", ""))] for r in runs]
    sec.tables.append(Table("Data sets", ["data set", "source", "train", "test", "outputs"], rows))
    real = [row[0] for row, r in zip(rows, runs) if not r.synthetic]
    synth = [row[0] for row, r in zip(rows, runs) if r.synthetic]
    if real:
        sec.conclusions.append(WORDING.finding("real_data", names=real))
    if synth:
        sec.conclusions.append(WORDING.finding("synthetic_data", names=synth))
    realism = analysis.named(records, NOTEBOOK, REALISM)
    if realism:
        sec.tables.append(realism_table(realism.metrics))
        diffs = [abs(v) for part in realism.metrics.values() for k, v in part["relative_difference"].items()
                 if k in ("ink_mean", "stroke_width_mean")]
        sec.conclusions.append(WORDING.finding("realism", largest=max(diffs)))
        check = analysis.named(records, NOTEBOOK, REALISM_CHECK)
        if check:
            sec.conclusions.append(realism_check_finding(check))
    sec.threats = [t for t in threats(runs) if t.kind == "synthetic_threat"]
    return sec


CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings)
