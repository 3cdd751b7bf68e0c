"""The hub endpoint against anything a client may send: a standing fuzz check.

Random forms (the hub's fields with good, bad and random values, unknown and
repeated fields, raw bytes), header sets (the form's type in many spellings,
other types, random extra headers) and callback URLs in every spelling a host
can take: IPv4 in octal, hex, short and whole-number forms, IPv6 literals with
and without zones, names that IDNA 2003 and 2008 read alike or apart,
percent-encoded, full-width, with user names, fragments and odd ports. Each
request must get an answer that is not a 5xx and shows no traceback, and store
nothing unless it was accepted. Then the delivery worker runs: every accepted
request must come to a recorded outcome, with no error in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.commands import wait_for
from tests.test_websub import FORM, Hub, Names, free_port, running_hubs
from tests.websub_subscriber import Subscriber, post

IPV4_LOOPBACK = [
    "127.0.0.1",
    "127.0.0.1.",
    "127.000.000.001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "127.1",
    "127.0.1",
]
IPV6_LOOPBACK = [
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::1%25lo]",
    "[fe80::1%25lo]",
    "::1",
]
# The test resolver knows these names (their ASCII forms), all at 127.0.0.1.
KNOWN_NAMES = ["subscriber.example", "xn--bcher-kva.example", "fass.example", "localhost"]
NAMES = [
    *KNOWN_NAMES,
    "SUBSCRIBER.Example.",
    "bücher.example",
    "BÜCHER.example",
    "faß.example",
    "xn--fa-hia.example",
    "ςx.example",
    "ｓｕｂｓｃｒｉｂｅｒ.example",
    "sub%73criber.example",
    "subscriber..example",
    "sub_scriber.example",
    "-subscriber.example",
    "subscriber.example\u200d",
    "subscriber.example%00",
]
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
# Latin-1 without control characters: what an HTTP header value can carry.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40).filter(
    lambda text: "\x7f" not in text and text == text.strip()
)
# Headers that frame the request: left to the client, or the server waits for a body.
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect", "content-type"}


def callbacks(ports: list[int]) -> st.SearchStrategy[str]:
    host = st.one_of(st.sampled_from(IPV4_LOOPBACK + IPV6_LOOPBACK + NAMES), ANY_TEXT)
    scheme = st.one_of(
        st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "file", "javascript", ""]),
        ANY_TEXT,
    )
    port = st.one_of(
        st.just(""),
        st.sampled_from(ports).map(lambda port: f":{port}"),
        st.integers(-1, 70_000).map(lambda port: f":{port}"),
        st.sampled_from([":", ":0080", ":8o", ": 80"]),
    )
    userinfo = st.sampled_from(["", "user@", "user:secret@", "@", "127.0.0.1@", ":@"])
    path = st.one_of(st.sampled_from(["/push", "/", "", "/a/../b", "/%2e%2e/"]), ANY_TEXT)
    query = st.one_of(st.sampled_from(["", "?subscriber=test", "?token=s3cret&x=1", "?"]), ANY_TEXT)
    fragment = st.sampled_from(["", "#x", "#"])
    spelled = st.tuples(scheme, userinfo, host, port, path, query, fragment).map(
        lambda parts: f"{parts[0]}://{''.join(parts[1:])}"
    )
    return st.one_of(spelled, ANY_TEXT)


def forms(hub: Hub, ports: list[int]) -> st.SearchStrategy[list[tuple[str, str]]]:
    topic = hub.feed("all.atom")
    required = {
        "hub.mode": st.one_of(
            st.sampled_from(["subscribe", "unsubscribe", "publish", "SUBSCRIBE", ""]), ANY_TEXT
        ),
        "hub.callback": callbacks(ports),
    }
    optional = {
        "hub.topic": st.one_of(
            st.sampled_from(
                [
                    topic,
                    hub.feed("politika.rss"),
                    hub.feed("none.atom"),
                    hub.url,
                    "",
                    "http://elsewhere.example/feed",
                    topic + "?x",
                    topic.upper(),
                ]
            ),
            ANY_TEXT,
        ),
        "hub.lease_seconds": st.one_of(
            st.integers(-10, 10**14).map(str), st.sampled_from(["", "1e3", "٣٦٠٠"]), ANY_TEXT
        ),
        "hub.secret": st.one_of(st.text(max_size=10), st.text(min_size=190, max_size=210)),
    }
    chosen = st.fixed_dictionaries(required, optional=optional)
    names = st.one_of(st.sampled_from([*required, *optional]), ANY_TEXT)
    extra = st.lists(st.tuples(names, ANY_TEXT), max_size=3)
    return st.tuples(chosen, extra).map(lambda parts: [*parts[0].items(), *parts[1]])


def likely_forms(hub: Hub, ports: list[int]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Requests a subscriber could mean, with the callback's host in any spelling."""
    callback = st.tuples(
        st.sampled_from(["http", "https"]),
        st.sampled_from(IPV4_LOOPBACK + IPV6_LOOPBACK + NAMES),
        st.sampled_from(ports),
        st.sampled_from(["", "?subscriber=test", "?token=s3cret"]),
    ).map(lambda parts: f"{parts[0]}://{parts[1]}:{parts[2]}/push{parts[3]}")
    return st.fixed_dictionaries(
        {
            "hub.mode": st.sampled_from(["subscribe", "unsubscribe"]),
            "hub.callback": callback,
            "hub.topic": st.sampled_from([hub.feed("all.atom"), hub.feed("politika.rss")]),
        },
        optional={
            "hub.lease_seconds": st.integers(0, 10**9).map(str),
            "hub.secret": st.text(max_size=20),
        },
    ).map(lambda fields: list(fields.items()))


def bodies(hub: Hub, ports: list[int]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        likely_forms(hub, ports).map(lambda pairs: urlencode(pairs).encode()),
        likely_forms(hub, ports).map(lambda pairs: urlencode(pairs).encode()),
        forms(hub, ports).map(lambda pairs: urlencode(pairs).encode()),
        st.binary(max_size=200),
    )


HEADERS = st.tuples(
    st.one_of(
        st.just(FORM),
        st.sampled_from(
            [
                FORM,
                FORM + "; charset=utf-8",
                "Application/X-WWW-Form-Urlencoded",
                FORM + " ;",
                "application/json",
                "multipart/form-data; boundary=x",
                "text/plain",
                "",
            ]
        ),
        HEADER_TEXT,
    ),
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
            lambda name: name.lower() not in FRAMING
        ),
        HEADER_TEXT,
        max_size=4,
    ),
).map(lambda parts: {"content-type": parts[0], **parts[1]})


def test_any_request_to_the_hub_gets_a_4xx_or_a_recorded_outcome(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    names = Names({name: [["127.0.0.1"]] for name in KNOWN_NAMES})
    with running_hubs(tmp_path) as start_hub, Subscriber() as subscriber:
        hub = start_hub(names=names, max_subscriptions_per_host=100_000)
        hub.stop_worker()  # accepted requests wait, to be settled together below
        ports = [subscriber.port, free_port()]

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(body=bodies(hub, ports), headers=HEADERS)
        def answered(body: bytes, headers: dict[str, str]) -> None:
            before = {(intent.callback, intent.topic) for intent in hub.intents()}
            status, answer = post(hub.url, body, headers)
            after = {(intent.callback, intent.topic) for intent in hub.intents()}
            assert status in {202, 400, 413, 415, 429}, (status, answer)
            assert "Traceback" not in answer and "Internal Server Error" not in answer
            if status == 202:
                fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
                request = (fields["hub.callback"], fields["hub.topic"])
                assert request in after and after - before <= {request}
            else:
                assert after == before, (status, answer)

        answered()
        accepted = len(hub.intents())
        hub.start_worker()
        wait_for(lambda: not hub.intents(), timeout=30)
        # The subscriber verifies only what it asked for, which was nothing.
        assert hub.subscriptions() == []
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
    assert accepted > 0, "no example was accepted: the strategies only test refusals"
