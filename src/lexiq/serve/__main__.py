"""``python -m lexiq.serve env serve wordle ...``: the ``lexiq env`` commands without the ``lexiq`` entry point."""

from lexiq.serve.cli import main

raise SystemExit(main())
