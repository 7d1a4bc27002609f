"""``python -m nnctl`` runs the command-line interface."""

from nnctl.cli.app import main

main()
