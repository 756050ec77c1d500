"""``python -m tui.cli``: the same as the ``gatewayctl-tui`` console script."""

import sys

from tui.cli import main

sys.exit(main())
