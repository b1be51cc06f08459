"""The Product Secret's cipher (protocol.md §9): AES-128-ECB held to known answers that do not
come from the code under test (FIPS-197, OpenSSL), the firmware's padding rule, bad replies."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.gizwits_device.protocol import GizwitsValueError, validate_product_secret
from custom_components.gizwits_device.protocol.product_secret import (
    ProductCipher,
    ProductSecretMismatch,
)
from tests.vectors import VECTORS_DIR

VECTORS: dict[str, Any] = json.loads(
    (VECTORS_DIR / "product_secret.json").read_text(encoding="utf-8")
)
SECRET = "6f3e2b1c0a9d8e7f6a5b4c3d2e1f0a9b"


@pytest.mark.parametrize("vector", VECTORS["block"], ids=lambda v: v["name"])
def test_fips197_block(vector: dict[str, str]) -> None:
    """One whole block: no padding is added, so this is the bare AES-128 of FIPS-197."""
    cipher = ProductCipher(vector["key"])
    plaintext = bytes.fromhex(vector["plaintext"])
    assert cipher.encrypt(plaintext).hex() == vector["ciphertext"]
    decrypted = ProductCipher(vector["key"]).decrypt(bytes.fromhex(vector["ciphertext"]))
    # Decrypting strips nothing here: the block is neither valid PKCS#7 nor NUL-terminated.
    assert decrypted == plaintext


@pytest.mark.parametrize("vector", VECTORS["bodies"], ids=lambda v: v["name"])
def test_bodies_match_openssl(vector: dict[str, Any]) -> None:
    cipher = ProductCipher(vector["secret"])
    assert cipher.encrypt_hex(vector["text"]) == vector["hex"]
    assert cipher.decrypt_hex(vector["hex"]) == vector["text"]
    # The firmware's rule: PKCS#7 only when the text is not whole blocks.
    assert vector["padded"] == bool(len(vector["text"]) % 16)
    expected_len = (
        len(vector["text"]) if not vector["padded"] else (len(vector["text"]) // 16 + 1) * 16
    )
    assert len(vector["hex"]) == 2 * expected_len


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("vector", VECTORS["bodies"], ids=lambda v: v["name"])
def test_pinned_bodies_are_what_openssl_computes(vector: dict[str, Any]) -> None:
    """The pinned bodies are recomputed by another implementation, OpenSSL's command line."""
    args = ["openssl", "enc", "-aes-128-ecb", "-K", vector["secret"]]
    if not vector["padded"]:
        args.append("-nopad")
    out = subprocess.run(args, input=vector["text"].encode(), capture_output=True, check=True)
    assert out.stdout.hex() == vector["hex"]


def test_validate_product_secret() -> None:
    assert validate_product_secret(SECRET.upper()) == SECRET
    for bad in ("", "0" * 31, "0" * 33, "g" * 32, f" {SECRET}", "\uff10" * 32):
        with pytest.raises(GizwitsValueError, match="32 hexadecimal"):
            validate_product_secret(bad)
    with pytest.raises(GizwitsValueError):
        ProductCipher("short")


def test_the_secret_is_not_in_the_repr() -> None:
    assert SECRET not in repr(ProductCipher(SECRET))


def test_trailing_nuls_are_stripped_when_the_padding_is_not_pkcs7() -> None:
    """Some servers pad with NULs: strip them when the padding is not valid PKCS#7."""
    cipher = ProductCipher(SECRET)
    sealed = cipher.encrypt(b"did=GdzuSRncfDPGHGo2LxwgM2".ljust(32, b"\x00"))
    assert cipher.decrypt_hex(sealed.hex()) == "did=GdzuSRncfDPGHGo2LxwgM2"


@pytest.mark.parametrize(
    "reply",
    ["", "did=GdzuSRncfDPGHGo2LxwgM2", "abc", "00" * 15, "zz" * 16, "é" * 32],
    ids=["empty", "plain-form", "odd-hex", "short-block", "not-hex", "non-ascii"],
)
def test_replies_that_are_not_sealed_blocks(reply: str) -> None:
    with pytest.raises(ProductSecretMismatch):
        ProductCipher(SECRET).decrypt_hex(reply)


def test_a_reply_sealed_with_another_secret_does_not_decrypt_to_text() -> None:
    sealed = ProductCipher("00" * 16).encrypt_hex("did=GdzuSRncfDPGHGo2LxwgM2")
    with pytest.raises(ProductSecretMismatch):
        ProductCipher(SECRET).decrypt_hex(sealed)


@given(st.text(max_size=200))
def test_any_reply_text_decrypts_or_is_a_mismatch(reply: str) -> None:
    try:
        result = ProductCipher(SECRET).decrypt_hex(reply)
    except ProductSecretMismatch:
        return
    assert isinstance(result, str)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=100))
def test_round_trip_of_printable_text(text: str) -> None:
    """Printable ASCII never ends in NUL or a valid PKCS#7 pad, so it survives unchanged."""
    cipher = ProductCipher(SECRET)
    sealed = cipher.encrypt_hex(text)
    if text:
        assert cipher.decrypt_hex(sealed) == text
