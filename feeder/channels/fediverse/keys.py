"""Each account's RSA-2048 key pair: made on first use, kept in the database.

In the database rather than a file, so `feeder backup` carries it and a
restored server signs with the key its followers' servers know. The private
key is never printed or logged; only the public half leaves the store.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


def new_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM), PKCS#8 and SubjectPublicKeyInfo as Mastodon reads them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private, public


def load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an account key must be RSA")
    return key
