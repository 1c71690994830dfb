"""The `shelfwise` command line: ingest, train, serve, search, recommend, evaluate, demo.

The entry point is `shelfwise.cli.main:app` (a Typer application).
"""
