"""feeder as its own WebSub hub (W3C WebSub, https://www.w3.org/TR/websub/).

Subscribers ask the hub endpoint (`[websub] hub_url`, served by feeder's HTTP
server) to subscribe to a feed; the answer is 202 at once and the request is
kept in SQLite until the delivery worker in `feeder run` has verified it with
the subscriber. After each publish that changed a feed, the WebSub channel
records one pending delivery per subscriber in SQLite and wakes the worker,
which POSTs the feed's bytes to each subscriber with bounded concurrency,
timeouts and retries. Nothing here runs inside ingest or publish beyond that
one SQL statement per changed feed. docs/websub.md has the whole story.
"""
