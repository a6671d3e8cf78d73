"""`python -m cnnkit`: the `cnnkit` command."""

from cnnkit.cli import main

raise SystemExit(main())
