"""Exceptions of the gardengate package (imported by the native module, so no imports here)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class ScenarioError(ValueError):
    """A scenario that does not resolve: the same diagnostics as the command line.

    ``problems`` lists every problem found, each a dict with ``file``, ``line`` (1-based, or
    None), ``key`` (dotted, e.g. ``platforms[2].commission``), ``message`` (what is wrong and
    what was expected) and ``suggestion`` (or None).
    """

    def __init__(self, message: str, problems: Optional[List[Dict[str, Any]]] = None) -> None:
        super().__init__(message)
        self.problems: List[Dict[str, Any]] = list(problems or [])

    @property
    def line(self) -> Optional[int]:
        """Line of the first problem (None when unknown)."""
        return self.problems[0]["line"] if self.problems else None

    @property
    def key(self) -> Optional[str]:
        """Key of the first problem."""
        return self.problems[0]["key"] if self.problems else None
