"""``python -m infra.local.demo`` (``make demo``): load the demo city into a running platform."""

import sys

from infra.local.demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
