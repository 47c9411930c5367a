"""`python -m devkit.package`: see devkit/package/__init__.py."""

import sys

from devkit.package import main

sys.exit(main())
