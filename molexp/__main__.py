import sys

from molexp.cli.main import main

sys.exit(main())
