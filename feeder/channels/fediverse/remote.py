"""Another server's actor key: fetched through the one door for strangers' URLs.

The key id a signature names is fetched (its `#fragment` dropped) with
`application/activity+json`, at most MAX_DOCUMENT_BYTES, within the timeout,
never at a private address unless allowed; the actor document gives the key,
its owner and the inboxes. A key document that names its owner elsewhere costs
one more fetch of that owner. Keys are kept in the database (`state`), so a
Delete signed by an actor already gone can still be checked.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from feeder.channels.fediverse.state import RemoteKey
from feeder.channels.outgoing import Answer, Outgoing

MAX_DOCUMENT_BYTES = 64 * 1024
ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def fetch_key(client: Outgoing, key_id: str, timeout: float, now: float) -> RemoteKey | str:
    """The key, or why there is none (for the log and the 401)."""
    document = await _fetch(client, key_id.split("#", 1)[0], timeout)
    if isinstance(document, str):
        return document
    if "publicKey" not in document and isinstance(document.get("owner"), str):
        owner = document["owner"]
        key = document
        actor = await _fetch(client, owner, timeout)
        if isinstance(actor, str):
            return actor
    else:
        actor = document
        keys = actor.get("publicKey")
        candidates = keys if isinstance(keys, list) else [keys]
        key = next(
            (k for k in candidates if isinstance(k, dict) and k.get("id") == key_id),
            candidates[0] if candidates and isinstance(candidates[0], dict) else {},
        )
    owner, pem = actor.get("id"), key.get("publicKeyPem")
    inbox = actor.get("inbox")
    endpoints = actor.get("endpoints") if isinstance(actor.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if not (isinstance(owner, str) and isinstance(pem, str) and isinstance(inbox, str)):
        return f"{key_id}: the actor document lacks its id, inbox or public key"
    if key.get("owner", owner) != owner or not _same_host(owner, key_id):
        return f"{key_id}: the key does not belong to an actor of its own server"
    shared_inbox = shared if isinstance(shared, str) and _same_host(shared, owner) else inbox
    return RemoteKey(key_id, owner, pem, inbox, shared_inbox, now)


async def _fetch(client: Outgoing, url: str, timeout: float) -> dict[str, Any] | str:
    answer = await client.exchange(
        "GET", url, timeout, headers={"accept": ACCEPT}, max_bytes=MAX_DOCUMENT_BYTES + 1
    )
    if not isinstance(answer, Answer):
        return f"{url}: {answer}"
    if answer.status != 200:
        return f"{url}: answered {answer.status}"
    if len(answer.body) > MAX_DOCUMENT_BYTES:
        return f"{url}: the document is longer than {MAX_DOCUMENT_BYTES} bytes"
    try:
        document = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return f"{url}: not a JSON document"
    return document if isinstance(document, dict) else f"{url}: not a JSON object"


def _same_host(first: str, second: str) -> bool:
    return urlsplit(first).netloc.lower() == urlsplit(second).netloc.lower()
