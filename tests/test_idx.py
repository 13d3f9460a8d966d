import gzip

import numpy as np
import pytest

from emnist_lib.errors import DataFormatError
from emnist_lib.idx import read_idx, write_idx


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
def test_idx_roundtrip_gzip_and_plain(tmp_path, name):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, arr)
    np.testing.assert_array_equal(read_idx(tmp_path / name), arr)


def test_write_idx_is_byte_stable(tmp_path):
    arr = np.ones((5, 28, 28), np.uint8)
    write_idx(tmp_path / "a.gz", arr)
    write_idx(tmp_path / "b.gz", arr)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_wrong_magic_names_the_file(tmp_path):
    path = tmp_path / "bad-idx1-ubyte.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\x00\x00\x0d\x01" + b"\x00" * 8)  # 0x0d = float, not unsigned bytes
    with pytest.raises(DataFormatError, match="bad-idx1-ubyte.gz.*not an IDX file"):
        read_idx(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "t-idx3-ubyte.gz"
    write_idx(path, np.zeros((50, 28, 28), np.uint8) + 7)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataFormatError, match="t-idx3-ubyte.gz.*truncated or corrupt"):
        read_idx(path)


def test_header_promising_more_data_than_present(tmp_path):
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([10, 28, 28], ">u4").tobytes() + b"\x00" * 100)
    with pytest.raises(DataFormatError, match="promises 7840 bytes"):
        read_idx(path)


def test_failed_write_leaves_no_partial_file(tmp_path):
    with pytest.raises(ValueError):
        write_idx(tmp_path / "x.gz", np.zeros((2, 2), np.float32))
    assert list(tmp_path.iterdir()) == []
