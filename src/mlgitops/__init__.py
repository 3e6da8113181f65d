"""mlgitops: GitOps for machine learning.

The public API is what this module and its documented submodules export; modules whose names start
with an underscore are private.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlgitops")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
