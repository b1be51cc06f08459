"""The Product Secret's cipher for the "safe" GService calls (protocol.md §9).

AES-128 in ECB mode keyed with the 16 bytes of the secret, through `cryptography` (a Home
Assistant core dependency). Padding is the firmware's: PKCS#7 bytes only when the plaintext is
not already a multiple of the block size; a decrypted reply loses valid PKCS#7 padding, else
trailing NULs.
"""

from __future__ import annotations

import binascii
from typing import Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import GizwitsError
from .gservice_wire import hex32

BLOCK_BYTES: Final = 16


class ProductSecretMismatch(GizwitsError):
    """A reply that does not decrypt under the Product Secret: the secret is not this product's."""


def validate_product_secret(secret: str) -> str:
    """Check a Product Secret (32 hex digits) and return it lower-case."""
    return hex32(secret, "invalid product secret (32 hexadecimal digits)")


class ProductCipher:
    """Encrypts requests and decrypts replies with one product's secret."""

    __slots__ = ("_algorithm",)

    def __init__(self, secret: str) -> None:
        self._algorithm = algorithms.AES(bytes.fromhex(validate_product_secret(secret)))

    def __repr__(self) -> str:
        return "ProductCipher(<secret>)"

    def _cipher(self) -> Cipher[modes.ECB]:
        # ECB is what the device firmware uses; it is the protocol, not a choice made here.
        return Cipher(self._algorithm, modes.ECB())  # noqa: S305

    def encrypt(self, plaintext: bytes) -> bytes:
        """AES-ECB of `plaintext`, PKCS#7-padded only when it is not whole blocks."""
        if len(plaintext) % BLOCK_BYTES:
            padder = padding.PKCS7(BLOCK_BYTES * 8).padder()
            plaintext = padder.update(plaintext) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return encryptor.update(plaintext) + encryptor.finalize()

    def encrypt_hex(self, plaintext: str) -> str:
        """The lowercase hex of `encrypt(plaintext)`, as the requests carry it."""
        return self.encrypt(plaintext.encode("utf-8")).hex()

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt whole blocks; strip valid PKCS#7 padding, else trailing NULs."""
        if not ciphertext or len(ciphertext) % BLOCK_BYTES:
            raise ProductSecretMismatch("reply is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(BLOCK_BYTES * 8).unpadder()
        try:
            return unpadder.update(plain) + unpadder.finalize()
        except ValueError:
            return plain.rstrip(b"\x00")

    def decrypt_hex(self, text: str) -> str:
        """Decrypt a hex reply to text; anything else is a `ProductSecretMismatch`.

        The messages never quote the reply: it decrypts to the DID or broker details.
        """
        try:
            raw = binascii.unhexlify(text.strip())
        except (binascii.Error, ValueError) as err:
            raise ProductSecretMismatch("reply is not hex") from err
        try:
            return self.decrypt(raw).decode("ascii")
        except UnicodeDecodeError as err:
            raise ProductSecretMismatch("reply does not decrypt to text") from err


__all__ = ["ProductCipher", "ProductSecretMismatch", "validate_product_secret"]
