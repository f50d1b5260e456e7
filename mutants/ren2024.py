"""ren2024 mutant catalogue: small, plausible bugs in single members of models/ren2024.py (the model API of
models/ren2024_api.py and the helpers its members call). Each line says what the bug is; the claims that kill it
under the ci draws are listed in the kill matrix (``python -m mutants --paper ren2024``).

Removed as equivalent (they change nothing the claims' configurations compute, so no claim can kill them):
- ``check_shapes`` / ``check_positive`` bugs: validation only; a valid config never reaches their error paths.
- ``gd_step``'s graph-keeping branch (``create_graph``): with or without it the values are the same; only the
  Jacobian part of R-T31 differentiates through it, and a bug there (detaching) is caught as a value of the Jacobian.
Not in the catalogue: ``negative_sets`` choosing the *first* n_eff other tokens instead of a random subset changes
what is computed, but no claim states a law for the choice (the paper's is NOT FOUND).
"""
from mutants import Mutant

MUTANTS = [
    # feature maps and projections
    Mutant("R-M01", "prf", "positive random features without their exp(-|x|^2/2) factor",
           "torch.exp(Wr @ x - 0.5 * (x * x).sum(-2, keepdim=True))", "torch.exp(Wr @ x)"),
    Mutant("R-M02", "prf", "features normalised by 1/d_r instead of 1/sqrt(d_r)",
           "/ math.sqrt(d_r)", "/ d_r"),
    Mutant("R-M03", "project", "query projected with W_K instead of W_Q",
           "s * (W_Q @ H[..., -1:])", "s * (W_K @ H[..., -1:])"),
    Mutant("R-M04", "project", "no d_o^{-1/4} scale on keys and query (softmax temperature 1 instead of sqrt(d_o))",
           "s = W_Q.shape[1] ** -0.25", "s = 1.0"),
    Mutant("R-M05", "softmax_attention", "softmax over the batch axis instead of the T+1 positions",
           "/ math.sqrt(d_o), dim=-1)", "/ math.sqrt(d_o), dim=0)"),
    Mutant("R-M14", "taylor_features", "Taylor features divided by k! instead of sqrt(k!)",
           "feats.append(power / math.sqrt(math.factorial(k)))", "feats.append(power / math.factorial(k))"),
    # kernel attention and the dual model
    Mutant("R-M06", "kernel_attention_kqv", "normaliser D summed over the demonstrations only",
           "D = scores.sum(-1)", "D = scores[:, :N].sum(-1)"),
    Mutant("R-M07", "kernel_attention_kqv", "W_0 built from every token, not only the query side",
           "W0 = (V[..., N:] @ phi_K[..., N:].transpose(-1, -2))", "W0 = (V @ phi_K.transpose(-1, -2))"),
    Mutant("R-M08", "kernel_attention_kqv", "query_side_scale applied to the demonstration terms instead",
           "num = V[..., :N] @ scores[:, :N, None] + query_side_scale * (V[..., N:] @ scores[:, N:, None])",
           "num = query_side_scale * (V[..., :N] @ scores[:, :N, None]) + V[..., N:] @ scores[:, N:, None]"),
    Mutant("R-M09", "dual_loss", "negatives added to the labels (y_i + beta ybar_i)",
           "labels = Y if Y_neg is None else Y - beta * Y_neg", "labels = Y if Y_neg is None else Y + beta * Y_neg"),
    Mutant("R-M10", "dual_one_step", "regulariser alpha/eta |W|^2 instead of alpha/(2 eta) |W|^2",
           "reg_alpha / (2 * eta)", "reg_alpha / eta"),
    Mutant("R-M11", "dual_loss", "dual loss normalised by 1/eta only (the kernel normaliser D dropped)",
           "/ (eta * D)).sum()", "/ eta).sum()"),
    Mutant("R-M12", "gd_step", "gradient ascent: W + eta grad",
           "W1 = W - eta * grad", "W1 = W + eta * grad"),
    Mutant("R-M35", "dual_predict", "off-by-one: the last random feature dropped from f(x_test)",
           "(W @ phi_q.unsqueeze(-1))", "(W[..., :-1] @ phi_q[..., :-1].unsqueeze(-1))"),
    Mutant("R-M36", "kernel_attention", "values= override ignored (W_V H used)",
           "        V = values\n", "        V = V\n"),
    # the errata's conventions (config choices of kernel_attention; R-T31 draws each)
    Mutant("R-M43", "kernel_attention_kqv",
           "mask_query_values ignored: query-side values stay in the numerator and W_0",
           "    if mask_query_values:\n", "    if False:\n"),
    Mutant("R-M44", "kernel_attention_kqv", "normaliser 'demos_query' leaves out the query's own key (D' over the "
           "demonstrations only)", "        in_D[:, -1] = 1.0\n", ""),
    Mutant("R-M45", "kernel_attention", "residual adds the first token h_1 instead of the query h_{T+1}",
           "ka._replace(h=H[..., -1] + ka.h)", "ka._replace(h=H[..., 0] + ka.h)"),
    # R-SEQ
    Mutant("R-M13", "sequential_sgd", "off-by-one: step t feeds order[t-1] (the first token twice, the last never)",
           "idx = order[:, t].view(-1, 1, 1)", "idx = order[:, max(t - 1, 0)].view(-1, 1, 1)"),
    Mutant("R-M37", "random_order", "an order with repeats (random indices) instead of a permutation",
           "return torch.rand(B, N, generator=generator, device=generator.device).argsort(-1)",
           "return torch.randint(N, (B, N), generator=generator, device=generator.device)"),
    # R-FFN
    Mutant("R-M15", "ffn", "GELU silently replaced by ReLU",
           '"gelu": torch.nn.functional.gelu', '"gelu": torch.relu'),
    Mutant("R-M16", "ffn", "residual connection dropped",
           "return z + out if residual else out", "return out"),
    Mutant("R-M17", "relu_linearisation", "activation mask Lambda dropped (A = W_2 W_1)",
           "A = W_2 @ (mask * W_1)", "A = W_2 @ W_1"),
    Mutant("R-M18", "lift_dual", "FFN lifts the labels but not the initialisation W_0",
           "return A @ W0, A @ Y", "return W0, A @ Y"),
    Mutant("R-M38", "random_ffn", "W_2 not scaled by 1/sqrt(d_ff)",
           "torch.randn(B, d_o, d_ff, **kw) / math.sqrt(d_ff)", "torch.randn(B, d_o, d_ff, **kw)"),
    # R-ML
    Mutant("R-M19", "kernel_attention_all", "causal mask transposed (position t sees j >= t)",
           "S = S * torch.ones_like(S[0]).triu()", "S = S * torch.ones_like(S[0]).tril()"),
    Mutant("R-M20", "attention_stack", "residual adds the initial tokens H instead of the layer's input h^(l-1)",
           "out = prev + out", "out = H + out"),
    Mutant("R-M39", "random_stack", "stack weights ignore the scale",
           "torch.randn(B, d_o, d_in, **kw) * scale / math.sqrt(d_in)", "torch.randn(B, d_o, d_in, **kw) / math.sqrt(d_in)"),
    # R-REG, R-AUG, R-NEG
    Mutant("R-M29", "regularised_attention", "alpha ignored (plain attention)",
           "query_side_scale=1.0 - alpha", "query_side_scale=1.0"),
    Mutant("R-M21", "mlp", "tanh dropped from the MLP views",
           "g.W_2 @ torch.tanh(g.W_1 @ x + g.b_1) + g.b_2", "g.W_2 @ (g.W_1 @ x + g.b_1) + g.b_2"),
    Mutant("R-M22", "mlp", "output bias b_2 dropped",
           "g.W_2 @ torch.tanh(g.W_1 @ x + g.b_1) + g.b_2", "g.W_2 @ torch.tanh(g.W_1 @ x + g.b_1)"),
    Mutant("R-M23", "augmented_attention", "values not augmented (g_V ignored)",
           "mlp(g_V, V), Wr, N", "V, Wr, N"),
    Mutant("R-M24", "augmented_attention", "augment_query ignored (query never augmented)",
           "mlp(g_K, q) if augment_query else q", "q"),
    Mutant("R-M40", "random_mlp", "MLP first layer not scaled by 1/sqrt(d_in)",
           "MLP(torch.randn(B, d_hidden, d_in, **kw) / math.sqrt(d_in)", "MLP(torch.randn(B, d_hidden, d_in, **kw)"),
    Mutant("R-M25", "negative_means", "negative means divided by N instead of the set size",
           "count = mask.sum(-1).clamp(min=1.0)", "count = torch.full_like(mask.sum(-1), float(mask.shape[-1]))"),
    Mutant("R-M26", "negative_means", "negative mask transposed (j's negatives instead of i's)",
           "(Y @ mask.transpose(-1, -2))", "(Y @ mask)"),
    Mutant("R-M27", "negative_sets", "a token can be its own negative (the diagonal is not excluded)",
           "keys = keys + 2.0 * torch.eye(N, device=keys.device)", "keys = keys"),
    Mutant("R-M28", "negative_attention", "negatives also subtracted from the query-side values",
           "values=torch.cat([V_demo, V[..., N:]], -1)",
           "values=torch.cat([V_demo, V[..., N:] - beta * V[..., N:].mean(-1, keepdim=True)], -1)"),
    # data generators
    Mutant("R-M30", "random_instance", "weights not divided by sqrt(d_i)",
           "torch.randn(B, d_o, d_i, **kw) * scale / math.sqrt(d_i)", "torch.randn(B, d_o, d_i, **kw) * scale"),
    Mutant("R-M31", "random_instance", "tokens uniform in [0, token_bound] instead of [-token_bound, token_bound]",
           "(torch.rand(B, d_i, N + M, **kw) * 2 - 1) * token_bound", "torch.rand(B, d_i, N + M, **kw) * token_bound"),
    Mutant("R-M32", "uniform_ball", "radius uniform in [0, r] (not r U^{1/d}): mass piles up at the centre",
           "torch.rand(n, 1, **kw) ** (1.0 / d)", "torch.rand(n, 1, **kw)"),
    Mutant("R-M41", "icl_regression_tokens", "the query's label is not hidden (y leaks into the query token)",
           "torch.cat([y[..., :N], torch.zeros_like(y[..., N:])], -1)", "y"),
    # Fig. 3 (right): the regressor and its training
    Mutant("R-M34", "ModifiedAttentionRegressor", "the regularised variant ignores alpha",
           "ka = regularised_attention(*args, alpha=self.alpha)", "ka = kernel_attention(*args)"),
    Mutant("R-M42", "ModifiedAttentionRegressor", "prediction read from the first coordinate of h' (x, not y)",
           "return ka.h[:, -1]", "return ka.h[:, 0]"),
    Mutant("R-M33", "train_icl_regressor", "Adam step ascends the loss",
           "p.sub_(lr * m1_hat / (m2_hat.sqrt() + adam_eps))", "p.add_(lr * m1_hat / (m2_hat.sqrt() + adam_eps))"),
]

KNOWN_SURVIVORS: dict[str, str] = {}
