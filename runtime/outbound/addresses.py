"""Where a flow's requests may go: public addresses, and the private ones an administrator allowed.

A flow's author is untrusted, and so is what a person types into a chat: an address taken from
either must not reach into the server's own network (its loopback, the office network, a cloud's
metadata service, which hands out the machine's credentials). An address is public when it is
globally routable; any other is refused unless an allowance names it (a network, or a host name,
optionally with one port). Cloud metadata services, the unspecified address, multicast and
broadcast are refused even then. Numbers are read the way a resolver reads them, so 2130706433,
0x7f000001, 0177.0.0.1 and 127.1 are all 127.0.0.1, and IPv6 forms that carry an IPv4 address
(::ffff:127.0.0.1, NAT64's 64:ff9b::/96) are judged by the address they carry (6to4, deprecated,
is refused whatever it carries).
"""

from __future__ import annotations

import enum
import ipaddress
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from nodes.api import HttpRefused

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV = "CHATLOOM_OUTBOUND_ALLOW"  # the server-wide allowance: entries separated by commas or spaces
DEFAULT_PORTS = {"http": 80, "https": 443}

METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
# Names that mean this machine whatever DNS says (RFC 6761): judged as the loopback addresses.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
LOOPBACK: tuple[IP, ...] = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
# Ranges that are never public, written out because Python's is_global has called some of them global
# (3.11 does for fec0::/10, 2002::/16, 3fff::/20, 192.0.0.8/29...) and its answer changes between
# versions; the IANA special-purpose registries decide, plus the deprecated ranges below.
NOT_GLOBAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network": 0.x.x.x reaches this machine on Linux
        # IETF protocol assignments. IANA calls 192.0.0.9 (PCP) and 192.0.0.10 (TURN) global, but both
        # are anycast for the nearest NAT or relay, that is the local network's: refused with the rest.
        "192.0.0.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated, RFC 7526): a router, never a web server
        "198.18.0.0/15",  # benchmarking
        "240.0.0.0/4",  # reserved, and 255.255.255.255
        "64:ff9b:1::/48",  # local-use IPv4/IPv6 translation (RFC 8215): a translator inside the network
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4 (deprecated, RFC 7526); what it carries is judged as well, for metadata
        "3fff::/20",  # documentation (RFC 9637)
        "fec0::/10",  # site-local (deprecated, RFC 3879): a private range, like fc00::/7
    )
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
BROADCAST = ipaddress.ip_address("255.255.255.255")
_NUMERIC = re.compile(r"(?=.*[0-9])[0-9a-fx.]+")
_NAME = re.compile(r"(?:\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


class Kind(enum.Enum):
    PUBLIC = "public"
    PRIVATE = "private"  # loopback, private, link-local, shared (CGNAT), ULA, reserved, multicast
    METADATA = "metadata"  # a cloud's metadata service


class AllowanceError(ValueError):
    """An allowance entry that cannot be used; the message says why, in a sentence."""


class AddressRefused(HttpRefused):
    """The request would go to a private or metadata address that no allowance names."""

    def __init__(self, host: str, kind: Kind, via: str = "") -> None:
        where = f"The address {host}" + (f" (where {via} redirected)" if via else "")
        what = "is a cloud server's metadata service" if kind is Kind.METADATA else "is on a private network"
        super().__init__(f"{where} {what}, which flows may not reach.")


def host_name(host: str) -> str:
    """A host as compared and resolved: lower case, without brackets or the trailing dot."""
    bare = host.strip().lower()
    if bare.startswith("[") and bare.endswith("]"):
        bare = bare[1:-1]
    return bare.rstrip(".")


def literal(host: str) -> IP | None:
    """The address a host written as numbers stands for, in every form a resolver accepts, or None
    for a name."""
    bare = host_name(host)
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC.fullmatch(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))  # 2130706433, 0x7f000001, 0177.0.0.1, 127.1
        except OSError:
            return None
    return None


def carried(ip: IP) -> IP:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.scope_id:
            return ipaddress.IPv6Address(str(ip).partition("%")[0])
    return ip


def kind(ip: IP) -> Kind:
    inner = carried(ip)
    if inner in METADATA_ADDRESSES or ip in METADATA_ADDRESSES:
        return Kind.METADATA
    wrapper = isinstance(ip, ipaddress.IPv6Address) and (ip.ipv4_mapped is not None or ip in NAT64)
    for address in {inner} if wrapper else {ip, inner}:  # a wrapper's own range is "reserved": judge what it carries
        if (
            not address.is_global
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
            or address == BROADCAST
            or any(address in n for n in NOT_GLOBAL)
        ):
            return Kind.PRIVATE
    return Kind.PUBLIC


def allowable(ip: IP) -> bool:
    """Whether an allowance may open this address: never the unspecified address (it reaches this
    machine), multicast, broadcast or a metadata service."""
    inner = carried(ip)
    return kind(ip) is not Kind.METADATA and not any(
        a.is_unspecified or a.is_multicast or a == BROADCAST for a in (ip, inner)
    )


def _under(path: str, prefix: str) -> bool:
    decoded = unquote(path)
    if "\\" in decoded or any(part in (".", "..") for part in decoded.split("/")):
        return False  # /demo/../api would leave the allowed routes on the server's side
    return decoded.startswith(prefix)


@dataclass(frozen=True, slots=True)
class Rule:
    """One allowed place: a network (whatever name leads there) or a host name (whatever private
    address it resolves to; ".corp.example" for every name under it), optionally one port, and
    for the server's own routes a path prefix."""

    network: Network | None = None
    name: str = ""
    port: int | None = None
    path: str = ""

    def permits(self, name: str, ip: IP, port: int, path: str) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.path and not _under(path, self.path):
            return False
        if self.network is not None:
            return ip in self.network or carried(ip) in self.network
        return name == self.name or (self.name.startswith(".") and name.endswith(self.name))

    def __str__(self) -> str:
        if self.network is not None:
            single = self.network.prefixlen == self.network.max_prefixlen
            host = str(self.network.network_address) if single else str(self.network)
            if self.port is not None and self.network.version == 6:
                host = f"[{host}]"
        else:
            host = "*" + self.name if self.name.startswith(".") else self.name
        return host + (f":{self.port}" if self.port is not None else "") + self.path


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise AllowanceError(f"“{text}” is not an address; write an IPv6 address like [fd00::5]:8443.")
        return host, _port(rest[1:]) if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(port)
    return text, None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise AllowanceError(f"“{text}” is not a port; a port is a number from 1 to 65535.")
    return int(text)


def parse_rule(text: str) -> Rule:
    """An allowance entry as an administrator writes it: 10.0.0.0/8, 192.168.1.20:8443, [fd00::5],
    crm.intranet, crm.intranet:8443 or *.corp.example. AllowanceError says what is wrong."""
    raw = text.strip().lower()
    if not raw:
        raise AllowanceError("Write an address, a network such as 10.0.0.0/8, or a host name.")
    if len(raw) > 300 or "://" in raw or "@" in raw:
        raise AllowanceError("Write the address alone, without http:// (e.g. 10.0.0.5 or crm.intranet:8443).")
    host, port = _split_port(raw)
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        network = None
    if network is not None:
        address = network.network_address
        if network.prefixlen == network.max_prefixlen and not allowable(address):
            what = (
                "a cloud server's metadata service" if kind(address) is Kind.METADATA else "not an address to send to"
            )
            raise AllowanceError(f"{host} is {what}; it can never be allowed.")
        if network.is_multicast or network.is_unspecified:
            raise AllowanceError(f"{host} is not an address to send to; it can never be allowed.")
        return Rule(network=network, port=port)
    name = host.rstrip(".")
    if literal(name) is not None or not _NAME.fullmatch(name) or name.rpartition(".")[2].isdigit():
        raise AllowanceError(
            f"“{text.strip()}” is not an address or a host name (write e.g. 10.0.0.5 or crm.intranet)."
        )
    if name in METADATA_NAMES:
        raise AllowanceError(f"{name} is a cloud server's metadata service; it can never be allowed.")
    return Rule(name=name[1:] if name.startswith("*") else name, port=port)


@dataclass(frozen=True, slots=True)
class Allowance:
    """The private places requests may reach: the server's, plus a workspace's."""

    rules: tuple[Rule, ...] = ()

    def __add__(self, other: Allowance) -> Allowance:
        return Allowance(self.rules + other.rules)

    def permits(self, name: str, ip: IP, port: int, path: str) -> bool:
        return any(rule.permits(name, ip, port, path) for rule in self.rules)

    @classmethod
    def parse(cls, text: str) -> Allowance:
        """Entries separated by commas or spaces."""
        return cls(tuple(parse_rule(entry) for entry in re.split(r"[,\s]+", text) if entry))

    @classmethod
    def own_route(cls, host: str, port: int, path: str) -> Allowance:
        """Only `path` and below on this server itself (its built-in demo API)."""
        ip = literal(host)
        if ip is not None:
            return cls((Rule(network=ipaddress.ip_network(ip), port=port, path=path),))
        return cls((Rule(name=host_name(host), port=port, path=path),))


def server_allowance(environ: Mapping[str, str] = os.environ) -> Allowance:
    """The allowance every flow has, from CHATLOOM_OUTBOUND_ALLOW (empty: none)."""
    try:
        return Allowance.parse(environ.get(ENV, ""))
    except AllowanceError as exc:
        raise AllowanceError(f"{ENV}: {exc}") from None


def check(shown: str, name: str, addresses: Sequence[IP], *, port: int, path: str, allow: Allowance, via: str) -> None:
    """Refuse (AddressRefused) unless every address the name has is public or allowed: a name with
    one private address among public ones may be a rebinding attempt."""
    if name in METADATA_NAMES:
        raise AddressRefused(shown, Kind.METADATA, via)
    for ip in addresses:
        found = kind(ip)
        if found is Kind.PUBLIC:
            continue
        if found is Kind.PRIVATE and allowable(ip) and allow.permits(name, ip, port, path):
            continue
        raise AddressRefused(shown, found, via)
