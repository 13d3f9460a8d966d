"""Each notebook's question, setup, results and conclusion, built from its result records.

One :class:`Section` per notebook. The report renders every section; each
notebook's last cell prints its own (``print(conclusions.section(nb, records).text())``),
so a reader of the notebook alone gets the same answer as a reader of the report.
Every number comes from a record; every comparison sentence from
:mod:`emnist_lib.analysis` / :mod:`emnist_lib.stats` (a win only when its test says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import analysis, config, stats
from .results import field as record_field

# The question each notebook answers; its first markdown cell states the same words (a test checks).
QUESTIONS = {
    "00_data": "Which data does the study use, where does each set come from, and is it real handwriting?",
    "01_chollet_baselines": "Do Chollet's dense net and convnet reproduce on MNIST, and is the convnet better "
                            "than the dense net there and on EMNIST letters?",
    "02_dnn_learning_rules": "Which learning rules (activation, learning rate, optimizer, schedule, initialisation, "
                             "batch norm, dropout, L1/L2) change what a multilayer perceptron learns on EMNIST balanced?",
    "03_cnn_depth": "Does a second convolutional layer help a small CNN, and does a small CNN beat the best MLP?",
    "04_regularisation_tuning": "Which regularisers and training choices change a small CNN's validation accuracy, "
                                "and which configuration does cross-validation select?",
    "05_architectures": "Given the same data and budget, do deeper or more modern architectures (deep CNN, ResNet, "
                        "MobileNet, squeeze-and-excitation, a small ViT) beat each other?",
    "06_blur_robustness": "How much accuracy does box blur cost a CNN trained on clean images, and does training on "
                          "blurred images recover it?",
    "07_transfer_learning": "Does a network pre-trained on EMNIST letters transfer to Binary AlphaDigits better than "
                            "the same network trained from scratch on AlphaDigits alone?",
    "08_final_evaluation": "On the held-out test set, is the selected CNN better than the selected MLP, and where do "
                           "they fail?",
}
TITLES = {
    "00_data": "Data", "01_chollet_baselines": "Chollet's baselines on MNIST and EMNIST letters",
    "02_dnn_learning_rules": "DNN learning rules", "03_cnn_depth": "CNN depth",
    "04_regularisation_tuning": "Regularisation, ablations and cross-validated tuning",
    "05_architectures": "Architectures", "06_blur_robustness": "Robustness to blur",
    "07_transfer_learning": "Transfer learning to Binary AlphaDigits", "08_final_evaluation": "Final test evaluation",
}
# Published reference numbers (literature, not results of this project).
BOOK = {"chollet_dense": (0.978, "Chollet, Deep Learning with Python (2017), ch. 2"),
        "chollet_convnet": (0.992, "Chollet, Deep Learning with Python (2017, 1st ed.), ch. 5")}
REPRODUCTION_TOLERANCE = 0.005


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.headers)} |", "|" + "---|" * len(self.headers)]
        lines += [f"| {' | '.join(str(c) for c in row)} |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    notebook: str
    title: str
    question: str
    setup: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    conclusions: list[str] = field(default_factory=list)
    threats: list[str] = field(default_factory=list)
    comparisons: list[stats.Comparison] = field(default_factory=list)
    synthetic: bool = False
    partly_real: bool = False
    empty: bool = False
    headline: str = ""

    @property
    def data_tag(self) -> str:
        if not self.synthetic:
            return ""
        return " [partly SYNTHETIC data]" if self.partly_real else " [SYNTHETIC data]"

    def summary(self) -> str:
        """The one sentence the abstract quotes (the first conclusion unless the section chose one)."""
        text = self.headline or (self.conclusions[0] if self.conclusions else "")
        return text[:1].upper() + text[1:]

    def sentences(self) -> list[str]:
        """The conclusions, each starting with a capital letter."""
        return [c[:1].upper() + c[1:] for c in self.conclusions]

    def text(self) -> str:
        """Plain text for a notebook's closing cell: question, setup, conclusions."""
        out = [f"Question: {self.question}", "", "Setup:"] + [f"  - {s}" for s in self.setup]
        out += ["", "Conclusion:"] + [f"  - {c}" for c in self.sentences()]
        if self.threats:
            out += ["", "Threats to validity:"] + [f"  - {t}" for t in self.threats]
        return "\n".join(out)


# --------------------------------------------------------------------------- shared pieces
def _of(records: list[dict], notebook: str) -> list[dict]:
    return [r for r in records if r.get("notebook") == notebook]


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _source_words(prov: dict) -> str:
    src = prov.get("source", "unknown")
    if src == "synthetic":
        gen = prov.get("generator") or prov
        return f"SYNTHETIC (generator v{gen.get('generator_version', '?')})"
    return {"nist": "real EMNIST (official files)", "mnist": "real MNIST (original files, official sha256)",
            "keras-mnist": "real MNIST (Keras copy, sha256-checked)", "roweis": "real Binary AlphaDigits (Roweis)",
            "tfds": "real EMNIST (tensorflow-datasets)"}.get(src, f"real ({src})")


def data_lines(runs: list[dict]) -> list[str]:
    """One line per data set used by ``runs``: name, source, sizes."""
    seen: dict[str, str] = {}
    for r in runs:
        prov = r["data"]
        name = prov.get("split") or prov.get("name") or "data"
        if prov.get("letters_only") is not None:
            name = "alphadigits" + ("-letters" if prov.get("letters_only") else "")
        sub = prov.get("subset") or {}
        n_train = sub.get("n_train") or prov.get("train_size") or prov.get("size")
        n_test = sub.get("n_test") or prov.get("test_size")
        sizes = f"{n_train:,} train / {n_test:,} test images" if n_train and n_test else (
            f"{n_train:,} images" if n_train else "")
        seen.setdefault(name, f"data: {name}, {_source_words(prov)}" + (f", {sizes}" if sizes else ""))
    return list(seen.values())


def budget_lines(runs: list[dict]) -> list[str]:
    """The training budgets of ``runs`` (epochs, optimizer steps, images seen, batch, schedule)."""
    budgets = {}
    for r in runs:
        b = r.get("budget")
        if b:
            key = (b["epochs"], b["steps"], b["images"], b["batch_size"], b["schedule"])
            budgets.setdefault(key, []).append(r.get("variant") or r["name"])
    lines = []
    for (epochs, steps, images, batch, schedule), _who in budgets.items():
        lines.append(f"budget: {epochs} epoch{'s' if epochs != 1 else ''} = {steps:,} optimizer steps = {images:,} images seen "
                     f"(batch {batch}, {schedule} schedule{' to zero at the end' if schedule == 'cosine' else ''})")
    if len(lines) > 3:
        steps = [k[1] for k in budgets]
        lines = [f"budget: {min(steps):,} to {max(steps):,} optimizer steps ({len(budgets)} budgets; per run in the records)"]
    return lines


def seed_line(runs: list[dict]) -> list[str]:
    seeds = sorted({int(r["seed"]) for r in runs if r.get("group")})
    if not seeds:
        return []
    return [f"seeds: {', '.join(map(str, seeds))} (each seed sets weights, data order and validation split; "
            f"means carry a 95% t-interval over seeds)" if len(seeds) > 1 else
            f"seed: {seeds[0]} (one run per model: intervals are Wilson intervals over test images)"]


def convergence_line(runs: list[dict]) -> list[str]:
    trained = [r for r in runs if r.get("convergence") and r["convergence"]["status"] != "not_trained"]
    if not trained:
        return []
    ok = sum(r["convergence"]["status"] == "converged" for r in trained)
    return [f"convergence: {ok} of {len(trained)} runs converged by the recorded criterion "
            f"({trained[0]['convergence']['criterion']})"]


def _threats(runs: list[dict], extra: list[str] | None = None) -> list[str]:
    out = []
    if any(r.get("synthetic") for r in runs):
        out.append("Synthetic data: EMNIST here is the project's synthetic handwriting (pen trajectories of hand-printed "
                   "letterforms, distorted and converted like EMNIST), not real EMNIST; its numbers are not comparable "
                   "to published EMNIST results and may rank methods differently.")
    seeds = {int(r["seed"]) for r in runs if r.get("group")}
    if 0 < len(seeds) < 5:
        out.append(f"Few seeds ({len(seeds)}): intervals are wide and paired tests have little power; "
                   "'no detectable difference' is not evidence of equality.")
    budgets = [r["budget"]["images"] for r in runs if r.get("budget")]
    if budgets:
        out.append("Reduced budget: every run is trained to the end of a fixed budget on a subset; rankings can "
                   "change with more data or steps (the full profile uses full splits).")
    return out + (extra or [])


def _interval_cell(summary: analysis.VariantSummary) -> str:
    return stats.fmt_interval(summary.interval)


def _family_table(caption: str, fam: analysis.Family, label: str, extra_cols: Callable | None = None,
                  extra_headers: list[str] | None = None) -> Table:
    rows = []
    by_variant = {c.a: c for c in fam.comparisons}
    for s in fam.summaries:
        c = by_variant.get(s.variant)
        vs = ("reference" if s.variant == fam.reference else
              (f"{stats.fmt_points(c.diff)}, {stats.fmt_p(c.p_decisive)}" + (" *" if c.significant else "")
               if c else "not tested"))
        row = [s.variant, _interval_cell(s), vs, analysis.STATUS_WORDS[s.status]]
        if extra_cols:
            row += extra_cols(s)
        rows.append(row)
    headers = ["variant", f"{label}, mean [95% CI]", f"vs {fam.reference or 'reference'} (Holm)", "convergence"]
    return Table(caption, headers + (extra_headers or []), rows)


def _empty(notebook: str) -> Section:
    return Section(notebook, TITLES[notebook], QUESTIONS[notebook], empty=True,
                   conclusions=["No records: this notebook has not been run for this profile."])


def _open(records: list[dict], notebook: str, group: str | None = None) -> tuple[Section, list[dict]]:
    """A section and its runs (the records of ``group``, or of every group); empty without runs."""
    runs = [r for r in _of(records, notebook) if (r.get("group") == group if group else r.get("group"))]
    return (_base(notebook, runs) if runs else _empty(notebook)), runs


def _base(notebook: str, runs: list[dict]) -> Section:
    sec = Section(notebook, TITLES[notebook], QUESTIONS[notebook], synthetic=any(r.get("synthetic") for r in runs),
                  partly_real=any(not r.get("synthetic") for r in runs))
    trained = [r for r in runs if r.get("group")]
    sec.setup = data_lines(trained or runs) + budget_lines(trained) + seed_line(trained) + convergence_line(trained)
    return sec


# --------------------------------------------------------------------------- 00
def section_00(records: list[dict]) -> Section:
    runs = [r for r in _of(records, "00_data") if r["name"].startswith("dataset_")]
    if not runs:
        return _empty("00_data")
    sec = _base("00_data", runs)
    sec.setup = ["every data set the later notebooks load, at the sizes of this profile"]
    rows = []
    for r in runs:
        m = r["metrics"]
        rows.append([m.get("name", r["name"]), _source_words(r["data"]), f"{m.get('train_size', 0):,}",
                     f"{m.get('test_size', 0):,}", str(m.get("num_classes", ""))])
    sec.tables.append(Table("Data sets", ["data set", "source", "train", "test", "outputs"], rows))
    real = [row[0] for row, r in zip(rows, runs) if not r.get("synthetic")]
    synth = [row[0] for row, r in zip(rows, runs) if r.get("synthetic")]
    if real:
        sec.conclusions.append(f"Real data: {', '.join(real)}.")
    if synth:
        sec.conclusions.append(f"Synthetic stand-ins (drawn, not written by people): {', '.join(synth)}; results on "
                               "them are labelled SYNTHETIC throughout.")
    realism = next((r for r in _of(records, "00_data") if r["name"] == "realism"), None)
    if realism:
        sec.tables.append(realism_table(realism["metrics"]))
        diffs = [abs(v) for part in realism["metrics"].values() for k, v in part["relative_difference"].items()
                 if k in ("ink_mean", "stroke_width_mean")]
        sec.conclusions.append(f"Synthetic vs real handwriting: mean ink and stroke width of the synthetic images are "
                               f"within {100 * max(diffs):.1f}% of the real ones (figure realism_samples).")
        version = (realism["data"].get("generator") or {}).get("generator_version")
        sec.conclusions += realism_check_lines(version)
    sec.threats = _threats(runs)[:1]
    return sec


REALISM_CHECK = config.REPO_ROOT / "benchmarks" / "results" / "realism_check.json"


def realism_check_lines(version: str | None, path=REALISM_CHECK) -> list[str]:
    """What ``benchmarks/realism_check.py`` measured for this generator version (nothing if not run for it)."""
    import json

    if not path.is_file():
        return []
    res = json.loads(path.read_text())
    if res.get("generator_version") != version or "digits" not in res:
        return []
    cells = []
    for part, key, what in (("digits", "real_mnist_reframed", "the {n:,} real MNIST {set} digits re-framed the EMNIST way"),
                            ("letters", "real_emnist_letters_52", "the {n} real EMNIST letters")):
        s = res.get(part, {}).get(key)
        if s:
            where = what.format(n=s["n"], set="test" if res.get("real_set") == "test" else "development (training)")
            low, high = s["wilson_95"]
            cells.append(f"{stats.fmt_interval({'mean': s['accuracy'], 'low': low, 'high': high})} on {where}")
    recipe = res.get("recipe", {})
    return [f"Trained only on synthetic data (generator v{version}; chollet_convnet, {recipe.get('epochs')} epochs, "
            f"seed {res.get('seed')}; benchmarks/realism_check.py), a convnet scores " + " and ".join(cells) + "."]


def realism_table(stats: dict) -> Table:
    """Synthetic vs real summary statistics (the ``realism`` record of 00)."""
    from .realism import stats_rows

    rows = [[part, label, f"{syn:.3f}", f"{real:.3f}", f"{100 * diff:+.1f}%"]
            for part, _, label, syn, real, diff in stats_rows(stats)]
    return Table("Synthetic vs real handwriting (same measurements on both; real: MNIST training digits re-framed "
                 "the EMNIST way, the 52 real EMNIST letters)", ["set", "statistic", "synthetic", "real", "difference"],
                 rows)


# --------------------------------------------------------------------------- 01
def section_01(records: list[dict]) -> Section:
    nb = "01_chollet_baselines"
    sec, runs = _open(records, nb)
    if sec.empty:
        return sec
    rows = []
    order = sorted(dict.fromkeys(r["group"] for r in runs), key=lambda g: (g != "mnist", g))
    groups = {g: analysis.group_runs(runs, nb, g) for g in order}
    for g, by_model in groups.items():
        for model, rs in by_model.items():
            acc = (analysis.accuracy_with_interval(rs[0]) if len(rs) == 1 else
                   stats.fmt_interval(stats.mean_ci(analysis.values(rs, "test_accuracy"))))
            book = BOOK.get(model)
            ref = f"{_pct(book[0])}" if book and g == "mnist" else ""
            rows.append([{"mnist": "MNIST", "letters": "EMNIST letters"}.get(g, g), model, acc, ref,
                         analysis.STATUS_WORDS[analysis.status(rs)]])
        a, b = "chollet_convnet", "chollet_dense"
        if a in by_model and b in by_model:
            label = {"mnist": "MNIST", "letters": "EMNIST letters"}.get(g, g)
            c = analysis.two_models(by_model[a], by_model[b], f"Chollet's convnet on {label}",
                                    f"his dense net on {label}")
            sec.comparisons.append(c)
            sec.conclusions.append(stats.verdict(c) + "." + analysis.unconverged_note((a, by_model[a]),
                                                                                     (b, by_model[b])))
    sec.tables.append(Table("Test accuracy (95% interval)", ["data", "model", "test accuracy", "book", "convergence"],
                            rows))
    mnist = groups.get("mnist", {})
    for model, (ref, source) in BOOK.items():
        rs = mnist.get(model)
        if not rs:
            continue
        prov = rs[0]["data"]
        full = prov.get("source") in ("mnist", "keras-mnist") and not prov.get("subset") \
            and rs[0]["budget"]["epochs"] >= 5
        mean = stats.mean_ci(analysis.values(rs, "test_accuracy"))["mean"]
        if full:
            within = abs(mean - ref) <= REPRODUCTION_TOLERANCE
            sec.conclusions.append(f"On the full real MNIST, {model} scored {_pct(mean, 2)} against the book's {_pct(ref)} "
                                   f"({source}): {'reproduced' if within else 'NOT reproduced'} within "
                                   f"{100 * REPRODUCTION_TOLERANCE:.1f} points.")
        else:
            why = "synthetic digits" if prov.get("source") == "synthetic" else "a reduced budget or subset"
            sec.conclusions.append(f"On MNIST, {model} scored {_pct(mean, 2)}; not comparable with the book's {_pct(ref)} "
                                   f"({why}; benchmarks/reproduce_chollet.py runs the book's full setting).")
    letters, digits = groups.get("letters", {}), mnist
    if "chollet_convnet" in letters and "chollet_convnet" in digits:
        a, b = letters["chollet_convnet"][0], digits["chollet_convnet"][0]
        c = stats.two_proportions(a["metrics"]["test_accuracy"], a["metrics"]["test_n"],
                                  b["metrics"]["test_accuracy"], b["metrics"]["test_n"],
                                  "the convnet on EMNIST letters", "the convnet on MNIST")
        sec.comparisons.append(c)
        sec.conclusions.append(stats.verdict(c) + " (independent test sets: two-proportion z-test, seed "
                               f"{a['seed']}).")
    sec.threats = _threats(runs, ["MNIST and EMNIST letters differ in classes (10 vs 26), framing and source; "
                                  "the letters comparison is between tasks, not models."])
    return sec


# --------------------------------------------------------------------------- 02
MLP_GROUPS = (("activation", "relu", "Activation functions"), ("learning_rate", None, "Learning rates (SGD with momentum)"),
              ("optimizer", "adam", "Optimizers"), ("schedule", "cosine", "Learning-rate schedules"),
              ("initialisation", "glorot_uniform", "Weight initialisation"),
              ("regularisation", "baseline", "Batch norm, dropout, L1/L2"))


def section_02(records: list[dict]) -> Section:
    nb = "02_dnn_learning_rules"
    sec, runs = _open(records, nb)
    if sec.empty:
        return sec
    for group, reference, label in MLP_GROUPS:
        by_variant = analysis.group_runs(runs, nb, group)
        if not by_variant:
            continue
        fam = analysis.compare_family(by_variant, "val_accuracy", reference if reference in by_variant else None)
        sec.tables.append(_family_table(label, fam, "validation accuracy"))
        sec.comparisons += fam.comparisons
        best = fam.best()
        ref = next((s for s in fam.summaries if s.variant == fam.reference), None)
        head = f"{label} (reference {ref.variant}: {_interval_cell(ref)})" if ref and reference else label
        lead = f"{head}: best {best.variant} ({_interval_cell(best)})." if best else f"{head}: no run converged."
        sec.conclusions.append(" ".join([lead] + fam.sentences()))
    best = next((r for r in _of(records, nb) if r["name"] == "best_mlp"), None)
    if best:
        sec.conclusions.append(f"Selected for notebooks 03 and 08: {record_field(best, 'extra.from')} "
                               f"(highest mean validation accuracy among converged settings, "
                               f"{_pct(record_field(best, 'metrics.val_accuracy'))}).")
    sec.threats = _threats(runs, ["Validation accuracy on a stratified split of the training data picks settings; "
                                  "the test set is kept for notebook 08."])
    return sec


# --------------------------------------------------------------------------- 03
def section_03(records: list[dict]) -> Section:
    nb = "03_cnn_depth"
    sec, runs = _open(records, nb)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "depth")
    summaries = analysis.summarise(by_variant, "test_accuracy")
    params = {v: rs[0]["extra"].get("params") for v, rs in by_variant.items()}
    sec.tables.append(Table("Test accuracy over seeds", ["model", "parameters", "test accuracy, mean [95% CI]",
                                                         "convergence"],
                            [[s.variant, f"{params[s.variant]:,}", _interval_cell(s),
                              analysis.STATUS_WORDS[s.status]] for s in summaries]))
    pairs = [(a, b) for a, b in (("2 conv", "1 conv"), ("2 conv", "best MLP"), ("1 conv", "best MLP"))
             if a in by_variant and b in by_variant]
    sec.comparisons = stats.holm([analysis.two_models(by_variant[a], by_variant[b], a, b) for a, b in pairs])
    sec.conclusions = [stats.verdict(c) + "." + analysis.unconverged_note((a, by_variant[a]), (b, by_variant[b]))
                       for c, (a, b) in zip(sec.comparisons, pairs)]
    sec.threats = _threats(runs, ["The two CNNs are the classic tiny nets (5 and 5+10 maps); deeper CNNs are in "
                                  "notebook 05."])
    return sec


# --------------------------------------------------------------------------- 04
def section_04(records: list[dict]) -> Section:
    nb = "04_regularisation_tuning"
    sec, runs = _open(records, nb, "ablation")
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "ablation")
    fam = analysis.compare_family(by_variant, "val_accuracy", "baseline" if "baseline" in by_variant else None)
    sec.tables.append(_family_table("Controlled ablations from one baseline CNN", fam, "validation accuracy"))
    sec.comparisons += fam.comparisons
    ref = next((s for s in fam.summaries if s.variant == "baseline"), None)
    if ref:
        sec.conclusions.append(f"Baseline CNN: {_interval_cell(ref)} validation accuracy ({analysis.STATUS_WORDS[ref.status]}).")
    sec.conclusions += fam.sentences("the baseline")
    cv = [r for r in _of(records, nb) if r.get("group") == "cv"]
    if cv:
        folds = {r["variant"]: [float(v) for v in record_field(r, "metrics.folds")] for r in cv}
        k = len(next(iter(folds.values())))
        rows = []
        cv_comps = []
        for r in cv:
            ci = stats.mean_ci(folds[r["variant"]])
            rows.append([r["variant"], stats.fmt_interval(ci), analysis.STATUS_WORDS[record_field(r, "convergence.status")]])
            if r["variant"] != "baseline" and "baseline" in folds:
                cv_comps.append(stats.paired_test(folds[r["variant"]], folds["baseline"], r["variant"], "baseline",
                                                  unit="folds"))
        stats.holm(cv_comps)
        sec.tables.append(Table(f"{k}-fold cross-validation of the strongest settings",
                                ["setting", "fold accuracy, mean [95% CI]", "convergence"], rows))
        sec.comparisons += cv_comps
        sec.conclusions += [f"Cross-validation: {stats.verdict(c)}." for c in cv_comps]
    found = next((r for r in _of(records, nb) if r["name"] == "search"), None)
    if found:
        sec.tables.append(search_table(found))
        sec.conclusions.append(search_sentence(found))
    best = next((r for r in _of(records, nb) if r["name"] == "best_cnn"), None)
    if best:
        sec.conclusions.append(f"Selected for notebook 08: {record_field(best, 'extra.from')} "
                               f"({record_field(best, 'extra.why')}).")
    sec.threats = _threats(runs, ["One factor at a time from one baseline: interactions between factors are not "
                                  "measured."])
    return sec


def search_table(rec: dict) -> Table:
    """The search's best trial, its settings and the most important parameters."""
    m = rec["metrics"]
    rows = [["trials finished (complete / pruned)", f"{m['complete'] + m['pruned']} ({m['complete']} / {m['pruned']})"],
            ["best validation accuracy", f"{_pct(m['best_value'])} (trial {m['best_trial']})"]]
    rows += [[f"best trial: {k}", f"{v:.3g}" if isinstance(v, float) else str(v)]
             for k, v in (m.get("best_params") or {}).items()]
    ranked = sorted((m.get("importances") or {}).items(), key=lambda kv: -kv[1])
    rows += [[f"importance: {k}", f"{v:.2f}"] for k, v in ranked[:5]]
    return Table(f"Optuna search of the {rec['config']['space'].upper()} (TPE sampler, median pruning; importances: "
                 "optuna.importance, fANOVA)", ["", "value"], rows)


def search_sentence(rec: dict) -> str:
    """What the search budget bought: the expected best accuracy after 1 trial and after all (Dodge et al. 2019)."""
    m = rec["metrics"]
    curve = m["expected_max"]
    n = len(curve["mean"])
    return (f"Search: {m['complete'] + m['pruned']} trials ({m['pruned']} pruned early); the expected best validation "
            f"accuracy grows from {_pct(curve['mean'][0])} (sd {100 * curve['sd'][0]:.1f} points) with one trial to "
            f"{_pct(curve['mean'][-1])} (sd {100 * curve['sd'][-1]:.1f}) with {n} (figure search_expected_max); "
            "its best trial joined the cross-validation.")


# --------------------------------------------------------------------------- 05
def section_05(records: list[dict]) -> Section:
    nb = "05_architectures"
    sec, runs = _open(records, nb)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "architecture")
    fam = analysis.compare_family(by_variant, "test_accuracy")

    def extra(s):
        r = by_variant[s.variant][0]
        width = record_field(r, "config.model_kwargs", {}).get("width", 1.0)
        return [f"{width:g}", f"{r['extra'].get('params', 0):,}", f"{r.get('images_per_s') or 0:,.0f}"]

    sec.tables.append(_family_table("Architectures, same data and budget", fam, "test accuracy", extra,
                                    ["width multiplier", "parameters", "images/s"]))
    sec.comparisons += fam.comparisons
    best = fam.best()
    if best:
        sec.conclusions.append(f"Highest mean test accuracy among converged runs: {best.variant} ({_interval_cell(best)}).")
    sec.conclusions += fam.sentences(best.variant if best else None)
    sec.headline = " ".join(sec.conclusions[:2])
    widths = sorted({record_field(r, "config.model_kwargs", {}).get("width", 1.0) for r in runs})
    sec.setup.append(f"model widths: multiplier {', '.join(f'{w:g}' for w in widths)} on the channel counts of the "
                     "published-scale builders (1 = full width)")
    sec.threats = _threats(runs, [f"Model widths: multiplier {', '.join(f'{w:g}' for w in widths)}; the full-width "
                                  "models may rank differently." if widths != [1.0] else "Models at full width."])
    return sec


# --------------------------------------------------------------------------- 06
def section_06(records: list[dict]) -> Section:
    nb = "06_blur_robustness"
    sec, runs = _open(records, nb)
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "blur")
    levels = sorted({int(k.rsplit("_", 1)[1]) for r in runs for k in r["metrics"]
                     if k.startswith("test_accuracy_blur_")})
    name = lambda k: "clean" if k == 0 else f"kernel {k}"  # noqa: E731
    rows = []
    for variant, rs in by_variant.items():
        cells = [stats.fmt_interval(stats.mean_ci(analysis.values(rs, f"test_accuracy_blur_{t}"))) for t in levels]
        rows.append([variant] + cells + [analysis.STATUS_WORDS[analysis.status(rs)]])
    sec.tables.append(Table("Test accuracy, mean [95% CI] over seeds: trained on (rows) and tested on (columns)",
                            ["trained on"] + [name(t) for t in levels] + ["convergence"], rows))
    clean = by_variant.get("clean")
    if clean:
        drops = [_blur_drop(clean, t) for t in levels if t]
        stats.holm(drops)
        recover = [analysis.two_models(by_variant[name(t)], clean, f"training at {name(t)}",
                                       "training on clean images", f"test_accuracy_blur_{t}",
                                       f"test_correct_blur_{t}") for t in levels if t and name(t) in by_variant]
        for c, t in zip(recover, [t for t in levels if t and name(t) in by_variant]):
            c.test = f"{c.test}, tested at {name(t)}"
        stats.holm(recover)
        sec.comparisons += drops + recover
        note = analysis.unconverged_note(("clean", clean))
        sec.conclusions += [stats.verdict(c) + "." + note for c in drops]
        trained = [t for t in levels if t and name(t) in by_variant]
        sec.conclusions += [stats.verdict(c) + "." + analysis.unconverged_note(("clean", clean), (name(t), by_variant[name(t)]))
                            for c, t in zip(recover, trained)]
        helped = [name(t) for c, t in zip(recover, trained) if c.direction > 0]
        same = [name(t) for c, t in zip(recover, trained) if c.direction == 0]
        worst = max(drops, key=lambda c: -c.diff) if drops else None
        sec.headline = ((f"Blur costs the clean-trained model up to {stats.fmt_points(worst.diff)} "
                         f"({worst.a.split(' on ')[1]}). " if worst and worst.direction < 0 else "")
                        + (f"Training on blurred images is detectably better at {', '.join(helped)}" if helped else
                           "Training on blurred images is detectably better at no blur level")
                        + (f"; no detectable difference at {', '.join(same)}" if same else "") + ".")
    chance = float(record_field(runs[0], "convergence.chance"))
    near = []
    for t in levels:
        means = {v: float(np.mean(analysis.values(rs, f"test_accuracy_blur_{t}"))) for v, rs in by_variant.items()}
        if clean and t and means.get("clean", 1.0) < chance + analysis.CHANCE_MARGIN:
            best_v = max(means, key=means.get)
            near.append(f"at {name(t)} the clean-trained model scores {_pct(means['clean'])} (chance "
                        f"{_pct(chance)}) and the best model on it, trained on {best_v}, {_pct(means[best_v])}")
    if near:
        sec.conclusions.append("Near chance by design: " + "; ".join(near) + ". A box kernel this wide on a 28x28 "
                               "image averages the stroke away (see the blur-levels figure), so accuracy near chance "
                               "there is the finding, not a training failure.")
    sec.threats = _threats(runs, ["One architecture (the training recipe of this notebook); blur is a box filter "
                                  "applied after the EMNIST conversion."])
    return sec


def _blur_drop(clean: list[dict], t: int) -> stats.Comparison:
    """The clean-trained model on blurred vs clean test images: the same images, so McNemar per seed."""

    def at(level: int) -> list[dict]:
        return [{**r, "metrics": {"test_accuracy": record_field(r, f"metrics.test_accuracy_blur_{level}"),
                                  "test_correct": record_field(r, f"metrics.test_correct_blur_{level}"),
                                  "test_n": record_field(r, "metrics.test_n")}} for r in clean]

    return analysis.two_models(at(t), at(0), f"the clean-trained model on kernel-{t} test images",
                               "the same model on clean test images")


# --------------------------------------------------------------------------- 07
TRANSFER_METHODS = {"direct": "letters model applied directly (no AlphaDigits training)",
                    "frozen": "frozen letters base + new head", "fine_tuned": "frozen base + head, then top layers "
                    "fine-tuned", "scratch": "same architecture from scratch on AlphaDigits"}
TRANSFER_SHORT = {"frozen": "the frozen letters base with a new head", "fine_tuned": "the fine-tuned letters base",
                  "scratch": "training from scratch"}


def section_07(records: list[dict]) -> Section:
    nb = "07_transfer_learning"
    sec, runs = _open(records, nb, "transfer")
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "transfer")
    rows = []
    for variant, rs in by_variant.items():
        rows.append([TRANSFER_METHODS.get(variant, variant),
                     stats.fmt_interval(stats.mean_ci(analysis.values(rs, "test_accuracy"))),
                     analysis.STATUS_WORDS[analysis.status(rs)]])
    sec.tables.append(Table("Held-out AlphaDigits accuracy, mean [95% CI] over seeds",
                            ["method", "test accuracy", "convergence"], rows))
    methods = [a for a in ("frozen", "fine_tuned") if a in by_variant and "scratch" in by_variant]
    comps = stats.holm([analysis.two_models(by_variant[a], by_variant["scratch"], TRANSFER_SHORT[a],
                                            TRANSFER_SHORT["scratch"]) for a in methods])
    sec.comparisons += comps
    sec.conclusions += [stats.verdict(c) + "." + analysis.unconverged_note((a, by_variant[a]),
                                                                           ("scratch", by_variant["scratch"]))
                        for c, a in zip(comps, methods)]
    kf = [r for r in _of(records, nb) if r.get("group") == "transfer_kfold"]
    folds = {r["variant"]: [float(v) for v in record_field(r, "metrics.folds")] for r in kf}
    if "frozen" in folds and "scratch" in folds:
        c = stats.paired_test(folds["frozen"], folds["scratch"], "frozen-base transfer", "training from scratch",
                              unit="folds")
        sec.comparisons.append(c)
        sec.tables.append(Table(f"{len(folds['frozen'])}-fold cross-validation on the AlphaDigits training part",
                                ["method", "fold accuracy, mean [95% CI]"],
                                [[TRANSFER_METHODS.get(v, v), stats.fmt_interval(stats.mean_ci(f))]
                                 for v, f in folds.items()]))
        sec.conclusions.append(f"Cross-validation: {stats.verdict(c)}.")
    src = next((r for r in runs if r["variant"] == "direct"), runs[0])
    letters = src.get("extra", {}).get("letters_source")
    extra = ["AlphaDigits is small (39 images per class): the held-out part has about ten images per class, so "
             "single-seed differences are noisy."]
    if letters:
        sec.setup.append(f"source model: Chollet's convnet trained on EMNIST letters ({letters}), seed "
                         f"{src.get('extra', {}).get('source_seed', 0)}, shared by every target seed "
                         f"({src.get('extra', {}).get('source_convergence', 'convergence not recorded')})")
    if letters == "synthetic":
        sec.synthetic = True
        extra.insert(0, "The source model learnt from SYNTHETIC letters: transfer from real EMNIST letters may "
                        "differ (the target data is real when its setup says so).")
    sec.threats = _threats(runs, extra)
    return sec


# --------------------------------------------------------------------------- 08
def section_08(records: list[dict]) -> Section:
    nb = "08_final_evaluation"
    sec, runs = _open(records, nb, "final")
    if sec.empty:
        return sec
    by_variant = analysis.group_runs(runs, nb, "final")
    rows = []
    for variant, rs in by_variant.items():
        cells = [stats.fmt_interval(stats.mean_ci(analysis.values(rs, k)))
                 for k in ("test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro",
                           "test_top_k_accuracy")]
        rows.append([variant.upper(), record_field(rs[0], "extra.from", "")] + cells
                    + [analysis.STATUS_WORDS[analysis.status(rs)]])
    sec.tables.append(Table("Test set, mean [95% CI] over seeds",
                            ["model", "selected setting", "accuracy", "macro precision", "macro recall", "macro F1",
                             "top-5 accuracy", "convergence"], rows))
    if "cnn" in by_variant and "mlp" in by_variant:
        c = analysis.two_models(by_variant["cnn"], by_variant["mlp"], "the selected CNN", "the selected MLP")
        sec.comparisons.append(c)
        sec.conclusions.append(stats.verdict(c) + "." + analysis.unconverged_note(("CNN", by_variant["cnn"]),
                                                                                 ("MLP", by_variant["mlp"])))
    pairs = next((r for r in _of(records, nb) if r["name"] == "most_confused_cnn"), None)
    if pairs and pairs["metrics"].get("pairs"):
        top = "; ".join(f"{p['true']} → {p['predicted']} ({p['count']})" for p in pairs["metrics"]["pairs"][:5])
        sec.conclusions.append(f"Most confused by the CNN (seed {pairs['seed']}, true → predicted, count): {top}.")
    sec.threats = _threats(runs, ["Per-class metrics and confusion matrices are those of the first seed's models."])
    return sec


BUILDERS = {"00_data": section_00, "01_chollet_baselines": section_01, "02_dnn_learning_rules": section_02,
            "03_cnn_depth": section_03, "04_regularisation_tuning": section_04, "05_architectures": section_05,
            "06_blur_robustness": section_06, "07_transfer_learning": section_07, "08_final_evaluation": section_08}


def section(notebook: str, records: list[dict]) -> Section:
    """The section of ``notebook`` built from ``records`` (all records of a profile may be passed)."""
    if notebook not in BUILDERS:
        raise ValueError(f"unknown notebook {notebook!r}; have {', '.join(BUILDERS)}")
    return BUILDERS[notebook](records)


def all_sections(records: list[dict]) -> list[Section]:
    return [section(nb, records) for nb in BUILDERS]


def conclude(study) -> Section:
    """For a notebook's last cell: its section from the records in its output folder, printed."""
    from .results import read_records

    sec = section(study.notebook, read_records(study.results))
    print(sec.text())
    return sec
