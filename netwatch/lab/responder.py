"""The lab's own SNMP agent: real recordings served with values the lab changes while it runs.

    python -m netwatch.lab.responder --data DIR --listen ADDR:PORT [--listen ...] \\
        --control PATH [--lifetime 2h]

Serves SNMP v2c GET, GETNEXT and GETBULK from every recording in DIR (community = file
stem, as snmpsim does), with snmpsim's `numeric` counters (`initial=`, `rate=`, `wrap=`:
netwatch.lab.agents.grow) and uptimes that tick. Prints `ready` once listening. A Unix
datagram socket at PATH takes commands as JSON, one per datagram, and answers `ok`:

    {"community": C, "set": [[OID, TAG, VALUE], ...]}    a reading changes (a signal fades)
    {"community": C, "silent": true|false}               no answer at all (a device off)
    {"community": C, "reboot": true}                     uptime and counters from zero

Why an agent of our own rather than snmpsim's variation modules: the lab's trouble is a
story told across devices and probes on the lab's clock — a link's signal and capacity fall
while its loss (nftables) rises, a voltage dips and twenty seconds later the router and its
access point go dark — so values must change when the lab says, in step with what it does to
ICMP. snmpsim's `numeric` module computes integers from the time since its own start (and
clamps at 0 unless told, which a dBm value is not), `writecache` needs SNMP SETs and a
community with write access, and neither can go silent and come back as a rebooted device
without restarting the process. Here each is one command. Replies carry at most MAX_VARBINDS
values, like snmpsim's cap, so the poller's capped-walk handling is exercised too. It runs
inside a zone's namespace (the lab starts it there); the control socket is a file, which
crosses network namespaces.
"""

from __future__ import annotations

import argparse
import bisect
import json
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from netwatch.config.types import parse_duration
from netwatch.snmp.ber import (
    END_OF_MIB_VIEW,
    GET,
    GET_BULK,
    GET_NEXT,
    NO_SUCH_OBJECT,
    BerError,
    TypedValue,
    decode_message,
    encode_response,
)
from netwatch.snmp.oid import Oid, parse_oid
from netwatch.snmp.snmprec import Record, decode_value, read_records

MAX_VARBINDS = 60
_BER_TAGS = {"2": 0x02, "4": 0x04, "6": 0x06, "64": 0x40, "65": 0x41, "66": 0x42, "67": 0x43,
             "68": 0x44, "70": 0x46}
_WRAP = {0x41: 2**32, 0x42: 2**32, 0x43: 2**32, 0x46: 2**64}


@dataclass
class Served:
    """One community's device: its records, the clock its counters count from."""

    values: dict[Oid, tuple[str, str]] = field(default_factory=dict)  # OID -> (tag, text)
    order: list[Oid] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    silent: bool = False
    booted_from_zero: bool = False

    @classmethod
    def of(cls, records: list[Record]) -> Served:
        served = cls()
        for oid, tag, text in records:
            served.values[oid] = (tag, text)
        served.order = sorted(served.values)
        return served

    def set(self, oid: Oid, tag: str, text: str) -> None:
        if oid not in self.values:
            bisect.insort(self.order, oid)
        self.values[oid] = (tag, text)

    def reboot(self) -> None:
        self.started = time.time()
        self.booted_from_zero = True

    def value(self, oid: Oid, now: float) -> TypedValue:
        tag, text = self.values[oid]
        base, _, variation = tag.partition(":")
        ber = _BER_TAGS.get(base.rstrip("x"), 0x04)
        if variation == "numeric":
            settings = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
            initial = 0.0 if self.booted_from_zero else float(settings.get("initial", 0))
            number = int(initial + float(settings.get("rate", 0)) * (now - self.started))
            wrap = _WRAP.get(ber)
            return ber, number % wrap if wrap else number
        return ber, decode_value(tag, text)  # type: ignore[return-value]

    def next_after(self, oid: Oid) -> Oid | None:
        index = bisect.bisect_right(self.order, oid)
        return self.order[index] if index < len(self.order) else None


class Responder:
    def __init__(self, devices: dict[bytes, Served]) -> None:
        self.devices = devices

    def answer(self, datagram: bytes, now: float) -> bytes | None:
        try:
            message = decode_message(datagram)
        except BerError:
            return None
        device = self.devices.get(message.community)
        if device is None or device.silent or message.version != 1:
            return None
        oids = [oid for oid, _ in message.varbinds]
        out: list[tuple[Oid, TypedValue]] = []
        if message.pdu_type == GET:
            out = [(oid, device.value(oid, now) if oid in device.values
                    else (NO_SUCH_OBJECT, None)) for oid in oids]
        elif message.pdu_type == GET_NEXT:
            out = [self._next(device, oid, now) for oid in oids]
        elif message.pdu_type == GET_BULK:
            out = self._bulk(device, oids, message.error_status, message.error_index, now)
        else:
            return None
        return encode_response(1, message.community, message.request_id, out[:MAX_VARBINDS])

    @staticmethod
    def _next(device: Served, oid: Oid, now: float) -> tuple[Oid, TypedValue]:
        found = device.next_after(oid)
        return (oid, (END_OF_MIB_VIEW, None)) if found is None else (found,
                                                                      device.value(found, now))

    def _bulk(self, device: Served, oids: list[Oid], non_repeaters: int, repetitions: int,
              now: float) -> list[tuple[Oid, TypedValue]]:
        non_repeaters = max(0, min(non_repeaters, len(oids)))
        out = [self._next(device, oid, now) for oid in oids[:non_repeaters]]
        columns = oids[non_repeaters:]
        for _ in range(max(0, repetitions)):
            if not columns or len(out) >= MAX_VARBINDS:
                break
            row = [self._next(device, oid, now) for oid in columns]
            out += row
            columns = [oid for oid, _ in row]
        return out

    def command(self, text: bytes) -> str:
        """One control command; the answer sent back."""
        try:
            order = json.loads(text)
            device = self.devices[str(order["community"]).encode()]
        except (ValueError, KeyError, TypeError):
            return "error: not a command for a served community"
        for oid, tag, value in order.get("set", ()):
            device.set(parse_oid(str(oid)), str(tag), str(value))
        if "silent" in order:
            device.silent = bool(order["silent"])
        if order.get("reboot"):
            device.reboot()
        return "ok"


def load(data: Path) -> dict[bytes, Served]:
    return {path.stem.encode(): Served.of(read_records(path))
            for path in sorted(data.glob("*.snmprec"))}


def _endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def serve(responder: Responder, listen: list[str], control: Path, lifetime: float) -> None:
    selector = selectors.DefaultSelector()
    sockets = []
    for endpoint in listen:
        host, port = _endpoint(endpoint)
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_DGRAM)
        sock.bind((host, port))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, "snmp")
        sockets.append(sock)
    if control.exists():
        control.unlink()
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ctl.bind(str(control))
    ctl.setblocking(False)
    selector.register(ctl, selectors.EVENT_READ, "control")
    stop = False

    def stopping(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    print("ready", flush=True)
    ends = time.monotonic() + lifetime
    try:
        while not stop and time.monotonic() < ends:
            for key, _ in selector.select(timeout=0.5):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    data, peer = ready.recvfrom(65535)
                except (BlockingIOError, OSError):
                    continue
                if key.data == "control":
                    if peer:
                        ready.sendto(responder.command(data).encode(), peer)
                    continue
                reply = responder.answer(data, time.time())
                if reply is not None:
                    ready.sendto(reply, peer)
    finally:
        for sock in (*sockets, ctl):
            sock.close()
        control.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netwatch.lab.responder",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="directory of COMMUNITY.snmprec recordings")
    parser.add_argument("--listen", action="append", required=True,
                        help="ADDRESS:PORT to answer on (repeatable)")
    parser.add_argument("--control", type=Path, required=True,
                        help="Unix datagram socket path for commands")
    parser.add_argument("--lifetime", type=parse_duration, default=86400.0,
                        help="exit after this long (default 1d)")
    args = parser.parse_args(argv)
    devices = load(args.data)
    if not devices:
        print(f"no recordings in {args.data}", file=sys.stderr)
        return 2
    serve(Responder(devices), args.listen, args.control, args.lifetime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
