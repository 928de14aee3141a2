"""gardengate from Python: write a scenario as a dict, run it, get a polars DataFrame back.

The Rust crate is the single implementation: this package only moves scenario text in and
tables out (as Parquet bytes, read by your own polars, so its version is free).

>>> import gardengate as gg
>>> sc = gg.Scenario.from_file("experiments/quickstart.toml").with_({"steps": 30})
>>> steps = gg.run(sc)                     # polars DataFrame, the rows of steps.parquet
>>> steps.to_pandas()                      # pandas (needs pyarrow)
>>> res = gg.run_plan(sc.with_(policy__tau=0.3), out="output/tau")   # whole plan, out folder
>>> gg.check(res, "experiments/baselines/ci", mode="stat")
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import polars as pl

from . import _gardengate as _native
from ._errors import ScenarioError

__all__ = [
    "Scenario",
    "ScenarioError",
    "Results",
    "CheckResult",
    "run",
    "run_plan",
    "read",
    "check",
    "__version__",
]

__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]


class Scenario:
    """A checked scenario: its TOML text, where it came from, and its resolved plan.

    Every constructor resolves the scenario at once, with the command line's checks, and
    raises :class:`ScenarioError` (file, line, key, message, suggestion) on a problem.
    """

    def __init__(self, text: str, file: str = "<scenario>", base_dir: PathLike = ".") -> None:
        self.text: str = text
        self.file: str = file
        self.base_dir: str = os.fspath(base_dir)
        self._plan = _native.resolve(text, file, self.base_dir)

    @classmethod
    def from_file(cls, path: PathLike) -> "Scenario":
        """Loads a scenario file (relative paths inside it are relative to its folder)."""
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as e:
            raise ScenarioError(
                f"1 problem in scenario {p}:\n  {p}: cannot read the file: {e}",
                [{"file": str(p), "line": None, "key": "", "message": f"cannot read the file: {e}",
                  "suggestion": "check the path; scenarios ship in experiments/"}],
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise ScenarioError(
                f"1 problem in scenario {p}:\n  {p}:{line}: invalid UTF-8 at byte {e.start}",
                [{"file": str(p), "line": line, "key": "",
                  "message": f"invalid UTF-8 at byte {e.start}; expected UTF-8 text",
                  "suggestion": "save the file as UTF-8"}],
            ) from None
        return cls(text, str(p), p.parent if str(p.parent) else ".")

    @classmethod
    def from_toml(cls, text: str, base_dir: PathLike = ".") -> "Scenario":
        """A scenario from TOML text (``base_dir`` anchors relative paths)."""
        return cls(text, "<toml>", base_dir)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base_dir: PathLike = ".") -> "Scenario":
        """A scenario from a dict shaped like the TOML file (keys left out take defaults).

        Lists of tables (``platforms``, ``events``, ``variants``) are lists of dicts.
        Diagnostics' line numbers refer to :meth:`to_toml`'s text.
        """
        text = _native.json_to_toml_text(json.dumps(d, default=_jsonable))
        return cls(text, "<dict>", base_dir)

    def to_dict(self) -> Dict[str, Any]:
        """The scenario as written (defaults not filled in), as a dict."""
        return json.loads(_native.toml_to_json(self.text))

    def to_toml(self) -> str:
        """The scenario's TOML text."""
        return self.text

    def with_(self, overrides: Optional[Mapping[str, Any]] = None, /, **kw: Any) -> "Scenario":
        """A copy with values replaced, by the dotted paths sweeps use.

        ``sc.with_({"revision.primary_switch": 0.5, "platforms.taobao.commission": 0.1})``;
        as keywords, ``__`` stands for the dot: ``sc.with_(policy__tau=0.3, steps=60)``.
        Checked at once (:class:`ScenarioError`).
        """
        o: Dict[str, Any] = dict(overrides or {})
        o.update({k.replace("__", "."): v for k, v in kw.items()})
        text = _native.with_overrides(self.text, self.file, json.dumps(o, default=_jsonable))
        file = self.file if self.file.endswith(" (with overrides)") else f"{self.file} (with overrides)"
        return Scenario(text, file, self.base_dir)

    @property
    def name(self) -> str:
        """The scenario's ``name``."""
        return self._plan.name

    @property
    def steps(self) -> int:
        """Steps per run."""
        return self._plan.steps

    @property
    def labels(self) -> List[str]:
        """Labels of the plan's points (one point when nothing is swept)."""
        return self._plan.labels

    def runs(self, seed: Optional[int] = None, replicates: Optional[int] = None) -> List[Tuple[int, int, int, int]]:
        """The plan's runs as (run_id, point_id, replicate, seed), with optional overrides."""
        return self._resolved(seed, replicates).runs

    def _resolved(self, seed: Optional[int], replicates: Optional[int]) -> Any:
        if seed is None and replicates is None:
            return self._plan
        return _native.resolve(self.text, self.file, self.base_dir, seed, replicates)

    def __repr__(self) -> str:
        return f"Scenario(name={self.name!r}, file={self.file!r}, points={len(self.labels)}, steps={self.steps})"


def _jsonable(x: Any) -> Any:
    """JSON for values json does not know (numpy scalars, dates, paths)."""
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "isoformat"):
        return x.isoformat()
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    raise TypeError(f"{type(x).__name__} is not a scenario value")


def _scenario(s: Union[Scenario, PathLike, Mapping[str, Any]]) -> Scenario:
    if isinstance(s, Scenario):
        return s
    if isinstance(s, Mapping):
        return Scenario.from_dict(s)
    return Scenario.from_file(s)


class _Progress:
    """A tqdm bar when tqdm is installed (``tqdm.auto``: a widget in notebooks), else a plain
    line rewritten at most once a second."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None
        self.last = 0.0
        self.shown = False
        try:
            from tqdm.auto import tqdm  # type: ignore

            self.bar = tqdm(total=0, desc=desc, unit="step", leave=True)
        except ImportError:
            self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            if total and self.bar.total != total:
                self.bar.total = total
                self.bar.refresh()
            self.bar.update(done - self.bar.n)
            return
        now = time.monotonic()
        if now - self.last >= 1.0 or (total and done >= total):
            self.last = now
            pct = f" ({100.0 * done / total:.0f}%)" if total else ""
            sys.stderr.write(f"\r{self.desc}: {done}/{total} steps{pct}")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _with_progress(show: bool, desc: str, f: Callable[[Any], Any]) -> Any:
    if not show:
        return f(None)
    p = _Progress(desc)
    try:
        return f(p)
    finally:
        p.close()


def run(
    scenario: Union[Scenario, PathLike, Mapping[str, Any]],
    seed: Optional[int] = None,
    replicates: Optional[int] = None,
    threads: Optional[int] = None,
    progress: bool = True,
) -> pl.DataFrame:
    """Runs every run of the scenario's plan in memory and returns the steps table.

    The rows and columns are those of ``steps.parquet`` from ``gardengate run`` (run_id,
    point_id, replicate, seed, swept parameters, step, date, the metrics), bit for bit for the
    same scenario, ``seed`` (the master seed, like ``--seed``) and ``replicates``. The runs
    use ``threads`` worker threads (default: all cores): a large world's steps in parallel,
    small worlds side by side, as ``gardengate run`` does. The engine runs without the GIL;
    Ctrl-C stops it (KeyboardInterrupt; nothing is kept). ``.to_pandas()`` gives pandas.
    """
    sc = _scenario(scenario)
    plan = sc._resolved(seed, replicates)
    data = _with_progress(
        progress, sc.name, lambda cb: _native.run_steps(plan, threads, cb)
    )
    return pl.read_parquet(io.BytesIO(data))


@dataclass
class Results:
    """An out folder's assembled results, read when first asked for."""

    path: Path

    def _table(self, name: str) -> Optional[pl.DataFrame]:
        f = self.path / name
        return pl.read_parquet(f) if f.is_file() else None

    @property
    def steps(self) -> pl.DataFrame:
        """``steps.parquet``: one row per run and step."""
        df = self._table("steps.parquet")
        if df is None:
            raise FileNotFoundError(f"{self.path / 'steps.parquet'}: missing (did the run finish?)")
        return df

    @property
    def summary(self) -> Optional[pl.DataFrame]:
        """``summary.parquet``: per point, each metric's mean/sd/CI over replicates."""
        return self._table("summary.parquet")

    @property
    def effects(self) -> Optional[pl.DataFrame]:
        """``effects.parquet`` (paired effects of variants/sweeps against the baseline), if any."""
        return self._table("effects.parquet")

    @property
    def sensitivity(self) -> Optional[pl.DataFrame]:
        """``sensitivity.parquet`` (a design's indices), if any."""
        return self._table("sensitivity.parquet")

    @property
    def design(self) -> Optional[pl.DataFrame]:
        """``design.parquet`` (a design's samples), if any."""
        return self._table("design.parquet")

    @property
    def manifest(self) -> Dict[str, Any]:
        """``manifest.json``: version, commit, scenario, timings."""
        return json.loads((self.path / "manifest.json").read_text())

    @property
    def plan(self) -> Dict[str, Any]:
        """``plan.json``: every run's id, point, parameters and seed."""
        return json.loads((self.path / "plan.json").read_text())


def read(out: PathLike) -> Results:
    """The results in an out folder (from ``gardengate run`` or :func:`run_plan`)."""
    p = Path(out)
    if not (p / "plan.json").is_file():
        raise FileNotFoundError(f"{p}: not a gardengate out folder (no plan.json)")
    return Results(p)


def run_plan(
    scenario: Union[Scenario, PathLike, Mapping[str, Any]],
    out: Optional[PathLike] = None,
    seed: Optional[int] = None,
    replicates: Optional[int] = None,
    threads: Optional[int] = None,
    progress: bool = True,
    resume: bool = False,
    force: bool = False,
    charts: bool = True,
) -> Results:
    """Runs the whole plan (sweep, variants, design) into an out folder, as ``gardengate run``
    does, and returns :func:`read` of it: steps, summary, effects, manifest, charts.

    ``out=None`` uses a new temporary folder (kept; its path is ``results.path``). Ctrl-C stops
    the batch between steps; the runs finished so far are kept and ``resume=True`` goes on.
    """
    sc = _scenario(scenario)
    plan = sc._resolved(seed, replicates)
    path = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"gardengate-{sc.name}-"))
    _with_progress(
        progress,
        sc.name,
        lambda cb: _native.run_batch(plan, os.fspath(path), threads, resume, force, charts, cb),
    )
    return read(path)


@dataclass
class CheckResult:
    """The verdict of :func:`check`: truthy when the results hold."""

    passed: bool
    report: str
    note: Optional[str] = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.report if self.note is None else f"{self.report}\n{self.note}"


def check(
    results: Union[Results, PathLike],
    baseline: Union[Results, PathLike],
    mode: str = "exact",
    metrics: Optional[List[str]] = None,
    alpha: float = 0.01,
    tolerance: Optional[str] = None,
    last_n: Optional[int] = None,
    report: str = "table",
) -> CheckResult:
    """Compares results with a baseline folder, as ``gardengate check`` does.

    ``mode="exact"``: every value identical; ``"stat"``: replicate distributions compatible
    (paired t or Welch, and KS, Holm-corrected at ``alpha``, with the ``tolerance`` floor, e.g.
    ``"rel=0.02,abs=1e-9"``). Raises ValueError when the folders cannot be compared.
    """
    r = results.path if isinstance(results, Results) else Path(results)
    b = baseline.path if isinstance(baseline, Results) else Path(baseline)
    code, text, note = _native.check(
        os.fspath(r), os.fspath(b), mode, metrics, alpha, tolerance, last_n, report
    )
    return CheckResult(passed=code == 0, report=text, note=note)
