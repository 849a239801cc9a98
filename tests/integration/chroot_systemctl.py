#!/usr/bin/python3
"""A stand-in for `systemctl` inside a throwaway root that has no systemd (test_docs.py).

It does what the docs' `systemctl` lines need, the way the unit files say: `start` runs
ExecStart (with EnvironmentFile= and LoadCredential= of the unit and its drop-ins, credentials
copied to /run/credentials/UNIT/) in the background as root, `reload` runs ExecReload's
signal, `stop` sends SIGTERM, `restart`, `status`, `is-active`, `is-enabled` (a symlink in a
*.wants/ directory), `enable` and `disable` (that symlink, from WantedBy=); `daemon-reload`
is a no-op.
Pid files in /run/chroot-systemctl/ let the test stop everything afterwards.
User=, sandboxing and Type=notify are not emulated (test_install.py checks the unit itself).
Units it cannot find fail like systemctl does (exit 5).
"""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

RUN = Path("/run/chroot-systemctl")
UNIT_DIRS = [Path("/etc/systemd/system"), Path("/lib/systemd/system")]


def unit_lines(unit: str) -> list[tuple[str, str]]:
    files = [d / unit for d in UNIT_DIRS if (d / unit).is_file()][:1]
    if not files:
        print(f"Unit {unit} not found.", file=sys.stderr)
        raise SystemExit(5)
    for d in UNIT_DIRS:
        files += sorted((d / f"{unit}.d").glob("*.conf"))
    lines = []
    for f in files:
        for line in f.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
                key, _, value = line.partition("=")
                lines.append((key.strip(), value.strip()))
    return lines


def environment(lines: list[tuple[str, str]], unit: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8"}
    for key, value in lines:
        if key == "Environment":
            for item in shlex.split(value):
                k, _, v = item.partition("=")
                env[k] = v
        elif key == "EnvironmentFile":
            path = Path(value.lstrip("-"))
            if path.is_file():
                for raw in path.read_text().splitlines():
                    if "=" in raw and not raw.lstrip().startswith("#"):
                        k, _, v = raw.partition("=")
                        env[k.strip()] = " ".join(shlex.split(v))
    credentials = [value for key, value in lines if key == "LoadCredential"]
    if credentials:
        directory = Path("/run/credentials") / unit
        directory.mkdir(parents=True, exist_ok=True)
        for item in credentials:
            name, _, source = item.partition(":")
            (directory / name).write_bytes(Path(source).read_bytes())
        env["CREDENTIALS_DIRECTORY"] = str(directory)
    return env


def expand(command: str, env: dict[str, str]) -> list[str]:
    words = []
    for word in shlex.split(command.lstrip("-@+!")):
        if word.startswith("$") and word[1:] in env:  # $ARGS: split into words
            words += shlex.split(env[word[1:]])
        else:
            words.append(word)
    return words


def pid_of(unit: str) -> int | None:
    try:
        pid = int((RUN / f"{unit}.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start(unit: str) -> None:
    if pid_of(unit):
        return
    lines = unit_lines(unit)
    env = environment(lines, unit)
    [command] = [v for k, v in lines if k == "ExecStart" and v][-1:]
    RUN.mkdir(parents=True, exist_ok=True)
    log = open(f"/var/log/{unit}.log", "ab")  # noqa: SIM115 (the child keeps it)
    child = subprocess.Popen(expand(command, env), env=env, cwd="/", stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, start_new_session=True)
    (RUN / f"{unit}.pid").write_text(str(child.pid))
    time.sleep(1.0)
    if child.poll() is not None:
        print(f"{unit}: exited with {child.returncode} (see /var/log/{unit}.log)",
              file=sys.stderr)
        raise SystemExit(1)


def stop(unit: str) -> None:
    pid = pid_of(unit)
    if pid:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if pid_of(unit) is None:
                break
            time.sleep(0.1)
    (RUN / f"{unit}.pid").unlink(missing_ok=True)


def reload(unit: str) -> None:
    unit_lines(unit)
    pid = pid_of(unit)
    if pid is None:
        print(f"{unit} is not active, cannot reload.", file=sys.stderr)
        raise SystemExit(1)
    os.kill(pid, signal.SIGHUP)
    time.sleep(1.0)


def enabled(unit: str) -> bool:
    return any(Path("/etc/systemd/system").glob(f"*.wants/{unit}"))


def enable(unit: str, on: bool) -> None:
    for key, value in unit_lines(unit):
        if key == "WantedBy":
            for target in value.split():
                link = Path("/etc/systemd/system") / f"{target}.wants" / unit
                if on and not link.is_symlink():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(f"/lib/systemd/system/{unit}")
                elif not on:
                    link.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if "--version" in argv:  # deb-systemd-invoke asks
        print("systemd 252 (chroot stand-in)")
        return 0
    args = [a for a in argv if not a.startswith("-")]
    if not args:
        return 0
    verb, units = args[0], [u if "." in u else f"{u}.service" for u in args[1:]]
    for unit in units:
        if verb == "start":
            start(unit)
        elif verb == "stop":
            stop(unit)
        elif verb in ("restart", "try-restart"):
            stop(unit)
            start(unit)
        elif verb == "reload":
            reload(unit)
        elif verb in ("enable", "reenable", "preset"):
            enable(unit, True)
        elif verb == "disable":
            enable(unit, False)
        elif verb == "is-enabled":
            print("enabled" if enabled(unit) else "disabled")
            if not enabled(unit):
                return 1
        elif verb in ("status", "is-active"):
            unit_lines(unit)
            pid = pid_of(unit)
            print(f"{unit}: {'active (running), pid ' + str(pid) if pid else 'inactive'}")
            if pid is None:
                return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
