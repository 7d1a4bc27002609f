"""``python -m nnctl`` runs the command-line interface."""

from nnctl.cli.entry import main

main()
