"""Result records: one JSON file per training or evaluation run, and a reader.

A record holds the config, the data provenance (real or synthetic, split,
sizes, checksums or generator version), the seed, package versions, hardware,
metrics, history, wall time and throughput. Keys are sorted and floats
rounded, so records diff cleanly. The report is built from records only.
"""

from __future__ import annotations

import functools
import json
import os
import platform
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np

from .config import threads_per_run
from .convergence import Convergence, Status
from .engines import DEFAULT as DEFAULT_ENGINE
from .engines import choice as engine_choice
from .fileio import write_text_atomic
from .recipe import Recipe

FLOAT_DIGITS = 6


def _clean(obj):
    if isinstance(obj, Convergence):
        return _clean(obj.to_dict())
    if isinstance(obj, Budget):
        return _clean(asdict(obj))
    if isinstance(obj, Status):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return None if not np.isfinite(value) else round(value, FLOAT_DIGITS)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    return obj


@functools.lru_cache(maxsize=1)
def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn", "emnist_lib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def instruction_set(flags: set[str]) -> str:
    """The widest x86 vector instruction set among a CPU's flags: what decides which kernels oneDNN runs,
    so the same seed gives the same numbers only on the same one (AVX-512 and AVX2 machines differ)."""
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags:
        return "AVX2"
    if "avx" in flags:
        return "AVX"
    return "SSE" if "sse2" in flags else platform.machine()


def onednn_setting() -> str:
    """oneDNN's switch in TensorFlow (``TF_ENABLE_ONEDNN_OPTS``; on by default on x86 since TF 2.9)."""
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if value is None:
        return "on (default)" if platform.machine() in ("x86_64", "AMD64") else "off (default)"
    return "off" if value.strip() in ("0", "false", "False") else "on"


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` line's value in ``/proc/cpuinfo`` (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``avx512f``, ``avx512_bf16``, ``amx_bf16``, ...); empty where unknown."""
    return frozenset((_cpuinfo("flags") or "").split())


@functools.lru_cache(maxsize=1)
def hardware() -> dict:
    cpu = _cpuinfo("model name") or platform.processor() or platform.machine()
    flags = cpu_flags()
    gpus = []
    try:
        import tensorflow as tf

        gpus = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                for g in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - hardware info is best effort
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpus": gpus, "platform": platform.platform(),
            "isa": instruction_set(flags), "onednn": onednn_setting()}


def here() -> dict:
    """This process's machine as a record states it: :func:`hardware` and the threads each run is pinned to, and the
    engine choice (``EMNIST_ENGINE``) when it is not the default float32: then every record of the build says so, its
    own run's engine (``engine``) beside it where one trained."""
    engine = engine_choice()
    return {**hardware(), "threads": threads_per_run() or "default",
            **({"engine_choice": engine} if engine != DEFAULT_ENGINE else {})}


def make_record(name: str, *, notebook: str, data: dict, config: dict, seed: int, metrics: dict,
                history: dict | None = None, wall_time_s: float | None = None,
                images_per_s: float | None = None, extra: dict | None = None, group: str | None = None,
                variant: str | None = None, budget: dict | None = None, convergence: dict | None = None,
                machine: dict | None = None, engine: dict | None = None) -> dict:
    """Assemble a record; ``data`` is a dataset's provenance (``Dataset.provenance``).

    ``group``/``variant`` place a run in a comparison (one record per seed of a variant);
    ``budget`` and ``convergence`` come from :class:`~emnist_lib.training.TrainResult`, and so do ``machine``,
    the machine the run trained on (a cluster worker's, not this process's; this process's when None), and
    ``engine``, its precision policy and XLA setting when not the CPU default (recorded under ``hardware.engine``)."""
    rec = {
        "name": name, "notebook": notebook, "data": data, "synthetic": data.get("source") == "synthetic",
        "config": config, "seed": seed, "metrics": metrics, "history": history or {},
        "wall_time_s": wall_time_s, "images_per_s": images_per_s, "versions": versions(),
        "hardware": {**(machine or here()), **({"engine": engine} if engine else {})}, "extra": extra or {},
    }
    for key, value in (("group", group), ("variant", variant), ("budget", budget), ("convergence", convergence)):
        if value is not None:
            rec[key] = value
    return _clean(rec)


def pack_correct(correct) -> str:
    """A boolean vector (which test images a model got right) as compact base64, for paired tests."""
    import base64

    bits = np.packbits(np.asarray(correct, bool))
    return base64.b64encode(bits.tobytes()).decode("ascii")


def unpack_correct(text: str, n: int) -> np.ndarray:
    """The inverse of :func:`pack_correct` for ``n`` test images."""
    import base64

    bits = np.frombuffer(base64.b64decode(text), np.uint8)
    return np.unpackbits(bits)[:n].astype(bool)


def record_path(folder: str | Path, notebook: str, name: str) -> Path:
    """Where the record ``name`` of ``notebook`` lives: ``folder/<notebook>__<name>.json`` (the name made file-safe)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return Path(folder) / f"{notebook}__{safe}.json"


def write_record(folder: str | Path, record: dict) -> Path:
    """Write ``record`` to :func:`record_path` atomically; returns the path."""
    if not record.get("name") or not record.get("notebook"):
        raise ValueError("a record needs a 'name' and a 'notebook'")
    path = record_path(folder, record["notebook"], record["name"])
    write_text_atomic(path, json.dumps(_clean(record), sort_keys=True, indent=1) + "\n")
    return path


class RecordError(ValueError):
    """A result record is unreadable or lacks a field the report needs."""


def field(record: dict, path: str, default=KeyError):
    """``record`` (a record's JSON object) at a dotted ``path``; a missing field raises
    :class:`RecordError` naming the record file (``record["_path"]``) unless a ``default`` is given."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            if default is not KeyError:
                return default
            where = record.get("_path") or f"record {record.get('notebook')}__{record.get('name')}"
            raise RecordError(f"{where}: result record lacks the field '{path}' that the report needs; "
                              "rerun the notebook that wrote it (python -m emnist_lib report --notebooks NN)")
        value = value[part]
    return value


# --------------------------------------------------------------------------- typed records
@dataclass(frozen=True)
class Provenance:
    """Where a record's data came from: its source (``synthetic``, ``nist``, ``mnist``, ...),
    the split, the numbers of training and test images used, and the source's own details
    (files and sha256, generator version, subset seed) in ``details``."""

    source: str
    split: str
    n_train: int
    n_test: int
    details: dict

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def generator_version(self) -> str | None:
        """The synthetic generator's version (EMNIST splits keep it under ``generator``; the
        AlphaDigits stand-in at the top level)."""
        return (self.details.get("generator") or {}).get("generator_version") or self.details.get("generator_version")

    @classmethod
    def parse(cls, data: dict, record: dict) -> Provenance:
        return cls(field(record, "data.source"), field(record, "data.split"), int(field(record, "data.n_train")),
                   int(field(record, "data.n_test")), data)


@dataclass(frozen=True)
class Budget:
    """A training run's budget: epochs of its training images, optimizer steps, images seen."""

    epochs: int
    steps_per_epoch: int
    steps: int
    images: int
    train_images: int
    batch_size: int
    schedule: str


@dataclass(frozen=True)
class RecordKey:
    """Where another chapter's result is: its notebook and either a record ``name`` or a run's ``group`` and
    ``variant`` (and ``seed``; None: any). Chapters export the keys of what they offer (``c04.SELECTED_CNN``),
    so no chapter pieces another's record names together."""

    notebook: str
    name: str | None = None
    group: str | None = None
    variant: str | None = None
    seed: int | None = None

    def matches(self, record: Record) -> bool:
        return (record.notebook == self.notebook and (self.name is None or record.name == self.name)
                and (self.group is None or record.group == self.group)
                and (self.variant is None or record.variant == self.variant)
                and (self.seed is None or record.seed == self.seed))


@dataclass(frozen=True)
class Record:
    """One result record, read back (:func:`read_records`): what the analysis, the report's
    findings and the model cards use. ``metrics``, ``config`` and ``extra`` stay mappings: their
    keys are each notebook's own (its chapter module names them)."""

    name: str
    notebook: str
    data: Provenance
    config: dict
    seed: int
    metrics: dict
    versions: dict
    hardware: dict
    history: dict = dataclass_field(default_factory=dict)
    extra: dict = dataclass_field(default_factory=dict)
    group: str | None = None
    variant: str | None = None
    budget: Budget | None = None
    convergence: Convergence | None = None
    wall_time_s: float | None = None
    images_per_s: float | None = None
    path: str = ""

    @property
    def synthetic(self) -> bool:
        return self.data.synthetic

    @property
    def where(self) -> str:
        return self.path or f"record {self.notebook}__{self.name}"

    def metric(self, key: str, default=KeyError):
        """``metrics[key]``; a missing metric is a :class:`RecordError` naming the file (or ``default``)."""
        if key in self.metrics and self.metrics[key] is not None:
            return self.metrics[key]
        if default is not KeyError:
            return default
        raise RecordError(f"{self.where}: result record lacks the metric '{key}' that the report needs; rerun "
                          "the notebook that wrote it (python -m emnist_lib report --notebooks NN)")

    @property
    def recipe(self) -> Recipe:
        """The recipe this record's run trained (its ``config`` read back), named after its variant and
        originating where its ``extra["from"]`` says."""
        return Recipe.from_config(self.config, name=self.variant or self.name, origin=self.extra.get("from", ""))

    @property
    def status(self) -> Status:
        """The convergence status; a record without a verdict is a :class:`RecordError`."""
        if self.convergence is None:
            raise RecordError(f"{self.where}: result record lacks the field 'convergence' that the report needs")
        return self.convergence.status

    @classmethod
    def parse(cls, raw: dict, path: str = "") -> Record:
        """A record from its JSON object; a missing required field is a :class:`RecordError`."""
        raw = {**raw, "_path": path or raw.get("_path", "")}
        for required in REQUIRED_FIELDS:
            field(raw, required)
        budget = raw.get("budget")
        conv = raw.get("convergence")
        try:
            return cls(name=raw["name"], notebook=raw["notebook"], data=Provenance.parse(raw["data"], raw),
                       config=raw["config"], seed=int(raw["seed"]), metrics=raw["metrics"],
                       versions=raw["versions"], hardware=raw["hardware"], history=raw.get("history") or {},
                       extra=raw.get("extra") or {}, group=raw.get("group"), variant=raw.get("variant"),
                       budget=Budget(**budget) if budget else None,
                       convergence=Convergence.from_dict(conv) if conv else None, wall_time_s=raw.get("wall_time_s"),
                       images_per_s=raw.get("images_per_s"), path=raw["_path"])
        except TypeError as exc:  # a budget or verdict with unknown or missing fields
            raise RecordError(f"{raw['_path'] or raw['name']}: malformed result record ({exc}); rerun the "
                              "notebook that wrote it") from exc


REQUIRED_FIELDS = ("name", "notebook", "data.source", "data.split", "data.n_train", "data.n_test", "config", "seed",
                   "metrics", "versions", "hardware")


def read_record(path: str | Path) -> Record:
    """The record in ``path``; a file that is not JSON, or lacks one of :data:`REQUIRED_FIELDS`, is a
    :class:`RecordError` naming the file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path}: not a valid result record ({exc}); delete it and rerun its notebook") from exc
    if not isinstance(raw, dict):
        raise RecordError(f"{path}: not a result record (a JSON object); delete it and rerun its notebook")
    return Record.parse(raw, str(path))


def read_records(folder: str | Path) -> list[Record]:
    """Every record in ``folder`` (sorted by file name), each read by :func:`read_record`."""
    return [read_record(path) for path in sorted(Path(folder).glob("*.json"))]


def records_table(folder: str | Path):
    """Records flattened into a pandas DataFrame (one row per record, dotted column names)."""
    import pandas as pd

    records = read_records(folder)
    slim = [{k: v for k, v in asdict(r).items() if k not in ("history", "path")} for r in records]
    return pd.json_normalize(slim) if slim else pd.DataFrame()
