"""Trouble zones: one network namespace per scripted trouble (root only).

Each zone holds the addresses of its devices and plays one kind of trouble with the kernel's
help: silence (kernel echo replies off), deterministic loss (an nftables `numgen` rule dropping
every Nth echo request; stories change it as they go), delay (the lab's echo responder with
kernel echo off), flapping (echo toggled on a timer), a reboot (echo and the agent dark, then
back with the uptime from zero), saturation (a token-bucket qdisc on the zone's uplink with
traffic pushed through it once its story begins: the link's normal RTT is known first).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from netwatch.lab.netns import Namespace, NamespaceError
from netwatch.lab.plan import Trouble

SILENT_KINDS = ("down", "ap_down", "dark_kecamatan", "dark_upstream")
# loss from nftables: from the start, or as their story goes on
LOSSY_KINDS = ("lossy", "lossy_upstream", "fading", "lte_weak", "storage_full")
SATURATION_RATE = "20mbit"  # the lab routers' contracted uplink
# the uplink's queue: a full one delays every echo about this long (over the 150 ms RTT p90
# at which a site is degraded), as bufferbloat does on a saturated link
SATURATION_QUEUE = "200ms"
NFT_TABLE = "netwatchlab"


def missing_tools(troubles: list[Trouble]) -> list[str]:
    """What this machine lacks to play these troubles (empty: all can be played)."""
    needs = {"ip"}
    if any(t.kind in LOSSY_KINDS for t in troubles):
        needs.add("nft")
    if any(t.kind == "saturated" for t in troubles):
        needs.update({"tc", "snmpd"})
    return sorted(tool for tool in needs if shutil.which(tool) is None
                  and not shutil.which(tool, path="/usr/sbin:/sbin"))


@dataclass
class Zone:
    trouble: Trouble
    namespace: Namespace
    echo_process: subprocess.Popen[bytes] | None = None
    blast_process: subprocess.Popen[bytes] | None = None
    echo_on: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.trouble.zone

    @classmethod
    def create(cls, trouble: Trouble, hosts: int) -> Zone:
        namespace = Namespace.create(hosts=hosts, tag=trouble.zone[:4])
        zone = cls(trouble, namespace)
        try:
            zone._play()
        except BaseException:
            namespace.delete()
            raise
        return zone

    def _play(self) -> None:
        kind = self.trouble.kind
        if kind in SILENT_KINDS:
            self.set_echo(False)
        elif kind in ("lossy", "lossy_upstream"):
            self.set_loss(self.trouble.loss)
        elif kind == "slow":
            self.namespace.set_echo(False)
            self.echo_process = self.namespace.spawn(
                [sys.executable, "-m", "netwatch.lab.echo", "--delay",
                 f"{self.trouble.delay * 1000:g}ms"], stdout=subprocess.DEVNULL)
        elif kind == "saturated":
            self._saturate()

    def set_echo(self, answer: bool) -> None:
        self.namespace.set_echo(answer)
        self.echo_on = answer

    def set_loss(self, ratio: float) -> None:
        """Drop this share of the zone's echo requests from now on (0: none)."""
        self.namespace.run(["nft", "delete", "table", "inet", NFT_TABLE], check=False)
        if ratio > 0:
            self._drop_every(max(1, round(1 / ratio)))

    def _drop_every(self, n: int) -> None:
        """Drop exactly one echo request in n per device: loss 1/n, deterministic. A rule per
        address, since each numgen rule keeps its own counter."""
        lines = [f"table inet {NFT_TABLE} {{", "  chain input {",
                 "    type filter hook input priority 0; policy accept;"]
        for address in self.namespace.addresses:
            lines.append(f"    ip daddr {address} icmp type echo-request numgen inc mod {n} 0 drop")
        for address in self.namespace.addresses6:
            lines.append(f"    ip6 daddr {address} icmpv6 type echo-request "
                         f"numgen inc mod {n} 0 drop")
        self.namespace.run(["nft", "-f", "-"], input="\n".join([*lines, "  }", "}", ""]))

    def _saturate(self) -> None:
        """A token bucket on the zone's side of the veth (the contracted uplink). Its queue
        holds SATURATION_QUEUE of traffic, as a real router's buffers do: once the stream
        fills it (start_blast, when the story says) the echoes wait behind it."""
        ns = self.namespace
        ns.exec_ip("link", "set", ns.ns_if, "txqueuelen", "1000")
        ns.run(["tc", "qdisc", "replace", "dev", ns.ns_if, "root", "tbf", "rate", SATURATION_RATE,
                "burst", "32kbit", "latency", SATURATION_QUEUE])

    def start_blast(self) -> None:
        """A UDP stream to the host at 1.6x the bucket: the uplink full, its queue too."""
        if self.blast_process is not None:
            return
        ns = self.namespace
        self.blast_process = ns.spawn(
            [sys.executable, "-m", "netwatch.lab.blast", "--target", ns.gateway,
             "--rate", "4000000"], stdout=subprocess.DEVNULL)

    def nft_rules(self) -> str:
        return self.namespace.run(["nft", "list", "ruleset"], check=False).stdout

    def delete(self) -> None:
        for process in (self.echo_process, self.blast_process):
            if process is not None and process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=3)
        with contextlib.suppress(NamespaceError):
            self.namespace.delete()  # takes nftables rules, qdiscs and processes with it
