"""Every category and all news as a fediverse (ActivityPub) account: docs/fediverse.md.

`accounts` (who exists and where), `documents` (WebFinger, actors, NodeInfo,
collections and activities; pure), `keys` (each account's RSA key), `signatures`
(HTTP Signatures, both kinds), `state` (followers, keys, other servers' keys),
`remote` (fetching another server's actor key), `inbox` (the endpoint),
`static` (the documents publishing writes), `channel` (deliveries on the seam).
"""
