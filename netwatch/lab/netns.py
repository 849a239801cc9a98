"""Network namespaces for tests, the lab and benchmarks (root only).

A Namespace is one simulated host (or group of hosts) behind a veth pair, addressed from
198.18.0.0/15 (and 2001:2::/48), the ranges reserved for test labs. Names carry the creating
process id, so leftovers of a crashed run can be found and removed (`remove_stale`).

    with Namespace.create(silent=True) as ns:     # kernel echo replies off
        ns.address                                 # e.g. "198.18.7.2": nothing answers ping
    # namespace, veth pair, routes: gone, also when the body raised
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

PREFIX = "nwt"
LAB_V4 = ipaddress.ip_network("198.18.0.0/15")
LAB_V6 = ipaddress.ip_network("2001:2::/48")
_counter = itertools.count()


class NamespaceError(RuntimeError):
    pass


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2 (apt-get install iproute2)"
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and result.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


def _used_v4() -> set[ipaddress.IPv4Address]:
    out = ip("-o", "-4", "addr", "show").stdout + ip("-4", "route", "show").stdout
    return {ipaddress.IPv4Address(m) for m in re.findall(r"(198\.1[89]\.\d+\.\d+)", out)}


def _free_subnet(count: int) -> ipaddress.IPv4Network:
    """A /24 of the lab range not yet used on this host (enough for `count` hosts)."""
    used = _used_v4()
    start = (os.getpid() * 7 + next(_counter) * 13) % 512
    for step in range(512):
        net = ipaddress.IPv4Network(f"198.{18 + ((start + step) % 512) // 256}."
                                    f"{(start + step) % 256}.0/24")
        if not any(a in net for a in used) and count <= 250:
            return net
    raise NamespaceError("no free /24 left in 198.18.0.0/15")


@dataclass
class Namespace:
    name: str
    host_if: str
    ns_if: str
    subnet: ipaddress.IPv4Network
    addresses: list[str] = field(default_factory=list)  # inside the namespace
    addresses6: list[str] = field(default_factory=list)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.addresses[0]

    @property
    def gateway(self) -> str:
        """The host side of the veth (how the namespace reaches us)."""
        return str(self.subnet.network_address + 1)

    @classmethod
    def create(cls, hosts: int = 1, silent: bool = False, ipv6: bool = False,
               tag: str = "") -> Namespace:
        """A namespace holding `hosts` addresses, reachable from the host via a veth pair."""
        reason = available()
        if reason:
            raise NamespaceError(reason)
        n = next(_counter)
        name = f"{PREFIX}{os.getpid()}{tag}x{n}"
        short = f"{os.getpid() % 100000}{n}"
        ns = cls(name, f"nwh{short}"[:15], f"nwn{short}"[:15], _free_subnet(hosts))
        try:
            ns._setup(hosts, ipv6)
            if silent:
                ns.set_echo(False)
        except BaseException:
            ns.delete()
            raise
        return ns

    def _setup(self, hosts: int, ipv6: bool) -> None:
        ip("netns", "add", self.name)
        ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        ip("link", "set", self.ns_if, "netns", self.name)
        ip("addr", "add", f"{self.gateway}/24", "dev", self.host_if)
        ip("link", "set", self.host_if, "up")
        self.exec_ip("link", "set", "lo", "up")
        self.exec_ip("link", "set", self.ns_if, "up")
        for i in range(hosts):
            address = str(self.subnet.network_address + 2 + i)
            self.exec_ip("addr", "add", f"{address}/24", "dev", self.ns_if)
            self.addresses.append(address)
        self.exec_ip("route", "add", "default", "via", self.gateway)
        if ipv6:
            block = int(self.subnet.network_address) & 0xFFFF  # distinct per namespace
            gw6 = LAB_V6.network_address + (block << 16) + 1
            ip("addr", "add", f"{gw6}/112", "dev", self.host_if, "nodad")
            for i in range(hosts):
                address6 = str(gw6 + 1 + i)
                self.exec_ip("addr", "add", f"{address6}/112", "dev", self.ns_if, "nodad")
                self.addresses6.append(address6)

    def exec_ip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return ip("-n", self.name, *args)

    def command(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: Sequence[str], check: bool = True, timeout: float = 30,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self.command(argv), capture_output=True, text=True,
                                timeout=timeout, input=input)
        if check and result.returncode != 0:
            raise NamespaceError(f"{' '.join(argv)} in {self.name}: {result.stderr.strip()}")
        return result

    def spawn(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace; it is killed by delete()."""
        # Popen's overloads cannot type **kwargs: the caller passes bytes-mode options only
        process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            self.command(argv), **kwargs)
        self._processes.append(process)
        return process

    def sysctl(self, key: str, value: str) -> None:
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def set_echo(self, answer: bool) -> None:
        """Switch the kernel's echo replies on or off for this namespace (v4 and v6)."""
        flag = "0" if answer else "1"
        self.sysctl("net.ipv4.icmp_echo_ignore_all", flag)
        with contextlib.suppress(NamespaceError):
            self.sysctl("net.ipv6.icmp.echo_ignore_all", flag)

    def delete(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
        self._processes.clear()
        pids = ip("netns", "pids", self.name, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        ip("netns", "del", self.name, check=False)  # takes the namespace end of the veth along
        ip("link", "del", self.host_if, check=False)

    def __enter__(self) -> Namespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()


def existing(prefix: str = PREFIX) -> list[str]:
    out = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def remove_stale(prefix: str = PREFIX) -> list[str]:
    """Delete namespaces left by processes that no longer run; returns their names."""
    removed = []
    for name in existing(prefix):
        match = re.match(rf"{prefix}(\d+)", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            ip("netns", "del", name, check=False)
            removed.append(name)
    return removed


@contextlib.contextmanager
def namespace(**kwargs: object) -> Iterator[Namespace]:
    ns = Namespace.create(**kwargs)  # type: ignore[arg-type]
    try:
        yield ns
    finally:
        ns.delete()
