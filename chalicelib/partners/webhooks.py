"""Partners' webhooks: the URL opt-out notices are POSTed to, the secret that signs them, and
the one careful way eSO connects to a partner's server.

- A webhook URL is ``https://`` without credentials, on a public DNS name or a public IP
  address: never ``localhost`` or another name that stays inside a network (``*.localhost``,
  ``*.local``, ``*.internal``, ``*.arpa``, a single label), never an address in a private,
  loopback, link-local, shared, reserved or multicast range (no SSRF into eSO's own network or
  the instance metadata address). The local stage may name the hosts of
  ``ESO_WEBHOOK_LOCAL_HOSTS`` (its own test receivers), over plain http too.
- The name is resolved again at each delivery and every address it resolves to is checked;
  the connection goes to the address that was checked (TLS still verifies the certificate
  against the name), so a name re-pointed at 10.0.0.1 after registration (DNS rebinding)
  reaches nothing. Redirects are not followed; the answer's body is never read into storage.
- The secret (``whsec_…``) is shown once and kept sealed (AES-256-GCM under a key derived from
  the stage key, bound to the partner's id): signing needs it back, so a hash would not do.
- ``ESO-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, keyed with the
  secret's UTF-8 bytes.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import re
import secrets
import socket
import ssl
from urllib.parse import urlsplit

from chalicelib.partners.limits import MAX_WEBHOOK_URL as MAX_URL
from chalicelib.platform.crypto import seal, unseal
from chalicelib.platform.errors import ValidationError
from chalicelib.platform.settings import get_settings

TIMEOUT_S = 5.0
SECRET_PREFIX = "whsec_"
SIGNATURE_HEADER = "ESO-Signature"
USER_AGENT = "eSO-notices/1"
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"^(?:{_LABEL}\.)+(?=[a-z0-9-]*[a-z])(?:{_LABEL})$")
# Names that stay inside a network: refused however they resolve today.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".arpa", ".home", ".lan",
                      ".corp", ".intranet")


def _refuse(message: str):
    raise ValidationError(message, code="invalid_webhook_url", field="url")


def public_address(address) -> bool:
    """True for an address on the public Internet: not private, loopback, link-local, shared
    (100.64/10), reserved, multicast or unspecified (IPv4-mapped IPv6 judged as IPv4; 6to4
    and Teredo addresses judged also by the IPv4 address they carry)."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        carried = [ip.sixtofour, *(ip.teredo or ())]
        if any(v4 is not None and not public_address(v4) for v4 in carried):
            return False
    return bool(ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local
                                      or ip.is_multicast or ip.is_reserved
                                      or ip.is_unspecified))


def _local_host(host: str) -> bool:
    return host in get_settings().webhook_local_hosts


def check_url(url) -> str:
    """A URL a partner may register for its notices (ValidationError, field ``url``, else)."""
    if (not isinstance(url, str) or not url or len(url) > MAX_URL or not url.isascii()
            or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)):
        _refuse(f"url must be an https:// URL of at most {MAX_URL} characters, without spaces "
                f"(percent-encode other characters, and write an international host name in "
                f"its xn-- form).")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # e.g. an unclosed or invalid [IPv6] host
        _refuse("url has a host that is not a name or an IP address, such as "
                "https://shop.example/eso-notices.")
    local = bool(host) and _local_host(host)
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        _refuse("url must start with https:// (notices are sent over TLS only).")
    if "@" in parts.netloc:
        _refuse("url must not hold a user name or password. Authenticate notices by their "
                "ESO-Signature header instead.")
    try:
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        _refuse("url has a port that is not a number from 0 to 65535.")
    if not host:
        _refuse("url must name a host, such as https://shop.example/eso-notices.")
    if local:
        return url
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if "[" in parts.netloc:  # brackets hold an IPv6 address, nothing else
            _refuse("url has a host that is not a name or an IP address, such as "
                    "https://shop.example/eso-notices.")
    if literal is not None:
        if not public_address(literal):
            _refuse("url must not point at a private, loopback or link-local address. Use "
                    "your server's public name.")
        return url
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES) or not _DNS_NAME.match(host):
        _refuse("url must name a public host, such as https://shop.example/eso-notices "
                "(not localhost or a name inside your network).")
    return url


# --- the secret ------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _purpose(partner_id: str) -> str:
    return f"partner-webhook\x00{partner_id}"


def seal_secret(partner_id: str, secret: str) -> str:
    return seal(_purpose(partner_id), secret)


def unseal_secret(partner_id: str, sealed: str) -> str:
    return unseal(_purpose(partner_id), sealed)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``ESO-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body,
                   hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


# --- the connection ----------------------------------------------------------------------------


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked; the certificate is verified against the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain http, for the local stage's own receivers only."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def _addresses(host: str, port: int) -> list:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def post(url: str, body: bytes, headers: dict, timeout: float = TIMEOUT_S) -> str:
    """POST ``body`` to a registered webhook; returns what happened, as a short code: ``http_<status>``
    (any 2xx is an acknowledgement; redirects are not followed), ``refused_url``,
    ``refused_address``, ``dns_failed``, ``timeout``, ``tls_failed``, ``connection_failed``."""
    try:
        check_url(url)  # again: the rules (or the local allow-list) may have changed since
    except ValidationError:
        return "refused_url"
    parts = urlsplit(url)
    host = parts.hostname.lower()
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        addresses = _addresses(host, port)
    except (socket.gaierror, UnicodeError):
        return "dns_failed"
    if not addresses or not (_local_host(host) or all(public_address(a) for a in addresses)):
        return "refused_address"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    connection = kind(host, port, addresses[0], timeout)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        status = connection.getresponse().status  # the body is left unread, never stored
    except (socket.timeout, TimeoutError):
        return "timeout"
    except (ssl.SSLError, ssl.CertificateError):
        return "tls_failed"
    except (OSError, http.client.HTTPException, ValueError):  # ValueError: InvalidURL, encoding
        return "connection_failed"
    finally:
        connection.close()
    return f"http_{status}"
