"""``python -m vpc_mirror``: the same as the ``vpc-mirror`` command."""

import sys

from vpc_mirror.tui.cli import main

sys.exit(main())
