"""``python -m geosafe``."""

import sys

if __name__ == "__main__":  # not when a spawned process (the store's writer) imports it
    from geosafe.cli import main

    sys.exit(main())
