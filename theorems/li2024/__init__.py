"""Claims of li2024 (Li, Wang, Lu, Cui & Chen, ICML 2024). Spec: ../shared/papers/li2024.md.

The paper's full text was not available: STATED here means stated by the authors in informal wording (abstract, talk
slides, homepage); every quantitative form is reconstructed. The trained claims use the spec's calibrated working
configuration (its last section), because the defaults of its §4 do not learn.

The model is reached only through ``ctx.impl`` (the li2024 model API, models/li2024_api.py), so every claim checks the
implementation under test (the reference, ``--impl``, or a mutant of mutants/li2024.py). Measurements (0-1 error,
same-pattern attention mass, neuron cosines, 2-means of neuron norms) are this module's own instruments.

Layout (one check + one ``register(Claim(...))`` per claim; importing this package registers them all):
- common.py: world and data (parameters, the cached trained "world": one training per (implementation, config, seed
  batch, device)), the claims' measurements and the statistics (every trained decision is a mean_verdict over
  training seeds);
- generalisation.py: L-C32, L-T33, L-T34, L-C43, L-F-SCALE, L-F-CLASSIC;
- pruning.py: L-T37, L-F-PRUNE, L-F-PRUNE-ALPHA;
- mechanism.py: L-P41, L-P42, L-F-ATTN, L-F-MLP;
- deep.py: the deeper model (GPT-2): L-E-GPT, L-F-S1, L-F-ALPHA, L-F-3L;
- exact.py: the exact float64 properties of the spec's §4.1 (ids ``L-E-*``, not spec ids; each names the spec id it
  supports) and the data-generator contract L-E-DATA;
- gradients.py: L-E-GRAD, sympy's gradients (theorems/li2024_symbolic.py) against autograd and one SGD step.
"""
from theorems.li2024.common import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.generalisation import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.pruning import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.mechanism import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.deep import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.exact import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.gradients import *  # noqa: F401,F403 (registers its claims)
from theorems.li2024.common import CheckContext  # noqa: F401 (tests construct one)
