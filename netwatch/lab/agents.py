"""SNMP agents for tests, benchmarks and the lab: snmpsim serving recordings, Debian's
snmpd, and a UDP server that answers junk. Every process is tracked and always killed.

    with AgentSet() as agents:
        data = prepare_recordings(RECORDINGS.glob("*.snmprec"), tmp / "data", grow=True)
        sim = agents.snmpsim(data, "127.3.0.1")             # community = file name
        snmpd = agents.snmpd("127.3.0.2", users=[V3User("mon", "authpass1", "privpass1")])
        junk = agents.junk("127.3.0.3")
    # every agent stopped here, also when the body raised

Addresses: loopback (127.x) or a namespace's (netwatch.lab.netns; pass `namespace=`). Ports are
picked free unless given. snmpsim answers about a second after start; `start` returns once
the agent answers an SNMP GET (bounded wait), or raises AgentError with its log.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from netwatch.lab.ports import free_port
from netwatch.snmp.snmprec import Record, clean_hex, format_records, read_records, sorted_records

RECORDINGS = Path(__file__).parent / "recordings"
START_TIMEOUT = 20.0

_live: dict[int, subprocess.Popen[bytes]] = {}  # pid -> process, for the exit hook


class AgentError(RuntimeError):
    pass


def _kill_leftovers() -> None:
    for process in list(_live.values()):
        _stop_process(process)


atexit.register(_kill_leftovers)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
    _live.pop(process.pid, None)


def free_udp_port(address: str) -> int:
    return free_port(address, udp=True)


def snmp_get_request(community: str, oid: tuple[int, ...] = (1, 3, 6, 1, 2, 1, 1, 3, 0)) -> bytes:
    """An encoded SNMPv2c GET (used to see whether an agent answers yet)."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api

    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = proto.GetRequestPDU()
    proto.apiPDU.set_defaults(pdu)
    proto.apiPDU.set_varbinds(pdu, [(oid, proto.Null(""))])
    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def wait_answering(address: str, port: int, community: str, timeout: float = START_TIMEOUT,
                   process: subprocess.Popen[bytes] | None = None) -> bool:
    """Send GETs every 0.1 s until a reply comes (True), the time is up or the process died."""
    request = snmp_get_request(community)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    ends = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        while time.monotonic() < ends:
            if process is not None and process.poll() is not None:
                return False
            sock.sendto(request, (address, port))
            try:
                sock.recvfrom(65535)
                return True
            except (TimeoutError, ConnectionRefusedError, OSError):
                continue
    return False


# --- recordings ---------------------------------------------------------------------------
_UPTIMES = {(1, 3, 6, 1, 2, 1, 1, 3, 0): "rate=100", (1, 3, 6, 1, 2, 1, 25, 1, 1, 0): "rate=100",
            (1, 3, 6, 1, 6, 3, 10, 2, 1, 3, 0): "rate=1"}
_OCTETS = {(1, 3, 6, 1, 2, 1, 2, 2, 1, 10), (1, 3, 6, 1, 2, 1, 2, 2, 1, 16),
           (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10)}
_PACKETS = {(1, 3, 6, 1, 2, 1, 2, 2, 1, 11), (1, 3, 6, 1, 2, 1, 2, 2, 1, 17),
            (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 7), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 11)}


def grow(records: Iterable[Record], bytes_per_second: int = 25_000) -> list[Record]:
    """Counters that move: interface octets and packets count up from their recorded value
    (snmpsim `numeric`, from the simulator's start; Counter32 wraps), uptimes tick."""
    out = []
    for oid, tag, value in records:
        base = tag.split(":")[0]
        if oid in _UPTIMES and base in ("2", "67") and value.isdigit():
            out.append((oid, f"{base}:numeric", f"initial={value},{_UPTIMES[oid]}"))
        elif oid[:-1] in _OCTETS | _PACKETS and base in ("65", "70") and value.isdigit():
            rate = bytes_per_second if oid[:-1] in _OCTETS else max(1, bytes_per_second // 500)
            wrap = ",wrap=1" if base == "65" else ""
            out.append((oid, f"{base}:numeric", f"initial={value},rate={rate}{wrap}"))
        else:
            out.append((oid, tag, value))
    return out


def servable(records: Iterable[Record]) -> list[Record]:
    """What snmpsim can serve: OID order, valid hex (anonymised MACs hold X/Y/Z)."""
    fixed = [(oid, tag, clean_hex(value) if tag.split(":")[0].endswith("x") else value)
             for oid, tag, value in records]
    return sorted_records(fixed)


def prepare_recordings(sources: Iterable[Path | str], directory: Path | str,
                       names: dict[str, Path | str] | None = None, grow_counters: bool = False,
                       extra: dict[str, Sequence[Record]] | None = None) -> Path:
    """Write servable copies into `directory` (community = file stem). `names` maps extra
    communities to a recording (the lab: one community per simulated device, hard-linked:
    snmpsim resolves symlinks and would serve them under the target's name); `extra` adds
    recordings given as records (test faults)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[Path, Path] = {}
    for source in sources:
        written[Path(source).resolve()] = _write(directory, Path(source).stem,
                                                 read_records(source), grow_counters)
    for community, source in (names or {}).items():
        source = Path(source).resolve()
        if source not in written:
            written[source] = _write(directory, source.stem, read_records(source), grow_counters)
        link = directory / f"{community}.snmprec"
        if not link.exists():
            try:
                os.link(written[source], link)
            except OSError:
                shutil.copyfile(written[source], link)
    for community, records in (extra or {}).items():
        _write(directory, community, list(records), False)
    return directory


def _write(directory: Path, community: str, records: list[Record], grown: bool) -> Path:
    path = directory / f"{community}.snmprec"
    path.write_text(format_records(servable(grow(records) if grown else records)))
    return path


# --- agents -------------------------------------------------------------------------------
@dataclass
class Agent:
    kind: str
    address: str
    port: int
    process: subprocess.Popen[bytes] | None
    workdir: Path
    community: str = "public"  # one the agent answers (readiness, tests)
    argv: list[str] = field(default_factory=list)
    control: ResponderControl | None = None  # the lab's own agent: values changed at run time

    @property
    def endpoint(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log(self) -> str:
        path = self.workdir / "agent.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)


class ResponderControl:
    """Commands to a running netwatch.lab.responder over its Unix datagram socket."""

    TIMEOUT = 5.0

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, community: str, **command: object) -> None:
        """`set=[(oid, tag, value), ...]`, `silent=True/False` or `reboot=True`; raises
        AgentError unless the responder says ok within TIMEOUT seconds."""
        message = json.dumps({"community": community, **command}).encode()
        with tempfile.TemporaryDirectory(prefix="nwctl-") as directory, \
                socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(os.path.join(directory, "reply"))
            sock.settimeout(self.TIMEOUT)
            try:
                sock.sendto(message, str(self.path))
                answer = sock.recv(4096).decode(errors="replace")
            except OSError as exc:
                raise AgentError(f"responder at {self.path}: {exc}") from None
        if answer != "ok":
            raise AgentError(f"responder at {self.path}: {answer}")


class UdpResponder:
    """A UDP peer in a thread (never stalls the event loop under test): every datagram is
    counted and handed to `answer(datagram, sender, sock)`."""

    def __init__(self, address: str, port: int,
                 answer: Callable[[bytes, Any, socket.socket], None]) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.sock.settimeout(0.2)
        self.address, self.port = address, int(self.sock.getsockname()[1])
        self.answer = answer
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="udp-responder", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.received += 1
            self.answer(data, peer, self.sock)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


class JunkServer(UdpResponder):
    """Answers every datagram with bytes that are not SNMP."""

    def __init__(self, address: str, port: int, reply: bytes = b"\x00garbage, not BER\xff") -> None:
        def answer(_data: bytes, peer: Any, sock: socket.socket) -> None:
            sock.sendto(reply, peer)

        super().__init__(address, port, answer)


@dataclass
class V3User:
    name: str
    auth_password: str
    priv_password: str | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"


class AgentSet:
    """Starts agents and stops them all on exit (also on errors and at interpreter exit)."""

    def __init__(self, workdir: Path | str | None = None) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="netwatch-agents-"))
        self.agents: list[Agent] = []
        self.junk_servers: list[JunkServer] = []
        self._count = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        for server in self.junk_servers:
            server.stop()
        self.agents.clear()
        self.junk_servers.clear()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _dir(self, kind: str) -> Path:
        self._count += 1
        path = self.workdir / f"{kind}-{self._count}"
        path.mkdir(parents=True)
        return path

    def _launch(self, agent: Agent, env: dict[str, str], namespace: object = None,
                ready: bool = True) -> Agent:
        argv = namespace.command(agent.argv) if namespace is not None else agent.argv  # type: ignore[attr-defined]
        with open(agent.workdir / "agent.log", "ab") as log:
            agent.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env,
                                             start_new_session=True)
        _live[agent.process.pid] = agent.process
        self.agents.append(agent)
        if ready and not wait_answering(agent.address, agent.port, agent.community,
                                        process=agent.process):
            agent.stop()
            raise AgentError(f"{agent.kind} on {agent.address}:{agent.port} did not answer:\n"
                             f"{agent.log()}")
        return agent

    def snmpsim(self, data_dir: Path | str, address: str | Sequence[str], port: int | None = None,
                community: str | None = None, v3: V3User | None = None,
                namespace: object = None, ready: bool = True) -> Agent:
        """snmpsim serving every recording of data_dir (community = file stem), on one address
        or on several (the lab: every simulated device's own address, one process)."""
        addresses = [address] if isinstance(address, str) else list(address)
        address = addresses[0]
        workdir = self._dir("snmpsim")
        port = port or free_udp_port(address)
        stems = sorted(p.stem for p in Path(data_dir).glob("*.snmprec"))
        argv = [str(Path(sys.executable).with_name("snmpsim-command-responder")),
                f"--data-dir={data_dir}", f"--cache-dir={workdir / 'cache'}",
                "--logging-method=null"]
        if v3 is not None:
            argv += ["--v3-engine-id=auto", f"--v3-user={v3.name}",
                     f"--v3-auth-key={v3.auth_password}", f"--v3-auth-proto={v3.auth_protocol}"]
            if v3.priv_password:
                argv += [f"--v3-priv-key={v3.priv_password}", f"--v3-priv-proto={v3.priv_protocol}"]
        argv += [f"--agent-udpv4-endpoint={a}:{port}" if ":" not in a
                 else f"--agent-udpv6-endpoint=[{a}]:{port}" for a in addresses]
        agent = Agent("snmpsim", address, port, None, workdir,
                      community or (stems[0] if stems else "public"), argv)
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        return self._launch(agent, env, namespace, ready)

    def snmpd(self, address: str | Sequence[str], port: int | None = None,
              community: str = "public", users: Sequence[V3User] = (),
              namespace: object = None) -> Agent:
        """Debian's snmpd with a generated config (v2c community, v3 users), foreground."""
        addresses = [address] if isinstance(address, str) else list(address)
        workdir = self._dir("snmpd")
        port = port or free_udp_port(addresses[0]) if namespace is None else (port or 16161)
        lines = [f"rocommunity {community}", "rocommunity6 " + community,
                 "dontLogTCPWrappersConnects yes"]
        for user in users:
            line = f"createUser {user.name} {user.auth_protocol} {user.auth_password}"
            if user.priv_password:
                line += f" {user.priv_protocol} {user.priv_password}"
            lines += [line, f"rouser {user.name} {'priv' if user.priv_password else 'auth'}"]
        lines += ["[snmp] persistentDir " + str(workdir / "persist")]
        (workdir / "snmpd.conf").write_text("\n".join(lines) + "\n")
        argv = [shutil.which("snmpd") or "/usr/sbin/snmpd", "-f", "-Lo", "-C", "-c",
                str(workdir / "snmpd.conf"), "-m", "", "-I", "-smux",  # no SMUX port 199
                # listening addresses as arguments: a config line would be cut at ~1 KB
                ",".join(f"udp6:[{a}]:{port}" if ":" in a else f"udp:{a}:{port}"
                         for a in addresses)]
        agent = Agent("snmpd", addresses[0], port, None, workdir, community, argv)
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(workdir / "persist"),
               "SNMPCONFPATH": str(workdir)}
        return self._launch(agent, env, namespace)

    def responder(self, data_dir: Path | str, addresses: Sequence[str], port: int,
                  community: str, namespace: object = None) -> Agent:
        """The lab's own agent (netwatch.lab.responder) serving data_dir's recordings on
        `addresses`, its values changed at run time through `Agent.control`."""
        workdir = self._dir("responder")
        control = workdir / "control.sock"
        argv = [sys.executable, "-m", "netwatch.lab.responder", f"--data={data_dir}",
                f"--control={control}", *(f"--listen={a}:{port}" for a in addresses)]
        agent = Agent("responder", addresses[0], port, None, workdir, community, argv,
                      control=ResponderControl(control))
        return self._launch(agent, dict(os.environ), namespace)

    def junk(self, address: str, port: int | None = None) -> JunkServer:
        server = JunkServer(address, port or 0)
        self.junk_servers.append(server)
        return server


def snmpd_available() -> str | None:
    """None when Debian's snmpd can be run here, else why not."""
    return None if shutil.which("snmpd") or os.path.exists("/usr/sbin/snmpd") else \
        "needs Debian's snmpd (apt-get install snmpd)"


def snmpsim_available() -> str | None:
    path = Path(sys.executable).with_name("snmpsim-command-responder")
    return None if path.exists() else "needs snmpsim (pip install snmpsim pysmi)"
