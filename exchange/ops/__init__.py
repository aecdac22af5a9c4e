"""Ops and insight: search and inspect messages and failures, replay and amend, case
timelines, shared figures and retention. Used by the ops API, the console and the CLI."""

from exchange.ops.config import OpsSettings

__all__ = ["OpsSettings"]
