"""`python -m woodmarket.cli`: the command line, as the `woodmarket` script runs it."""

from woodmarket.cli import main

raise SystemExit(main())
