"""The report's words live in templates (``emnist_lib/templates``), never in Python strings; its cross-references
(section numbers, seed counts) come from the chapters and the records, never typed."""

import ast
import importlib
import re
from pathlib import Path

import numpy as np
import pytest
from records_factory import REAL_BALANCED, family, seeded, whole_study

from emnist_lib import analysis, chapters
from emnist_lib.chapters import c03_cnn_depth as c03
from emnist_lib.chapters import c07_transfer_learning as c07
from emnist_lib.chapters import c08_final_evaluation as c08
from emnist_lib.report import render_markdown

CHAPTER_DIR = Path(chapters.__file__).parent
TEMPLATES = CHAPTER_DIR.parent / "templates"
PROSE = 80  # characters: a string literal this long, of several words, is a sentence, not a name or a label
WORDS = 8  # words: a style sheet or an HTML shell has a few, a sentence of this length many
WORD = re.compile(r"[(\"']?[A-Za-z][A-Za-z'-]*[,.;:)]*")


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def _messages(tree: ast.AST) -> set[int]:
    """The strings of error and console messages (``raise``, ``print``, ``warnings.warn``): not report prose."""
    out = set()
    for node in ast.walk(tree):
        call = node.func if isinstance(node, ast.Call) else None
        name = getattr(call, "id", None) or getattr(call, "attr", None)
        if isinstance(node, ast.Raise) or name in ("print", "warn"):
            out |= {id(n) for n in ast.walk(node)}
    return out


def prose(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of each string literal or f-string (its literal parts) of ``source`` longer than
    :data:`PROSE` characters with :data:`WORDS` words or more, outside docstrings and messages."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _messages(tree)
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        else:
            continue
        if len(text) > PROSE and sum(bool(WORD.fullmatch(w)) for w in text.split()) >= WORDS:
            found.append((node.lineno, text))
    return found


def test_the_prose_check_finds_sentences_in_strings_and_f_strings_only():
    sentence = "Test accuracy of each model over its seeds, with a 95% interval from the seeds x images bootstrap"
    assert prose(f'CAPTION = "{sentence}"\n') == [(1, sentence)]
    assert prose(f'def f(n):\n    return f"{{n}} {sentence}"\n') == [(2, " " + sentence)]
    assert prose(f'"""{sentence}"""\ndef f():\n    """{sentence}"""\n') == []  # docstrings
    assert prose(f'raise ValueError("{sentence}")\nprint("{sentence}")\n') == []  # messages
    assert prose('NAMES = "' + " ".join(f"group_{i}" for i in range(20)) + '"\n') == []  # names, not words
    assert prose('STYLE = "body{margin:2em auto;padding:0 1em}td,th{border:1px solid #ccc;padding:2px 6px}img{x:1}"') == []


@pytest.mark.parametrize("path", sorted(CHAPTER_DIR.glob("c[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_no_chapter_module_holds_report_prose(path):
    """A chapter's title, question, table captions, names in sentences and findings are macros of its template
    (``templates/chapters/<notebook>.md.j2``), never Python strings."""
    found = prose(path.read_text())
    assert not found, "\n".join(f"{path.name}:{line}: {text[:100]!r}... belongs in its template" for line, text in found)


@pytest.mark.parametrize("module", ["conclusions", "analysis", "report"])
def test_the_shared_modules_hold_no_report_prose(module):
    path = CHAPTER_DIR.parent / f"{module}.py"
    assert not prose(path.read_text())


@pytest.mark.parametrize("chapter", chapters.CHAPTERS, ids=lambda c: c.notebook)
def test_each_chapter_says_its_title_and_question_from_its_template(chapter):
    module = importlib.import_module(chapter.findings.__module__)
    assert (TEMPLATES / "chapters" / f"{chapter.notebook}.md.j2").is_file()
    assert module.WORDING.say("title") == chapter.title == module.TITLE and chapter.title
    assert module.WORDING.say("question") == chapter.question == module.QUESTION and chapter.question.endswith("?")
    assert "\n" not in chapter.title + chapter.question and "  " not in chapter.question


def test_the_report_numbers_its_sections_as_section_number_says(tmp_path):
    whole_study(tmp_path)
    text, _ = render_markdown(tmp_path, "quick")
    for chapter in chapters.CHAPTERS:
        assert f"\n## {chapters.section_number(chapter.notebook)}. {chapter.title}" in text


def test_the_methods_count_budget_check_seeds_and_name_tested_sections_from_the_records(tmp_path):
    rng = np.random.default_rng(0)
    alphadigits = {"source": "roweis", "split": "alphadigits-letters", "n_train": 760, "n_test": 254}
    family(tmp_path, c08.NOTEBOOK, c08.GROUP, {c08.CNN: 0.85, c08.MLP: 0.7}, rng, data=REAL_BALANCED,
           metrics={k: 0.8 for k in c08.METRICS[1:]}, extra={"from": "sample"})
    family(tmp_path, c03.NOTEBOOK, c03.GROUP, {c03.ONE_CONV: 0.55, c03.TWO_CONV: 0.6}, rng, data=REAL_BALANCED)
    family(tmp_path, c07.NOTEBOOK, c07.GROUP, {c07.FROZEN: 0.7, c07.SCRATCH: 0.6}, rng, n_test=254, data=alphadigits)
    for variant, acc in ((c03.ONE_CONV, 0.6), (c03.TWO_CONV, 0.65)):
        for seed in (0, 1):
            seeded(tmp_path, c03.NOTEBOOK, analysis.budget_group(c03.GROUP), variant, seed, acc, rng, data=REAL_BALANCED)
    text, _ = render_markdown(tmp_path, "quick")
    assert "some seeds of it (two in this profile) are trained again at\n  twice the budget;" in text
    depth, transfer = chapters.section_number(c03.NOTEBOOK), chapters.section_number(c07.NOTEBOOK)
    assert (f"Section {depth} also reports test accuracy on those images (section {transfer} on other test sets), "
            "but nothing is selected on it.") in text
