"""Allow ``python -m mlgitops``."""

from mlgitops.cli import main

main()
