"""``python -m devkit.local``: the local run (``make run``)."""

from devkit.local.run import main

raise SystemExit(main())
