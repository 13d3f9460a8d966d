"""Run every benchmark in turn (make bench)."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
for script in ("bench_data.py", "bench_synthetic.py", "bench_training.py"):
    print(f"\n## {script}\n", flush=True)
    subprocess.run([sys.executable, str(here / script)], check=True)
