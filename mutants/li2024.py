"""Mutant catalogue of li2024: small, plausible bugs, each in one member of the model API (models/li2024_api.py).

Ids L-M01 ...; ``find`` occurs exactly once in the member's source (models/li2024.py). Removed as equivalent (they
change nothing the claims' configurations compute): the neuron norm squared (same order), the query's label block
of W_Q dropped (the query's label block is 0), Adam's eps changed.
"""
from mutants import Mutant

MUTANTS = [
    # attention
    Mutant("L-M01", "attention", "the query attends to itself: softmax over the l contexts and the query",
           "return torch.softmax(scores, dim=-1)",
           "self_score = (qry.reshape(S, n, -1) * v).sum(-1, keepdim=True)\n"
           "    return torch.softmax(torch.cat([scores, self_score], -1), dim=-1)[..., :-1]"),
    Mutant("L-M02", "attention", "scores divided by sqrt(d) (a transformer habit the model does not have)",
           "return torch.softmax(scores, dim=-1)", "return torch.softmax(scores / math.sqrt(P.shape[-1]), dim=-1)"),
    Mutant("L-M03", "attention", "softmax over the prompt axis instead of the context axis",
           "return torch.softmax(scores, dim=-1)", "return torch.softmax(scores, dim=-2)"),
    Mutant("L-M04", "attention", "W_K transposed in the score (W_K W_Q instead of W_K^T W_Q)",
           "v = u @ p.W_K ", "v = u @ p.W_K.transpose(-1, -2) "),
    # forward and output
    Mutant("L-M05", "output", "ReLU replaced by the identity (a linear MLP)",
           "return (torch.relu(pre) @ w.unsqueeze(-1)).squeeze(-1)", "return (pre @ w.unsqueeze(-1)).squeeze(-1)"),
    Mutant("L-M06", "forward", "W_V applied untransposed (pooled W_V instead of W_V pooled)",
           "h = pooled @ p.W_V.transpose(-1, -2)", "h = pooled @ p.W_V"),
    Mutant("L-M07", "forward", "the pruning mask is ignored", "output(pre, p.a, keep)", "output(pre, p.a)"),
    Mutant("L-M08", "forward", "pooled over the query row too (the query's token leaks into the value)",
           "pooled = (attn.unsqueeze(-2) @ P[..., :-1, :]).squeeze(-2)",
           "pooled = (attn.unsqueeze(-2) @ P[..., :-1, :]).squeeze(-2) + P[..., -1, :] / P.shape[-2]"),
    # loss
    Mutant("L-M09", "hinge", "hinge with the sign of the margin flipped: max(0, 1 + z F)",
           "return torch.relu(1 - z * Fv)", "return torch.relu(1 + z * Fv)"),
    Mutant("L-M10", "hinge", "hinge without its margin: max(0, -z F)", "return torch.relu(1 - z * Fv)",
           "return torch.relu(-z * Fv)"),
    # pruning
    Mutant("L-M11", "pruning_indices", "magnitude pruning removes the largest neurons (sort order reversed)",
           "order = torch.sort(neuron_norms(p, norm), dim=-1, stable=True).indices",
           "order = torch.sort(neuron_norms(p, norm), dim=-1, descending=True, stable=True).indices"),
    Mutant("L-M12", "neuron_norms", "L1 norm of the rows instead of the Euclidean norm",
           "return rows.norm(dim=-1)", "return rows.abs().sum(dim=-1)"),
    Mutant("L-M13", "keep_mask", "the mask is inverted (keeps only the pruned neurons)",
           "keep = torch.ones(S, m, device=device)\n    return keep.scatter(1, idx.to(keep.device), 0.0)",
           "keep = torch.zeros(S, m, device=device)\n    return keep.scatter(1, idx.to(keep.device), 1.0)"),
    Mutant("L-M14", "prune", "off by one: zeroes the rows after the chosen ones",
           "keep_mask(*p.a.shape, idx,", "keep_mask(*p.a.shape, (idx + 1) % p.a.shape[1],"),
    Mutant("L-M15", "delete_neurons", "the output weights a are not gathered with the kept rows (first m - k kept)",
           "a=torch.gather(p.a, 1, kept)", "a=p.a[:, : kept.shape[1]]"),
    # data generators
    Mutant("L-M16", "sample_prompts", "the query's label disagrees with its pattern (z = +1 for pattern b)",
           "q_pat = torch.where(z > 0, a[..., 0], b[..., 0])", "q_pat = torch.where(z > 0, b[..., 0], a[..., 0])"),
    Mutant("L-M17", "sample_prompts", "contexts of pattern b labelled +1 like pattern a",
           "torch.where(ctx == b, -1, _signs((S, n, l), gen))", "torch.where(ctx == b, 1, _signs((S, n, l), gen))"),
    Mutant("L-M18", "sample_prompts", "the label embedding ignores q_norm (y = +-e_1)",
           "lab.to(dtype) * cfg.q_norm", "lab.to(dtype)"),
    Mutant("L-M19", "sample_prompts", "training contexts take pattern a with probability alpha/4 (a wrong law)",
           "ctx = torch.where(u < alpha / 2, a, torch.where(u < alpha, b, other))",
           "ctx = torch.where(u < alpha / 4, a, torch.where(u < alpha, b, other))"),
    Mutant("L-M20", "make_test_prompts", "the alpha' override is ignored (cfg.alpha_test always)",
           "alpha=cfg.alpha_test if alpha is None else alpha", "alpha=cfg.alpha_test"),
    Mutant("L-M21", "make_test_prompts", "the l_ts override is ignored (cfg.l_test always)",
           "l=cfg.l_test if l is None else l", "l=cfg.l_test"),
    Mutant("L-M22", "orthonormal_patterns", "IDR patterns not scaled by beta", "return cfg.beta * rows[:, : cfg.M1]",
           "return rows[:, : cfg.M1]"),
    Mutant("L-M23", "orthonormal_patterns", "IDI basis overlaps the IDR basis by one vector (off by one)",
           "rows[:, cfg.M1: cfg.M1 + cfg.M2]", "rows[:, cfg.M1 - 1: cfg.M1 - 1 + cfg.M2]"),
    Mutant("L-M24", "train_tasks", "the first pairs in order (lexicographic) whatever the cover: breaks Condition 3.2",
           'if cover == "lexicographic":', 'if cover in ("lexicographic", "cyclic"):'),
    Mutant("L-M25", "heldout_tasks", "the held-out set is all tasks (T_tr not removed)",
           "if tuple(t) not in seen", "if tuple(t) is not None"),
    Mutant("L-M26", "all_tasks", "pairs (a, a) included", "for b in range(M) if a != b", "for b in range(M)"),
    Mutant("L-M27", "ood_coefficients", "ODR coefficients S1_j instead of S1_j / 2 (coefficient sum 2 S1)",
           "K[j, 2 * j] = K[j, 2 * j + 1] = s / 2", "K[j, 2 * j] = K[j, 2 * j + 1] = s"),
    Mutant("L-M28", "ood_domain", "ODI not rotated (the OOD irrelevant patterns are the in-domain ones)",
           "rotation.to(idi.dtype) @ idi", "idi"),
    Mutant("L-M37", "ood_domain", "the S1 argument is ignored (cfg.S1 always): an override that does not reach the data",
           "K = ood_coefficients(cfg, S1, dtype", "K = ood_coefficients(cfg, None, dtype"),
    # initialisation and training
    Mutant("L-M29", "init_params", "a_i all of one sign (F >= 0 always)", "sign = torch.where(rank < (m + 1) // 2, 1.0, -1.0)",
           "sign = torch.where(rank < (m + 1) // 2, 1.0, 1.0)"),
    Mutant("L-M30", "init_params", "W_O initialised at scale 1 instead of xi (ignored config field)",
           "W_O = cfg.xi * torch.randn", "W_O = torch.randn"),
    Mutant("L-M31", "train_sgd", "W_Q, W_K frozen (their step dropped)",
           "etas = [cfg.eta_QK, cfg.eta_QK,", "etas = [0.0, 0.0,"),
    Mutant("L-M32", "train_sgd", "trained on prompts whose labels are shuffled (no task)",
           "batch = sample_prompts(cfg, domain, cfg.batch, gen, labels=labels, dtype=dtype)",
           'batch = sample_prompts(cfg, domain, cfg.batch, gen, labels="shuffled", dtype=dtype)'),
    Mutant("L-M33", "LiConfig", "replace() drops its overrides (every derived config is the base config)",
           "return dataclasses.replace(self, **kw)", "return self"),
    Mutant("L-M36", "output", "squared ReLU (a common MLP variant; not positively homogeneous)",
           "return (torch.relu(pre) @ w.unsqueeze(-1)).squeeze(-1)",
           "return (torch.relu(pre) ** 2 @ w.unsqueeze(-1)).squeeze(-1)"),
    # the deeper model
    Mutant("L-M34", "gpt_forward", "read out from the first token instead of the query",
           'x = layer_norm(x[..., -1, :], w["lnf_g"], w["lnf_b"])', 'x = layer_norm(x[..., 0, :], w["lnf_g"], w["lnf_b"])'),
    Mutant("L-M38", "gpt_forward", "per-layer attentions returned transposed (keys x queries)",
           "attns.append(att)", "attns.append(att.transpose(-1, -2))"),
    Mutant("L-M35", "train_gpt", "Adam updates only the read-out (the transformer frozen)",
           "opt = torch.optim.Adam(params.values(), lr=g.lr)", 'opt = torch.optim.Adam([params["w_out"]], lr=g.lr)'),
    Mutant("L-M39", "gpt_init", "residual projections not scaled by 1/sqrt(2 n_layer) (GPT-2's init)",
           "proj_std = 0.02 / math.sqrt(2 * g.n_layer)", "proj_std = 0.02"),
    # Removed, equivalent: L-M40 "Params.detach() without clone" -- train_sgd never updates the tensors it detaches
    # (it trains clones), so no computed value changes.
]

KNOWN_SURVIVORS: dict[str, str] = {}

# API members with code that no mutant targets, and why (tests/test_seam.py accepts only these).
NOT_MUTATED: dict[str, str] = {
    "Params": "a record; its detach()/to() copy tensors that nothing updates in place, so every bug in them is "
              "equivalent on the claims' computations (see the removed L-M40)",
    "GPTConfig": "a record whose only code validates its fields: a bug there changes no computed value",
}
