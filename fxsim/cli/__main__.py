import sys

from fxsim.cli import main

sys.exit(main())
