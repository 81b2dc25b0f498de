"""``python -m deploytrail``: exactly the ``deploytrail`` command."""

import sys

from deploytrail.cli import main

if __name__ == "__main__":
    sys.exit(main())
