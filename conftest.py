"""The suite's pytest wiring: a list of plugins (properties/plugins/, one module per concern)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest_plugins = [
    "properties.plugins.profiles",
    "properties.plugins.options",
    "properties.plugins.evidence",
    "properties.plugins.outcome",
    "properties.plugins.schedule",
    "properties.plugins.mutation",
]
