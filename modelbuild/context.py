"""What every build stage shares besides its data: the stage cache and the progress reporter.

Layer: build tooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelbuild.cache import BuildCache
from modelbuild.progress import BuildProgress

__all__ = ["BuildContext"]


@dataclass(frozen=True)
class BuildContext:
    """Cache and progress of one build.

    Attributes:
        cache: Cached stage outputs (a disabled cache by default).
        progress: Where progress goes (quiet by default).
    """

    cache: BuildCache = field(default_factory=lambda: BuildCache(None))
    progress: BuildProgress = field(default_factory=lambda: BuildProgress(None))
