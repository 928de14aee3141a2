"""The Python package against the command line: same diagnostics, same bits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import gardengate as gg

# A quickstart small enough for CI (the same world, fewer consumers and steps).
SMALL = {"steps": 40, "consumers.count": 6000}


def same_bits(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Equal column names, types and every value bit for bit (floats compared as u64 bits,
    so -0.0 != 0.0 and NaN payloads count)."""
    assert a.columns == b.columns
    assert a.schema == b.schema
    assert a.height == b.height
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype in (pl.Float64, pl.Float32):
            xa, ya = x.to_numpy(), y.to_numpy()
            assert np.array_equal(xa.view(np.uint64 if xa.dtype == np.float64 else np.uint32),
                                  ya.view(np.uint64 if ya.dtype == np.float64 else np.uint32)), c
        else:
            assert x.equals(y), c


def test_load_file(root: Path) -> None:
    sc = gg.Scenario.from_file(root / "experiments" / "quickstart.toml")
    assert sc.name == "quickstart"
    assert sc.steps == 365
    assert len(sc.labels) == 1
    runs = sc.runs()
    assert len(runs) == 1 and runs[0][:3] == (0, 0, 0)
    # --seed changes the run seed, as on the command line.
    assert sc.runs(seed=2)[0][3] != runs[0][3]
    assert len(sc.runs(replicates=3)) == 3


def test_dict_round_trip(root: Path) -> None:
    sc = gg.Scenario.from_file(root / "experiments" / "quickstart.toml")
    d = sc.to_dict()
    assert d["consumers"]["count"] == 100000
    assert d["policy"]["links"] == "walled"
    again = gg.Scenario.from_dict(d)
    assert again.to_dict() == d
    assert again.runs() == sc.runs()
    # with_: dotted paths as in sweeps, as a dict or as keywords (`__` for the dot).
    w = sc.with_({"revision.primary_switch": 0.5}, policy__tau=0.3, steps=10)
    wd = w.to_dict()
    assert wd["revision"]["primary_switch"] == 0.5
    assert wd["policy"]["tau"] == 0.3 and wd["steps"] == 10 and w.steps == 10
    assert sc.to_dict() == d  # the original is unchanged


def test_error_has_line_key_and_suggestion(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text('name = "bad"\nsteps = 10\n\n[consumers]\ncount = 1000\nhome_bais = 3.0\n')
    with pytest.raises(gg.ScenarioError) as e:
        gg.Scenario.from_file(f)
    p = e.value.problems[0]
    assert p["file"] == str(f)
    assert p["line"] == 6
    assert "home_bais" in p["key"] or "home_bais" in p["message"]
    assert "home_bias" in (p["suggestion"] or "")
    assert "bad.toml:6" in str(e.value)
    # A value out of range, from a dict.
    with pytest.raises(gg.ScenarioError) as e:
        gg.Scenario.from_dict({"steps": 10, "policy": {"tau": -1.0}})
    assert e.value.problems[0]["key"] == "policy.tau"
    assert e.value.problems[0]["line"] is not None
    # An override path that does not exist names the nearest entity.
    with pytest.raises(gg.ScenarioError) as e:
        gg.Scenario.from_dict({"steps": 10}).with_({"platforms.taobaoo.commission": 0.1})
    assert "taobao" in (e.value.problems[0]["suggestion"] or "")
    with pytest.raises(ValueError):
        gg.Scenario.from_dict({"steps": None})


def test_run_equals_cli_parquet(root: Path, cli: Path, tmp_path: Path) -> None:
    sc = gg.Scenario.from_file(root / "experiments" / "quickstart.toml").with_(SMALL)
    f = tmp_path / "small.toml"
    f.write_text(sc.to_toml())
    out = tmp_path / "out"
    subprocess.run(
        [str(cli), "run", str(f), "--out", str(out), "--seed", "7", "--replicates", "2",
         "--quiet", "--no-charts"],
        check=True,
    )
    want = pl.read_parquet(out / "steps.parquet")
    got = gg.run(sc, seed=7, replicates=2, threads=2, progress=False)
    assert got.height == 2 * 40
    same_bits(got, want)
    # The thread count does not change a bit.
    same_bits(gg.run(sc, seed=7, replicates=2, threads=1, progress=False), want)
    # pandas receives the same values.
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    p = got.to_pandas()
    ref = pd.read_parquet(out / "steps.parquet")
    assert list(p.columns) == list(ref.columns)
    for c in ref.columns:
        if ref[c].dtype.kind == "f":
            assert np.array_equal(p[c].to_numpy().view(np.uint64), ref[c].to_numpy().view(np.uint64)), c
        else:
            x, y = p[c], ref[c]
            if c == "date":  # date32: pandas may hold datetime.date objects or datetime64
                x, y = pd.to_datetime(x), pd.to_datetime(y)
            assert (x.to_numpy() == y.to_numpy()).all(), c


def test_sweep_run_plan_and_read(root: Path, tmp_path: Path) -> None:
    d = {
        "name": "tau-sweep",
        "seed": 3,
        "steps": 30,
        "summary_last_steps": 10,
        "consumers": {"count": 3000},
        "sweep": {"replicates": 2, "param": [{"path": "policy.tau", "column": "tau", "values": [0.1, 0.3]}]},
    }
    sc = gg.Scenario.from_dict(d)
    assert len(sc.labels) == 2
    res = gg.run_plan(sc, out=tmp_path / "sweep", threads=2, progress=False, charts=False)
    steps = res.steps
    assert steps.height == 2 * 2 * 30
    assert sorted(steps["tau"].unique().to_list()) == [0.1, 0.3]
    assert res.summary is not None and res.summary.height == 2
    assert res.manifest and res.plan["runs"]
    # In memory, the same rows.
    same_bits(gg.run(sc, threads=2, progress=False), steps)
    # read() of the folder gives the same tables.
    same_bits(gg.read(tmp_path / "sweep").steps, steps)
    with pytest.raises(FileNotFoundError):
        gg.read(tmp_path / "nothing")


def test_check_against_ci_baseline(root: Path, tmp_path: Path) -> None:
    res = gg.run_plan(root / "experiments" / "ci.toml", out=tmp_path / "ci", progress=False, charts=False)
    verdict = gg.check(res, root / "experiments" / "baselines" / "ci", mode="exact")
    assert verdict, str(verdict)
    assert gg.check(res, root / "experiments" / "baselines" / "ci", mode="stat")
    # Another seed is a different run: exact fails.
    other = gg.run_plan(root / "experiments" / "ci.toml", out=tmp_path / "ci2", seed=12,
                        progress=False, charts=False)
    assert not gg.check(other, root / "experiments" / "baselines" / "ci", mode="exact")
    with pytest.raises(ValueError):
        gg.check(res, root / "experiments" / "baselines" / "ci", mode="approx")


def test_progress_callback_and_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    sc = gg.Scenario.from_dict({"steps": 12, "consumers": {"count": 2000}})
    import gardengate as g

    seen = []
    g._native.run_steps(sc._plan, 1, lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


@pytest.mark.parametrize("call", ["run", "run_plan"])
def test_ctrl_c_stops_cleanly(call: str, tmp_path: Path) -> None:
    """SIGINT during a long run raises KeyboardInterrupt within a second or so, not at the end."""
    import signal
    import sys
    import time

    out = tmp_path / "out"
    code = (
        "import sys, gardengate as gg\n"
        "sc = {'steps': 20000, 'consumers': {'count': 20000}}\n"
        "print('ready', flush=True)\n"
        "try:\n"
        f"    gg.{call}(sc, progress=False" + (f", out={str(out)!r}, charts=False" if call == "run_plan" else "") + ")\n"
        "except KeyboardInterrupt as e:\n"
        "    print('interrupted', e, flush=True)\n"
        "    sys.exit(3)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    time.sleep(2.0)
    t = time.monotonic()
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert p.returncode == 3, (stdout, stderr)
    assert "interrupted" in stdout
    assert time.monotonic() - t < 20
