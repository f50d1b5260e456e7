"""Claims of ren2024 (Ren & Liu, NeurIPS 2024). Spec: ../shared/papers/ren2024.md.

The full text was not available: every formula is reconstructed (DERIVED); STATED would cover only the existence of
a result. Each check builds a batch of independent instances from the seed and reports the worst one.

The seam (theorems/impl.py, models/ren2024_api.py): a check reaches the model under test only as ``ctx.impl.<name>``.
The *reference side* of every comparison is built inside this package from the raw inputs (H, W_Q, W_K, W_V, W_r,
eta) by another route than the model's code: keys, queries and values token by token, kernel scores from the kernel's
closed form (Taylor) or per-token features (PRF), attention as an explicit weighted sum over tokens, the FFN, MLP views
and negative means written out. Features are compared through their kernel (X^T X, X^T phi(q), W_0 W_0^T ...), so an
implementation may order its features as it likes. The sympy derivations (theorems/ren2024_symbolic.py) are parts of
R-T31 (spec §4.4) and R-PRF (§4.5), as the spec's check -> claim map assigns them; they are cached per process.
Negative controls are mutants of the catalogue (mutants/ren2024.py): each claim names one it kills.

Statistical decisions are three-verdict (held / violated / inconclusive) at stated false-fail rates and resolutions:
tolerances.mean_verdict / binomial_verdict, and for interval estimates that are not Student-t (median of means, DKW)
``common._equality_verdict``, built like tolerances._decide.

One module per part of the paper; importing this package registers every claim:

- ``common``: shared parameters, instance draws, round-off allowances, the reference side, generator laws, the
  three-verdict helpers and the registration helper of the identity claims;
- ``dual``: the dual-model identities, Theorem 3.1 (R-T31) and sequential demonstrations (R-SEQ);
- ``random_features``: positive random features (R-PRF) and the reconstructed bound of Theorem 3.2 (R-T32);
- ``extensions``: one Transformer layer (R-FFN), stacked layers (R-ML), the modified attentions (R-REG, R-AUG, R-NEG);
- ``figure3``: Figure 3 (R-F3).
"""
from theorems.ren2024 import dual, random_features, extensions, figure3  # noqa: F401  (registers, in this order)
from theorems.ren2024.common import (SMALL, _dkw_verdict, _equality_verdict, _err, _normal_law,  # noqa: F401
                                     _rel_err, _uniform_law)  # (re-exported for tests)
from theorems.ren2024.extensions import FINITE_STACK  # noqa: F401  (for tests)
