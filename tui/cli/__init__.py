"""The ``gatewayctl-tui`` command: the console, the embedded demo, and headless commands for scripts.

    gatewayctl-tui                          open the console (Connect screen, or --gateway/--context)
    gatewayctl-tui demo [--no-tui]          backends + a real Envoy + traffic, then the console
    gatewayctl-tui up CONFIG | down NAME | gateways
    gatewayctl-tui routes | describe ROUTE | history | undo
    gatewayctl-tui set-weights | set-rate-limit | set-cors ROUTE ...

Every change takes the change pipeline (``connectors.change``: rebase, plan → diff → apply → verify
→ history) and prints the diff first; ``--dry-run`` stops after the diff. Failures exit 1 (gateway
errors) or 2 (usage) with one line on stderr, ``error: <title>: <message>``, never a traceback.

One module per command group, each with a ``commands()`` factory of typed ``Command``s:

    common      exit codes, UsageError, Command, plain-text output
    lifecycle   connecting (the one module that wires concrete connectors), up / down / gateways
    reading     routes / describe / history
    changing    set-weights / set-rate-limit / set-cors / undo, through the change pipeline
    console     the console (default command) and demo
    parser      global options and the subcommands; entry: ``main`` and its error lines

A command module imports at its top only argparse definitions and ``connectors.errors``; its handler
imports the connector code and libraries (httpx, YAML, Textual, Prometheus) it uses when it runs, so
``--help`` and a usage error load none of them (``tests/test_cli_startup_imports.py``; the start-up
of each command is measured by ``bench/bench_cli_startup.py``).
"""

from __future__ import annotations

from .entry import main
from .parser import build_parser

__all__ = ["build_parser", "main"]
