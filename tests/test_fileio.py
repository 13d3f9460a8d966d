"""Cache folders appear whole and are never pulled from under a reader (two workers filling one cache)."""

import os

from emnist_lib import synthetic
from emnist_lib.fileio import publish_folder


def _folder(path, marker="done.json", text="x"):
    path.mkdir(parents=True)
    (path / "data.bin").write_text(text)
    if marker:
        (path / marker).write_text("{}")
    return path


def test_a_finished_folder_another_process_published_is_kept(tmp_path):
    theirs = _folder(tmp_path / "entry", text="theirs")
    inode = os.stat(theirs / "data.bin").st_ino
    ours = _folder(tmp_path / "entry.tmp-1", text="ours")
    assert publish_folder(ours, tmp_path / "entry", "done.json") == tmp_path / "entry"
    assert (tmp_path / "entry" / "data.bin").read_text() == "theirs"
    assert os.stat(tmp_path / "entry" / "data.bin").st_ino == inode  # the very file its readers have open
    assert ours.exists()  # left for the caller's cleanup


def test_replace_swaps_a_finished_folder_and_an_unfinished_one_is_always_replaced(tmp_path):
    _folder(tmp_path / "entry", text="old")
    publish_folder(_folder(tmp_path / "new"), tmp_path / "entry", "done.json", replace=True)
    assert (tmp_path / "entry" / "data.bin").read_text() == "x"
    _folder(tmp_path / "broken", marker=None, text="half")
    publish_folder(_folder(tmp_path / "fresh", text="whole"), tmp_path / "broken", "done.json")
    assert (tmp_path / "broken" / "data.bin").read_text() == "whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "entry"]  # nothing set aside is left


def test_a_second_generation_of_the_same_synthetic_split_keeps_the_first(tmp_path, monkeypatch):
    """The race CI met: worker B finished generating after worker A had published and started reading, and
    removed A's folder ("no such IDX file")."""
    first = synthetic.ensure("digits", 20, 20, seed=0, root=tmp_path / "a", workers=1)
    generate = synthetic.generate
    published = {}

    def generate_while_another_worker_finishes(*args, **kwargs):
        if not published:  # the other worker publishes the same entry while this one is still generating
            target = tmp_path / "b" / first.name
            os.replace(first, target)
            published["reader"] = open(next(target.glob("*test-labels*")), "rb")  # noqa: SIM115 - held open
            published["inode"] = os.fstat(published["reader"].fileno()).st_ino
        return generate(*args, **kwargs)

    monkeypatch.setattr(synthetic, "generate", generate_while_another_worker_finishes)
    folder = synthetic.ensure("digits", 20, 20, seed=0, root=tmp_path / "b", workers=1)
    with published["reader"] as reader:
        labels = next(folder.glob("*test-labels*"))
        assert os.stat(labels).st_ino == published["inode"]  # the first worker's file, not replaced
        assert reader.read()
    assert not list((tmp_path / "b").glob(".*"))  # this worker's temporary folder is gone
