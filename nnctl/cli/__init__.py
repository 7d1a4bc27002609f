"""The command-line interface: the only code that imports typer and rich."""
