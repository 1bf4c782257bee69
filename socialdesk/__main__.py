"""`python -m socialdesk` runs the command line."""

from socialdesk.cli import main

raise SystemExit(main())
