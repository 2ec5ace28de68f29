"""The encryption of VDO.Ninja's signaling fields: AES-256-CBC, PKCS#7, a random IV.

Only `description`, `candidate` and `candidates` are encrypted; the ciphertext and the IV
travel as hex (the IV in `vector`). The plaintext is the field's JSON text, one byte per
character (the app takes `charCodeAt & 0xFF`), so we write ASCII-only JSON and read
bytes back as Latin-1.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECRET_FIELDS = ("description", "candidate", "candidates")
IV_BYTES = 16


class DecryptError(ValueError):
    """A field that does not decrypt with this room's key (wrong password?)."""


def encrypt_text(text: str, key: bytes, iv: bytes) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(text.encode("latin-1", errors="replace")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return (encryptor.update(data) + encryptor.finalize()).hex()


def decrypt_text(cipher_hex: str, key: bytes, iv_hex: str) -> str:
    try:
        cipher = bytes.fromhex(cipher_hex)
        iv = bytes.fromhex(iv_hex)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        data = decryptor.update(cipher) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(data) + unpadder.finalize()
    except ValueError as exc:
        raise DecryptError(f"cannot decrypt: {exc}") from None
    return plain.decode("latin-1")


def seal(message: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """A copy of the message with its secret fields encrypted (as is without a key)."""
    if key is None:
        return dict(message)
    present = [name for name in SECRET_FIELDS if name in message]
    if not present:
        return dict(message)
    iv = os.urandom(IV_BYTES)
    sealed = dict(message)
    for name in present:  # one field per message in practice; the app shares one vector
        sealed[name] = encrypt_text(json.dumps(message[name], ensure_ascii=True), key, iv)
    sealed["vector"] = iv.hex()
    return sealed


def unseal(message: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """A copy of the message with its secret fields decrypted to JSON values.

    Fields that are not encrypted (no `vector`, or not a string) are left as they are.
    Raises DecryptError when a field does not decrypt or is not JSON.
    """
    vector = message.get("vector")
    if not isinstance(vector, str):
        return dict(message)
    if key is None:
        raise DecryptError("the message is encrypted but the room's password is off")
    opened = dict(message)
    for name in SECRET_FIELDS:
        value = message.get(name)
        if isinstance(value, str):
            text = decrypt_text(value, key, vector)
            try:
                opened[name] = json.loads(text)
            except json.JSONDecodeError:
                raise DecryptError(f"{name} did not decrypt to JSON (wrong password?)") from None
    opened.pop("vector", None)
    return opened
