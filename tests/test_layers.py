"""The package's layers (docs/DESIGN.md, "Layers"): imports point down. The top level stays flat; this test is
what keeps the layering that folders would otherwise show."""

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emnist_lib"
DESIGN = PACKAGE.parent / "docs" / "DESIGN.md"
ENTRY = {"__init__", "__main__"}  # the package's doorways, above every layer


def layers() -> list[set[str]]:
    """The layer table of docs/DESIGN.md, top first: the module names each row lists."""
    text = DESIGN.read_text().split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| layer")]
    return [set(re.findall(r"`(\w+)(?:/)?`", row.split("|")[2])) for row in rows]


def imports(path: Path) -> set[str]:
    """The emnist_lib modules ``path`` imports (relative or absolute), by their top-level name."""
    tree, out = ast.parse(path.read_text()), set()
    inside_chapters = path.parent.name == "chapters"
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 0:
            if (node.module or "").startswith("emnist_lib."):
                out.add(node.module.split(".")[1])
            continue
        package_level = node.level - (1 if inside_chapters else 0)  # 0: chapters/ itself, 1: emnist_lib
        if package_level == 0:
            out.add("chapters")
        elif node.module:
            out.add(node.module.split(".")[0])
        else:  # from . import a, b
            out.update(alias.name for alias in node.names)
    return out


def layer_of(module: str, table: list[set[str]]) -> int:
    for i, names in enumerate(table):
        if module in names:
            return i
    raise AssertionError(f"emnist_lib.{module} is in no layer of docs/DESIGN.md: add it to the table")


def test_every_module_has_a_layer():
    table = layers()
    assert len(table) == 4
    for path in PACKAGE.glob("*.py"):
        if path.stem not in ENTRY:
            layer_of(path.stem, table)


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")) + sorted((PACKAGE / "chapters").glob("*.py")),
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_point_down(path):
    if path.stem in ENTRY:
        return
    table = layers()
    own = layer_of("chapters" if path.parent.name == "chapters" else path.stem, table)
    up = [m for m in imports(path) if m not in ENTRY and layer_of(m, table) < own]
    assert not up, f"{path.relative_to(PACKAGE)} imports {up} from a layer above its own (docs/DESIGN.md, Layers)"


def test_the_check_fails_on_an_import_that_points_up(tmp_path):
    bad = tmp_path / "stats.py"
    bad.write_text("from __future__ import annotations\n\nfrom .study import run_recipes\n")
    table = layers()
    assert [m for m in imports(bad) if layer_of(m, table) < layer_of("stats", table)] == ["study"]
