"""Claims of yang2024 (Yang, Huang, Liang & Chi, NeurIPS 2024). Spec: ../shared/papers/yang2024.md.

Most displayed equations of the paper are missing from the available text, so nearly every formula here is the
spec's reconstruction (DERIVED); STATED is used only where the spec tags the statement [TEXT]. Each check builds a
batch of independent instances from the seed and reports the worst one. A check is a plain ``check_x(cfg, ctx)``: it
reaches the model only through ``ctx.impl`` (the model API of models/yang2024_api.py; bound to the local name ``m``
at the top of each check and passed to helpers), and it computes the reference side of each comparison itself
(closed forms, explicit softmax, sympy), never through the member under test. Negative controls are mutants of the
catalogue (mutants/yang2024.py).

One module per part of the paper; importing this package registers every claim:

- ``common``: shared parameters, instance draws, round-off allowances, the reference side, the statistics constants;
- ``assumptions``: Assumptions 1-4 and Proposition 1 (Y-A1..Y-A4, Y-P1);
- ``softmax_lemmas``: Lemmas 1, 2, 3, 8, 9; ``smoothness``: Lemmas 6, 7, 10;
- ``loss_lemmas``: Lemmas 4, 5 and the one-head floor (Y-L4, Y-L5, Y-MH);
- ``training``: the GD runs that Y-T1 and Y-T2 share (cached per implementation and training config);
- ``convergence``: Theorem 1 (Y-T1); ``trained_ridge``: Theorem 2 (Y-T2);
- ``figures_gd``: Figures 3 and 4 (Y-F3, Y-F4); ``figures_adam``: Figures 2 and 5 (Y-F2, Y-F5).
"""
from theorems.yang2024 import (assumptions, convergence, figures_adam, figures_gd, loss_lemmas,  # noqa: F401
                               smoothness, softmax_lemmas, trained_ridge)
from theorems.yang2024.figures_gd import _heads  # noqa: F401  (re-exported for tests)
from theorems.yang2024.trained_ridge import laurent_massart  # noqa: F401
from theorems.yang2024.training import _TRAINED, trained  # noqa: F401
