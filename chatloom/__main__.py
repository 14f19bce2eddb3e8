"""`python -m chatloom`."""

import sys

from chatloom.cli import main

sys.exit(main())
