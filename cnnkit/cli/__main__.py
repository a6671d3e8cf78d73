"""`python -m cnnkit.cli`."""

from cnnkit.cli import main

raise SystemExit(main())
