"""``python -m aml_jupyter.cli ARGS``: the ``aml`` command without the warm process."""

import sys

from .main import main

sys.exit(main())
