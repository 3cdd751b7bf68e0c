"""HTTP Signatures: feeder signs as Mastodon does, and checks both kinds peers send.

Outgoing requests are signed draft-cavage-12 style, `rsa-sha256` over
`(request-target) host date digest content-type`, the one form every
ActivityPub server reads. Incoming ones may be signed that way or by RFC 9421
(`Signature-Input`), as Fedify and newer servers do. Either way the body's
`Digest` (SHA-256) or `Content-Digest` must match and be signed, and the
signature's time must be within the clock-skew window, so a captured request
cannot be replayed later or with another body.

`parse` does everything that needs no key; the caller fetches the key named by
`key_id` and calls `verify`. Every refusal is a `BadSignature` whose message
says what was wrong, for the 401's body.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qsl, quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from feeder.errors import FeederError

CAVAGE_HEADERS = ("(request-target)", "host", "date", "digest", "content-type")


class BadSignature(FeederError):
    """The request's signature is missing, malformed, stale or does not verify."""


@dataclass(frozen=True)
class Request:
    """What a signature covers: `target` is the path with its query; `url` the whole
    URL as the sender addressed it (RFC 9421's @target-uri)."""

    method: str
    target: str
    url: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes


@dataclass(frozen=True)
class Signed:
    """A parsed signature, checked for everything but the key."""

    key_id: str
    algorithm: str
    base: bytes
    """The signature base (cavage: the signing string)."""
    signature: bytes


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def sign(
    key: rsa.RSAPrivateKey,
    key_id: str,
    method: str,
    url_target: str,
    host: str,
    body: bytes,
    now: float,
) -> dict[str, str]:
    """The headers of a signed ActivityPub POST (`url_target`: path and query)."""
    headers = {
        "host": host,
        "date": formatdate(now, usegmt=True),
        "digest": digest(body),
        "content-type": "application/activity+json",
    }
    lines = [f"(request-target): {method.lower()} {url_target}"]
    lines += [f"{name}: {headers[name]}" for name in CAVAGE_HEADERS[1:]]
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(CAVAGE_HEADERS)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return headers


def parse(request: Request, now: float, skew: float) -> Signed:
    """The signature of `request`, refused unless it covers the body's digest and a
    time within `skew` seconds of `now`."""
    if "signature-input" in request.headers:
        signed = _parse_rfc9421(request, now, skew)
    elif "signature" in request.headers:
        signed = _parse_cavage(request, now, skew)
    else:
        raise BadSignature("the request is not signed; sign it with an HTTP Signature")
    _check_digest(request)
    return signed


def verify(signed: Signed, public_pem: str) -> None:
    try:
        key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    except ValueError:
        raise BadSignature("the sender's public key cannot be read") from None
    try:
        if signed.algorithm in ("rsa-sha256", "hs2019", "rsa-v1_5-sha256") and isinstance(
            key, rsa.RSAPublicKey
        ):
            key.verify(signed.signature, signed.base, padding.PKCS1v15(), hashes.SHA256())
        elif signed.algorithm == "rsa-pss-sha512" and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(padding.MGF1(hashes.SHA512()), hashes.SHA512().digest_size)
            key.verify(signed.signature, signed.base, pss, hashes.SHA512())
        elif signed.algorithm in ("ed25519", "hs2019") and isinstance(
            key, ed25519.Ed25519PublicKey
        ):
            key.verify(signed.signature, signed.base)
        else:
            raise BadSignature(f"algorithm {signed.algorithm!r} does not fit the sender's key")
    except InvalidSignature:
        raise BadSignature("the signature does not verify with the sender's key") from None


def _check_digest(request: Request) -> None:
    """A body must come with its digest, and it must match (the signature covers it)."""
    if "content-digest" in request.headers:
        for member in request.headers["content-digest"].split(","):
            name, _, value = member.strip().partition("=")
            algorithm = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}.get(name.lower())
            if algorithm is not None:
                if value.strip(":") != base64.b64encode(algorithm(request.body).digest()).decode():
                    raise BadSignature("Content-Digest does not match the body")
                return
        raise BadSignature("Content-Digest names neither sha-256 nor sha-512")
    if "digest" in request.headers:
        for member in request.headers["digest"].split(","):
            name, _, value = member.strip().partition("=")
            if name.lower() == "sha-256":
                if value != digest(request.body).partition("=")[2]:
                    raise BadSignature("Digest does not match the body")
                return
        raise BadSignature("Digest names no SHA-256")
    if request.body:
        raise BadSignature("the body has no Digest or Content-Digest header to sign")


# One covered component of an RFC 9421 inner list: its name and raw parameters.
_COVERED = re.compile(r'"([^"]+)"((?:;[a-z]+(?:=(?:"[^"]*"|[^;\s"]+))?)*)')
_CAVAGE_PARAM = re.compile(r'\s*([a-zA-Z]+)\s*=\s*(?:"([^"]*)"|([0-9]+))\s*(?:,|$)')


def _parse_cavage(request: Request, now: float, skew: float) -> Signed:
    params = {
        m[1]: m[2] if m[2] is not None else m[3]
        for m in _CAVAGE_PARAM.finditer(request.headers["signature"])
    }
    key_id, value = params.get("keyId"), params.get("signature")
    if not key_id or not value:
        raise BadSignature("the Signature header needs keyId and signature")
    covered = params.get("headers", "date").lower().split()
    needed = {"(request-target)", "host"} | ({"digest"} if request.body else set())
    if "(created)" not in covered:
        needed.add("date")
    if missing := needed - set(covered):
        raise BadSignature(f"the signature must cover {', '.join(sorted(missing))}")
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"{name}: {request.method.lower()} {request.target}")
        elif name in ("(created)", "(expires)"):
            lines.append(f"{name}: {params.get(name[1:-1], '')}")
        elif name in request.headers:
            lines.append(f"{name}: {request.headers[name]}")
        else:
            raise BadSignature(f"the signature covers {name}, which the request lacks")
    if "(created)" in covered:
        _check_time(_number(params.get("created")), now, skew)
    else:
        _check_time(_http_date(request.headers["date"]), now, skew)
    return Signed(
        key_id, params.get("algorithm", "hs2019").lower(), "\n".join(lines).encode(), _b64(value)
    )


def _parse_rfc9421(request: Request, now: float, skew: float) -> Signed:
    components, params, signed = rfc9421_signed(request)
    needed = {"@method", "@target-uri" if "@target-uri" in components else "@path"}
    if request.body:
        needed.add("content-digest" if "content-digest" in request.headers else "digest")
    if missing := needed - set(components):
        raise BadSignature(f"the signature must cover {', '.join(sorted(missing))}")
    if "created" not in params:
        raise BadSignature("the signature has no created time")
    _check_time(_number(params["created"]), now, skew)
    return signed


def rfc9421_signed(request: Request) -> tuple[list[str], dict[str, str], Signed]:
    """The first signature of an RFC 9421 request: its covered components, its
    parameters, and its base; what it must cover is `parse`'s business."""
    inputs = _dictionary(request.headers["signature-input"])
    signatures = _dictionary(request.headers.get("signature", ""))
    label = next((name for name in inputs if name in signatures), None)
    if label is None:
        raise BadSignature("Signature-Input names no signature the Signature header holds")
    raw_params = inputs[label].strip()
    match = re.fullmatch(r"\(([^)]*)\)(.*)", raw_params)
    if match is None:
        raise BadSignature("Signature-Input is not a list of covered components")
    covered = _COVERED.findall(match[1])
    if "".join(f'"{name}"{extra}' for name, extra in covered) != re.sub(r"\s+", "", match[1]):
        raise BadSignature("Signature-Input's list of covered components cannot be read")
    components = [name for name, _ in covered]
    params = {
        name: value.strip('"')
        for name, value in re.findall(r';\s*([a-z]+)=("[^"]*"|[0-9]+)', match[2])
    }
    if "keyid" not in params:
        raise BadSignature("the signature has no keyid")
    lines = [f'"{name}"{extra}: {_component(request, name, extra)}' for name, extra in covered]
    lines.append(f'"@signature-params": {raw_params}')
    value = signatures[label].strip()
    if not (len(value) > 1 and value.startswith(":") and value.endswith(":")):
        raise BadSignature("the Signature header's value is not a byte sequence")
    algorithm = params.get("alg", "hs2019")  # by the key, as for cavage
    signed = Signed(params["keyid"], algorithm, "\n".join(lines).encode(), _b64(value[1:-1]))
    return components, params, signed


def _component(request: Request, name: str, extra: str) -> str:
    """A covered component's value; of the component parameters only @query-param's
    `name` is read, and any other is refused rather than misread."""
    if name == "@query-param":
        return _query_param(request, extra)
    if extra:
        raise BadSignature(f"the component parameters {extra} of {name} are not supported")
    scheme, _, rest = request.url.partition("://")
    authority = rest.split("/", 1)[0]
    path, _, query = request.target.partition("?")
    derived = {
        "@method": request.method.upper(),
        "@target-uri": request.url,
        "@authority": authority.lower(),
        "@scheme": scheme.lower(),
        "@request-target": request.target,
        "@path": path,
        "@query": "?" + query,
    }
    if name in derived:
        return derived[name]
    if name.startswith("@") or name not in request.headers:
        raise BadSignature(f"the signature covers {name}, which the request lacks")
    return request.headers[name].strip()


def _query_param(request: Request, extra: str) -> str:
    """RFC 9421 2.2.8: the one value of the query parameter `name` (given encoded),
    decoded and encoded again, so `+` and `%20` sign alike."""
    match = re.fullmatch(r';name="([^"]*)"', extra)
    if match is None:
        raise BadSignature('@query-param needs ;name="…" and nothing else')
    query = request.target.partition("?")[2]
    values = [
        value
        for key, value in parse_qsl(query, keep_blank_values=True)
        if quote(key, safe="") == match[1]
    ]
    if len(values) != 1:
        raise BadSignature(f"the query has {len(values)} parameters {match[1]}, not one")
    return quote(values[0], safe="")


def _dictionary(value: str) -> dict[str, str]:
    """An RFC 8941 dictionary's members as raw text (enough for these two headers:
    inner lists and byte sequences hold no commas outside quotes)."""
    members: dict[str, str] = {}
    for part in re.findall(r'(?:[^,"(]|"[^"]*"|\([^)]*\))+', value):
        name, equals, rest = part.strip().partition("=")
        if equals and name:
            members[name] = rest
    return members


def _check_time(moment: float | None, now: float, skew: float) -> None:
    if moment is None:
        raise BadSignature("the signature's time cannot be read")
    if abs(now - moment) > skew:
        raise BadSignature(f"the signature's time is more than {skew:g} s from this server's clock")


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise BadSignature("the signature is not base64") from None
