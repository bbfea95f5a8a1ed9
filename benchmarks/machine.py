"""The conditions of a measurement: the machine and how busy it was, printed with every figure."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

#: A 1-minute load average above this share of the cores when a scenario starts means other work
#: competes for the CPU: the figures are pessimistic and the bench says so.
NOISY_SHARE = 0.5


def cores() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load() -> list[float]:
    """The 1-, 5- and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cores": cores(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


class Conditions:
    """The load average at the start and the end of a scenario, and whether it was noisy."""

    def __init__(self) -> None:
        self.start = load()
        self.started = time.time()

    def end(self) -> dict[str, Any]:
        """``{load_start, load_end, noisy}`` (``noisy``: a warning, or ``None``)."""
        end = load()
        limit = NOISY_SHARE * cores()
        noisy = None
        if self.start[0] > limit:
            noisy = (
                f"load average {self.start[0]} at the start, above {limit:g} on {cores()} cores: "
                "other work competed for the CPU, times are pessimistic"
            )
        return {"load_start": self.start, "load_end": end, "noisy": noisy}
