"""What the fuzz tests feed and what must hold, shared by the suite's short runs
(tests/unit/test_fuzz.py, seeded, bounded) and the long ones (bench/fuzz.py, 10 minutes each).

    ber_messages          random bytes and mutations of valid v1/v2c messages
    check_ber(data)       BerError or a well-formed Message; never another exception
    config_texts          mutations of valid configs (characters, lines, hostile tokens)
    check_config(text, directory)   ConfigError with file and line, or a valid inventory
    csv_texts             mutations of a valid spreadsheet
    check_csv(text)       ImportError_ with row numbers, or sites that validate as a config

Each check returns what the input came to ("error": the code's own, well-formed error;
"valid"), for the long runs' figures; anything else fails an assertion or escapes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import strategies as st

from netwatch.base.errors import ConfigError
from netwatch.config.model import SitesFile
from netwatch.config.read import validate_document
from netwatch.config.yamlload import load_yaml_text
from netwatch.daemon.inventory_file import read_inventory
from netwatch.generators.importcsv import ImportError_, import_sites, parse_template, to_yaml
from netwatch.snmp.ber import (
    GET_BULK,
    RESPONSE,
    BerError,
    Message,
    decode_message,
    encode_request,
    looks_like_snmp,
)
from netwatch.snmp.oid import END_OF_MIB, MISSING

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "unit" / "fixtures" / "config"

# --- BER -----------------------------------------------------------------------------------

_OIDS = st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=12).map(
    lambda arcs: (1, 3, *arcs))


def _response(request_id: int, oids: list[tuple[int, ...]]) -> bytes:
    """A GETRESPONSE built by hand from a request (the request's PDU tag changed)."""
    data = bytearray(encode_request(1, b"public", GET_BULK, request_id, oids))
    data[data.index(GET_BULK, 5)] = RESPONSE  # the first PDU tag after the community
    return bytes(data)


@st.composite
def _valid_message(draw: st.DrawFn) -> bytes:
    oids = draw(st.lists(_OIDS, min_size=0, max_size=6))
    community = draw(st.binary(max_size=40))
    request_id = draw(st.integers(-(2**31), 2**31 - 1))
    if draw(st.booleans()):
        return _response(request_id, oids)
    return encode_request(draw(st.sampled_from([0, 1])), community, RESPONSE, request_id, oids,
                          draw(st.integers(0, 10)), draw(st.integers(0, 100)))


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(_valid_message()))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "length"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.sampled_from([0x00, 0x30, 0x80, 0x81, 0x84, 0x7F, 0xFF, 0x1F]))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:  # a long-form length claiming 2^31 bytes
            data[at:at + 1] = b"\x84\x80\x00\x00\x00"
    return bytes(data)


ber_messages = st.one_of(st.binary(max_size=300), _mutated(), _valid_message())


def check_ber(data: bytes) -> str:
    looks_like_snmp(data)  # never raises
    try:
        message = decode_message(data)
    except BerError:
        return "error"
    assert isinstance(message, Message)
    assert isinstance(message.community, bytes)
    for oid, value in message.varbinds:
        assert isinstance(oid, tuple) and all(isinstance(a, int) and a >= 0 for a in oid)
        assert value is MISSING or value is END_OF_MIB or isinstance(value, (int, bytes, tuple))
    return "valid"


# --- config --------------------------------------------------------------------------------

VALID_CONFIGS = [FIXTURES / "valid-full.yml", ROOT / "config" / "netwatch.example.yml"]
HOSTILE_TOKENS = [".nan", ".inf", "-.inf", "0", "-1", "1e999", "99999999999999999999h", "0ms",
                  "*a", "&a", "&a [*a]", "<<: *a", "[", "]", "{", "}", "'", '"', "- ", ": ",
                  "\0", "\t", "!!binary AAAA", "!!python/object:os.system", "~", "null",
                  "true", "no", "0x1f", "1:20", "---", "...", "%YAML 1.1", "? ", "|", ">",
                  "\ufeff", "\u202e", "\udcff", "/dev/zero", "{file: /dev/zero}",
                  "{env: HOME}", "{credential: ../x}", "sun", "Sunny", "25:61",
                  "2026-13-45T99:99:99+07:00", "127.0.0.999", "::1", "a" * 300]


def config_source() -> list[str]:
    return [p.read_text() for p in VALID_CONFIGS]


@st.composite
def _mutated_config(draw: st.DrawFn, sources: list[str]) -> str:
    lines = draw(st.sampled_from(sources)).split("\n")
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["token", "char", "drop", "dup", "indent", "swap"]))
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        if kind == "token":
            cut = draw(st.integers(0, len(line)))
            lines[at] = line[:cut] + draw(st.sampled_from(HOSTILE_TOKENS)) + line[cut:]
        elif kind == "char" and line:
            cut = draw(st.integers(0, len(line) - 1))
            lines[at] = line[:cut] + draw(st.characters()) + line[cut + 1:]
        elif kind == "drop":
            del lines[at]
        elif kind == "dup":
            lines.insert(at, line)
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(0, 9)) + line.lstrip()
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        if not lines:
            lines = [""]
    return "\n".join(lines)


def config_texts() -> st.SearchStrategy[str]:
    return _mutated_config(config_source())


def config_directory(directory: Path) -> Path:
    """A place for the mutated configs with what the valid ones refer to: the fixtures'
    secrets and sites files, and credentials for the example config."""
    shutil.copytree(FIXTURES / "secrets", directory / "secrets", dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "sites.d", directory / "sites.d", dirs_exist_ok=True)
    credentials = directory / "credentials"
    credentials.mkdir(exist_ok=True)
    for name in ("snmp-community", "snmp-v3-auth", "snmp-v3-priv"):
        (credentials / name).write_text("fuzz-credential-1\n")
    return directory


def check_config(text: str, directory: Path) -> str:
    """ConfigError (each issue with its file) or a valid inventory; nothing else.
    `directory` is made by config_directory()."""
    path = directory / "netwatch.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    error: ConfigError | None = None
    saved = {k: os.environ.get(k) for k in ("NETWATCH_TEST_COMMUNITY", "CREDENTIALS_DIRECTORY")}
    os.environ["NETWATCH_TEST_COMMUNITY"] = "fuzz-community"
    os.environ["CREDENTIALS_DIRECTORY"] = str(directory / "credentials")
    try:
        read_inventory(path)
    except ConfigError as exc:
        error = exc
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if error is None:
        return "valid"
    assert error.issues
    assert all(issue.file and issue.line >= 0 and issue.message for issue in error.issues)
    return "error"


# --- CSV -----------------------------------------------------------------------------------

CITY_CSV = ROOT / "netwatch" / "lab" / "data" / "bandarlampung_kelurahan.csv"
CSV_TOKENS = [";", ",", '"', '""', "\n", "\r\n", "\0", "-5,38", "1e999", "nan", "inf", "-91",
              "181", "18.71.01.1003", "", " ", "\ufeff", "kode_wilayah", "device", "role",
              "router", "ap", "x" * 200, "ｋｅｄａｔｏｎ", "\u202e"]


def csv_source() -> str:
    return "\n".join(CITY_CSV.read_text(encoding="utf-8-sig").split("\n")[:12])


@st.composite
def _mutated_csv(draw: st.DrawFn, source: str) -> str:
    text = source
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(CSV_TOKENS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
    return text


def csv_texts() -> st.SearchStrategy[str]:
    return _mutated_csv(csv_source())


TEMPLATES = parse_template("rtr:router,ap1:ap")


def check_csv(text: str) -> str:
    """ImportError_ naming rows, or sites that validate as a sites file."""
    try:
        sites = import_sites(text, TEMPLATES, "10.71.{kec}.{kel}{dev}")
    except ImportError_ as exc:
        problems = exc.problems
        assert problems and all(isinstance(p, str) and p for p in problems)
        return "error"
    loaded = load_yaml_text(to_yaml({"sites": sites}), "import.yml")
    model, issues = validate_document(SitesFile, loaded, Path("."))
    assert model is not None and issues == [], issues
    return "valid"
