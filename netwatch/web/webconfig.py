"""`--web.config.file`: TLS and basic auth in the Prometheus exporter-toolkit format.

The same file a node_exporter or blackbox_exporter takes (docs: exporter-toolkit's
web-configuration.md), so one file and one habit serve every exporter on the server:

    tls_server_config:
      cert_file: netwatch.crt            # relative paths: relative to this file
      key_file: netwatch.key
      min_version: TLS12                 # TLS10..TLS13 (default TLS12)
      max_version: TLS13
      client_auth_type: RequireAndVerifyClientCert   # optional: clients need a certificate
      client_ca_file: clients-ca.crt
    http_server_config:
      headers: {Strict-Transport-Security: max-age=31536000}
    basic_auth_users:
      prometheus: $2y$10$...             # bcrypt hash: htpasswd -nBC 10 "" | tr -d ':\n'

    settings = read_web_config(path)     # ConfigError (FILE:LINE) when wrong; else
    settings.ssl_context, settings.users, settings.headers

Read with the config's YAML loader and file reader (bounded, line marks). The TLS context is
the standard library's (ssl.SSLContext, OpenSSL); cipher suites and curves stay OpenSSL's
defaults for the chosen versions, so `cipher_suites` and `curve_preferences` (Go names) are
refused rather than silently ignored.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from netwatch.base.errors import ConfigError, ConfigIssue
from netwatch.config.files import FileProblem, read_bytes
from netwatch.config.model import Strict
from netwatch.config.read import validate_document
from netwatch.config.yamlload import load_yaml_file

TlsVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]
ClientAuth = Literal["NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                     "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"]
_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
             "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# Go's client auth types, as Python's ssl can check them: it verifies every certificate it
# asks for, so "any" (unverified) certificates are not offered
_VERIFY = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
           "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}
_BCRYPT = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
PEM_LIMIT = 1 << 20  # a certificate chain or key


def _user_name(value: str) -> str:
    if not value or ":" in value:
        raise ValueError(f"user {value!r}: a name without ':'")
    return value


def _bcrypt_hash(value: str) -> str:
    if not _BCRYPT.match(value):
        raise ValueError("not a bcrypt hash ($2y$10$... from "
                         "`htpasswd -nBC 10 \"\" | tr -d ':\\n'`)")
    return value


UserName = Annotated[str, AfterValidator(_user_name)]
BcryptHash = Annotated[str, AfterValidator(_bcrypt_hash)]


class TlsServerConfig(Strict):
    cert_file: str = Field(min_length=1)
    key_file: str = Field(min_length=1)
    client_auth_type: ClientAuth = "NoClientCert"
    client_ca_file: str | None = None
    min_version: TlsVersion = "TLS12"
    max_version: TlsVersion = "TLS13"
    prefer_server_cipher_suites: bool | None = None  # accepted: OpenSSL decides

    @field_validator("client_auth_type")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in _VERIFY:
            raise ValueError(f"{value} is not supported (Python's ssl verifies every client "
                             "certificate it asks for): use VerifyClientCertIfGiven or "
                             "RequireAndVerifyClientCert")
        return value


class HttpServerConfig(Strict):
    http2: bool | None = None  # accepted: netwatch speaks HTTP/1.1
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name) or any(c in text for c in "\r\n"):
                raise ValueError(f"header {name!r}: a plain name and a one-line value")
        return value


class WebConfigFile(Strict):
    tls_server_config: TlsServerConfig | None = None
    http_server_config: HttpServerConfig | None = None
    basic_auth_users: dict[UserName, BcryptHash] = Field(default_factory=dict)

    @field_validator("basic_auth_users", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return {} if value is None else value  # `basic_auth_users:` with no users yet


@dataclass(frozen=True)
class WebSettings:
    """What the HTTP server applies: TLS, users (bcrypt hashes), extra response headers."""

    ssl_context: ssl.SSLContext | None = None
    users: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the file, for logs and reloads
    # what a reload cannot change without a restart: (min, max version, client auth, CA file)
    tls_policy: tuple[str, ...] = ()

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"


def _pem(base: Path, name: str, file: str, line: int, key: tuple[str, ...]) -> Path:
    path = base / name
    try:
        read_bytes(path, PEM_LIMIT, "file")  # regular, bounded: ssl would read anything
    except FileProblem as exc:
        raise ConfigError([ConfigIssue(file, line, key, str(exc))]) from None
    return path


def _tls(tls: TlsServerConfig, base: Path, file: str,
         line_of: dict[tuple[str, ...], int]) -> ssl.SSLContext:
    def where(*key: str) -> tuple[str, int, tuple[str, ...]]:
        path = ("tls_server_config", *key)
        return file, line_of.get(path, line_of.get(("tls_server_config",), 0)), path

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.minimum_version = _VERSIONS[tls.min_version]
        context.maximum_version = _VERSIONS[tls.max_version]
    except (ValueError, ssl.SSLError) as exc:
        raise ConfigError([ConfigIssue(*where("min_version"), f"not possible here: {exc}")]
                          ) from None
    if _VERSIONS[tls.min_version] > _VERSIONS[tls.max_version]:
        raise ConfigError([ConfigIssue(*where("max_version"), "below min_version")])
    cert = _pem(base, tls.cert_file, *where("cert_file"))
    key = _pem(base, tls.key_file, *where("key_file"))
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError([ConfigIssue(*where("cert_file"),
                                       f"cannot use {cert} with {key}: {exc}")]) from None
    context.verify_mode = _VERIFY[tls.client_auth_type]
    if tls.client_ca_file:
        ca = _pem(base, tls.client_ca_file, *where("client_ca_file"))
        try:
            context.load_verify_locations(cafile=str(ca))
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError([ConfigIssue(*where("client_ca_file"),
                                           f"cannot use {ca}: {exc}")]) from None
    elif context.verify_mode != ssl.CERT_NONE:
        raise ConfigError([ConfigIssue(*where("client_auth_type"),
                                       "checking client certificates needs client_ca_file")])
    return context


def read_web_config(path: str | Path) -> WebSettings:
    """The web config file as settings; ConfigError with FILE:LINE problems otherwise."""
    path = Path(path)
    loaded = load_yaml_file(path)
    if loaded.data is None or loaded.data == {}:
        return WebSettings(source=str(path))
    if not isinstance(loaded.data, dict):
        raise ConfigError([ConfigIssue(str(path), 1, (), "must be a mapping (key: value)")])
    model, issues = validate_document(WebConfigFile, loaded, path.parent)
    if model is None:
        raise ConfigError(issues)
    assert isinstance(model, WebConfigFile)
    lines = {tuple(str(p) for p in key): mark.line for key, mark in loaded.marks.items()}
    context = _tls(model.tls_server_config, path.parent, str(path), lines) \
        if model.tls_server_config is not None else None
    headers = model.http_server_config.headers if model.http_server_config else {}
    users = {user: hashed.encode() for user, hashed in model.basic_auth_users.items()}
    tls = model.tls_server_config
    policy = (tls.min_version, tls.max_version, tls.client_auth_type,
              str((path.parent / tls.client_ca_file).resolve()) if tls.client_ca_file else "") \
        if tls is not None else ()
    return WebSettings(context, users, dict(headers), str(path), policy)


__all__ = ["WebConfigFile", "WebSettings", "read_web_config"]
