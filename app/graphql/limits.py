"""Per-operation limits the validation rules cannot see: the preview rows one operation costs.

Depth, aliases and tokens are bounded before execution (see `app/graphql/schema.py`); how
many occurrences an operation asks for depends on its arguments and on how many jobs a
page holds, so every `previewSchedule` and `Job.nextRuns` charges a budget as it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar

from strawberry.extensions import SchemaExtension
from strawberry.types import StreamExecutionResult

from app.services.inspector import PreviewBudget

# The resolvers of one operation run in tasks copied from the operation's context, so they
# all see (and charge) the one budget set when it started.
_BUDGET: ContextVar[PreviewBudget | None] = ContextVar("dts_preview_budget", default=None)


def preview_budget() -> PreviewBudget:
    """The running operation's budget (a fresh one outside an operation)."""
    return _BUDGET.get() or PreviewBudget()


class PreviewLimit(SchemaExtension):
    """A fresh budget for each query or mutation, and for each event of a subscription."""

    def on_operation(self) -> Iterator[None]:
        self.budget = PreviewBudget()
        _BUDGET.set(self.budget)
        try:
            yield
        finally:
            _BUDGET.set(None)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        yield
        self.budget.used = 0  # this event was computed and sent; the next one starts afresh
