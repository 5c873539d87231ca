"""One module per command area; each defines click commands that cli.py registers."""
