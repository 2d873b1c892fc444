"""Start times of the test backends, as measured during one pytest run."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["cold", "warm"]


@dataclass(frozen=True)
class StartTime:
    """Wall-clock seconds of one start.

    ``cold`` means the start began with empty state (no data directory or cache
    entry), ``warm`` that it reused state from an earlier start.
    """

    step: str
    kind: Kind
    seconds: float


@dataclass
class TimingLog:
    """All start times of a run, in the order they were recorded."""

    entries: list[StartTime] = field(default_factory=list)

    @contextmanager
    def measure(self, step: str, kind: Kind) -> Iterator[None]:
        """Record the wall-clock time of the ``with`` block, unless it raises."""
        begin = time.perf_counter()
        yield
        self.entries.append(StartTime(step, kind, time.perf_counter() - begin))

    def format_table(self) -> list[str]:
        """Return one line per step with its cold and warm seconds, or '-'."""
        steps: dict[str, dict[Kind, float]] = {}
        for entry in self.entries:
            steps.setdefault(entry.step, {})[entry.kind] = entry.seconds
        width = max((len(step) for step in steps), default=4)
        lines = [f"{'step':<{width}}  {'cold':>8}  {'warm':>8}"]
        for step, kinds in steps.items():
            cold = _seconds(kinds.get("cold"))
            warm = _seconds(kinds.get("warm"))
            lines.append(f"{step:<{width}}  {cold:>8}  {warm:>8}")
        return lines


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
