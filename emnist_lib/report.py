"""Assemble the written report from result records and figures.

The text comes from a Jinja2 template (``templates/report.md.j2``); every
number in it is read from a result record through :class:`Facts`, never typed
by hand. The Markdown is also rendered to one self-contained HTML file with
the figures embedded. When any record's data is synthetic, the title, the
abstract and a banner say so, and the published references are marked as not
comparable.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import jinja2
import markdown

from . import config, results
from .fileio import write_text_atomic

# Published reference numbers (literature, not results of this project).
REFERENCES = {
    "chollet_dense_mnist": (0.978, "Chollet, Deep Learning with Python (2017), ch. 2: dense net, MNIST test accuracy"),
    "chollet_convnet_mnist": (0.992, "Chollet, Deep Learning with Python (2017), ch. 5: convnet, MNIST test accuracy"),
    "emnist_balanced_sota": (0.91, "EMNIST balanced, state of the art (Cohen et al. 2017 onwards; about 91%)"),
    "emnist_letters_sota": (0.96, "EMNIST letters, state of the art (about 96%)"),
}
NOTEBOOK_TITLES = {
    "00_data": "Data", "01_chollet_baselines": "Chollet's baselines on MNIST and EMNIST letters",
    "02_dnn_learning_rules": "DNN learning rules", "03_cnn_depth": "CNN depth",
    "04_regularisation_tuning": "Regularisation, ablations and cross-validated tuning",
    "05_architectures": "Architectures", "06_blur_robustness": "Robustness to blur",
    "07_transfer_learning": "Transfer learning to Binary AlphaDigits", "08_final_evaluation": "Final test evaluation",
}


class Facts:
    """Record lookups for the template; remembers every value it formats (for tests)."""

    def __init__(self, records: list[dict]):
        self.by_key = {(r["notebook"], r["name"]): r for r in records}
        self.records = records
        self.used: list[float] = []

    def get(self, notebook: str, name: str, path: str, default=None):
        rec = self.by_key.get((notebook, name))
        if rec is None:
            return default
        value = rec
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def pct(self, value) -> str:
        if value is None:
            return "n/a"
        self.used.append(float(value))
        return f"{100 * float(value):.2f}%"

    def num(self, value, digits: int = 1) -> str:
        if value is None:
            return "n/a"
        self.used.append(float(value))
        return f"{float(value):,.{digits}f}"

    def group(self, notebook: str, prefix: str = "") -> list[dict]:
        return [r for r in self.records if r["notebook"] == notebook and r["name"].startswith(prefix)]


def _figures(out: Path) -> dict[str, list[str]]:
    figs: dict[str, list[str]] = {}
    for path in sorted(config.figures_dir(out).glob("*.png")):
        nb = next((n for n in NOTEBOOK_TITLES if path.stem.startswith(n + "_")), None)
        if nb:
            figs.setdefault(nb, []).append(path.name)
    return figs


def render_markdown(out: Path, profile: str) -> tuple[str, Facts]:
    """The report's Markdown for the records and figures in ``out``, and the facts it used."""
    records = results.read_records(config.records_dir(out))
    if not records:
        raise ValueError(f"{config.records_dir(out)}: no result records; run the notebooks first "
                         f"(python -m emnist_lib report --profile {profile})")
    facts = Facts(records)
    timings_path = out / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    synthetic = any(r.get("synthetic") for r in records)
    env = jinja2.Environment(loader=jinja2.PackageLoader("emnist_lib", "templates"), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    text = env.get_template("report.md.j2").render(
        f=facts, synthetic=synthetic, profile=profile, figures=_figures(out), titles=NOTEBOOK_TITLES,
        references=REFERENCES, timings=timings, first=records[0], records=records)
    return re.sub(r"\n{3,}", "\n\n", text), facts


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


def build_report(out: Path, profile: str) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` into ``out``; returns both paths."""
    out = Path(out)
    md_text, _ = render_markdown(out, profile)
    title = md_text.splitlines()[0].lstrip("# ").strip()
    md_path, html_path = out / "report.md", out / "report.html"
    write_text_atomic(md_path, md_text)
    write_text_atomic(html_path, to_html(md_text, out, title))
    return md_path, html_path
