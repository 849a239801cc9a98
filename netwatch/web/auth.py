"""HTTP basic auth against bcrypt hashes, checked once and cached as exporter-toolkit does.

A bcrypt check costs ~0.1 s of CPU (cost 10, this machine): per request, the status page's
polling and every scrape would pay it. exporter-toolkit caches the outcome of each (user,
hash, password) triple and runs one bcrypt at a time; so do we. The cache key is a SHA-256
of the triple, so no password is kept in memory in the clear; outcomes are cached both ways
(a client repeating a wrong password costs one bcrypt, not one per request), at most
CACHE_SIZE of them. Unknown users are checked against a fixed hash, so the answer takes as
long as for a known user (no user enumeration by timing). bcrypt runs in a thread of its own:
the render and reload workers never wait behind a flood of bad passwords.

    auth = BasicAuth(users)              # {user: bcrypt hash}, read per request: no users,
    app.middlewares.append(auth.middleware)   # no login (a reload may add or remove them)
    request[AUTHENTICATED]               # the user name once checked (absent: anonymous)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUTHENTICATED = web.RequestKey("netwatch_user", str)  # who passed basic auth
CACHE_SIZE = 1024
# bcrypt of a password nobody has, for unknown users (exporter-toolkit uses the same idea)
_DECOY = b"$2b$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
_REALM = 'Basic realm="netwatch", charset="UTF-8"'


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 4096:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True) \
            .decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class BasicAuth:
    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._bcrypt = ThreadPoolExecutor(1, thread_name_prefix="bcrypt")
        self.checks = 0  # bcrypt runs (tests and figures)

    def close(self) -> None:
        self._bcrypt.shutdown(wait=False, cancel_futures=True)

    def _check(self, hashed: bytes, password: str) -> bool:
        self.checks += 1
        try:
            return bcrypt.checkpw(password.encode(), hashed)
        except ValueError:  # a password over bcrypt's 72 bytes, say: not a match
            return False

    async def verify(self, user: str, password: str) -> bool:
        known = self.users.get(user)
        hashed = known if known is not None else _DECOY
        key = hashlib.sha256(b"\0".join((user.encode(), hashed, password.encode()))).digest()
        outcome = self._cache.get(key)
        if outcome is None:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(self._bcrypt, self._check, hashed, password)
            outcome = outcome and known is not None
            self._cache[key] = outcome
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return outcome

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.users:
            return await handler(request)
        given = _credentials(request.headers.get("Authorization", ""))
        if given is None or not await self.verify(*given):
            return web.Response(status=401, text="Unauthorized\n",
                                headers={"WWW-Authenticate": _REALM})
        request[AUTHENTICATED] = given[0]
        return await handler(request)


__all__ = ["AUTHENTICATED", "BasicAuth"]
