"""Entry point of ``python -m hisir_train``."""

import sys

from .cli import main

sys.exit(main())
