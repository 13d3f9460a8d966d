"""The command line as documented in the README."""

import json

from conftest import write_split

from emnist_lib.cli import main


def test_data_synth_writes_the_official_layout(tmp_path, capsys):
    assert main(["data", "synth", "--split", "digits", "--train", "20", "--test", "10", "--out", str(tmp_path)]) == 0
    folder = next(tmp_path.iterdir())
    assert (folder / "emnist-digits-train-images-idx3-ubyte.gz").exists() and str(folder) in capsys.readouterr().out


def test_data_info_json_names_the_source(capsys):
    code = main(["data", "info", "--split", "digits", "--source", "synthetic", "--synthetic-train", "20",
                 "--synthetic-test", "10", "--json"])
    info = json.loads(capsys.readouterr().out)
    assert code == 0 and info["splits"][0]["source"] == "synthetic" and info["splits"][0]["train_size"] == 20


def test_data_info_text_says_synthetic_loudly(capsys):
    main(["data", "info", "--split", "mnist", "--source", "synthetic", "--synthetic-train", "20", "--synthetic-test", "10"])
    assert "source=SYNTHETIC" in capsys.readouterr().out


def test_data_verify_exits_1_on_mismatch(isolated_dirs, capsys):
    write_split(isolated_dirs, "mnist")
    assert main(["data", "verify", "--data-dir", str(isolated_dirs)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_unknown_split_is_exit_2_with_a_message(capsys):
    assert main(["data", "info", "--split", "nope"]) == 2
    assert "unknown EMNIST split 'nope'" in capsys.readouterr().err


def test_fetch_offline_is_exit_2_with_instructions(isolated_dirs, capsys):
    code = main(["data", "fetch", "--split", "letters", "--mirror", "http://127.0.0.1:9/gzip.zip",
                 "--data-dir", str(isolated_dirs)])
    assert code == 2 and "put it, or its gzip/ files" in capsys.readouterr().err
