"""The suite's pytest wiring, one plugin module per concern (conftest.py lists them):

- ``state``: the run's state, kept in ``config.stash`` (no ad-hoc attributes on the config);
- ``profiles``: the Hypothesis profiles ci, dev, thorough;
- ``options``: command-line options, markers, the device and ``--impl``;
- ``evidence``: the results file: header, the evidence transport from xdist workers, merge at the end;
- ``outcome``: the HTML report, the regression gate, the kill-matrix check and the terminal summary;
- ``schedule``: longest work first and shared trainings on one worker under ``-n``;
- ``mutation``: ``--claims-mutants``, the kill matrix as a pytest run.

None of them imports torch or the claims at import time: an xdist controller starts its workers at once.
"""
