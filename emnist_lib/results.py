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
from pathlib import Path

import numpy as np

from .fileio import write_text_atomic

FLOAT_DIGITS = 6


def _clean(obj):
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


@functools.lru_cache(maxsize=1)
def hardware() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = []
    try:
        import tensorflow as tf

        gpus = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
                for g in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 - hardware info is best effort
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpus": gpus, "platform": platform.platform()}


def make_record(name: str, *, notebook: str, data: dict, config: dict, seed: int, metrics: dict,
                history: dict | None = None, wall_time_s: float | None = None,
                images_per_s: float | None = None, extra: dict | None = None) -> dict:
    """Assemble a record; ``data`` is a dataset's provenance (``Dataset.provenance``)."""
    return _clean({
        "name": name, "notebook": notebook, "data": data, "synthetic": data.get("source") == "synthetic",
        "config": config, "seed": seed, "metrics": metrics, "history": history or {},
        "wall_time_s": wall_time_s, "images_per_s": images_per_s, "versions": versions(),
        "hardware": hardware(), "extra": extra or {},
    })


def write_record(folder: str | Path, record: dict) -> Path:
    """Write ``record`` to ``folder/<notebook>__<name>.json`` atomically; returns the path."""
    if not record.get("name") or not record.get("notebook"):
        raise ValueError("a record needs a 'name' and a 'notebook'")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in record["name"])
    path = Path(folder) / f"{record['notebook']}__{safe}.json"
    write_text_atomic(path, json.dumps(_clean(record), sort_keys=True, indent=1) + "\n")
    return path


def read_records(folder: str | Path) -> list[dict]:
    """Every record in ``folder`` (sorted by file name); a broken file is a clear error."""
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a valid result record ({exc}); delete it and rerun its notebook") from exc
    return out


def records_table(folder: str | Path):
    """Records flattened into a pandas DataFrame (one row per record, dotted column names)."""
    import pandas as pd

    records = read_records(folder)
    slim = [{k: v for k, v in r.items() if k not in ("history",)} for r in records]
    return pd.json_normalize(slim) if slim else pd.DataFrame()
