"""Mutant catalogue of yang2024: small, plausible bugs in single members of models/yang2024.py (see mutants/__init__).

Each mutant changes what the model computes on the claims' configurations. Which claims kill which mutant under the
``ci`` draws is recorded by the kill matrix (``python -m mutants --paper yang2024``); each claim's negative control in
theorems/yang2024.py names one of these.
"""
from mutants import Mutant

MUTANTS = [
    # attention and the model (eq. 8)
    Mutant("Y-M01", "softmax_maps", "attention normalised over the heads instead of the N prompt tokens",
           "torch.softmax(scores(Q, inst), dim=1)", "torch.softmax(scores(Q, inst), dim=2)"),
    Mutant("Y-M02", "ahat", "heads averaged instead of summed in a^_k = sum_h w_hk s_k^h",
           "(S * w.unsqueeze(1)).sum(2)", "(S * w.unsqueeze(1)).mean(2)"),
    Mutant("Y-M03", "predict_block", "block form: softmax over the query columns instead of the prompt columns",
           "@ (WQ @ EQ), dim=-2)", "@ (WQ @ EQ), dim=-1)"),
    Mutant("Y-M04", "init_params", "Q_h^(0) entries with variance beta instead of beta^2",
           "Q = beta * torch.randn(", "Q = math.sqrt(beta) * torch.randn("),
    # instances, tasks and labels (§1.1, Assumptions 1, 3, 4)
    Mutant("Y-M05", "make_instance", "tokens normalised over the dictionary (dim 2) instead of each token's entries",
           "V = V / V.norm(dim=1, keepdim=True) * token_norm", "V = V / V.norm(dim=2, keepdim=True) * token_norm"),
    Mutant("Y-M06", "sample_tasks", "uniform law without the sqrt(3): variance 1/3, not 1 (Assumption 1)",
           "(torch.rand(batch, n, m, **kw) * 2 - 1) * math.sqrt(3.0)", "(torch.rand(batch, n, m, **kw) * 2 - 1)"),
    Mutant("Y-M07", "sample_tasks", "out-of-domain law N(1, I) instead of N(1, 4I)",
           "return 1.0 + 2.0 * torch.randn", "return 1.0 + 1.0 * torch.randn"),
    Mutant("Y-M08", "clip_to_ball", "projection without the clamp: every task rescaled onto the sphere",
           "torch.clamp(B / norm.clamp(min=torch.finfo(lam.dtype).tiny), max=1.0)",
           "(B / norm.clamp(min=torch.finfo(lam.dtype).tiny))"),
    Mutant("Y-M09", "labels", "feature noise with standard deviation tau instead of sqrt(tau)",
           "* math.sqrt(inst.tau))", "* inst.tau)"),
    Mutant("Y-M10", "distinct_coordinate_gap", "Assumption 3 margin: min over coordinates instead of max",
           "(srt[..., 1:] - srt[..., :-1]).amin(-1).amax(-1)", "(srt[..., 1:] - srt[..., :-1]).amin(-1).amin(-1)"),
    # loss and targets (Lemma 5, Theorem 2)
    Mutant("Y-M11", "Instance", "G = Z^T Z + tau I: the factor m of the noise term dropped",
           "return Z.transpose(-1, -2) @ Z + self.m * self.tau * torch.eye",
           "return Z.transpose(-1, -2) @ Z + self.tau * torch.eye"),
    Mutant("Y-M12", "Instance", "target A without the copy term m tau [I_N, 0]",
           "rhs = self.Z.transpose(-1, -2) @ self.Zt + self.m * self.tau * self.E0",
           "rhs = self.Z.transpose(-1, -2) @ self.Zt"),
    Mutant("Y-M13", "loss_of_ahat", "the paper's printed c'_k: + m tau per unseen token omitted",
           "+ mt * (inst.K - inst.N))", ")"),
    Mutant("Y-M14", "gap_of_ahat", "Delta without the factor 1/2",
           "return 0.5 * (D * (inst.G @ D)).sum((-1, -2))", "return (D * (inst.G @ D)).sum((-1, -2))"),
    Mutant("Y-M15", "ridge_predictor", "ridge penalty doubled (2 m tau instead of m tau)",
           "return ridge_prediction(inst, y, inst.m * inst.tau)", "return ridge_prediction(inst, y, 2 * inst.m * inst.tau)"),
    Mutant("Y-M16", "oracle_predictor", "oracle with the transformer's penalty m tau instead of N tau",
           "return ridge_prediction(inst, y, inst.N * inst.tau)", "return ridge_prediction(inst, y, inst.m * inst.tau)"),
    # conditioning, step sizes, gradients and GD (Assumption 2, Lemma 1, §1.5)
    Mutant("Y-M17", "zeta", "zeta from the largest eigenvalue of B_k B_k^T instead of the smallest",
           "return _B_spectrum(S, inst)[..., 0].amin(-1).clamp(min=0)",
           "return _B_spectrum(S, inst)[..., -1].amin(-1).clamp(min=0)"),
    Mutant("Y-M18", "step_sizes", "eta_Q = eta_w / gamma instead of eta_w / gamma^2",
           "return StepSizes(eta_w / gamma**2, eta_w)", "return StepSizes(eta_w / gamma, eta_w)"),
    Mutant("Y-M25", "grad_analytic", "dL/dAhat = 2 G (Ahat - A): the gradient of 1/2 D^T G D without its 1/2",
           "R = inst.G @ D", "R = 2 * inst.G @ D"),
    Mutant("Y-M19", "softmax_vjp", "Lemma 1's softmax Jacobian with the wrong sign of the centring term",
           "S * (U - (S * U).sum(1, keepdim=True))", "S * (U + (S * U).sum(1, keepdim=True))"),
    Mutant("Y-M20", "_GDStep", "fused GD gradient: dL/dX = (w s) * (r + dL/dw) (sign of the softmax centring)",
           "torch.sub(self.R.unsqueeze(2), self.dw.unsqueeze(1), out=self.tmp)",
           "torch.add(self.R.unsqueeze(2), self.dw.unsqueeze(1), out=self.tmp)"),
    Mutant("Y-M21", "GDRunner", "Q frozen: the Q update is dropped (its gradient zeroed)",
           "self.Qp.addcmul_(self.eQ, dQp, value=-1.0)", "self.Qp.addcmul_(self.eQ, dQp, value=-0.0)"),
    Mutant("Y-M22", "one_head_lower_bound", "NNLS bound with the larger of the two residuals instead of the smaller",
           "r = min(nnls(Zbar[b], t)[1], nnls(Zbar[b], -t)[1])", "r = max(nnls(Zbar[b], t)[1], nnls(Zbar[b], -t)[1])"),
    Mutant("Y-M26", "C_matrices", "C_k stacked with heads and prompt tokens transposed, (B, K, H, N)",
           "S.permute(0, 3, 1, 2)", "S.permute(0, 3, 2, 1)"),
    # the experiments' models and training (Figures 2, 5)
    Mutant("Y-M23", "FourLayerTransformer", "4-layer attention ignores the prompt columns (keys masked out)",
           "att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(D // H), dim=-1)",
           "att = torch.softmax(((q @ k.transpose(-1, -2)) / math.sqrt(D // H)).masked_fill("
           "torch.arange(T, device=q.device) < N, -math.inf), dim=-1)"),
    Mutant("Y-M24", "train_adam", "broken training step: the optimiser never steps",
           "        opt.step()\n", "        pass\n"),
]

KNOWN_SURVIVORS: dict[str, str] = {}
