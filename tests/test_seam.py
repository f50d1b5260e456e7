"""The one seam (theorems/impl.py) and the mutant machinery (mutants/): what a check can reach, how an implementation
is swapped, and how a mutant is built, reported stale, and judged applicable."""
from __future__ import annotations

import importlib
import sys

import pytest

import mutants
from mutants import Mutant, StaleMutant
from theorems import Claim, ConfigError, Kind, Outcome, Provenance, run_claim
from theorems import impl as theorems_impl
from theorems import impl as impl_mod


def _claim(check, paper="ren2024") -> Claim:
    return Claim(id="R-T31", paper=paper, reference="toy", title="toy", statement="x", provenance=Provenance.STATED,
                 kind=Kind.INEQUALITY, check=check)


def test_a_check_reaches_only_declared_members_and_the_evidence_says_which():
    def check(cfg, ctx):
        ctx.impl.prf  # noqa: B018 - touching a member is what is recorded
        return Outcome.at_most(0, 1)

    ev = run_claim(_claim(check), {}, seed=0)
    assert ev.uses == ["prf"] and ev.impl == "reference"

    def sneaky(cfg, ctx):
        return ctx.impl.check_shapes  # a helper of the module that is not part of the model API

    with pytest.raises(AttributeError, match="not a member of the ren2024 model API"):
        run_claim(_claim(sneaky), {}, seed=0)


def test_a_member_the_implementation_lacks_makes_the_example_not_applicable(tmp_path, monkeypatch):
    (tmp_path / "partial_ren.py").write_text("def prf(x, Wr):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    partial = impl_mod.from_module("ren2024", "partial_ren")
    assert "softmax_attention" in partial.missing() and "prf" not in partial.missing()
    ev = run_claim(_claim(lambda cfg, ctx: ctx.impl.softmax_attention), {}, seed=0, impl=partial)
    assert ev.status == "not applicable" and "softmax_attention" in ev.unmet_assumptions[0]
    assert "--impl ren2024=partial_ren" in ev.reproduce


@pytest.mark.parametrize("spec, message", [
    ("ren2024", "expected PAPER=MODULE"),
    ("nope2024=os", "unknown paper 'nope2024'"),
    ("ren2024=no_such_module_xyz", "cannot import 'no_such_module_xyz'"),
    ("ren2024=json", "provides no member of the ren2024 model API"),
])
def test_bad_impl_specs_stop_with_one_clear_message(spec, message):
    with pytest.raises(ConfigError, match=message):
        impl_mod.from_module(*impl_mod.parse_spec(spec))


def test_every_paper_declares_its_model_api_and_the_reference_provides_all_of_it():
    for paper in mutants.PAPERS:
        ref = impl_mod.reference(paper)
        assert ref.members, paper
        assert not ref.missing(), f"models/{paper}.py lacks {ref.missing()} of its declared API"
        assert all(doc.strip() for doc in ref.members.values()), f"{paper}: every API member has a one-line doc"


@pytest.mark.parametrize("paper", mutants.PAPERS)
def test_the_catalogue_has_twelve_named_one_line_mutants_per_paper_that_all_apply(paper):
    cat = mutants.catalogue(paper)
    assert len(cat) >= 12, f"{paper} has {len(cat)} mutants"
    assert len({m.id for m in cat}) == len(cat)
    api = impl_mod.api_members(paper)
    for m in cat:
        assert "\n" not in m.bug and m.bug.strip()
        assert m.find != m.replace
        src = mutants.patched_source(m)  # raises StaleMutant when the patch no longer applies
        assert src != mutants._source(paper)[1]
        assert m.member in mutants.reach(paper, set(api)), f"{m.id}: {m.member} is not reachable from the API"
    for mid in mutants.known_survivors(paper):
        assert mid in {m.id for m in cat}, f"known survivor {mid} is not in the catalogue"


def test_the_catalogue_covers_every_api_member_a_claim_reaches():
    """Together the mutants touch every member of the model API that computes something (directly or in a definition
    it calls); plain record types (a NamedTuple or dataclass without methods) have nothing to mutate."""
    import ast

    for paper in mutants.PAPERS:
        mutated = {m.member for m in mutants.catalogue(paper)}
        api = impl_mod.api_members(paper)
        tree = ast.parse(mutants._source(paper)[1])
        computes = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) or (
            isinstance(n, ast.ClassDef) and any(isinstance(b, ast.FunctionDef) for b in n.body))}
        exempt = getattr(importlib.import_module(f"mutants.{paper}"), "NOT_MUTATED", {})
        assert all(reason.strip() for reason in exempt.values())
        uncovered = [n for n in api if n in computes and n not in exempt and not (mutants.reach(paper, {n}) & mutated)]
        assert not uncovered, f"{paper}: no mutant reaches {uncovered}"


def test_a_patch_that_no_longer_applies_is_stale_never_skipped():
    m = Mutant(id="R-MX", member="prf", bug="b", find="this text is not in prf", replace="x", paper="ren2024")
    with pytest.raises(StaleMutant, match="occurs 0 times"):
        m.impl()
    gone = Mutant(id="R-MY", member="no_such_function", bug="b", find="a", replace="b", paper="ren2024")
    with pytest.raises(StaleMutant, match="no top-level 'no_such_function'"):
        gone.impl()


def test_a_mutant_propagates_to_callers_inside_the_model_and_leaves_the_reference_alone():
    import torch

    m = Mutant(id="R-MZ", member="project", bug="keys from W_Q", find="s * (W_K @ H)", replace="s * (W_Q @ H)",
               paper="ren2024")
    mod = mutants._module(m)
    ref = importlib.import_module("models.ren2024")  # not sys.modules: a worker may not have imported it yet
    assert mod is not ref and mod.project is not ref.project
    g = torch.Generator().manual_seed(0)
    H = torch.randn(2, 3, 5, generator=g, dtype=torch.float64)
    W_Q, W_K, W_V = (torch.randn(2, 2, 3, generator=g, dtype=torch.float64) for _ in range(3))
    Wr = torch.randn(2, 4, 2, generator=g, dtype=torch.float64)
    # kernel_attention calls project: the bug reaches it, while the reference module is untouched
    assert not torch.equal(mod.kernel_attention(H, W_Q, W_K, W_V, Wr, 3).h, ref.kernel_attention(H, W_Q, W_K, W_V,
                                                                                                   Wr, 3).h)
    assert torch.equal(ref.project(H, W_Q, W_K, W_V)[0], W_Q.shape[1] ** -0.25 * (W_K @ H))


def test_reach_follows_the_static_call_graph():
    graph = mutants.call_graph("ren2024")
    assert "project" in graph["kernel_attention"]
    assert "project" in mutants.reach("ren2024", {"kernel_attention"})
    assert "softmax_attention" not in mutants.reach("ren2024", {"prf"})


def test_kill_matrix_cells_killed_survived_and_stale(monkeypatch):
    from properties import harness, kill_matrix

    def check(cfg, ctx):
        import torch

        x = torch.ones(2, 3, dtype=torch.float64)  # (d_o, n)
        Wr = torch.zeros(4, 2, dtype=torch.float64)  # (d_r, d_o)
        got = ctx.impl.prf(x, Wr)
        return Outcome.at_most(float((got - got.mean()).abs().max()), 1e-12)  # prf(x, 0) is constant in the features

    toy = _claim(check)
    monkeypatch.setattr(kill_matrix, "claim_order", lambda paper, claims=None: ["R-T31"])
    monkeypatch.setattr(harness, "get_claim", lambda cid: toy)
    monkeypatch.setattr(harness, "pinned_draws", lambda: {"R-T31": [{"config": {}, "seed": 0}]})
    monkeypatch.setattr(kill_matrix, "baseline_uses", dict)  # the toy claim has no baseline entry
    bad = Mutant(id="R-MA", member="prf", bug="an equivalent rewrite", find="d_r = Wr.shape[-2]",
                 replace="d_r = int(Wr.shape[-2])", paper="ren2024")
    stale = Mutant(id="R-MB", member="prf", bug="stale", find="@@@", replace="x", paper="ren2024")
    assert kill_matrix.run_mutant(stale)[0]["outcome"] == "stale"
    survived = kill_matrix.run_mutant(bad)  # the identity patch changes nothing: it survives and is reported
    assert survived[0]["outcome"] == "survived"
    assert kill_matrix.unexpected_survivors(survived) == ["R-MA (prf: an equivalent rewrite) survived every claim "
                                                          "of ren2024"]
    killer = Mutant(id="R-MC", member="prf", bug="features depend on x only through one coordinate",
                    find="Wr @ x", replace="Wr @ x + torch.arange(Wr.shape[-2], dtype=x.dtype)[:, None]",
                    paper="ren2024")
    cell = kill_matrix.run_mutant(killer)[0]
    assert cell["outcome"] == "killed" and "--mutant R-MC" in cell["reproduce"]


def test_kill_matrix_skips_a_claim_whose_reference_run_never_reaches_the_mutated_member():
    """The baseline records the members each claim's reference run called; a mutant elsewhere is "not applicable"
    without a run (li2024's GPT-2 claims would otherwise retrain for every attention or pruning mutant)."""
    from properties import kill_matrix

    uses = kill_matrix.baseline_uses()
    assert uses["L-F-S1"] >= {"gpt_forward", "train_gpt"}, "reports/baseline.json records each claim's members"
    cell = kill_matrix.run_mutant(mutants.get("L-M11"), claims=["L-F-S1"])[0]  # pruning order: not a GPT-2 member
    assert cell["outcome"] == "not applicable" and cell["seconds"] == 0.0 and "baseline" in cell["detail"]


def test_kill_matrix_orders_a_shared_training_by_its_group():
    """li2024's GPT-2 claims share one training: all three go last, not the two that looked cheap in the baseline."""
    from properties import kill_matrix

    order = kill_matrix.claim_order("li2024")
    assert set(order[-3:]) == {"L-F-S1", "L-F-ALPHA", "L-F-3L"}, order


def test_a_claim_reading_a_cached_training_records_the_members_that_trained_it():
    """The second claim on li2024's shared world did not train it, yet it uses init_params and train_sgd: its record
    must say so, or the kill matrix would skip an init or training mutant for it."""
    from theorems.li2024 import common

    ref = theorems_impl.reference("li2024")
    built = []
    first, second = ref.view(), ref.view()
    common._cached(("test-cache", id(built)), lambda: first.init_params and built.append(1), first)
    common._cached(("test-cache", id(built)), lambda: built.append(2), second)
    assert built == [1] and "init_params" in first.used and "init_params" in second.used
