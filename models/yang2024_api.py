"""The yang2024 model API: what the claims of theorems/yang2024.py call, and all they may call (theorems/impl.py).

This file is the documentation of the model's interface, in the paper's notation (spec ../shared/papers/yang2024.md,
§1; the reference implementation is models/yang2024.py). Every tensor carries a leading batch dimension B of
independent instances; columns are tokens. A prompt holds the N labelled tokens v_1..v_N of the dictionary
v_1..v_K (unit norm), features z_k = f(v_k) in R^m, labels y_k = lambda^T (z_k + eps_k), eps_k ~ N(0, tau I_m).
G = Z^T Z + m tau I_N, Zbar = G^{1/2}, target A = G^{-1}(Z^T Z~ + m tau [I_N, 0]). Parameters theta = (Q, w):
Q (B, H, d, d), w (B, H, K). S (B, N, H, K): s_k^h = softmax over the N prompt tokens of V_P^T Q_h v_k;
Ahat[:, :, k] = sum_h w_{h,k} s_k^h; the prediction is y^ = Ahat^T y (eq. 8).

A module passed with ``--impl yang2024=pkg.mod`` provides (some of) these names with these meanings.
"""

MEMBERS = {
    # instances and data (§1.1)
    "Instance": "dataclass(V (B,d,K), Zt (B,m,K), N, tau) with properties batch, d, K, m, VP, Z, ZQ, E0 = [I_N, 0], "
                "G, G_eig, Zbar, G_norm, G_min, A, L_star",
    "make_instance": "(batch, d, K, N, m, tau, generator, token_norm=1) -> Instance: unit-norm Gaussian-direction "
                     "tokens scaled to token_norm, N(0, 1) features",
    "distinct_coordinate_gap": "(inst) -> (B,): max over coordinates x of min_{i != j} |V_P[x, i] - V_P[x, j]| "
                               "(Assumption 3 holds iff > 0)",
    "sample_tasks": "(law, batch, n, m, generator) -> lambda (B, n, m): gaussian / rademacher / uniform "
                    "(mean 0, variance 1, Assumption 1) or ood = N(1_m, 4 I_m)",
    "clip_to_ball": "(lam, B) -> lam projected onto ||lambda||_2 <= B (Assumption 4)",
    "labels": "(inst, lam (B,n,m), generator) -> y (B, n, K): y_k = lambda^T (z_k + eps_k), eps_k ~ N(0, tau I_m)",
    # the model (eq. 8)
    "init_params": "(inst, H, beta, generator) -> (Q, w): Q_h entries iid N(0, beta^2), w = 0 (Proposition 1)",
    "scores": "(Q, inst) -> X (B, N, H, K): X[:, n, h, k] = v_n^T Q_h v_k",
    "softmax_maps": "(Q, inst) -> S (B, N, H, K): s_k^h = softmax over the N prompt tokens (dim 1) of X[:, :, h, k]",
    "ahat": "(w, S) -> Ahat (B, N, K): a^_k = sum_h w_{h,k} s_k^h",
    "predict": "(Q, w, inst, y (B,n,N)) -> y^ (B, n, K) = y Ahat (eq. 8)",
    "predict_block": "(Q, w, inst, y (B,N)) -> (B, K): eq. 8 through the explicit embedding and W^Q, W^K, W^V, W^O "
                     "block matrices, diag(T(E))",
    # loss (Lemma 5)
    "loss_of_ahat": "(Ahat, inst) -> (B,): the exact population loss 1/2 sum_k [||Z a^_k - z_k||^2 + m tau "
                    "||a^_k - e_k||^2] (+ m tau per unseen token)",
    "loss_closed": "(Q, w, inst) -> (B,): L(theta) = loss_of_ahat(ahat(w, softmax_maps(Q, inst)))",
    "gap_of_ahat": "(Ahat, inst) -> (B,): Delta = L - L* = 1/2 sum_k (a^_k - a_k)^T G (a^_k - a_k)",
    "loss_mc": "(Q, w, inst, n, law, generator) -> (mean, standard error) (B,) of 1/2 sum_k (y^_k - y_k)^2 over n "
               "sampled (lambda, eps)",
    # ridge predictors (Theorem 2, Lemma 4)
    "ridge_coefficients": "(inst, y (B,n,N), c) -> (B, n, m): (Z Z^T + c I_m)^{-1} Z y",
    "ridge_predictor": "(inst, y (B,n,N)) -> (B, n, K): y* = (y_1..y_N, Z_Q^T lambda_hat), penalty m tau/(2N) "
                       "(eq. 20; c = m tau)",
    "oracle_predictor": "(inst, y (B,n,N)) -> (B, n, K): y_best, ridge with penalty tau/2 (eq. 25; c = N tau)",
    # conditioning (Assumption 2) and step sizes
    "C_matrices": "(S) -> (B, K, N, H): C_k = (s_k^1 .. s_k^H)",
    "zeta": "(S, inst) -> (B,): min_k lambda_min(B_k B_k^T), B_k = Zbar C_k",
    "L_w": "(S, inst) -> (B,): max_k lambda_max(C_k^T G C_k), the smoothness of L in w",
    "kappa0": "(S, inst) -> (B,): L_w / zeta",
    "step_sizes": "(inst, H, c, gamma) -> StepSizes(eta_Q, eta_w): eta_w = c/(||G||_2 H), eta_Q = eta_w/gamma^2",
    # gradients (Lemma 1) and GD (§1.5)
    "grad_analytic": "(Q, w, inst) -> (dL/dQ, dL/dw, Delta): the hand-derived gradient of loss_closed (Lemma 1)",
    "grad_autograd": "(Q, w, inst) -> (dL/dQ, dL/dw): torch autograd of loss_closed",
    "gd": "(inst, Q0, w0, eta_Q (B,), eta_w (B,), steps, record_zeta=False, head_mask=None) -> Trajectory(Q, w, "
          "delta (B, T+1), zeta, L_w, Q_drift): full-batch GD on the closed-form loss",
    "one_head_lower_bound": "(inst) -> (B,): H = 1 NNLS lower bound on L - L* (Section 3.3, C10)",
    # the experiments' models and Adam training (Figures 2, 5)
    "OneLayerAttention": "nn.Module(inst, H, beta, generator): eq. 8 with trainable Q, w; forward(y (B,n,N)) -> "
                         "(B, n, K)",
    "FourLayerTransformer": "nn.Module(inst, d_model, nhead, d_ff, layers, generator): post-LN encoder over the N + K "
                            "columns [v; y; flag]; forward(y (B,n,N)) -> (B, n, K)",
    "train_adam": "(model, inst, lam_train (B,n_train,m), steps, lr, batch, generator, evaluate=None, "
                  "eval_every=0) -> training losses (B, steps): Adam on 1/2 sum_k (y^_k - y_k)^2",
    "inference_loss": "(model, inst, y (B,n,N)) -> (B,): (1/K) ||y^ - y*||^2 averaged over prompts, y* = "
                      "ridge_predictor",
}
