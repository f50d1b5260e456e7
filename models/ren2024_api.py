"""The ren2024 model API: every member of ``models/ren2024.py`` that the claims of ``theorems/ren2024/`` call.

This file IS the documentation of the seam (theorems/impl.py). A check reaches the model only as
``ctx.impl.<name>(...)``; an alternative implementation (``--impl ren2024=pkg.mod``, e.g. ``examples/alt_ren2024.py``)
provides any subset of these names, and the claims that need only that subset run against it.

Notation (spec ../shared/papers/ren2024.md, §1). Leading batch dimension B of independent instances; columns are
tokens. ``H`` (B, d_i, T+1) = [H_D, H_Q] with the first N columns the demonstrations and the last column the query
h_{T+1}; ``W_Q, W_K, W_V`` (B, d_o, d_i); ``Wr`` (B, d_r, d_o) the random-feature directions w_r ~ N(0, I).
Keys and query carry d_o^{-1/4} (the 1/sqrt(d_o) of softmax attention); values do not.

``kernel_attention`` and the modified attentions return a record with the fields ``h`` (B, d_o) = hat h'_{T+1},
``D`` (B,) = sum_j phi(k_j)^T phi(q) (spec §1; see ``kernel_attention``'s conventions), ``W0`` (B, d_o, d_r) =
(1/D) sum_{j in Q} v_j phi(k_j)^T, ``X`` (B, d_r, N) =
phi(x_i), ``Y`` (B, d_o, N) = y_i = W_V h_i, ``phi_q`` (B, d_r) = phi(x_test), ``weights`` (B, T+1) =
phi(k_j)^T phi(q) / D (``models.ren2024.KernelAttention``). ``random_mlp`` returns fields ``W_1, b_1, W_2, b_2`` with
g(x) = W_2 tanh(W_1 x + b_1) + b_2; ``random_stack`` returns per layer fields ``W_Q, W_K, W_V, Wr``.
"""

MEMBERS = {
    # instances and feature maps
    "random_instance": "(B, d_i, d_o, N, M, d_r, scale, token_bound, generator, dtype) -> H, W_Q, W_K, W_V, Wr: "
                       "tokens U[-token_bound, token_bound], weights N(0,1)/sqrt(d_i)*scale, w_r ~ N(0, I)",
    "prf": "(x (..., d_o, n), Wr (..., d_r, d_o)) -> phi(x) = exp(w_r^T x - |x|^2/2)/sqrt(d_r), (..., d_r, n)",
    "taylor_features": "(x (B, d, n), p) -> phi_p(x) = (+)_{k<=p} x^{(x)k}/sqrt(k!): phi_p(x)^T phi_p(y) = "
                       "sum_{k<=p} (x^T y)^k/k!",
    "softmax_attention": "(H, W_Q, W_K, W_V) -> exact h'_{T+1} = W_V H softmax((W_K H)^T W_Q h_{T+1}/sqrt(d_o)), "
                         "(B, d_o)",
    # Theorem 3.1: kernelised attention and its dual model
    "kernel_attention": "(H, W_Q, W_K, W_V, Wr, N, features=None, residual=False, mask_query_values=False, "
                        "normaliser='all') -> record h, D, W0, X, Y, phi_q, weights (kernelised attention at the "
                        "query and the dual model's data). Conventions (spec errata; defaults = spec §1): residual: "
                        "h = h_{T+1} + attention output, dual data unchanged (d_o == d_i, else ConfigError 'd_o'); "
                        "mask_query_values: numerator over the N demonstrations only, W0 = 0; normaliser "
                        "'demos_query': D = sum_{i<=N} phi(k_i)^T phi(q) + phi(k_{T+1})^T phi(q) (demonstrations "
                        "plus the query's own key; 'all' sums every token j = 1..T+1), weights phi(k_j)^T phi(q)/D on "
                        "the normaliser's tokens and 0 elsewhere. Claims pass a convention keyword only when it is "
                        "not the default",
    "dual_loss": "(W, X, Y, D, eta) -> L(W) = -(1/(eta D)) sum_i y_i^T W phi(x_i), summed over the batch",
    "dual_one_step": "(W0, X, Y, D, eta, reg_alpha=0, Y_neg=None, beta=0) -> W_1 = W_0 - eta grad L(W_0) by "
                     "autograd (L + alpha/(2 eta)|W|^2 with reg_alpha; labels y_i - beta ybar_i with Y_neg)",
    "dual_predict": "(W (B, d_o, d_r), phi_q (B, d_r)) -> f(x_test) = W phi(x_test), (B, d_o)",
    # R-SEQ
    "random_order": "(B, N, generator) -> an independent random permutation of range(N) per instance, (B, N)",
    "sequential_sgd": "(W0, X, Y, D, eta, order) -> trajectory W^(0..n) (B, n+1, d_o, d_r) of one-sample steps "
                      "W <- W - eta grad L_i(W), i = order[:, t]",
    # R-T32
    "uniform_ball": "(n, d, radius, generator) -> n points uniform in the d-ball of that radius, (n, d)",
    # R-FFN
    "random_ffn": "(B, d_o, d_ff, generator) -> W_1 (B, d_ff, d_o) ~ N(0,1)/sqrt(d_o), W_2 (B, d_o, d_ff) ~ "
                  "N(0,1)/sqrt(d_ff)",
    "ffn": "(z (B, d_o), W_1, W_2, activation 'relu'|'gelu', residual) -> W_2 sigma(W_1 z) (+ z)",
    "transformer_layer": "(H, W_Q, W_K, W_V, Wr, N, W_1, W_2, activation, residual) -> (h''_{T+1}, kernel "
                         "attention record): attention then FFN",
    "relu_linearisation": "(z, W_1, W_2, residual) -> A = W_2 diag(1[W_1 z > 0]) W_1 (+ I), (B, d_o, d_o)",
    "lift_dual": "(A, W0, Y) -> (A W0, A Y): the lifted dual problem of R-FFN",
    # R-ML
    "random_stack": "(B, d_i, d_o, L, d_r, scale, generator) -> L layers (W_Q, W_K, W_V, Wr); layer 1 d_i -> d_o, "
                    "the others d_o -> d_o; weights N(0,1)/sqrt(d_in)*scale, w_r ~ N(0, I)",
    "attention_stack": "(H, layers, causal, residual) -> [H^(0), ..., H^(L)]: kernelised attention at every "
                       "position (causal: position t sees j <= t), + H^(l-1) if residual",
    # R-REG, R-AUG, R-NEG
    "regularised_attention": "(H, W_Q, W_K, W_V, Wr, N, alpha) -> record: query-side numerator terms times "
                             "(1 - alpha), D unchanged",
    "random_mlp": "(B, d_in, d_hidden, d_out, generator) -> g = (W_1, b_1, W_2, b_2), g(x) = W_2 tanh(W_1 x + b_1) "
                  "+ b_2",
    "augmented_attention": "(H, W_Q, W_K, W_V, Wr, N, g_K, g_V, augment_query) -> record of attention on keys "
                           "g_K(k_j), values g_V(v_j), query g_K(q) if augment_query else q",
    "negative_sets": "(B, N, n_neg, generator) -> 0/1 mask (B, N, N): mask[b, i, j] = 1 iff j is one of the "
                     "min(n_neg, N-1) uniformly drawn negatives of i (never i)",
    "negative_attention": "(H, W_Q, W_K, W_V, Wr, N, beta, mask) -> record of attention whose demonstration values "
                          "are v_i - beta ybar_i^- (ybar_i^- the mean value of i's negatives)",
    # R-F3 (right panel)
    "icl_regression_tokens": "(B, d, N, generator, dtype) -> tokens (B, d+1, N+1) h_i = [x_i; y_i], query [x; 0], "
                             "and the query targets y = w^T x (B,)",
    "ModifiedAttentionRegressor": "(d, d_r, variant, generator, alpha, beta, n_neg) -> module; forward(H, N, "
                                  "generator) = last coordinate of the (plain|regularised|augmented|negative) "
                                  "attention output at the query; parameters W_Q, W_K, W_V, buffer Wr",
    "train_icl_regressor": "(model, d, N, steps, batch, generator, lr, eval_every, eval_batch) -> (steps, test MSE "
                           "at each): Adam on fresh prompts",
}
