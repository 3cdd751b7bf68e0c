"""How work is cut into batches, for ingest and publish alike.

A batch is what one transaction holds and what memory holds at once: a crash
loses at most the batch in flight, and memory does not grow with the inbox or
the archive. The pages an ingest batch saves are handed to the page writer as
one batch, so both sides use the same size.
"""

from __future__ import annotations

from collections.abc import Callable

BATCH_SIZE = 500

# Called after each batch with (items done, items to do): files for ingest, pages for publish.
Progress = Callable[[int, int], None]
