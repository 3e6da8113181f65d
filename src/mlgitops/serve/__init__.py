"""Serving a model version over HTTP, and the smoke test every deploy runs.

Public modules (kept import-light where the deploy step needs them):

- :mod:`mlgitops.serve.smoke`: ``SmokeSample``, ``load_smoke_sample``, ``smoke_test`` (over HTTP)
  and ``smoke_test_model`` (in process); standard library plus the model code only.
- :mod:`mlgitops.serve.process`: ``ServerProcess``, ``mlgitops serve`` as a subprocess on loopback.
- :mod:`mlgitops.serve.log`: the prediction log; ``read_prediction_log`` is the drift check's input.
- :mod:`mlgitops.serve.records`: checking request records against a model's input schema.
- :mod:`mlgitops.serve.holder`: the served model and the holder that swaps it atomically.
- :mod:`mlgitops.serve.app`: the FastAPI application; :mod:`mlgitops.serve.watch`: ``--watch``.
"""
