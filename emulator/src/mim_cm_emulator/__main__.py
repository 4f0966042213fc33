"""`python -m mim_cm_emulator`: the same as the `mim-cm-emulator` command."""

import sys

from .cli import main

sys.exit(main())
