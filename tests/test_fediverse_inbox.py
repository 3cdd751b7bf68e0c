"""The inbox against hostile peers: forged, replayed, stale and unsigned requests,
keys at private addresses, huge bodies, floods of Follows; RFC 9421 signatures
from an independent library and the RFC's own test vector."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms

from feeder.channels.fediverse.keys import new_key_pair
from feeder.channels.fediverse.signatures import BadSignature, Request, rfc9421_signed, verify
from feeder.channels.fediverse.state import FediverseState
from feeder.config import Config
from feeder.pipeline import ingest_and_publish
from feeder.serve.server import FeedServer
from feeder.store import Store
from tests.conftest import wire_text
from tests.fediverse_actors import PRIVATE, Actors, running_actors
from tests.test_fediverse_peer import fediverse_config


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[Config, Actors, httpx.Client]]:
    config = fediverse_config(tmp_path, requests_per_minute=50, max_followers_per_host=80)
    (config.inbox / "001_0000000000000001.txt").write_text(wire_text())
    ingest_and_publish(config)
    with (
        FeedServer(config),
        running_actors() as actors,
        httpx.Client(base_url=config.base_url, timeout=30) as client,
    ):
        yield config, actors, client


def follow(config: Config, actors: Actors, name: str = "mallory") -> dict[str, Any]:
    return {
        "id": f"{actors.url}/follows/{name}/{time.monotonic_ns()}",
        "type": "Follow",
        "actor": actors.actor(name),
        "object": config.url("fediverse/users/politika"),
    }


def followers(config: Config) -> int:
    with Store(config.database) as store:
        return FediverseState(store).follower_count("politika")


def test_a_signed_follow_is_kept_and_answered(inbox: tuple[Config, Actors, httpx.Client]) -> None:
    config, actors, client = inbox
    answer = actors.signed_post(client, config.url("inbox"), follow(config, actors))
    assert answer.status_code == 202, answer.text
    assert followers(config) == 1
    document = client.get("fediverse/followers/politika")
    assert document.headers["content-type"] == "application/activity+json"
    assert document.json()["totalItems"] == 1


def test_unsigned_forged_stale_replayed_and_altered_requests_get_401_and_change_nothing(
    inbox: tuple[Config, Actors, httpx.Client],
) -> None:
    config, actors, client = inbox
    url = config.url("fediverse/inbox/politika")
    unsigned = client.post(url, json=follow(config, actors))
    assert unsigned.status_code == 401 and "not signed" in unsigned.text
    forged = actors.signed_post(client, url, follow(config, actors), private_pem=new_key_pair()[0])
    assert forged.status_code == 401 and "does not verify" in forged.text
    stale = actors.signed_post(client, url, follow(config, actors), date=time.time() - 7200)
    assert stale.status_code == 401 and "clock" in stale.text
    altered = actors.signed_post(client, url, follow(config, actors), body=b'{"type":"Follow"}')
    assert altered.status_code == 401 and "Digest" in altered.text
    as_another = follow(config, actors, "alice")
    impostor = actors.signed_post(client, url, as_another, name="mallory")
    assert impostor.status_code == 401 and "not the signer" in impostor.text
    assert followers(config) == 0

    first = actors.signed_post(client, url, follow(config, actors))
    replayed = client.post(url, content=first.request.content, headers=first.request.headers)
    assert (first.status_code, replayed.status_code) == (202, 401)
    assert "used before" in replayed.text


def test_a_request_replayed_after_a_restart_is_refused(tmp_path: Path) -> None:
    """The seen signatures are in the database, not in the server's memory."""
    config = fediverse_config(tmp_path)
    (config.inbox / "001_0000000000000001.txt").write_text(wire_text())
    ingest_and_publish(config)
    with running_actors() as actors, httpx.Client(timeout=30) as client:
        with FeedServer(config):
            first = actors.signed_post(client, config.url("inbox"), follow(config, actors))
            assert first.status_code == 202, first.text
        with FeedServer(config):  # a restart
            replayed = client.post(
                config.url("inbox"), content=first.request.content, headers=first.request.headers
            )
    assert replayed.status_code == 401 and "used before" in replayed.text


def test_seen_signatures_are_kept_for_the_skew_window_only(tmp_path: Path) -> None:
    config = fediverse_config(tmp_path)
    with Store(config.database) as store:
        state = FediverseState(store)
        assert state.first_sighting(b"a", 1000.0, forget_before=0.0)
        assert not state.first_sighting(b"a", 1001.0, forget_before=0.0)
        assert state.first_sighting(b"b", 9000.0, forget_before=2000.0)  # "a" is dropped
        count = store.connection.execute("SELECT count(*) FROM fediverse_seen_signatures")
        assert count.fetchone()[0] == 1


def test_a_key_at_a_private_address_is_not_fetched(tmp_path: Path) -> None:
    config = fediverse_config(tmp_path, allow_private_addresses=False)
    with FeedServer(config), running_actors() as actors, httpx.Client() as client:
        answer = actors.signed_post(client, config.url("inbox"), follow(config, actors))
    assert answer.status_code == 401
    assert "loopback or private address" in answer.text


def test_a_huge_body_is_refused_unread(inbox: tuple[Config, Actors, httpx.Client]) -> None:
    config, _, client = inbox
    answer = client.post(config.url("inbox"), content=b"x" * (300 * 1024))
    assert answer.status_code == 413


def test_ten_thousand_follows_from_one_host_are_held_to_its_rate_and_its_share(
    inbox: tuple[Config, Actors, httpx.Client],
) -> None:
    """50 a minute are let through; past 80 follows, the host gets no more."""
    config, actors, client = inbox
    statuses: dict[int, int] = {}
    for number in range(10_000):
        answer = actors.signed_post(
            client, config.url("inbox"), follow(config, actors, f"bot{number}"), f"bot{number}"
        )
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    assert statuses[429] >= 9_800
    assert followers(config) <= 80


def test_a_blocked_domain_is_refused_before_any_fetch(tmp_path: Path) -> None:
    config = fediverse_config(tmp_path, blocked_domains=["127.0.0.1"])
    with FeedServer(config), running_actors() as actors, httpx.Client() as client:
        answer = actors.signed_post(client, config.url("inbox"), follow(config, actors))
    assert answer.status_code == 403


def test_an_rfc_9421_signature_from_another_library_is_verified(
    inbox: tuple[Config, Actors, httpx.Client],
) -> None:
    """http-message-signatures (PyPI) signs as Fedify does: rsa-v1_5-sha256 over the
    method, the URL and the Content-Digest."""
    config, actors, client = inbox
    activity = follow(config, actors, "carol")
    request = client.build_request("POST", config.url("inbox"), content=json.dumps(activity))
    key_id = actors.actor("carol") + "#main-key"
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: PRIVATE.encode()}),
    )
    signer.sign(
        request,
        key_id=key_id,
        covered_component_ids=("@method", "@target-uri", "content-digest"),
        body=request.content,
    )
    answer = client.send(request)
    assert answer.status_code == 202, answer.text
    assert followers(config) == 1


# RFC 9421 appendix B.2.6 (test-key-ed25519 from B.1.4), reproduced from the RFC:
# Copyright (c) 2024 IETF Trust and the persons identified as the document authors.
RFC_9421_ED25519_PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
    "-----END PUBLIC KEY-----\n"
)
RFC_9421_REQUEST = Request(
    "POST",
    "/foo?param=Value&Pet=dog",
    "https://example.com/foo?param=Value&Pet=dog",
    {
        "host": "example.com",
        "date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "content-type": "application/json",
        "content-digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        "content-length": "18",
        "signature-input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
        '"content-length");created=1618884473;keyid="test-key-ed25519"',
        "signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu"
        "4A0w6vuQv5lIp5WPpBKRCw==:",
    },
    b'{"hello": "world"}',
)


def test_the_rfc_9421_ed25519_test_vector_verifies_and_a_changed_one_does_not() -> None:
    _, _, signed = rfc9421_signed(RFC_9421_REQUEST)
    assert signed.base.decode().splitlines()[:3] == [
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
    ]
    verify(signed, RFC_9421_ED25519_PUBLIC)
    headers = {**RFC_9421_REQUEST.headers, "content-length": "19"}
    _, _, changed = rfc9421_signed(Request("POST", "/foo", "https://example.com/foo", headers, b""))
    with pytest.raises(Exception, match="does not verify"):
        verify(changed, RFC_9421_ED25519_PUBLIC)


# RFC 9421 appendix B.1.2 (test-key-rsa-pss, its public key) and B.2.1-B.2.3, the
# rsa-pss-sha512 signatures of test-request (B.4, as RFC_9421_REQUEST above),
# reproduced from the RFC:
# Copyright (c) 2024 IETF Trust and the persons identified as the document authors.
RFC_9421_RSA_PSS_PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2\n"
    "+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+\n"
    "oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq\n"
    "gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W\n"
    "Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4\n"
    "aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI\n"
    "2wIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)
RFC_9421_RSA_PSS = {
    "sig-b21": (
        '();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
        "d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8"
        "Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBq"
        "JzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1"
        "g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==",
    ),
    "sig-b22": (
        '("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;'
        'keyid="test-key-rsa-pss";tag="header-example"',
        "LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH"
        "7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpT"
        "laqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DS"
        "BVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==",
    ),
    "sig-b23": (
        '("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" '
        '"content-length");created=1618884473;keyid="test-key-rsa-pss"',
        "bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU"
        "5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/"
        "aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH89"
        "6+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==",
    ),
}


def rsa_pss_signed(
    label: str, request: Request = RFC_9421_REQUEST, created: str = "1618884473"
) -> Any:
    """The vector's signature as feeder reads it. The RFC's signatures name no alg:
    the key is an RSA-PSS one, and that comes with the key (RFC 9421 3.2, step 5),
    not with a PEM; feeder reads an RSA key without alg as rsa-v1_5-sha256."""
    signature_input, signature = RFC_9421_RSA_PSS[label]
    signature_input = signature_input.replace("created=1618884473", f"created={created}")
    headers = {
        **{name: value for name, value in request.headers.items() if "signature" not in name},
        "signature-input": f"{label}={signature_input}",
        "signature": f"{label}=:{signature}:",
    }
    _, _, signed = rfc9421_signed(replace(request, headers=headers))
    return replace(signed, algorithm="rsa-pss-sha512")


def test_the_rfc_9421_rsa_pss_test_vectors_verify_and_changed_ones_do_not() -> None:
    for label in RFC_9421_RSA_PSS:
        verify(rsa_pss_signed(label), RFC_9421_RSA_PSS_PUBLIC)
    assert rsa_pss_signed("sig-b22").base.decode().splitlines()[2] == (
        '"@query-param";name="Pet": dog'
    )
    headers = RFC_9421_REQUEST.headers
    changed = {
        "sig-b21": replace(RFC_9421_REQUEST, method="GET"),  # covered by nothing: verifies
        "sig-b22": replace(
            RFC_9421_REQUEST,
            target="/foo?param=Value&Pet=cat",
            url="https://example.com/foo?param=Value&Pet=cat",
        ),
        "sig-b23": replace(RFC_9421_REQUEST, headers={**headers, "content-length": "19"}),
    }
    verify(rsa_pss_signed("sig-b21", changed["sig-b21"]), RFC_9421_RSA_PSS_PUBLIC)
    for label in ("sig-b22", "sig-b23"):
        with pytest.raises(BadSignature, match="does not verify"):
            verify(rsa_pss_signed(label, changed[label]), RFC_9421_RSA_PSS_PUBLIC)
    # A component parameter feeder does not read is refused, not ignored.
    unread = {
        **headers,
        "signature-input": 'sig=("content-type";sf);keyid="k"',
        "signature": "sig=:AA==:",
    }
    with pytest.raises(BadSignature, match="not supported"):
        rfc9421_signed(replace(RFC_9421_REQUEST, headers=unread))
    # A changed signature parameter changes the base, so the minimal one fails too.
    with pytest.raises(BadSignature, match="does not verify"):
        verify(rsa_pss_signed("sig-b21", created="1618884474"), RFC_9421_RSA_PSS_PUBLIC)
