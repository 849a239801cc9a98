"""Reading the files an operator names: bounded, regular files only, text checked.

Every file the config reads goes through here: the config itself and its `sites_files`, the
thresholds override, secrets (`{file: PATH}`, `{credential: NAME}`). A path may name anything
(`/dev/zero`, a FIFO nobody writes to, a 50 MB log): reading it whole would exhaust memory or
block the loader for ever. So a file is opened without blocking, must be a regular file, and
is read up to a cap; its text must be UTF-8 without NUL bytes. Problems are FileProblem
(a ValueError, so pydantic validators report it at the field that named the file), with a
message that never quotes the content: the file may be a secret.

    text = read_text(path, limit=SECRET_LIMIT, what="secret file")
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

CONFIG_LIMIT = 16 << 20  # a province (2,650 sites) is ~1 MB of YAML; 10,000 sites ~3 MB
SECRET_LIMIT = 64 << 10  # a community or passphrase is a few dozen bytes


class FileProblem(ValueError):
    """A file cannot be used; the message names the file and the problem, never its bytes.
    `line` is the 1-based line of the problem in the text, when there is one."""

    def __init__(self, name: str, reason: str, line: int = 0, text: str = "") -> None:
        super().__init__(text or f"{name} {reason}" + (f" (line {line})" if line else ""))
        self.reason = reason  # without the name (a config file's errors start with it)
        self.line = line


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _unreadable(name: str, exc: OSError) -> FileProblem:
    reason = exc.strerror or str(exc)
    return FileProblem(name, f"cannot be read: {reason}", text=f"cannot read {name}: {reason}")


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """The whole content of a regular file of at most `limit` bytes."""
    name = f"{what} {str(path)!r}"
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise FileProblem(name, "is a directory, not a regular file") from None
        raise _unreadable(name, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileProblem(name, f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileProblem(name, f"is larger than {_size(limit)}")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read
                raise FileProblem(name, f"is larger than {_size(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    finally:
        os.close(fd)


def decode_text(data: bytes, name: str, bom: bool = False) -> str:
    """UTF-8 text without NUL bytes; the error gives the line, never the bytes."""
    try:
        text = data.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise FileProblem(name, "is not UTF-8 text", line) from None
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise FileProblem(name, "contains a NUL byte", line)
    return text


def read_text(path: Path, limit: int, what: str = "file", bom: bool = False) -> str:
    """read_bytes() then decode_text(): a bounded regular file of UTF-8 text."""
    return decode_text(read_bytes(path, limit, what), f"{what} {str(path)!r}", bom)


__all__ = ["CONFIG_LIMIT", "SECRET_LIMIT", "FileProblem", "decode_text", "read_bytes",
           "read_text"]
