"""Examples per Hypothesis profile and claim cost tier (``Claim.cost.value``).

Kept apart from properties/harness.py so that conftest.py can register the profiles without importing torch: an
xdist controller then starts its workers at once instead of after the models' imports.
"""
EXAMPLES: dict[str, dict[str, int]] = {
    "ci": {"cheap": 25, "medium": 4, "slow": 1},
    "dev": {"cheap": 10, "medium": 2, "slow": 1},
    "thorough": {"cheap": 1000, "medium": 60, "slow": 5},
}
