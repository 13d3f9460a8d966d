"""Assemble the written report from result records and figures.

The text comes from a Jinja2 template (``templates/report.md.j2``) that renders
one :class:`~emnist_lib.conclusions.Section` per chapter (:mod:`emnist_lib.chapters`) (question, setup,
results with intervals, conclusions worded by their tests, threats to
validity); every number in it is computed from a result record, never typed by
hand. The Markdown is also rendered to one self-contained HTML file with
the figures embedded. When any record's data is synthetic, the title, the
abstract and a banner say so, and the published references are marked as not
comparable.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import markdown

from . import analysis, chapters, conclusions, config, results, stats
from .convergence import Status
from .fileio import write_text_atomic


def _figures(out: Path) -> dict[str, list[dict]]:
    """Per notebook, its figures in report order: file name, caption (stored in the PNG) and number."""
    from .plots import read_caption

    figs: dict[str, list[dict]] = {}
    for path in sorted(config.figures_dir(out).glob("*.png")):
        nb = next((c.notebook for c in chapters.CHAPTERS if path.stem.startswith(c.notebook + "_")), None)
        if nb:
            figs.setdefault(nb, []).append({"name": path.name, "caption": read_caption(path)})
    number = 0
    for chapter in chapters.CHAPTERS:
        for fig in figs.get(chapter.notebook, []):
            number += 1
            fig["number"] = number
    return figs


def render_markdown(out: Path, profile: str) -> tuple[str, list[conclusions.Section]]:
    """The report's Markdown for the records and figures in ``out``, and the sections it shows.

    A record that is not JSON or lacks a field a section needs raises
    :class:`~emnist_lib.results.RecordError` naming the record file."""
    records = results.read_records(config.records_dir(out))
    if not records:
        raise ValueError(f"{config.records_dir(out)}: no result records; run the notebooks first "
                         f"(python -m emnist_lib report --profile {profile})")
    sections = chapters.all_sections(records)
    timings_path = out / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    trained = analysis.distinct_runs([r for r in records if r.convergence and r.status != Status.NOT_TRAINED])
    in_abstract = {c.notebook for c in chapters.CHAPTERS if c.in_abstract}
    headline_sizes = sorted({n for s in sections if s.notebook in in_abstract
                             for split, ns in s.per_class.items() if split in ("balanced", "letters") for n in ns})
    powered = [c for s in sections if s.notebook in in_abstract for c in s.comparisons if c.power is not None]
    text = conclusions.environment().get_template("report.md.j2").render(
        preview=profile.split()[0] in ("quick", "smoke"), headline_sizes=headline_sizes,
        power=_power_summary(powered),
        sections=sections, abstract=[s for s in sections if s.notebook in in_abstract and not s.empty],
        synthetic=[s.title for s in sections if s.synthetic and not s.empty],
        real=sorted({conclusions.source_words(r.data) for r in records if not r.synthetic}), pool=_pool(records),
        profile=profile,
        figures=_figures(out), timings=timings, first=records[0],
        engines=sorted({r.hardware.get("engine_choice", "float32") for r in records}),
        criterion=trained[0].convergence.criterion if trained else "", n_records=len(records),
        n_tests=sum(not c.excluded for s in sections for c in s.comparisons), n_families=_families(sections), margin=stats.EQUIVALENCE_MARGIN,
        n_trained=len(trained), n_converged=sum(r.status == Status.PLATEAU for r in trained),
        longer=_longer_runs(trained),
        budget_checks=_budget_checks(sections), tested=_tested_sections(records),
        plan_bound=_plan_bound(sections), descriptive=_descriptive(sections, records))
    return re.sub(r"\n{3,}", "\n\n", text), sections


LARGE_GAP = 0.05  # a detected difference this large is counted apart in the abstract's power count


def _power_summary(powered: list) -> dict:
    """The headline comparisons' power for DETECT: how many reach POWER, in all, among the detected gaps of
    LARGE_GAP or more, and among the rest. A detected gap that large answers its question already; its power for 2
    points is low where its seed spread is wide (blurred test sets, an unstable model), and the abstract says how many
    of each kind reach 80% rather than let the large gaps stand for the design of the small comparisons."""
    def large_gap(c) -> bool:
        return c.significant and abs(c.diff) >= LARGE_GAP

    large, small = [c for c in powered if large_gap(c)], [c for c in powered if not large_gap(c)]
    small_enough, large_enough = (sum(c.power >= stats.POWER for c in part) for part in (small, large))
    return {"n": len(powered), "enough": small_enough + large_enough,
            "small_n": len(small), "small_enough": small_enough, "large_n": len(large), "large_enough": large_enough,
            "large_low": min((abs(c.diff) for c in large), default=None),
            "large_high": max((abs(c.diff) for c in large), default=None), "gap": LARGE_GAP}


def _plan_bound(sections) -> list[tuple[int, float]]:
    """How cautious the seed plans are: the factor on the seed mean square (its one-sided 80% upper bound) for the
    fewest and the most seeds among the comparisons that carry a plan."""
    seeds = sorted({c.n for s in sections for c in s.comparisons if c.seeds_needed or c.seeds_max})
    return [(k, stats.seed_bound_factor(k)) for k in sorted({seeds[0], seeds[-1]})] if seeds else []


def _descriptive(sections, records) -> list[str]:
    """The verdicts the report prints beside its declared tests without counting them: the budget checks' McNemar
    tests and the rank agreement of real and synthetic data (section of chapter 00)."""
    from .chapters import c00_data

    out = []
    if any(t for s in sections for check in s.budget_checks for t in check.swap_tests.values()):
        out.append("the budget checks' McNemar tests (one seed, made only where an order swaps)")
    if any(r.name.endswith(c00_data.RANK_AGREEMENT) for r in analysis.of_notebook(records, c00_data.NOTEBOOK)):
        out.append(f"section {chapters.section_number(c00_data.NOTEBOOK)}'s rank agreement of real and synthetic data")
    return out


def _longer_runs(trained) -> dict:
    """The plateau test on the runs trained again at a longer budget (the budget checks): whether more epochs alone
    would show plateaus."""
    longer = [r for r in trained if analysis.is_budget_check(r.group) and r.status != Status.DID_NOT_TRAIN]
    return {"n": len(longer), "plateau": sum(r.status == Status.PLATEAU for r in longer)}


def _budget_checks(sections) -> dict:
    """What the Methods say of the budget checks: how many seeds each trains again, and at what factor."""
    checks = [c for s in sections for c in s.budget_checks]
    return {"seeds": sorted({len(c.seeds) for c in checks}), "factors": sorted({c.factor for c in checks})}


def _tested_sections(records) -> dict[str, list[int]]:
    """The numbers of the sections that report test accuracy besides the final evaluation: ``same``, on the final
    evaluation's test images (the same split, source and number of test images), ``other``, on other test sets."""
    from .chapters import c08_final_evaluation as final

    def tested(notebook: str) -> list:
        return [r for r in analysis.of_notebook(records, notebook) if r.group and not analysis.is_budget_check(r.group)
                and any(k.startswith("test_accuracy") for k in r.metrics)]

    def data(runs) -> set:
        return {(r.data.split, r.data.source, r.data.n_test) for r in runs}

    held_out = data(tested(final.NOTEBOOK))
    from .chapters import c09_anchors as anchors

    out: dict = {"same": [], "other": [], "explored": None}
    if anchors.explored(tested(anchors.NOTEBOOK)):
        out["explored"] = chapters.section_number(anchors.NOTEBOOK)
    for chapter in chapters.CHAPTERS:
        runs = tested(chapter.notebook)
        if runs and chapter.notebook != final.NOTEBOOK:
            out["same" if data(runs) & held_out else "other"].append(chapters.section_number(chapter.notebook))
    return out


def _families(sections) -> int:
    """How many families the report's tests form: comparisons sharing a correction, or standing alone."""
    return sum(len({c.family or f"single {i}" for i, c in enumerate(s.comparisons)}) for s in sections)


def _pool(records) -> dict | None:
    """What the report says of EMNIST re-split from the official files (None when no record used it)."""
    pooled = [r.data.details for r in records if r.data.source == "nist-pool"]
    if not pooled:
        return None
    files = sorted({name for p in pooled for name in p.get("official_files", {}) if "images" in name})
    return {"files": files, "duplicates": max(p["resplit"]["duplicates_removed"] for p in pooled),
            "seed": pooled[0]["resplit"]["seed"]}


def to_html(md_text: str, out: Path, title: str) -> str:
    """Self-contained HTML: figures inlined as base64 data URIs."""
    body = markdown.markdown(md_text, extensions=["tables", "toc"])

    def inline(match):
        path = out / match.group(1)
        data = base64.b64encode(path.read_bytes()).decode() if path.exists() else ""
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="(figures/[^"]+\.png)"', inline, body)
    style = ("body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;line-height:1.5}"
             "img{max-width:100%}table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;"
             "padding:2px 6px}blockquote{background:#fff3cd;border-left:6px solid #d39e00;padding:0.5em 1em}")
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head><body>{body}</body></html>\n"


def to_pdf(md_text: str, out: Path, path: Path) -> Path:
    """``report.pdf`` from the same Markdown as the HTML (WeasyPrint: HTML and CSS to PDF, no TeX, no browser), every
    figure from its vector SVG beside the PNG, so it prints sharp; written atomically."""
    from .fileio import atomic_path

    weasyprint = _weasyprint()
    CSS, HTML = weasyprint.CSS, weasyprint.HTML

    body = markdown.markdown(md_text, extensions=["tables", "toc"])

    def vector(match):
        svg = out / match.group(1).replace(".png", ".svg")
        return f'src="{svg.relative_to(out) if svg.exists() else match.group(1)}"'

    body = re.sub(r'src="(figures/[^"]+\.png)"', vector, body)
    title = md_text.splitlines()[0].lstrip("# ").strip()
    html = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"
    with atomic_path(path) as tmp:
        css = CSS(string=(Path(__file__).parent / "templates" / "print.css").read_text())
        HTML(string=html, base_url=str(out)).write_pdf(tmp, stylesheets=[css])
    return path


def _weasyprint():
    """WeasyPrint, imported without its side effect: it sets Pillow's process-wide LOAD_TRUNCATED_IMAGES, which
    would make ``predict`` and ``serve`` accept a cut-off upload in a process that has built a PDF."""
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


def pdf_unavailable() -> Exception | None:
    """None when the PDF can be made here, else why not (WeasyPrint needs the Pango library)."""
    try:
        _weasyprint()
    except (ImportError, OSError) as exc:
        return exc
    return None


def build_report(out: Path, profile: str) -> tuple[Path, ...]:
    """Write ``report.md``, ``report.html`` and ``report.pdf`` into ``out``; returns their paths (no PDF, with a
    warning that says why, where WeasyPrint cannot run)."""
    import warnings

    from .errors import StudyWarning

    out = Path(out)
    md_text, _ = render_markdown(out, profile)
    title = md_text.splitlines()[0].lstrip("# ").strip()
    md_path, html_path, pdf_path = out / "report.md", out / "report.html", out / "report.pdf"
    write_text_atomic(md_path, md_text)
    write_text_atomic(html_path, to_html(md_text, out, title))
    missing = pdf_unavailable()
    if missing:
        warnings.warn(f"no report.pdf: WeasyPrint cannot load ({missing}); on Debian or Ubuntu: apt-get install "
                      "libpango-1.0-0 libpangoft2-1.0-0, then make report again", StudyWarning, stacklevel=2)
        return md_path, html_path
    return md_path, html_path, to_pdf(md_text, out, pdf_path)
