"""The CLI commands, grouped by the part of the loop they belong to.

:data:`REGISTRY` names the module of every command so that the CLI imports only the module of the
command it runs (a stage such as ``validate`` starts without loading scikit-learn or DVC). A test
checks that it lists exactly the ``COMMANDS`` of every module here.
"""

from __future__ import annotations

#: Command name -> the module (in this package) that defines it, in the order ``--help`` lists them.
REGISTRY: dict[str, str] = {
    "validate": "stages",
    "evaluate": "stages",
    "profile": "drift",
    "compare": "pr",
    "report": "report",
    "pr": "pr",
    "release": "registry",
    "versions": "registry",
    "deploy": "registry",
    "promote": "registry",
    "rollback": "registry",
    "serve": "serve",
    "drift": "drift",
    "export-log": "drift",
    "retrain-data": "drift",
    "init": "init",
}
