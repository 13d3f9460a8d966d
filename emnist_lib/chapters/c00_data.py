"""Chapter 00, data: every data set the study loads, where it comes from, and how real it looks."""

from __future__ import annotations

import json
from pathlib import Path

from .. import analysis, config
from ..conclusions import SHARED, Section, Table, Wording, base, empty, pct, rank_agreement_of, source_words, threats
from ..dataset import Dataset
from ..results import Record
from .base import Chapter

NOTEBOOK = "00_data"
WORDING = Wording.of(NOTEBOOK)  # templates/chapters/00_data.md.j2: title, question, captions, findings
TITLE = WORDING.say("title")
QUESTION = WORDING.say("question")
DATASET_PREFIX = "dataset_"  # one record per data set: dataset_<name>
REALISM = "realism"  # synthetic vs real summary statistics
REALISM_CHECK = "realism_check"  # what benchmarks/realism_check.py measured for this generator
REALISM_CHECK_FILE = config.REPO_ROOT / "benchmarks" / "results" / "realism_check.json"
RANK_AGREEMENT = "rank_agreement"  # what benchmarks/rank_agreement.py measured for this generator
RANK_AGREEMENT_FILE = config.REPO_ROOT / "benchmarks" / "results" / "rank_agreement.json"

# --------------------------------------------------------------------------- procedures
def record_datasets(study, datasets: list[Dataset]) -> None:
    """Record each data set (``dataset_<name>``: sizes, classes, counts) and print its provenance."""
    for ds in datasets:
        p = ds.provenance
        origin = p.get("generator", {}).get("generator_version") or p.get("generator_version")
        print(f"{ds.name}: source={p['source']}", f"generator v{origin}" if origin else p.get("sha256"))
        study.record(f"{DATASET_PREFIX}{ds.name}", ds, {k: v for k, v in ds.describe().items() if k != "provenance"})


def compare_with_real(study, datasets: list[Dataset], seed: int) -> dict | None:
    """Synthetic vs real EMNIST per class for the EMNIST data sets among ``datasets`` (the other version
    of each made at the same sizes): prints the table, saves the figure, records :data:`REALISM`.
    None (and a line saying so) when there is no real EMNIST on this machine."""
    from .. import realism

    twins = realism.emnist_twins([d for d in datasets if d.split in ("balanced", "letters")], seed)
    if twins is None:
        print("no real EMNIST on this machine (official files in the data dir or the shared folder): "
              "nothing real to compare the synthetic data with")
        return None
    comparison = realism.compare_with_real(twins)
    print(realism.stats_table(comparison["stats"]))
    if comparison["figure"] is not None:
        study.save_figure(comparison["figure"], "realism_samples")
    real = next(iter(twins.values()))[1]
    study.record(REALISM, real, comparison["stats"],
                 extra={"compared": {split: [syn.source, r.source] for split, (syn, r) in twins.items()},
                        "generator_version": next(iter(twins.values()))[0].provenance["generator"]["generator_version"]})
    return comparison


def _benchmark(path: Path, key: str) -> dict | None:
    """A benchmark's JSON when it was run for the generator this checkout has (else None)."""
    from ..synthetic import GENERATOR_VERSION

    if not path.is_file():
        return None
    res = json.loads(path.read_text())
    return res if res.get("generator_version") == GENERATOR_VERSION and key in res else None


def _record_benchmark(study, name: str, ds: Dataset, res: dict, path: Path) -> None:
    where = path.relative_to(config.REPO_ROOT) if path.is_relative_to(config.REPO_ROOT) else path
    study.record(name, ds, res, extra={"from": str(where)})


def record_realism_check(study, ds: Dataset, path: Path = REALISM_CHECK_FILE) -> dict | None:
    """Record what ``benchmarks/realism_check.py`` measured (a convnet trained only on synthetic data and one
    trained on as many real images, scored on the same real images), when it was run for the generator this
    checkout has; the report then reads it from the records like every other result."""
    res = _benchmark(path, "splits")
    if res:
        _record_benchmark(study, REALISM_CHECK, ds, res, path)
    return res


def record_rank_agreement(study, ds: Dataset, path: Path = RANK_AGREEMENT_FILE) -> dict | None:
    """Record what ``benchmarks/rank_agreement.py`` measured (chapters 04 and 05 on real and on synthetic
    EMNIST: Kendall's tau of the rankings, the findings that flip), for the generator this checkout has."""
    res = _benchmark(path, "comparisons")
    if res:
        _record_benchmark(study, RANK_AGREEMENT, ds, res, path)
    return res


# --------------------------------------------------------------------------- findings
def realism_table(statistics: dict) -> Table:
    """Synthetic vs real summary statistics (the ``realism`` record)."""
    from ..realism import fmt_difference, stats_rows

    rows = [[part, label, f"{syn:.3f}", f"{real:.3f}", fmt_difference(diff, unit)]
            for part, _, label, syn, real, diff, unit in stats_rows(statistics)]
    return Table(WORDING.say("caption_realism"),
                 ["set", "statistic", "synthetic", "real", "difference"], rows)


def realism_finding(statistics: dict):
    """The range of each statistic's difference over the compared splits (every statistic, not a chosen few)."""
    from ..realism import fmt_difference, stats_rows

    rows = stats_rows(statistics)
    out = []
    for label in dict.fromkeys(r[2] for r in rows):
        diffs = sorted((r[5], r[6]) for r in rows if r[2] == label)
        out.append({"label": label, "low": fmt_difference(*diffs[0]), "high": fmt_difference(*diffs[-1]),
                    "sets": list(statistics)})
    return WORDING.finding("realism", rows=out)


def _interval(s: dict) -> dict:
    low, high = s["wilson_95"]
    return {"mean": s["accuracy"], "low": low, "high": high}


def gap_table(rec: Record, n: int = 6) -> Table:
    """Per split, the classes where the synthetic-trained model falls furthest behind the real-trained one."""
    rows = []
    for split, s in rec.metrics["splits"].items():
        syn, real = s["per_class_accuracy"]["synthetic_trained"], s["per_class_accuracy"]["real_trained"]
        for c in sorted(real, key=lambda c: syn[c] - real[c])[:n]:
            stats = s.get("statistics", {}).get("per_class", {}).get(c, {})
            rows.append([split, c, pct(syn[c]), pct(real[c]), f"{100 * (syn[c] - real[c]):+.1f}",
                         f"{stats['slant_mean']:+.1f}" if "slant_mean" in stats else "",
                         f"{100 * stats['aspect_mean']:+.0f}%" if "aspect_mean" in stats else ""])
    return Table(WORDING.say("caption_gaps"),
                 ["split", "class", "synthetic-trained", "real-trained", "gap (points)", "slant (deg)", "aspect"], rows)


def sim_to_real_findings(rec: Record) -> list:
    m = rec.metrics
    out = []
    for split, s in m["splits"].items():
        mnist = s.get("real_mnist_reframed")
        out.append(WORDING.finding("sim_to_real", split=split, version=m["generator_version"],
                                   epochs=m["recipe"]["epochs"],
                                   s={"n_train": s["n_train"], "n_scored": s["n_scored"], "ratio": s["ratio"],
                                      "ratio_95": s["ratio_95"], "synthetic": _interval(s["synthetic_trained"]),
                                      "real": _interval(s["real_trained"]),
                                      "mnist": {"n": mnist["n"], "interval": _interval(mnist)} if mnist else None}))
    return out


def rank_agreements(records: list[Record]) -> list:
    """Does the offline study predict the real one? Chapters 04 and 05 run on real and on synthetic data:
    from the rank-agreement benchmark's record, and from the twins of the report's own sections when it has them."""
    from . import c04_regularisation_tuning as c04
    from . import c05_architectures as c05
    from . import section_number

    out = []
    bench = analysis.named(records, NOTEBOOK, RANK_AGREEMENT)
    for what, ra in (bench.metrics["comparisons"].items() if bench else []):
        where = WORDING.say("benchmark_comparison", what=what, profile=bench.metrics.get("profile"),
                            n_train=ra["n_train"], seeds=ra["seeds"])
        out.append(SHARED.finding("rank_agreement", ra=ra, what=where))
    for chapter, group, metric, ref in ((c05, c05.GROUP, "test_accuracy", None),
                                        (c04, c04.ABLATION, "val_accuracy", c04.BASELINE)):
        ra = rank_agreement_of(records, chapter.NOTEBOOK, group, metric, ref)
        if ra:
            what = WORDING.say("twin_comparison", what=chapter.WORDING.say("twin_what"),
                               section=section_number(chapter.NOTEBOOK))
            out.append(SHARED.finding("rank_agreement", ra=ra, what=what))
    return out


def rank_table(rec: Record) -> Table:
    """Both rankings of every comparison the rank-agreement benchmark ran."""
    rows = []
    for what, ra in rec.metrics["comparisons"].items():
        real = sorted(ra["variants"], key=lambda v: -ra["real"][v])
        synthetic = sorted(ra["variants"], key=lambda v: -ra["synthetic"][v])
        rows += [[what, v, pct(ra["real"][v]), pct(ra["synthetic"][v]), str(real.index(v) + 1),
                  str(synthetic.index(v) + 1)] for v in real]
    return Table(WORDING.say("caption_ranks"),
                 ["comparison", "variant", "real", "synthetic", "rank real", "rank synthetic"], rows)


def findings(records: list[Record]) -> Section:
    runs = [r for r in analysis.of_notebook(records, NOTEBOOK) if r.name.startswith(DATASET_PREFIX)]
    if not runs:
        return empty(NOTEBOOK, TITLE, QUESTION)
    sec = base(NOTEBOOK, TITLE, QUESTION, runs)
    sec.setup = [WORDING.finding("data_setup")]
    rows = [[r.metrics.get("name", r.name), source_words(r.data), f"{r.metrics.get('train_size', 0):,}",
             f"{r.metrics.get('test_size', 0):,}", str(r.metrics.get("num_classes", ""))] for r in runs]
    sec.tables.append(Table(WORDING.say("caption_datasets", notebook=NOTEBOOK[:2]),
                            ["data set", "source", "train", "test", "outputs"], rows))
    real = [row[0] for row, r in zip(rows, runs) if not r.synthetic and r.data.source != "nist-pool"]
    pooled = [row[0] for row, r in zip(rows, runs) if r.data.source == "nist-pool"]
    synth = [row[0] for row, r in zip(rows, runs) if r.synthetic]
    if real:
        sec.conclusions.append(WORDING.finding("real_data", names=real))
    if pooled:
        sec.conclusions.append(WORDING.finding("pool_data", names=pooled))
    if synth:
        sec.conclusions.append(WORDING.finding("synthetic_data", names=synth))
    realism = analysis.named(records, NOTEBOOK, REALISM)
    if realism:
        sec.tables.append(realism_table(realism.metrics))
        sec.conclusions.append(realism_finding(realism.metrics))
    check = analysis.named(records, NOTEBOOK, REALISM_CHECK)
    if check:
        sec.conclusions += sim_to_real_findings(check)
        sec.tables.append(gap_table(check))
    sec.conclusions += rank_agreements(records)
    bench = analysis.named(records, NOTEBOOK, RANK_AGREEMENT)
    if bench:
        sec.tables.append(rank_table(bench))
    sec.threats = [t for t in threats(runs) if t.kind == "synthetic_threat"]
    return sec


# Its conclusion compares the offline and real twins of chapters 04 and 05 when they exist (rank_agreements).
CHAPTER = Chapter(NOTEBOOK, TITLE, QUESTION, findings, reads=("04_regularisation_tuning", "05_architectures"))
