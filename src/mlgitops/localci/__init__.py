"""Run this repository's GitHub Actions workflows locally, with the GitHub boundary replaced by one
recording shim; used by the tests and by ``make demo``.

- :mod:`mlgitops.localci.harness`: :class:`~mlgitops.localci.harness.Forge` (a local bare
  ``origin``, a developer clone, what would have been posted on GitHub) and its events
  (pull request, push, merge, schedule, manual run, ``workflow_run``); ``Forge.run`` plays the
  runner for a workflow file's jobs and steps.
- :mod:`mlgitops.localci.expressions`: the ``${{ }}`` and ``if:`` evaluator (refuses what it
  does not know).
- :mod:`mlgitops.localci.shim`: the recording stand-in for ``gh`` and ``cml``, a standalone
  script (standard library only) that the forge installs on a job's PATH under both names.
- :mod:`mlgitops.localci.pip_noop`: what ``python -m pip install ...`` lines run instead (a check
  that the named packages are installed; no network).
- :mod:`mlgitops.localci.sandbox`: real git and DVC in a scratch copy of the example project.

It needs a checkout of this repository (an editable install): the workflows and the example
project are read from there.
"""

from __future__ import annotations
