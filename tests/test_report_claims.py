"""Every claim of the committed reports checked as a skeptical reviewer would: against its own interval, and
against its records (``claims_audit``: the report re-rendered from its records and diffed, every comparison
recomputed with scipy and pandas outside the package's statistics, each verdict against its p-value and each
"over m" against its family). Each audit check is also shown to fail on a deliberately broken report.

"Better" or "worse" only with an interval that excludes zero on that side; "no detectable difference" only with
one that contains zero and the smallest difference the design detects with 80% power; no interval outside
[0%, 100%] in any table. Parsed from ``report/quick/report.md`` (what is committed, not a sample).
"""

import re
import shutil

import claims_audit
import pytest
from records_factory import whole_study

from emnist_lib import chapters, config
from emnist_lib.results import read_records

REPORTS = [config.REPORT_DIR / p / "report.md" for p in ("quick", "emnist")]
NUM = r"[+-]?\d+(?:\.\d+)?"
CI = re.compile(rf"points, (?:95% CI )?\[({NUM}), ({NUM})\]")  # the abstract defines "95%" once, the sections each time


def _bullets(report) -> list[str]:
    return [line[2:] for line in report.read_text().splitlines() if line.startswith("- ")]


def _section_bullets(report) -> list[str]:
    """The bullets after the abstract, where every finding is worded in full (test, p-value, power)."""
    text = report.read_text()
    return [line[2:] for line in text[text.index("## Methods"):].splitlines() if line.startswith("- ")]


def _claims(text: str) -> list[tuple[str, str]]:
    """``(kind, the text that backs it)`` for every verdict and every family finding in a sentence."""
    out = []
    for m in re.finditer(r"(is better than|is worse than|no detectable difference between)(.*?)(?=\. |\.$|$)", text,
                         re.I):
        kind = {"is better than": "better", "is worse than": "worse"}.get(m.group(1).lower(), "none")
        out.append((kind, m.group(0)))
    for m in re.finditer(r"(Detectably better than|Detectably worse than|No detectable difference from) [^:]*: (.*?)"
                         r"(?=\. [A-Z]|\.$)", text):
        kind = {"Detectably better than": "better", "Detectably worse than": "worse"}.get(m.group(1), "none")
        out += [(kind, item) for item in _top_level_items(m.group(2))]
    return out


def _top_level_items(text: str) -> list[str]:
    """``text`` split at the "; " that lie outside parentheses: one item per setting of a family finding."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and text.startswith("; ", i):
            items.append(text[start:i])
            start = i + 2
    return items + [text[start:]]


@pytest.fixture(scope="module", params=REPORTS, ids=lambda p: p.parent.name)
def report(request):
    if not request.param.exists():
        pytest.skip(f"no committed {request.param.parent.name} report")
    return request.param


@pytest.fixture(scope="module")
def claims(report):
    found = [c for b in _bullets(report) for c in _claims(b)]
    assert len(found) >= 20, "the committed report should make its comparisons in words"
    return found


def test_every_claim_carries_an_interval(claims):
    missing = [text for _, text in claims if not CI.search(text)]
    assert not missing, missing[:3]


def test_better_and_worse_exactly_when_the_interval_excludes_zero(claims):
    for kind, text in claims:
        m = CI.search(text)
        low, high = float(m.group(1)), float(m.group(2))
        if kind == "better":
            assert low > 0, text
        elif kind == "worse":
            assert high < 0, text
        else:
            assert low <= 0 <= high, text


def test_every_no_detectable_difference_states_the_difference_it_would_detect(report):
    in_full = [c for b in _section_bullets(report) for c in _claims(b)]
    assert any(kind == "none" for kind, _ in in_full)
    for kind, text in in_full:
        if kind == "none":
            assert "with 80% power" in text, text


def test_no_interval_outside_zero_and_one_hundred_percent(report):
    for low, high in re.findall(rf"\d+\.\d+% \[({NUM}), ({NUM})\]", report.read_text()):
        assert 0 <= float(low) <= float(high) <= 100, (low, high)


# --------------------------------------------------------------------------- the audit, on the committed reports
COMMITTED = [p for p in ("quick", "emnist") if (config.REPORT_DIR / p / "report.md").exists()]


@pytest.mark.parametrize("profile", COMMITTED or [pytest.param("quick", marks=pytest.mark.skip("no committed report"))])
def test_the_committed_report_is_its_records_rendered(profile):
    assert claims_audit.rerender(config.REPORT_DIR / profile, profile) == []


@pytest.mark.parametrize("profile", COMMITTED or [pytest.param("quick", marks=pytest.mark.skip("no committed report"))])
def test_every_comparison_of_the_committed_report_recomputes_from_its_records(profile):
    records = read_records(config.records_dir(config.REPORT_DIR / profile))
    sections = chapters.all_sections(records)
    assert sum(len(s.comparisons) for s in sections) >= 20
    assert claims_audit.comparisons(sections, records) == []
    assert claims_audit.recipe_intervals(records) == []
    assert claims_audit.tables((config.REPORT_DIR / profile / "report.md").read_text()) == []


# --------------------------------------------------------------------------- the audit fails on broken reports
@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("audited")
    whole_study(out, synthetic=False)
    from emnist_lib.report import build_report

    build_report(out, "quick")
    records = read_records(config.records_dir(out))
    return out, records


def test_the_audit_passes_a_sound_report(study):
    out, records = study
    sections = chapters.all_sections(records)
    kinds = {c.kind for s in sections for c in s.comparisons}
    assert {"anova_t", "mcnemar_exact", "seeds_t"} <= kinds
    assert claims_audit.rerender(out, "quick") == []
    assert claims_audit.comparisons(sections, records) == []
    assert claims_audit.recipe_intervals(records) == []
    assert claims_audit.tables((out / "report.md").read_text()) == []


def test_the_audit_finds_a_halved_standard_error(study, monkeypatch):
    from emnist_lib import stats

    out, records = study
    honest = stats.seeds_images_se

    def halved(per_seed, shared):
        est = honest(per_seed, shared)
        return stats.SeedsImagesSE(est.se / 2, est.seed_var / 4, est.image_var / 4, est.df, "halved")

    monkeypatch.setattr(stats, "seeds_images_se", halved)
    problems = claims_audit.comparisons(chapters.all_sections(records), records)
    assert any("recomputes to" in p and ("low" in p or "high" in p) for p in problems), problems
    intervals = claims_audit.recipe_intervals(records)  # and every recipe's accuracy interval, anchors included
    assert intervals and all("recomputes to" in p for p in intervals), intervals


def test_the_audit_finds_a_false_adjustment_label_and_a_verdict_against_its_p(study):
    out, records = study
    sections = chapters.all_sections(records)
    adjusted = next(c for s in sections for c in s.comparisons if c.correction)
    m = int(adjusted.correction.split()[-1])
    adjusted.correction = f"Bonferroni over {m + 1}"
    problems = claims_audit.comparisons(sections, records)
    assert any(f"Bonferroni over {m + 1}, but its family" in p for p in problems), problems

    sections = chapters.all_sections(records)
    called = next(c for s in sections for c in s.comparisons if c.significant and c.p is not None)
    called.p_adjusted = 0.5
    assert any("verdict detectable but adjusted p = 0.5" in p for p in claims_audit.comparisons(sections, records))


def test_the_audit_finds_numbers_that_no_longer_match_the_records(study, tmp_path):
    out, _ = study
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    text = (copy / "report.md").read_text()
    abstract = text.index("## Abstract")
    number = re.compile(r"\d+\.\d%").search(text, abstract)
    broken = text[:number.start()] + "99.9%" + text[number.end():]
    (copy / "report.md").write_text(broken)
    assert claims_audit.rerender(copy, "quick") != []
    assert claims_audit.tables("| cnn | 101.0% [99.0, 102.0] |") != []


def test_the_audit_finds_a_wrong_seed_plan(study):
    """An underpowered comparison's "80% would take N seeds" is planned again from its records."""
    out, records = study
    sections = chapters.all_sections(records)
    weak = next(c for s in sections for c in s.comparisons if c.seeds_max and c.kind in ("anova_t", "seeds_t"))
    weak.seeds_needed = (weak.seeds_needed or weak.seeds_max) - 1
    assert any("seeds but recomputes to" in p for p in claims_audit.comparisons(sections, records))


def test_the_audit_finds_a_detectable_difference_that_disagrees_with_the_power(study):
    """The review's finding: a McNemar or cross-validated comparison's "detects a difference of X points with 80%
    power" from the shortcut (quantile + quantile) x SE while its power came from the exact distribution."""
    from scipy import stats as sps

    from emnist_lib.stats import ALPHA

    out, records = study
    sections = chapters.all_sections(records)
    c = next(c for s in sections for c in s.comparisons if c.kind == "mcnemar_exact" and c.se)
    m = int(c.correction.split()[-1]) if c.correction else 1
    assert claims_audit.comparisons(sections, records) == []
    c.mde = float((sps.t.isf(ALPHA / (2 * m), 2) + sps.t.ppf(0.8, 2)) * c.se)  # the shortcut, on 2 df
    assert any("smallest detectable difference" in p for p in claims_audit.comparisons(sections, records))


def test_the_detectable_difference_is_where_the_power_reaches_80_percent():
    """stats.min_detectable inverts stats.power_at, on few degrees of freedom too (where the shortcut
    (t quantile + t quantile) x SE had 73.5% power at its '4.7 points' on 2 df)."""
    from emnist_lib import stats

    for se, m, df in [(0.01, 2, 2), (0.01, 1, 4), (0.004, 3, None), (0.02, 1, 1)]:
        mde = stats.min_detectable(se, m, df=df)
        assert abs(stats.power_at(mde, se, m, df) - 0.8) < 1e-6, (se, m, df)
    assert stats.min_detectable(0.0) == 0.0
