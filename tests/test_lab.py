"""`make lab`: JupyterLab and ipywidgets are installed, the notebooks' kernel is this project's
Python, and progress bars render as widgets there (and are hidden when EMNIST_PROGRESS=0)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from emnist_lib import config

WIDGET = "application/vnd.jupyter.widget-view+json"


def test_jupyterlab_and_the_project_kernel():
    import ipywidgets  # noqa: F401
    import jupyterlab  # noqa: F401
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    python = spec.argv[0]
    assert python in ("python", "python3", sys.executable) or Path(python).resolve() == Path(sys.executable).resolve()
    if python in ("python", "python3"):  # ipykernel's native spec: started with the server's own Python
        assert Path(sys.executable).parent == Path(sys.prefix) / "bin"
    makefile = (config.REPO_ROOT / "Makefile").read_text()
    assert "jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks" in makefile


def run_cell(code: str, progress: str) -> list[dict]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    env = {**os.environ, "EMNIST_PROGRESS": progress}
    old = dict(os.environ)
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nb.cells[0].outputs


@pytest.mark.slow
def test_progress_bars_are_widgets_in_a_kernel_and_hidden_when_asked():
    code = "from emnist_lib import config\nfor _ in config.progress(range(3), desc='runs'): pass\nprint('done')"
    shown = run_cell(code, "1")
    assert any(WIDGET in o.get("data", {}) for o in shown), shown
    hidden = run_cell(code, "0")
    assert not any(WIDGET in o.get("data", {}) for o in hidden) and hidden[-1]["text"] == "done\n"
