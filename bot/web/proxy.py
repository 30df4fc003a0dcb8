"""The client's address behind a reverse proxy (`web.trusted_proxies`).

Behind nginx every request comes from the proxy's address, so the per-address login limit
would lock out the whole county at once. The address is taken from X-Forwarded-For only
when the peer is a trusted proxy, and then the header is read from the right, skipping
trusted hops, up to the first address no trusted proxy vouches for (what nginx's
`real_ip_recursive on` does; werkzeug's ProxyFix with `x_for` equal to the number of
trusted hops gives the same answer when that number is fixed). Anything a client writes to
the left of that is ignored, so a forged header changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.1`, `10.0.0.0/8` or `::1`; raises ValueError naming a bad entry."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        found = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # An IPv4 peer seen through an IPv6 socket (::ffff:10.0.0.1) is the IPv4 address.
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy that forwarded the request."""

    def is_trusted(text: str) -> bool:
        addr = _address(text)
        return addr is not None and any(addr in net for net in trusted)

    if not trusted or not forwarded_for or not is_trusted(peer):
        return peer
    client = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if _address(hop) is None:
            break  # not an address: nothing further left can be believed
        client = hop
        if not is_trusted(hop):
            break
    return client


class TrustedProxies:
    """WSGI middleware setting REMOTE_ADDR to the client's address (the peer's is kept in
    `duban.peer_addr`)."""

    def __init__(self, app: WSGIApplication, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        environ["duban.peer_addr"] = peer
        environ["REMOTE_ADDR"] = client_address(
            peer, environ.get("HTTP_X_FORWARDED_FOR"), self.trusted
        )
        return self.app(environ, start_response)
