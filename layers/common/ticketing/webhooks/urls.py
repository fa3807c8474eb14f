"""Which URLs a subscription may name, and may be delivered to.

Deployed: ``https`` only, to a host that resolves to public addresses only (checked when the
subscription is made and again at every delivery, so a name re-pointed at an internal address
later is refused then: no request from inside the VPC-less function to link-local metadata, private
or loopback addresses).  The local run (``WEBHOOKS_LOOPBACK_ONLY``, set by devkit): loopback only,
``http`` or ``https`` (nothing leaves the machine).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ticketing.settings import get_settings

MAX_URL = 2048


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def problem(url: str, *, resolve: bool = True) -> str | None:
    """Why ``url`` may not be delivered to, or None."""
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return "an absolute http(s) URL"
    if parts.username or parts.password:
        return "no credentials in the URL (the signature authenticates the hub)"
    if get_settings().webhooks_loopback_only:
        found = _addresses(host)
        if host == "localhost" or (found and all(a.is_loopback for a in found)):
            return None
        return "the local run delivers to loopback addresses only (127.0.0.1, ::1, localhost)"
    if parts.scheme != "https":
        return "https"
    if not resolve:
        return None
    found = _addresses(host)
    if not found:
        return f"a host that resolves ({host} does not)"
    if any(not a.is_global for a in found):
        return "a public address (not private, loopback or link-local)"
    return None
