"""Every claim of the committed report checked against its own interval, as a skeptical reader would.

"Better" or "worse" only with an interval that excludes zero on that side; "no detectable difference" only with
one that contains zero and the smallest difference the design detects with 80% power; no interval outside
[0%, 100%] in any table. Parsed from ``report/quick/report.md`` (what is committed, not a sample).
"""

import re

import pytest

from emnist_lib import config

REPORT = config.REPORT_DIR / "quick" / "report.md"
NUM = r"[+-]?\d+(?:\.\d+)?"
CI = re.compile(rf"95% CI \[({NUM}), ({NUM})\]")


def _bullets() -> list[str]:
    return [line[2:] for line in REPORT.read_text().splitlines() if line.startswith("- ")]


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


@pytest.fixture(scope="module")
def claims():
    if not REPORT.exists():
        pytest.skip("no committed quick report")
    found = [c for b in _bullets() for c in _claims(b)]
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


def test_every_no_detectable_difference_states_the_difference_it_would_detect(claims):
    for kind, text in claims:
        if kind == "none":
            assert "with 80% power" in text, text


def test_no_interval_outside_zero_and_one_hundred_percent():
    if not REPORT.exists():
        pytest.skip("no committed quick report")
    for low, high in re.findall(rf"\d+\.\d+% \[({NUM}), ({NUM})\]", REPORT.read_text()):
        assert 0 <= float(low) <= float(high) <= 100, (low, high)
