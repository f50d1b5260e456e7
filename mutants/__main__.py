"""``python -m mutants``: the kill matrix from the command line (properties/kill_matrix.py)."""
import sys

from properties.kill_matrix import main

sys.exit(main())
