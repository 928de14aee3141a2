# %% [markdown]
# # A SALib design driving gardengate
#
# SALib draws a Saltelli design; each sample becomes a scenario by `with_` (the dotted paths
# of sweeps) and runs in memory; SALib's Sobol' analysis reads one scalar per run (the wallet
# HHI, mean of the last 20 steps). gardengate can also draw and analyse designs itself
# (`[design]` in a scenario file, see the README); this shows the route for any external
# sampler (SALib, EMA Workbench, your own loop). `python python/examples/salib_design.py`

# %%
from pathlib import Path

import numpy as np

import gardengate as gg

try:
    from SALib.analyze import sobol
    from SALib.sample import sobol as sobol_sample
except ImportError as e:
    raise SystemExit(f"this example needs SALib: pip install SALib ({e})")

ROOT = Path(__file__).resolve().parents[2]
base = gg.Scenario.from_file(ROOT / "experiments" / "quickstart.toml").with_(
    {"steps": 60, "consumers.count": 3000, "summary_last_steps": 20}
)
problem = {
    "num_vars": 3,
    "names": ["policy.tau", "revision.gamma_wallet", "links.share_prob"],
    "bounds": [[0.05, 0.35], [1.0, 5.0], [0.02, 0.2]],
}
X = sobol_sample.sample(problem, 8, calc_second_order=False, seed=1)  # 8 × (3 + 2) = 40 runs


def model(x: np.ndarray) -> float:
    """One run of the sample x: the wallet HHI, mean of the last 20 steps."""
    sc = base.with_(dict(zip(problem["names"], map(float, x))))
    steps = gg.run(sc, progress=False)
    return float(steps["hhi_wallet"].tail(20).mean())


Y = np.array([model(x) for x in X])
Si = sobol.analyze(problem, Y, calc_second_order=False, seed=1)
for name, s1, st in zip(problem["names"], Si["S1"], Si["ST"]):
    print(f"{name:24s} S1 {s1:+.3f}  ST {st:+.3f}")
