# %% [markdown]
# # gardengate from Python: the quickstart, a small sweep and an effect
#
# A percent-format script: open it as a notebook (jupytext), as cells in VS Code or Spyder, or
# run it: `python python/examples/quickstart.py`. Charts go to `output/python-examples/` when
# matplotlib is installed.

# %%
from pathlib import Path

import polars as pl

import gardengate as gg

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "output" / "python-examples"
OUT.mkdir(parents=True, exist_ok=True)
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the tables are still printed
    plt = None

# %% [markdown]
# ## The quickstart: wallet shares under walled gardens

# %%
sc = gg.Scenario.from_file(ROOT / "experiments" / "quickstart.toml")
steps = gg.run(sc)  # the rows of `gardengate run`'s steps.parquet, bit for bit
shares = [c for c in steps.columns if c.startswith("wallet_share__")]
print(steps.select(["step", "date", *shares]).tail(3))

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for c in shares:
        ax.plot(steps["date"].to_list(), steps[c].to_list(), label=c.removeprefix("wallet_share__"))
    ax.set(title="Wallet shares, quickstart", ylabel="share of payments")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(OUT / "quickstart_wallet_shares.png", dpi=100)

# %% [markdown]
# ## A small sweep: the commission τ, three values × 2 replicates, in memory

# %%
small = sc.with_({"steps": 120, "consumers.count": 20000})
rows = []
for tau in [0.05, 0.2, 0.35]:
    df = gg.run(small.with_(policy__tau=tau), replicates=2, progress=False)
    last = df.filter(pl.col("step") >= df["step"].max() - 29)
    rows.append({"tau": tau, **{c: last[c].mean() for c in shares}})
sweep = pl.DataFrame(rows)
print(sweep)

if plt is not None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for c in shares:
        ax.plot(sweep["tau"].to_list(), sweep[c].to_list(), marker="o", label=c.removeprefix("wallet_share__"))
    ax.set(title="Wallet shares (mean of the last 30 steps) by τ", xlabel="τ", ylabel="share")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "sweep_tau_wallet_shares.png", dpi=100)

# %% [markdown]
# ## An effect: links opened against walled, paired by seed
#
# The points of a sweep share their seeds (common random numbers), so the difference of two
# runs with the same replicate is the effect of opening the links. `run_plan` writes the out
# folder (`summary`, charts) as `gardengate run` does.

# %%
sweep_links = {"replicates": 3, "param": [{"path": "policy.links", "column": "links", "values": ["walled", "open"]}]}
links = gg.run_plan(small.with_({"sweep": sweep_links}), out=OUT / "links", force=True, progress=False)
s = links.steps
wide = s.filter(pl.col("links") == "open").select(
    "replicate", "step", "date", pl.col("hhi_wallet").alias("open")
).join(
    s.filter(pl.col("links") == "walled").select("replicate", "step", pl.col("hhi_wallet").alias("walled")),
    on=["replicate", "step"],
)
effect = (
    wide.with_columns((pl.col("open") - pl.col("walled")).alias("effect"))
    .group_by("step", maintain_order=True)
    .agg(pl.col("date").first(), pl.col("effect").mean(), pl.col("effect").std().alias("sd"))
    .sort("step")
)
print(effect.tail(3))
print(links.summary.select("point_label", "hhi_wallet_mean", "hhi_wallet_ci95"))

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 4))
    d, m, sd = effect["date"].to_list(), effect["effect"].to_numpy(), effect["sd"].to_numpy()
    ax.plot(d, m, label="open − walled (mean of 3 paired replicates)")
    ax.fill_between(d, m - sd, m + sd, alpha=0.3, label="± 1 sd")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set(title="Effect of opening links on the wallet HHI", ylabel="Δ HHI")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(OUT / "effect_links_hhi.png", dpi=100)
    print("charts in", OUT)
