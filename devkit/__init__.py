"""Developer tooling (not deployed): template reading, demo data, OpenAPI, benchmarks, load,
client management and the local run (``devkit.local``: the embedded AWS, API Gateway and
Lambda emulation, the local server)."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:  # the layer is importable as Lambda's /opt/python makes it
    sys.path.insert(0, _LAYER)
