"""A reviewer's audit of a built report, independent of the package's statistics.

What a skeptical statistician does with a report and its records, as code:

1. re-render the report from its records and compare it byte for byte with the file (every number, the abstract
   and every table included: a number that no longer matches the records is a difference);
2. recompute every comparison from the record files with scipy and pandas directly, never through
   ``emnist_lib.stats`` (each test written again from its textbook definition), and compare the difference, the
   interval, the (adjusted) p-value, the degrees of freedom, the power, the smallest detectable difference and the
   TOST interval; whether the runs shared their images is decided from the records, not from the comparison;
3. check each verdict against its p-value (detectable exactly when the adjusted p is below alpha) and each
   "over m" against the size of the family it is adjusted within;
4. recompute every recipe's accuracy interval (its mean over seeds with the 95% interval the tables, the headlines
   and the anchors print) from the per-image records: ANOVA parts, quantiles and logit scale written again here;
5. read the tables: every "mean [low, high]" cell ordered and inside 0-100%.

The package supplies only the reading of records (``results.read_records``, the per-image vectors) and the
sections whose claims are audited. Each check returns a list of problems (empty: it holds).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import integrate, optimize
from scipy import stats as sps

ALPHA = 0.05
CELL = re.compile(r"(\d+(?:\.\d+)?)% \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\]")


def rerender(out: Path, profile: str) -> list[str]:
    """The report in ``out`` against a fresh rendering of its records: the first differing line, if any."""
    from emnist_lib.report import render_markdown

    built = (out / "report.md").read_text()
    fresh, _ = render_markdown(out, profile)
    if built == fresh:
        return []
    for i, (a, b) in enumerate(zip(built.splitlines(), fresh.splitlines()), 1):
        if a != b:
            return [f"report.md line {i} differs from its records: {a[:160]!r} vs {b[:160]!r}"]
    return ["report.md and its records' rendering differ in length"]


def _vectors(ids: list[str], metric: str, by_id: dict) -> list[np.ndarray]:
    from emnist_lib.analysis import correct_vector, scored_by

    keys = scored_by(metric)
    return [correct_vector(by_id[i], keys[0], keys[1]).astype(float) for i in ids]


def _anova_ms(d: list[np.ndarray]) -> tuple[float, float, float]:
    """The two-way ANOVA mean squares (seed, image, residual) of a seeds x images table (random seeds and images, one
    value per cell), from pandas sums of squares."""
    k, n = len(d), d[0].size
    long = pd.DataFrame({"seed": np.repeat(np.arange(k), n), "image": np.tile(np.arange(n), k),
                         "y": np.concatenate(d)})
    grand = long.y.mean()
    ss_seed = n * ((long.groupby("seed").y.mean() - grand) ** 2).sum()
    ss_image = k * ((long.groupby("image").y.mean() - grand) ** 2).sum()
    ss_total = ((long.y - grand) ** 2).sum()
    ms_seed, ms_image = ss_seed / (k - 1), ss_image / (n - 1)
    ms_resid = (ss_total - ss_seed - ss_image) / ((k - 1) * (n - 1))
    return ms_seed, ms_image, ms_resid


def _anova_parts(d: list[np.ndarray]) -> tuple[float, float]:
    """The seed part and the image part of the variance of the grand mean: the textbook two-way random-effects
    estimator with a negative component set to zero, the residual counted with the seeds."""
    k, n = len(d), d[0].size
    ms_seed, ms_image, ms_resid = _anova_ms(d)
    return max(ms_seed, ms_resid) / (k * n), max(ms_image - ms_resid, 0.0) / (k * n)


def _seeds_needed(d: list[np.ndarray], shared: bool, m: int, max_seeds: int) -> int | None:
    """The seeds a follow-up needs for 80% power at the report's difference, as the Methods describe it: the pilot's
    seed variance at its one-sided 80% upper bound (chi-square), the images as they are, the interval's own test."""
    k0, target = len(d), stats_detect()
    if shared:
        n = d[0].size
        ms_seed, ms_image, ms_resid = _anova_ms(d)
        upper = (k0 - 1) * max(ms_seed, ms_resid) / sps.chi2.ppf(0.2, k0 - 1)
        per_seed = max(upper - ms_resid, 0.0) / n + ms_resid / n  # variance of one seed's mean difference
        images = max(ms_image - ms_resid, 0.0) / k0 / n
    else:
        per_seed = (k0 - 1) * np.var([x.mean() for x in d], ddof=1) / sps.chi2.ppf(0.2, k0 - 1)
        images = 0.0
    for k in range(2, max_seeds + 1):
        if _mls_power(target, per_seed / k, images, k - 1, m) >= 0.8:
            return k
    return None


def _t_result(diff: float, se: float, df: float, m: int) -> dict:
    p = 2 * sps.t.sf(abs(diff) / se, df) if se > 0 else (1.0 if diff == 0 else 0.0)
    half = sps.t.ppf(1 - ALPHA / (2 * m), df) * se
    return {"diff": diff, "low": diff - half, "high": diff + half, "p": min(1.0, p * m), "df": df, "se": se}


def _mls(diff: float, seed_part: float, image_part: float, df: float, m: int) -> dict:
    """Modified large-sample interval (Graybill and Wang): each variance part with its own quantile; the p-value is
    the level at which the interval's half-width equals |diff| (found by bisection, written out here)."""
    def half(alpha: float) -> float:
        return math.sqrt(sps.t.isf(alpha / 2, df) ** 2 * seed_part + sps.norm.isf(alpha / 2) ** 2 * image_part)

    se = math.sqrt(seed_part + image_part)
    lo, hi = 1e-15, 1.0  # half() falls as alpha grows: bisect on log alpha
    if half(lo) <= abs(diff):
        p = lo
    else:
        for _ in range(200):
            mid = math.sqrt(lo * hi)
            lo, hi = (mid, hi) if half(mid) > abs(diff) else (lo, mid)
        p = math.sqrt(lo * hi)
    h = half(ALPHA / m)
    return {"diff": diff, "low": diff - h, "high": diff + h, "p": min(1.0, p * m), "df": df, "se": se, "half": h,
            "tost": half(2 * ALPHA / m), "seed_part": seed_part, "image_part": image_part}


def _mls_power(diff: float, seed_part: float, image_part: float, df: float, m: int) -> float:
    """The power of the modified large-sample test at ALPHA/m against a true ``diff``: the estimate is normal around
    ``diff``; the seed part is re-estimated as seed_part * V / df with V chi-square(df); the test rejects when the
    estimate leaves the interval. Integrated over V with scipy (written out here, not the package's)."""
    se = math.sqrt(seed_part + image_part)
    if se == 0:
        return 1.0
    tq, zq = sps.t.isf(ALPHA / (2 * m), df), sps.norm.isf(ALPHA / (2 * m))

    def given(v: float) -> float:
        h = math.sqrt(tq ** 2 * seed_part * v / df + zq ** 2 * image_part)
        return sps.norm.cdf((diff - h) / se) + sps.norm.cdf((-h - diff) / se)

    if seed_part == 0:
        return float(given(df))
    lo, hi = sps.chi2.ppf([1e-12, 1 - 1e-12], df)
    return float(integrate.quad(lambda v: given(v) * sps.chi2.pdf(v, df), lo, hi, limit=200)[0])


def stats_detect() -> float:
    """The difference the report's power is stated for (the report says it in words; read from the package)."""
    from emnist_lib.stats import DETECT

    return DETECT


def _power(diff: float, se: float, m: int, df: float | None) -> float:
    """Power of the two-sided test at ALPHA/m against a true ``diff``: the noncentral t's two tails (normal if no df)."""
    if se <= 0:
        return 1.0
    if df is None:
        z = sps.norm.ppf(1 - ALPHA / (2 * m))
        return float(sps.norm.sf(z - diff / se) + sps.norm.cdf(-z - diff / se))
    q = sps.t.ppf(1 - ALPHA / (2 * m), df)
    delta = diff / se

    def tails(v: float) -> float:  # T = (Z + delta) / sqrt(V / df), V ~ chi-square(df): both rejection tails given V
        s = math.sqrt(v / df)
        return (sps.norm.sf(q * s - delta) + sps.norm.cdf(-q * s - delta)) * sps.chi2.pdf(v, df)

    lo, hi = sps.chi2.ppf([1e-12, 1 - 1e-12], df)
    return float(integrate.quad(tails, lo, hi, limit=200)[0])


def recompute(c, by_id: dict) -> dict | None:
    """The comparison ``c`` recomputed from its records: ``diff``, ``low``, ``high``, adjusted ``p`` (and ``df``)."""
    m = int(c.correction.split()[-1]) if c.correction else 1
    inputs = c.inputs or {}
    if c.kind == "nadeau_bengio":
        d = np.subtract(inputs["a"], inputs["b"])
        k = d.size
        se = math.sqrt((1 / k + inputs["n_test"] / inputs["n_train"]) * d.var(ddof=1))
        return _t_result(float(d.mean()), se, k - 1, m)
    if c.kind in ("anova_t", "seeds_t"):
        a = _vectors(inputs["a"], inputs["metric"], by_id)
        b = _vectors(inputs["b"], inputs["metric_b"], by_id)
        d = [x - y for x, y in zip(a, b)]
        diff = float(np.mean([x.mean() for x in d]))
        if c.kind == "seeds_t":  # scipy's paired t-test of the seed accuracies
            res = sps.ttest_rel([x.mean() for x in a], [y.mean() for y in b])
            ci = res.confidence_interval(1 - ALPHA / m)
            se = float(np.std([x.mean() for x in d], ddof=1) / math.sqrt(len(d)))
            return {"diff": diff, "low": ci.low, "high": ci.high, "p": min(1.0, res.pvalue * m), "df": len(d) - 1,
                    "se": se, "half": (ci.high - ci.low) / 2,
                    "tost": sps.t.isf(ALPHA / m, len(d) - 1) * se, "diffs": d}
        seed_part, image_part = _anova_parts(d)
        return {**_mls(diff, seed_part, image_part, len(d) - 1, m), "diffs": d}
    if c.kind == "mcnemar_exact":
        (a,), (b,) = _vectors(inputs["a"], inputs["metric"], by_id), _vectors(inputs["b"], inputs["metric_b"], by_id)
        wins, losses, n = int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1))), a.size
        diff = float(a.mean() - b.mean())
        if wins + losses == 0:
            return {"diff": diff, "low": None, "high": None, "p": 1.0}
        test = sps.binomtest(wins, wins + losses, 0.5)
        ci = test.proportion_ci(1 - ALPHA / m, method="exact")
        scale = (wins + losses) / n
        wald = math.sqrt(max(wins + losses - (wins - losses) ** 2 / n, 0.0)) / n
        return {"diff": diff, "low": scale * (2 * ci.low - 1), "high": scale * (2 * ci.high - 1),
                "p": min(1.0, test.pvalue * m), "se": wald, "df": None}
    if c.kind == "paired_t":
        a = [by_id[i].metric(inputs["metric"]) for i in inputs["a"]]
        b = [by_id[i].metric(inputs["metric_b"]) for i in inputs["b"]]
        res = sps.ttest_rel(a, b)
        ci = res.confidence_interval(1 - ALPHA / m)
        return {"diff": float(np.mean(np.subtract(a, b))), "low": ci.low, "high": ci.high,
                "p": min(1.0, res.pvalue * m)}
    return None


def _shared(runs, metric: str) -> bool:
    """From the records alone: the test images are one set per data split; a validation split is shared when every
    run drew it with the same fixed seed from the same training data."""
    if metric.startswith("test_"):
        return True
    seeds = {(r.config.get("train") or {}).get("validation_seed") for r in runs}
    data = {(r.data.split, r.data.source, r.data.n_train, r.data.n_test) for r in runs}
    return len(seeds) == 1 and None not in seeds and len(data) == 1


def comparisons(sections, records) -> list[str]:
    """Every comparison of ``sections`` recomputed from ``records`` and checked: its numbers, its verdict against its
    p-value, its family size, and why it was left out when it was."""
    by_id = {f"{r.notebook}/{r.name}": r for r in records}
    problems = []
    for sec in sections:
        families: dict[str, int] = {}
        for c in sec.comparisons:
            if c.family:
                families[c.family] = families.get(c.family, 0) + 1
        for c in sec.comparisons:
            where = f"section {sec.title!r}: {c.a} vs {c.b}"
            if c.kind is None:
                problems.append(f"{where}: no test kind recorded, cannot be recomputed")
                continue
            if c.kind == "not_compared":
                dead = [i for side in ("a", "b") for i in c.inputs[side] if by_id[i].status == "did_not_train"]
                if not dead or c.significant:
                    problems.append(f"{where}: left out as 'did not train' but no run of it did")
                continue
            if c.correction:
                m = int(c.correction.split()[-1])
                if c.family is None or families.get(c.family) != m:
                    problems.append(f"{where}: {c.correction}, but its family {c.family!r} has "
                                    f"{families.get(c.family, 1)} comparison(s)")
            elif c.family and families.get(c.family, 1) > 1:
                problems.append(f"{where}: in family {c.family!r} of {families[c.family]} but not adjusted")
            p = c.p_adjusted if c.p_adjusted is not None else c.p
            if p is not None and c.significant != (p < ALPHA):
                problems.append(f"{where}: verdict {'detectable' if c.significant else 'not detectable'} but "
                                f"adjusted p = {p:.4g}")
            if c.kind in ("anova_t", "seeds_t"):
                runs = [by_id[i] for side in ("a", "b") for i in c.inputs[side]]
                if [by_id[i].seed for i in c.inputs["a"]] != [by_id[i].seed for i in c.inputs["b"]]:
                    problems.append(f"{where}: paired runs of different seeds")
                if ("anova_t" if _shared(runs, c.inputs["metric"]) else "seeds_t") != c.kind:
                    problems.append(f"{where}: treated as {c.kind}, but the records say the images were "
                                    f"{'shared' if c.kind == 'seeds_t' else 'each seed its own'}")
            ref = recompute(c, by_id)
            if ref is None:
                problems.append(f"{where}: test kind {c.kind!r} has no independent recomputation")
                continue
            if c.power is not None and ref.get("se"):
                m = int(c.correction.split()[-1]) if c.correction else 1
                if "half" in ref:  # the power of the interval's own test, and the difference it detects 80% of the time
                    parts = (ref.get("seed_part", ref["se"] ** 2), ref.get("image_part", 0.0), ref["df"], m)
                    want = _mls_power(stats_detect(), *parts)
                    mde = optimize.brentq(lambda d, parts=parts: _mls_power(d, *parts) - 0.8, 0.0,
                                          2 * ref["half"] + 10 * ref["se"])
                    if c.mde is None or not math.isclose(c.mde, mde, rel_tol=1e-4):
                        problems.append(f"{where}: smallest detectable difference {c.mde} but recomputes to {mde:.6g}")
                    tost = (ref["diff"] - ref["tost"], ref["diff"] + ref["tost"])
                    if not (math.isclose(c.tost_low, tost[0], abs_tol=1e-6) and math.isclose(c.tost_high, tost[1],
                                                                                              abs_tol=1e-6)):
                        problems.append(f"{where}: TOST interval [{c.tost_low:.4g}, {c.tost_high:.4g}] but "
                                        f"recomputes to [{tost[0]:.4g}, {tost[1]:.4g}] (at alpha/{m})")
                    if c.kind in ("anova_t", "seeds_t"):
                        planned = (None if want >= 0.8 or c.seeds_max is None
                                   else _seeds_needed(ref["diffs"], c.kind == "anova_t", m, c.seeds_max))
                        if want < 0.8 and c.seeds_max is None:
                            problems.append(f"{where}: power {want:.0%} for 2 points but no seeds planned")
                        elif planned != c.seeds_needed:
                            problems.append(f"{where}: would need {c.seeds_needed} seeds but recomputes to {planned}")
                else:
                    want = _power(stats_detect(), ref["se"], m, ref.get("df"))
                    mde = optimize.brentq(lambda d, se=ref["se"], m=m, df=ref.get("df"): _power(d, se, m, df) - 0.8,
                                          0.0, 100 * ref["se"])
                    if c.mde is None or not math.isclose(c.mde, mde, rel_tol=1e-4):
                        problems.append(f"{where}: smallest detectable difference {c.mde} but recomputes to {mde:.6g}")
                if not math.isclose(c.power, want, rel_tol=1e-3, abs_tol=1e-4):
                    problems.append(f"{where}: power {c.power:.4f} but recomputes to {want:.4f}")
            for key in ("diff", "low", "high", "p", "df"):
                got, want = getattr(c, key if key != "p" else "p_decisive"), ref.get(key)
                if want is None or got is None:
                    if (want is None) != (got is None) and key != "df":
                        problems.append(f"{where}: {key} is {got} but recomputes to {want}")
                    continue
                if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-6):
                    problems.append(f"{where}: {key} is {got:.6g} but recomputes to {want:.6g}")
    return problems


def recipe_intervals(records, metric: str = "test_accuracy") -> list[str]:
    """Every recipe's (notebook, group, variant) mean ``metric`` over its seeds and its 95% interval, as the package
    computes it for the report (``analysis.interval``), against a recomputation: with the images shared, the seed
    part max(MS_seed, MS_resid)/(k n) on k - 1 df and the image part max(MS_image - MS_resid, 0)/(k n); each seed on
    images of its own, the variance of the seed means over k; the half-width sqrt(t^2 seed + z^2 image), applied on
    the logit scale; one seed, the Wilson interval."""
    from collections import defaultdict

    from emnist_lib import analysis

    keys = analysis.scored_by(metric)
    groups = defaultdict(list)
    for r in records:
        if r.group and r.variant and keys and keys[0] in r.metrics:
            groups[(r.notebook, r.group, r.variant)].append(r)
    problems = []
    for (notebook, group, variant), runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda r: r.seed)
        d = _vectors([id(r) for r in runs], metric, {id(r): r for r in runs})
        mean, k = float(np.mean([x.mean() for x in d])), len(d)
        if k == 1:
            n, hits = d[0].size, d[0].sum()
            z = sps.norm.isf(ALPHA / 2)
            centre = (hits + z * z / 2) / (n + z * z)
            half = z * math.sqrt(hits * (n - hits) / n + z * z / 4) / (n + z * z)
            low, high = centre - half, centre + half
        else:
            if _shared(runs, metric):
                seed_part, image_part = _anova_parts(d)
            else:
                seed_part, image_part = float(np.var([x.mean() for x in d], ddof=1) / k), 0.0
            half = math.sqrt(sps.t.isf(ALPHA / 2, k - 1) ** 2 * seed_part + sps.norm.isf(ALPHA / 2) ** 2 * image_part)
            if not 0 < mean < 1 or half == 0:
                low = high = mean
            else:
                logit, h = math.log(mean / (1 - mean)), half / (mean * (1 - mean))
                low, high = 1 / (1 + math.exp(-(logit - h))), 1 / (1 + math.exp(-(logit + h)))
        got = analysis.interval(runs, metric)
        for name, want in (("mean", mean), ("low", low), ("high", high)):
            if not math.isclose(got[name], want, rel_tol=1e-6, abs_tol=1e-9):
                problems.append(f"{notebook} {group} {variant}: {metric} {name} is {got[name]:.6g} but recomputes to "
                                f"{want:.6g} ({k} seed(s))")
    return problems


def tables(report_text: str) -> list[str]:
    """Every "mean [low, high]" in the report (tables, abstract, findings): ordered and inside 0-100%."""
    problems = []
    for line in report_text.splitlines():
        for m in CELL.finditer(line):
            mean, low, high = map(float, m.groups())
            if not (0 <= low <= mean <= high <= 100):
                problems.append(f"interval out of order or range: {m.group(0)!r} in {line[:120]!r}")
    return problems
