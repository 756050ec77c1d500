"""``python -m tui``: the same as the ``gatewayctl-tui`` command."""

import sys

from tui.cli import main

sys.exit(main())
