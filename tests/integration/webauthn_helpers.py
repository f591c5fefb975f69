"""A passkey authenticator in software, for driving WebAuthn ceremonies without a browser.

It answers ``navigator.credentials.create()`` and ``get()`` options (as the JSON the API
returns) the way a platform authenticator does: an EC P-256 key per credential, "none"
attestation, a resident key with the user handle, user presence and verification, a
signature counter. Its answers are the JSON the browser's ``PublicKeyCredential`` gives.
Knobs let a test answer as a broken or hostile authenticator would.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class SoftAuthenticator:
    """Holds resident credentials: credential id → (private key, rp id, user handle, counter)."""

    def __init__(self, origin: str, counting: bool = True):
        self.origin = origin
        self.counting = counting
        self.credentials: dict = {}

    def copy(self) -> "SoftAuthenticator":
        """A clone of this authenticator, keys and counters included (what copying a key does)."""
        clone = SoftAuthenticator(self.origin, self.counting)
        clone.credentials = {cid: list(state) for cid, state in self.credentials.items()}
        return clone

    def create(self, options: dict, *, flags: int = UP | UV | AT, origin: str | None = None,
               rp_id: str | None = None) -> dict:
        rp_id = rp_id or options["rp"]["id"]
        credential_id = os.urandom(32)
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big")}
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                     + struct.pack(">I", 0) + bytes(16)
                     + struct.pack(">H", len(credential_id)) + credential_id + cbor2.dumps(cose))
        client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        self.credentials[credential_id] = [key, rp_id, options["user"]["id"], 0]
        return {"id": b64(credential_id), "rawId": b64(credential_id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data),
                             "attestationObject": b64(cbor2.dumps({
                                 "fmt": "none", "attStmt": {}, "authData": auth_data})),
                             "transports": ["internal"]}}

    def get(self, options: dict, *, credential_id: bytes | None = None, flags: int = UP | UV,
            origin: str | None = None, user_handle: str | None = None) -> dict:
        if credential_id is None:
            credential_id = next(cid for cid, state in self.credentials.items()
                                 if state[1] == options["rpId"])
        state = self.credentials[credential_id]
        key, rp_id, handle, counter = state
        if self.counting:
            counter = state[3] = counter + 1
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", counter)
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        signature = key.sign(auth_data + hashlib.sha256(client_data).digest(),
                             ec.ECDSA(hashes.SHA256()))
        return {"id": b64(credential_id), "rawId": b64(credential_id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {},
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": user_handle or handle}}

    def only_credential(self) -> bytes:
        (credential_id,) = self.credentials
        return credential_id


def tampered(credential: dict, **response_changes) -> dict:
    """A copy of an answer with some of its response fields replaced."""
    changed = copy.deepcopy(credential)
    changed["response"].update(response_changes)
    return changed
