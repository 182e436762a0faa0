"""``python -m geosafe``."""

import sys

from geosafe.cli import main

sys.exit(main())
