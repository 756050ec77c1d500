"""The metrics source of a headless command: Prometheus with ``--prometheus URL``, else the gateway's own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from connectors.errors import MetricsError

if TYPE_CHECKING:
    from connectors.base import Connector
    from connectors.metrics import MetricsSource


def open_metrics(args: argparse.Namespace, conn: Connector) -> MetricsSource:
    """The metrics source the global options name (``--prometheus``), else the gateway's own."""
    from connectors.metrics import metrics_for, prometheus_source

    source = prometheus_source(args.prometheus, conn) if args.prometheus else None
    if source is None:
        source = conn.metrics() or metrics_for(conn)
    if source is None:
        raise MetricsError("this gateway has no metrics source: pass --prometheus URL")
    return source
