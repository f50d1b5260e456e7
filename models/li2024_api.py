"""The li2024 model API: the members of ``models/li2024.py`` that the claims of ``theorems/li2024/`` call.

This file IS the documentation of the seam (theorems/impl.py): a check reaches the model only as
``ctx.impl.<name>(...)``, so an implementation under test (the reference, ``--impl li2024=pkg.mod``, or a mutant of
``mutants/li2024.py``) provides exactly these names with the reference's signatures. Notation of the spec
(../shared/papers/li2024.md §1): prompts are stored tokens-as-rows, ``P`` (S, n, l+1, d) with a leading seed
dimension S, the query last; ``F(Psi; P) = a^T ReLU(W_O sum_i W_V p_i attn_i)`` with
``attn_i = softmax_i((W_K p_i)^T W_Q p_query)`` over the l contexts only.

Measurements (same-pattern attention mass, neuron cosines, 2-means of neuron norms, steps-to-target, coverage
counts, the 0-1 error) are the claims' own instruments and are computed in the checks, not through this API.
"""

MEMBERS = {
    # configuration and containers the checks construct
    "LiConfig": "dataclass of every knob (patterns, tasks, prompts, OOD, model, training, pruning); "
                "LiConfig.from_mapping(cfg, **overrides), .replace(**kw), .d = d_X + d_Y",
    "Domain": "NamedTuple (rel (S, M, d_X), irr (S, M2, d_X), tasks (T, 2)): the patterns and task list of one domain",
    "Params": "NamedTuple Psi = (W_Q, W_K (S, m_a, d), W_V (S, m_b, d), W_O (S, m, m_b), a (S, m))",
    # data generators
    "orthonormal_patterns": "(cfg, S, gen) -> IDR mu_j (S, M1, d_X) of norm beta, IDI nu_k (S, M2, d_X) orthonormal, "
                            "all mutually orthogonal",
    "ood_coefficients": "(cfg, S1) -> K (M1_ood, M1): mu'_j = sum_i K_{j,i} mu_i = (S1_j/2)(mu_{2j} + mu_{2j+1})",
    "ood_domain": "(cfg, idr, idi, rotation, S1) -> Domain(K idr, rotation idi, all ordered pairs of M1_ood)",
    "all_tasks": "(M) -> the M(M-1) ordered pairs (a, b), a != b",
    "train_tasks": "(M1, n_families, cover) -> T_tr: cyclic shifts (a, a+s mod M1) (Condition 3.2) or lexicographic",
    "heldout_tasks": "(M1, T_tr) -> T \\ T_tr",
    "sample_prompts": "(cfg, domain, n, gen, l=, alpha=, mode=) -> Prompts(P, z, pattern, task, label): "
                      "training-style (iid a / b / other) or guaranteed (ceil(alpha l/2) same-pattern contexts)",
    "make_test_prompts": "(cfg, domain, n, gen, l=, alpha=) -> test Prompts of length l_ts and fraction alpha' "
                         "(the overrides l, alpha take precedence over cfg.l_test, cfg.alpha_test)",
    # the one-layer model
    "init_params": "(cfg, S, gen) -> Psi^(0): W_Q = W_K = W_V = delta I, W_O ~ N(0, xi^2), a = +-1/sqrt(m) half each",
    "attention": "(Psi, P) -> attn (S, n, l): softmax over the l contexts of (W_K p_i)^T W_Q p_query",
    "forward": "(Psi, P, keep=None) -> Forward(attn, pooled, h = W_V pooled, pre = W_O h, F); keep (S, m) masks "
               "pruned neurons",
    "output": "(pre, a, keep=None) -> F = (a * keep)^T ReLU(pre)",
    "hinge": "(F, z) -> max(0, 1 - z F), the training loss",
    # training
    "train_sgd": "(cfg, Psi^(0), domain, gen, monitor=, record_every=) -> TrainResult(params, init, loss (S, T)): "
                 "plain SGD on the mean hinge, step eta_QK for W_Q, W_K and eta_OV for W_O, W_V; a fixed",
    # pruning
    "neuron_norms": "(Psi, norm) -> (S, m): ||W_O,(i)|| or ||(W_O W_V)_(i)||",
    "pruning_indices": "(Psi, rate, method, gen, norm) -> (S, round(rate m)) neurons to prune: magnitude (smallest "
                       "first, ties by index), largest, or random",
    "keep_mask": "(S, m, idx) -> (S, m) mask, 0 on the pruned neurons",
    "prune": "(Psi, idx) -> Psi with the rows idx of W_O zeroed (the paper's pruning)",
    "delete_neurons": "(Psi, idx) -> Psi without the neurons idx (rows of W_O, entries of a)",
    # the deeper model (slides' 3-layer 2-head GPT-2)
    "GPTConfig": "dataclass (n_layer, n_head, n_embd, lr, steps, batch, pos_emb, max_len) of the GPT-2-style model",
    "gpt_init": "(g, d_in, S, gen) -> weights dict with a leading seed dimension (GPT-2 init)",
    "gpt_forward": "(g, w, P) -> (F (S, n) read out at the query token, per-layer attentions (S, n, H, T, T))",
    "train_gpt": "(g, cfg, w, domain, gen, l_min) -> (trained weights, loss (S, steps)): Adam on the hinge",
}
