"""--web.config.file (exporter-toolkit's format): what it accepts, the exact error for what it
does not, the bcrypt cache, and the request rules (lifecycle, cross-origin, redaction)."""

from __future__ import annotations

import ssl
from pathlib import Path

import bcrypt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler

from netwatch.base.errors import ConfigError
from netwatch.web import auth as auth_module
from netwatch.web import policy
from netwatch.web.auth import AUTHENTICATED, BasicAuth
from netwatch.web.live import LiveWeb
from netwatch.web.webconfig import read_web_config
from tests.certs import make_certs

SEEN = web.AppKey("seen", list[str])
HASH = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(4)).decode()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "web.yml"
    path.write_text(text)
    return path


def test_a_full_web_config(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    path = _write(tmp_path, f"""tls_server_config:
  cert_file: server.crt
  key_file: {certs.server_key}
  min_version: TLS13
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
http_server_config:
  http2: true
  headers: {{Strict-Transport-Security: max-age=31536000}}
basic_auth_users:
  prometheus: {HASH.replace("$2b$", "$2y$")}
""")
    settings = read_web_config(path)
    assert settings.scheme == "https" and settings.ssl_context is not None
    assert settings.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert settings.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert set(settings.users) == {"prometheus"}
    assert settings.headers == {"Strict-Transport-Security": "max-age=31536000"}
    assert read_web_config(_write(tmp_path, "")).ssl_context is None  # empty: plain HTTP


@pytest.mark.parametrize(("text", "message"), [
    ("basic_auth_users: {admin: secret}", "FILE:1: basic_auth_users.admin: not a bcrypt "
     "hash ($2y$10$... from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"),
    ("tls_server_config: {cert_file: none.crt, key_file: none.key}",
     "FILE:1: tls_server_config.cert_file: cannot read file '{dir}/none.crt': No such file or "
     "directory"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key,\n"
     "  client_auth_type: RequireAndVerifyClientCert}",
     "FILE:2: tls_server_config.client_auth_type: checking client certificates needs "
     "client_ca_file"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, "
     "client_auth_type: RequireAnyClientCert}",
     "FILE:1: tls_server_config.client_auth_type: RequireAnyClientCert is not supported "
     "(Python's ssl verifies every client certificate it asks for): use "
     "VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, cipher_suites: [x]}",
     "FILE:1: tls_server_config.cipher_suites: unknown field"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS14}",
     "FILE:1: tls_server_config.min_version: must be one of 'TLS10', 'TLS11', 'TLS12' or "
     "'TLS13'"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.crt}",
     "FILE:1: tls_server_config.cert_file: cannot use {dir}/server.crt with {dir}/server.crt"),
    ("tls_server_config: {cert_file: /dev/zero, key_file: server.key}",
     "FILE:1: tls_server_config.cert_file: file '/dev/zero' is a device, not a regular file"),
    ("basic_auth_user: {}", "FILE:1: basic_auth_user: unknown field (did you mean "
     "'basic_auth_users'?)"),
])
def test_bad_web_configs(tmp_path: Path, text: str, message: str) -> None:
    make_certs(tmp_path)
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_web_config(path)
    expected = message.replace("FILE", str(path)).replace("{dir}", str(tmp_path))
    assert str(caught.value.issues[0]).startswith(expected)


def test_what_a_reload_applies_and_what_waits_for_a_restart(tmp_path: Path) -> None:
    make_certs(tmp_path)
    tls = "tls_server_config: {cert_file: server.crt, key_file: server.key"
    first = read_web_config(_write(tmp_path, f"{tls}}}\nbasic_auth_users: {{a: '{HASH}'}}\n"))
    live = LiveWeb(first)
    users, listening = live.users, live.listening
    assert listening is first.ssl_context and users == {"a": HASH.encode()}
    renewed = read_web_config(_write(tmp_path, f"{tls}}}\n"
                                     "http_server_config: {headers: {X-A: b}}\n"))
    assert live.apply(renewed) is False  # the same policy: all of it applies
    assert live.settings.ssl_context is renewed.ssl_context and live.listening is listening
    assert live.users is users and users == {} and live.headers == {"X-A": "b"}
    for changed in (f"{tls}, min_version: TLS13}}\n", "{}\n"):  # versions; TLS off
        assert live.apply(read_web_config(_write(tmp_path, changed))) is True
        assert live.settings.ssl_context is renewed.ssl_context  # the TLS in effect stays
        assert live.settings.tls_policy == ("TLS12", "TLS13", "NoClientCert", "")


async def test_bcrypt_runs_once_per_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return bool(real(password, hashed))

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    auth = BasicAuth({"prometheus": HASH.encode()})
    try:
        assert all([await auth.verify("prometheus", "s3cret-pass") for _ in range(200)])
        assert len(calls) == 1  # the page's polling and every scrape cost no bcrypt
        assert not any([await auth.verify("prometheus", "wrong") for _ in range(50)])
        assert len(calls) == 2  # a wrong password is remembered too
        assert not await auth.verify("nobody", "s3cret-pass")  # checked against a decoy
        assert len(calls) == 3
        for i in range(auth_module.CACHE_SIZE + 10):  # bounded
            auth._cache[i.to_bytes(4, "big")] = False
            if len(auth._cache) > auth_module.CACHE_SIZE:
                auth._cache.popitem(last=False)
        assert len(auth._cache) == auth_module.CACHE_SIZE
    finally:
        auth.close()


async def _answer(request: web.Request) -> web.Response:
    request.app[SEEN].append(request.method)
    if request.path == "/-/reload":
        return web.Response(status=400, text="reload failed: /etc/netwatch/netwatch.yml:3: x\n")
    return web.Response(text="ok\n")


async def _client(lifecycle: bool, authenticated: bool) -> TestClient[web.Request,
                                                                        web.Application]:
    @web.middleware
    async def pretend(request: web.Request, handler: Handler) -> web.StreamResponse:
        if authenticated:
            request[AUTHENTICATED] = "admin"
        return await handler(request)

    app = web.Application(middlewares=[pretend, *policy.middlewares(lifecycle)])
    app[SEEN] = []
    app.router.add_post("/-/reload", _answer)
    app.router.add_post("/other", _answer)
    app.router.add_get("/metrics", _answer)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_lifecycle_needs_the_flag() -> None:
    client = await _client(lifecycle=False, authenticated=True)
    try:
        response = await client.post("/-/reload")
        assert response.status == 403 and "not enabled" in await response.text()
        assert client.app[SEEN] == []
    finally:
        await client.close()


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Content-Type": "text/plain"},
    {"Origin": "null", "Content-Type": "text/plain"},
    {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded"},
    {"Origin": "http://127.0.0.1:1", "Content-Type": "multipart/form-data; boundary=x"},
])
async def test_cross_origin_posts_change_nothing(headers: dict[str, str]) -> None:
    client = await _client(lifecycle=True, authenticated=True)
    try:
        for path in ("/-/reload", "/other"):
            response = await client.post(path, data=b"x", headers=headers)
            assert response.status == 403 and "cross-origin" in await response.text()
        assert client.app[SEEN] == []
        same = f"http://{client.host}:{client.port}"
        assert (await client.post("/other", headers={"Origin": same})).status == 200
        assert (await client.post("/other")).status == 200  # curl, Prometheus: no Origin
        assert (await client.get("/metrics", headers=headers)).status == 200  # reads are fine
    finally:
        await client.close()


@pytest.mark.parametrize("authenticated", [False, True])
async def test_failed_reload_details_only_for_the_authenticated(authenticated: bool) -> None:
    client = await _client(lifecycle=True, authenticated=authenticated)
    try:
        response = await client.post("/-/reload")
        text = await response.text()
        assert response.status == 400 and "reload failed" in text
        assert ("/etc/netwatch" in text) == authenticated
    finally:
        await client.close()
