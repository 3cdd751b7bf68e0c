"""`/.well-known/webfinger` and `/.well-known/nodeinfo`, at the root of the host.

They are the two documents that cannot be plain files: WebFinger is asked by
query (`?resource=acct:politika@host`, or an actor's URL) and both live under
`/.well-known/`, a hidden name neither server serves from the output. The
answers are the files publishing wrote (`static`), so both servers agree.
"""

from __future__ import annotations

import json

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from feeder.channels.fediverse import documents
from feeder.channels.fediverse.accounts import JRD_JSON, actor_id, host, webfinger_path
from feeder.config import Config

WEBFINGER_ROUTE = "/.well-known/webfinger"
NODEINFO_ROUTE = "/.well-known/nodeinfo"
CORS = {"access-control-allow-origin": "*"}


class Discovery:
    def __init__(self, config: Config) -> None:
        self.config = config

    def routes(self) -> list[Route]:
        return [
            Route(WEBFINGER_ROUTE, self.webfinger, methods=["GET", "HEAD"]),
            Route(NODEINFO_ROUTE, self.nodeinfo, methods=["GET", "HEAD"]),
        ]

    async def webfinger(self, request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        handle = self.handle_of(resource)
        if handle is None:
            return PlainTextResponse(
                f"ask for resource=acct:<account>@{host(self.config)}\n",
                400 if not resource else 404,
            )
        path = self.config.output_dir / webfinger_path(handle)
        try:
            body = await anyio.Path(path).read_bytes()
        except OSError:
            return PlainTextResponse(f"no account {handle} here\n", 404)
        return Response(body, 200, CORS, JRD_JSON)

    def handle_of(self, resource: str) -> str | None:
        """The account a resource names: acct:<handle>@<our host>, or an actor's URL."""
        if resource.startswith("acct:"):
            name, _, domain = resource.removeprefix("acct:").rpartition("@")
            ours = domain.lower() == host(self.config).lower()
            return (
                name.lower()
                if ours and name and "/" not in name and not name.startswith(".")
                else None
            )
        prefix = actor_id(self.config, "")
        name = resource.removeprefix(prefix)
        return (
            name
            if resource.startswith(prefix) and name and "/" not in name and not name.startswith(".")
            else None
        )

    async def nodeinfo(self, request: Request) -> Response:
        body = json.dumps(documents.nodeinfo_links(self.config)).encode()
        return Response(body, 200, CORS, "application/json")
