"""Python vs CLI on the quickstart: alternated runs, wall seconds, and bit identity.

    python python/benchmarks/overhead.py [ROUNDS]   # from the repository root, after
                                                    # cargo build --release and pip install ./python
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

import gardengate as gg

ROOT = Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "release" / "gardengate"
SC = ROOT / "experiments" / "quickstart.toml"
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
out = Path(tempfile.mkdtemp(prefix="gg-overhead-"))
cli_s, py_s = [], []
for k in range(rounds):
    t = time.perf_counter()
    subprocess.run([str(CLI), "run", str(SC), "--out", str(out), "--quiet", "--force", "--no-charts"], check=True)
    cli_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    df = gg.run(SC, progress=False)
    py_s.append(time.perf_counter() - t)
want = pl.read_parquet(out / "steps.parquet")
assert df.columns == want.columns and df.schema == want.schema and df.height == want.height
for c in df.columns:
    a, b = df[c], want[c]
    if a.dtype == pl.Float64:
        assert np.array_equal(a.to_numpy().view(np.uint64), b.to_numpy().view(np.uint64)), c
    else:
        assert a.equals(b), c
print(f"bit-identical: {df.height} rows x {df.width} columns")
print("CLI    s:", " ".join(f"{x:.2f}" for x in cli_s), f"(median {np.median(cli_s):.2f})")
print("Python s:", " ".join(f"{x:.2f}" for x in py_s), f"(median {np.median(py_s):.2f})")
print(f"Python/CLI median ratio: {np.median(py_s) / np.median(cli_s):.3f}")
print("last step's wallet shares:", df.select(pl.col("^wallet_share__.*$")).tail(1).to_dicts()[0])
