"""Search: Russian (and English) morphology over SQLite FTS5 (docs/search.md).

`words` folds and stems text the same way for the index and for queries;
`query` turns what a reader typed into a safe MATCH expression; `snippets`
marks the matches in a story's own text; `service` answers a request with a
page or a feed; the index itself is the store's (`feeder.store.search`).
"""
