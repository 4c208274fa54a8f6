"""``python -m drafting`` runs the CLI."""

from drafting.cli import main

main()
