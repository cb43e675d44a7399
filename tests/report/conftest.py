import sys
from pathlib import Path

# the synthetic study writer lives with the stats tests
sys.path.insert(0, str(Path(__file__).parents[1] / "stats"))
