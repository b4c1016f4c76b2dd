"""``python -m semiseg``."""

import sys

from semiseg.cli import main

sys.exit(main())
