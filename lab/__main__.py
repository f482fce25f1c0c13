"""`python -m lab`: the lab's engine, headless."""

from lab.cli import main

raise SystemExit(main())
