"""Developer tooling (not deployed): template reading, the embedded AWS, demo data,
API Gateway event building, the local server, benchmarks and client management."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:  # the layer is importable as Lambda's /opt/python makes it
    sys.path.insert(0, _LAYER)
