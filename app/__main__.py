"""`python -m app` is the `dts` command."""

from app.cli import main

main()
