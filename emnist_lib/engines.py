"""Which precision a run trains under on a CPU: the measured engine table.

``benchmarks/engine_table.py`` measures each model family's training throughput under every engine of
:data:`ENGINES` (float32 or Keras' ``mixed_bfloat16``; XLA cannot run under op determinism) against float32, in alternating
fresh processes, on one CPU class (its model name, instruction set, AMX or not, and the threads per run), and, for an
engine that is faster, the accuracy it reaches against float32's over several seeds. It writes the table this module
reads (``emnist_lib/engine_table.json``, or the file ``EMNIST_ENGINE_TABLE`` names).

:func:`pick` returns an engine other than the default only when asked (``EMNIST_ENGINE=table``, ``make report
ENGINE=table``, ``report --engine table``), and then only where the table holds an entry for *this* CPU class and
threads, for that family, whose engine was measured faster **and** kept accuracy within the run-to-run spread. A
picked engine changes numerics, so it is part of the recipe, opted into and never silent: it is in the run's cache
key and its record (``hardware.engine``). Every other case trains float32 with XLA off, as before the table existed,
so the committed reports (built so) repeat to the digit on their CPU. ``EMNIST_ENGINE``: ``float32`` (the default),
``table``, or an engine's name (forced for every family built by name; recorded the same way). A model built
elsewhere (chapter 07's transfer models) keeps the precision its layers were built with, and its record states it.
Workers of a cluster you started yourself read their own ``EMNIST_ENGINE``: start them with the same value (each
record says what its run used).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from .errors import DataFormatError

DEFAULT = "float32"
# No XLA engine: every run enables TensorFlow's op determinism (same seed, same numbers), and Keras then compiles
# without XLA whatever it is asked (``model_supports_jit``; tests/test_engines.py checks this stays so).
ENGINES: dict[str, dict] = {
    "float32": {"policy": "float32", "jit_compile": False},
    "mixed_bfloat16": {"policy": "mixed_bfloat16", "jit_compile": False},
}
TABLE = Path(__file__).with_name("engine_table.json")


def cpu_class(threads: int | None = None) -> str:
    """The key a table entry is measured for: CPU model, instruction set (and whether it has AVX-512 bfloat16), AMX,
    oneDNN's setting, threads per run (``default``: TensorFlow's, every core)."""
    from .config import threads_per_run
    from .results import cpu_flags, hardware

    hw, flags = hardware(), cpu_flags()
    isa = hw["isa"] + (" with BF16" if "avx512_bf16" in flags else "")
    amx = "AMX" if "amx_bf16" in flags else "no AMX"
    threads = threads if threads is not None else threads_per_run()
    return f"{hw['cpu']} | {isa} | {amx} | oneDNN {hw['onednn']} | threads {threads or 'default'}"


def table_path() -> Path:
    return Path(os.environ.get("EMNIST_ENGINE_TABLE") or TABLE)


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime: float) -> dict:
    try:
        table = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DataFormatError(f"engine table {path}: {err}. Rebuild it with `python benchmarks/engine_table.py "
                              f"--install`, or unset EMNIST_ENGINE_TABLE to use the packaged one") from err
    cpus = table.get("cpus") if isinstance(table, dict) else None
    well_formed = isinstance(cpus, dict) and all(
        isinstance(section, dict) and isinstance(section.get("families"), dict)
        and all(isinstance(entry, dict) for entry in section["families"].values()) for section in cpus.values())
    if not well_formed:
        raise DataFormatError(f"engine table {path}: expected {{\"cpus\": {{CPU class: {{\"families\": {{family: "
                              f"entry}}}}}}}}; rebuild it with `python benchmarks/engine_table.py --install`")
    return table


def load_table() -> dict:
    """The engine table (``{"cpus": {cpu class: {"families": {family: entry}}}}``); empty when there is none."""
    path = table_path()
    if not path.exists():
        if os.environ.get("EMNIST_ENGINE_TABLE"):
            raise DataFormatError(f"EMNIST_ENGINE_TABLE={path}: no such file; unset it or run "
                                  f"`python benchmarks/engine_table.py --install`")
        return {"cpus": {}}
    return _read(str(path), path.stat().st_mtime)


def chosen(entry: dict | None) -> str:
    """The engine a table entry allows: its ``pick`` when that was measured faster and within the accuracy spread."""
    if not entry:
        return DEFAULT
    name = entry.get("pick", DEFAULT)
    if name not in ENGINES:
        raise DataFormatError(f"engine table {table_path()}: unknown engine {name!r}; known: {sorted(ENGINES)}")
    if name != DEFAULT and not (entry.get("faster") and entry.get("accuracy_ok")):
        return DEFAULT
    return name


def check_choice(choice: str, what: str = "--engine") -> str:
    """``choice`` if it is ``table`` or an engine's name; else a ValueError naming it and the choices."""
    if choice not in ENGINES and choice != "table":
        raise ValueError(f"{what}={choice!r}: give float32 (the default), table (the measured table's pick for this "
                         f"CPU), or one of {sorted(ENGINES)}")
    return choice


def choice() -> str:
    """This process's ``EMNIST_ENGINE`` (``float32`` when unset), checked."""
    return check_choice(os.environ.get("EMNIST_ENGINE", DEFAULT).strip() or DEFAULT, "EMNIST_ENGINE")


def entries_here() -> dict[str, dict]:
    """The table's sections measured on this CPU model (any threads per run), by CPU class."""
    prefix = cpu_class().rsplit(" | threads ", 1)[0] + " | threads "
    return {cpu: section for cpu, section in load_table()["cpus"].items() if cpu.startswith(prefix)}


def pick(family: str | None) -> dict | None:
    """The engine a run of ``family`` (a model builder's name; None for a model built elsewhere, which keeps the
    precision it was built with) trains under on this CPU: None for the default (float32, XLA off), else
    ``{"policy", "jit_compile", "engine"}``."""
    if family is None:
        return None
    choice_ = choice()
    if choice_ == "table":
        choice_ = chosen(load_table()["cpus"].get(cpu_class(), {}).get("families", {}).get(family))
    return None if choice_ == DEFAULT else {**ENGINES[choice_], "engine": choice_}
