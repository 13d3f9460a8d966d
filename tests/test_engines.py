"""Issue 23: the engine (precision, XLA) a run trains under on a CPU comes from a measured table, per CPU class and
model family, and a lever that changes numerics is never silent (cache key, record) nor picked without an accuracy
check."""

from __future__ import annotations

import importlib.util
import json
import os

import keras
import pytest

from emnist_lib import config, engines, training
from emnist_lib.errors import DataFormatError
from emnist_lib.training import TrainConfig, train

CFG = TrainConfig(epochs=1, batch_size=32, validation_fraction=0.0)


def table(tmp_path, monkeypatch, families: dict, cpu: str | None = None) -> None:
    path = tmp_path / "engine_table.json"
    path.write_text(json.dumps({"cpus": {cpu or engines.cpu_class(): {"families": families}}}))
    monkeypatch.setenv("EMNIST_ENGINE_TABLE", str(path))
    monkeypatch.setenv("EMNIST_ENGINE", "table")


KEPT = {"pick": "mixed_bfloat16", "faster": True, "accuracy_ok": True}


def test_a_measured_faster_engine_that_kept_accuracy_is_picked_for_its_family_on_this_cpu_only(tmp_path, monkeypatch):
    table(tmp_path, monkeypatch, {"mlp": KEPT})
    assert engines.pick("mlp") == {"policy": "mixed_bfloat16", "jit_compile": False, "engine": "mixed_bfloat16"}
    assert engines.pick("cnn") is None  # a family the table does not hold
    assert engines.pick(None) is None  # a model built elsewhere
    table(tmp_path, monkeypatch, {"mlp": KEPT}, cpu="another CPU | AVX-512 | AMX | threads 1")
    assert engines.pick("mlp") is None  # another machine's measurement is never inherited


@pytest.mark.parametrize("entry", [{**KEPT, "accuracy_ok": False}, {**KEPT, "accuracy_ok": None},
                                   {**KEPT, "faster": False}, {"pick": "mixed_bfloat16"}])
def test_an_engine_that_was_not_faster_or_failed_the_accuracy_check_is_not_picked(tmp_path, monkeypatch, entry):
    table(tmp_path, monkeypatch, {"mlp": entry})
    assert engines.pick("mlp") is None


def test_the_table_is_opted_into_and_engines_can_be_forced_bad_values_named(tmp_path, monkeypatch):
    """The default trains float32 whatever the table says (the committed reports were built so); ``table`` opts in."""
    table(tmp_path, monkeypatch, {"mlp": KEPT})
    monkeypatch.delenv("EMNIST_ENGINE")
    assert engines.pick("mlp") is None
    monkeypatch.setenv("EMNIST_ENGINE", "float32")
    assert engines.pick("mlp") is None
    monkeypatch.setenv("EMNIST_ENGINE", "mixed_bfloat16")
    assert engines.pick("cnn") == {"policy": "mixed_bfloat16", "jit_compile": False, "engine": "mixed_bfloat16"}
    monkeypatch.setenv("EMNIST_ENGINE", "fp8")
    with pytest.raises(ValueError, match=r"EMNIST_ENGINE='fp8': give float32 .*mixed_bfloat16"):
        engines.pick("mlp")
    table(tmp_path, monkeypatch, {"mlp": {**KEPT, "pick": "int4"}})
    with pytest.raises(DataFormatError, match=r"engine_table.json: unknown engine 'int4'"):
        engines.pick("mlp")
    for broken in ({}, {"cpus": []}, {"cpus": {"x": {"families": {"mlp": "mixed_bfloat16"}}}}):
        (tmp_path / "malformed.json").write_text(json.dumps(broken))
        monkeypatch.setenv("EMNIST_ENGINE_TABLE", str(tmp_path / "malformed.json"))
        with pytest.raises(DataFormatError, match=r"malformed.json: expected \{\"cpus\""):
            engines.pick("mlp")
    bad = tmp_path / "broken.json"
    bad.write_text('{"cpus": {')
    monkeypatch.setenv("EMNIST_ENGINE_TABLE", str(bad))
    with pytest.raises(DataFormatError, match=r"broken.json.*engine_table.py --install"):
        engines.pick("mlp")
    monkeypatch.setenv("EMNIST_ENGINE_TABLE", str(tmp_path / "absent.json"))
    with pytest.raises(DataFormatError, match=r"absent.json: no such file"):
        engines.pick("mlp")


def test_a_picked_engine_trains_the_run_is_in_its_key_and_record_and_restores_the_policy(toy, tmp_path, monkeypatch):
    from emnist_lib.results import make_record

    x, y = toy
    monkeypatch.setenv("EMNIST_ENGINE", "float32")
    plain = train("chollet_dense", x, y, 10, CFG, verbose=0)
    assert plain.engine is None
    table(tmp_path, monkeypatch, {"chollet_dense": KEPT})
    before = keras.mixed_precision.global_policy().name
    picked = train("chollet_dense", x, y, 10, CFG, verbose=0)
    assert picked.key != plain.key and not picked.cache_hit
    assert picked.engine == {"policy": "mixed_bfloat16", "jit_compile": False, "engine": "mixed_bfloat16"}
    dense = [layer for layer in picked.model.layers if isinstance(layer, keras.layers.Dense)][0]
    assert dense.compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == before
    assert make_record("r", notebook="01_x", data={}, config={}, seed=0, metrics={},
                       engine=picked.engine)["hardware"]["engine"]["engine"] == "mixed_bfloat16"
    assert train("chollet_dense", x, y, 10, CFG, verbose=0).cache_hit  # the same engine finds its own model


def test_xla_is_no_engine_because_keras_turns_it_off_under_op_determinism(toy):
    """Why engines.ENGINES has no XLA engine: every run enables op determinism (training.set_seed), and Keras then
    compiles without XLA even when asked (the first table's "+xla" arms ran without it). If a Keras release lifts
    this, this test fails and XLA engines can be measured again."""
    import warnings

    from emnist_lib import models

    training.set_seed(0)
    model = models.build("chollet_dense", 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    assert model.jit_compile is False and any("jit_compile" in str(w.message) for w in caught)
    assert not any(e["jit_compile"] for e in engines.ENGINES.values())


def test_a_model_built_elsewhere_records_the_precision_its_layers_carry(toy, monkeypatch):
    """Chapter 07's transfer models are built from a source model: under ENGINE=table a bfloat16 source gives a
    bfloat16 base and a float32 head, and the record says so instead of claiming float32 or the forced engine."""
    from emnist_lib import models

    x, y = toy
    monkeypatch.setenv("EMNIST_ENGINE", "mixed_bfloat16")
    source = train("chollet_dense", x, y, 10, CFG, verbose=0, use_cache=False)
    assert source.engine["policy"] == "mixed_bfloat16"
    tuned = train(models.transfer(source.model, 10), x, y, cfg=CFG, verbose=0)
    assert tuned.engine == {"policy": "float32+mixed_bfloat16", "jit_compile": False, "engine": "as built"}
    monkeypatch.setenv("EMNIST_ENGINE", "float32")
    plain = train(models.transfer(train("chollet_dense", x, y, 10, CFG, verbose=0).model, 10), x, y, cfg=CFG,
                  verbose=0)
    assert plain.engine is None


def test_the_packaged_table_holds_only_checked_picks():
    """Every family's pick in the committed table is a known engine; one other than float32 was measured faster and
    within the accuracy spread, with its measurements beside it."""
    if not engines.TABLE.exists():
        pytest.skip("no packaged engine table (benchmarks/engine_table.py --install)")
    data = json.loads(engines.TABLE.read_text())
    assert data["cpus"]
    for cpu, section in data["cpus"].items():
        assert section["hardware"]["cpu"] in cpu and section["families"]
        for family, entry in section["families"].items():
            assert entry["pick"] in engines.ENGINES and "float32" in entry["engines"]
            if entry["pick"] != "float32":
                checks = [c for c in entry["accuracy_checks"] if c["engine"] == entry["pick"]]
                assert entry["faster"] and entry["accuracy_ok"] and checks and checks[-1]["ok"], (cpu, family)
                low, high = checks[-1]["ci95"]
                assert -checks[-1]["margin"] <= low <= high <= checks[-1]["margin"], (cpu, family)
                for earlier in checks[:-1]:  # a confirmation follows only an inconclusive check, on new seeds
                    assert earlier["ci95"][0] <= 0 <= earlier["ci95"][1] and checks[-1]["confirms"], (cpu, family)
                    assert checks[-1]["first_seed"] >= earlier.get("first_seed", 0) + earlier["seeds"], (cpu, family)


def _bench():
    path = config.REPO_ROOT / "benchmarks" / "engine_table.py"
    spec = importlib.util.spec_from_file_location("engine_table_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_calls_an_engine_faster_only_when_it_won_every_round_by_the_margin():
    bench = _bench()
    m = {"float32": {"ratio": [1, 1]}, "mixed_bfloat16": {"ratio": [1.2, 1.3]}, "float32+xla": {"ratio": [0.5, 0.6]},
         "mixed_bfloat16+xla": {"ratio": [1.1, 1.2]}}
    assert bench.faster_engines(m, 0.10) == ["mixed_bfloat16", "mixed_bfloat16+xla"]
    m["mixed_bfloat16"]["ratio"] = [0.95, 1.6]  # lost one round
    m["mixed_bfloat16+xla"]["ratio"] = [1.05, 1.08]  # under the margin
    assert bench.fastest(m, 0.10) is None
    assert bench.entry(m, 0.10, [])["pick"] == "float32"


def test_the_benchmarks_accuracy_check_is_an_equivalence_test_that_fails_a_shifted_or_noisy_engine():
    bench = _bench()
    base = [0.800, 0.810, 0.805]
    assert bench.equivalent(base, [0.802, 0.809, 0.806], 0.02)["ok"]
    shifted = bench.equivalent(base, [0.775, 0.786, 0.779], 0.02)  # 2.5 points lower on every seed
    assert not shifted["ok"] and shifted["ci95"][1] < 0
    noisy = bench.equivalent(base, [0.830, 0.780, 0.812], 0.02)  # no shift shown, but none ruled out either
    assert noisy["ci95"][0] < 0 < noisy["ci95"][1] and not noisy["ok"]
    m = {"float32": {"ratio": [1, 1]}, "mixed_bfloat16": {"ratio": [1.3, 1.3]}, "mixed_bfloat16+xla": {"ratio": [1.2, 1.2]}}
    assert bench.entry(m, 0.10, [{"engine": "mixed_bfloat16", **shifted}])["pick"] == "float32"
    second = bench.entry(m, 0.10, [{"engine": "mixed_bfloat16", **shifted}, {"engine": "mixed_bfloat16+xla", "ok": True}])
    assert second["pick"] == "mixed_bfloat16+xla" and second["fastest"] == "mixed_bfloat16"


def test_report_refuses_an_unknown_engine_before_any_notebook_runs(tmp_path, monkeypatch, capsys):
    from emnist_lib import cli

    monkeypatch.delenv("EMNIST_ENGINE", raising=False)
    monkeypatch.setenv("EMNIST_OUTPUT_DIR", str(tmp_path / "out"))
    assert cli.main(["report", "--profile", "smoke", "--engine", "bf8"]) == 2
    err = capsys.readouterr()
    assert "--engine='bf8': give float32" in err.err and "[smoke] 00_data" not in err.out
    assert not (tmp_path / "out").exists() and "EMNIST_ENGINE" not in os.environ
    monkeypatch.setenv("EMNIST_ENGINE_TABLE", "no_such_table.json")  # relative: the kernels would not find it
    assert cli.main(["report", "--profile", "smoke", "--engine", "table"]) == 2
    err = capsys.readouterr()
    assert "no_such_table.json: no such file" in err.err and "[smoke] 00_data" not in err.out
    assert os.environ["EMNIST_ENGINE_TABLE"] == "no_such_table.json" and "EMNIST_ENGINE" not in os.environ


def test_a_report_built_under_another_engine_choice_says_so_and_a_default_one_is_unchanged(tmp_path, monkeypatch):
    """Every record of a build with ENGINE=table carries the choice (results.here), and the report's header and
    environment line name it; a float32 build's report does not mention engines at all (the committed reports)."""
    from records_factory import whole_study

    from emnist_lib.report import render_markdown

    monkeypatch.delenv("EMNIST_ENGINE", raising=False)
    whole_study(tmp_path / "plain")
    plain, _ = render_markdown(tmp_path / "plain", "quick")
    assert "engine" not in plain.split("\n## ", 1)[0].lower() and "Engine choice" not in plain
    monkeypatch.setenv("EMNIST_ENGINE", "table")
    whole_study(tmp_path / "table")
    table_text, _ = render_markdown(tmp_path / "table", "quick")
    assert "engine table (each record names its run's precision)" in table_text
    assert "Engine choice (ENGINE=): table;" in table_text


def test_an_inconclusive_accuracy_check_is_confirmed_on_new_seeds_and_a_shift_is_final(tmp_path, monkeypatch):
    """``--confirm``: a failed check whose interval holds zero is checked once more on seeds no check used; the pick
    follows the new check, both stay in the entry; a check that showed a shift is never checked again."""
    import argparse

    bench = _bench()
    cpu = "Some CPU | threads 1"
    fast = {"float32": {"ratio": [1, 1]}, "mixed_bfloat16": {"ratio": [2.0, 3.3]}}
    how = {"engine": "mixed_bfloat16", "seeds": 3, "epochs": 5, "data": "synthetic", "n_train": 100}
    noisy = {**how, **bench.equivalent([0.80, 0.81, 0.80], [0.83, 0.78, 0.81], 0.02)}
    shifted = {**how, **bench.equivalent([0.80, 0.81, 0.80], [0.775, 0.786, 0.779], 0.02)}
    table = {"cpus": {cpu: {"min_gain": 0.1, "margin": 0.02, "families": {
        "chollet_convnet": bench.entry(fast, 0.1, [noisy]), "cnn": bench.entry(fast, 0.1, [shifted])}}}}
    path = tmp_path / "table.json"
    path.write_text(json.dumps(table))
    asked = []

    def check(family, engine, seeds, epochs, threads, source, margin, first_seed=0, spread=0.001):
        asked.append((family, first_seed, seeds, epochs))
        acc = {"float32": [0.80 + 0.001 * i for i in range(seeds)],
               engine: [0.80 + 0.001 * i + spread * (-1) ** i for i in range(seeds)]}
        return {"engine": engine, "seeds": seeds, "first_seed": first_seed, "epochs": epochs, "data": source,
                "n_train": 100, "accuracy": acc, **bench.equivalent(acc["float32"], acc[engine], margin)}

    monkeypatch.setattr(bench, "accuracy_check", check)
    args = argparse.Namespace(seeds=6, acc_epochs=9, argv=["--confirm"])  # the stored check's 5 epochs, not these
    with pytest.raises(SystemExit, match="ran on 'synthetic' data, this machine has 'nist-pool'"):
        bench.confirm(path, cpu, ["chollet_convnet"], args, 1, "nist-pool")
    done = bench.confirm(path, cpu, ["chollet_convnet", "cnn"], args, 1, "synthetic")
    assert asked == [("chollet_convnet", 3, 6, 5)] and set(done) == {"chollet_convnet"}
    stored = json.loads(path.read_text())["cpus"][cpu]["families"]
    assert [c["ok"] for c in stored["chollet_convnet"]["accuracy_checks"]] == [False, True]
    assert stored["chollet_convnet"]["pick"] == "mixed_bfloat16" and stored["cnn"]["pick"] == "float32"
    assert bench.confirm(path, cpu, ["chollet_convnet"], args, 1, "synthetic") == {}  # picked: nothing to confirm
    # An inconclusive confirmation is final too: no third look.
    table["cpus"][cpu]["families"]["chollet_convnet"] = bench.entry(fast, 0.1, [noisy, {**noisy, "confirms": True}])
    path.write_text(json.dumps(table))
    assert bench.confirm(path, cpu, ["chollet_convnet"], args, 1, "synthetic") == {} and len(asked) == 1
    with pytest.raises(SystemExit, match="no entry for 'Other CPU'"):
        bench.confirm(path, "Other CPU", ["cnn"], args, 1, "synthetic")
