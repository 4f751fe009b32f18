"""Suite-wide pytest configuration."""

from __future__ import annotations

import os

# Nothing may download models or data at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
