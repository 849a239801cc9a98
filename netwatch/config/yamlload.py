"""YAML loading that remembers where every value came from.

`yaml.safe_load` loses line numbers and speaks YAML 1.1 (`no` -> False, `0161` -> 113,
`1:20` -> 80). Operators type kelurahan codes, community strings and times into these files,
so we resolve scalars the YAML 1.2 way (only true/false are booleans, no octal or base-60
numbers) and keep a map from each value's path to its (file, line) for error messages.
Duplicate keys are an error instead of a silent overwrite.

Bounded, because a few hundred bytes of YAML can ask for anything: nesting deeper than
MAX_DEPTH (PyYAML composes recursively: 15,000 levels overflowed the stack), aliases that
expand to more values than the text could hold (an "alias bomb" of nested `[*a, *a, ...]`
cost 18-75 s and gigabytes before), an alias inside its own anchor (a cycle), integers of
thousands of digits. Each is a `FILE:LINE` error; so are NUL bytes and non-UTF-8 text.
Files are read through netwatch.config.files (regular files only, size-capped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netwatch.base.errors import ConfigError, ConfigIssue
from netwatch.config.files import CONFIG_LIMIT, FileProblem, decode_text, read_bytes

PathKey = tuple[str | int, ...]
MAX_DEPTH = 64  # mappings and lists inside each other; the config's own shape needs 8
MAX_DIGITS = 40  # an integer longer than this is no count, port or size
# values an alias may expand to, beyond the text's own: legitimate anchors (a device
# template used by every site) stay far below; a bomb grows exponentially past it
EXPANSION_BASE = 200_000


@dataclass(frozen=True, slots=True)
class Mark:
    file: str
    line: int  # 1-based


@dataclass
class LoadedYaml:
    """Plain Python data plus the source mark of every mapping key and list item."""

    data: Any
    marks: dict[PathKey, Mark] = field(default_factory=dict)

    def mark_for(self, path: PathKey) -> Mark | None:
        """The mark of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.marks.get(path[:end])
            if found is not None:
                return found
        return None


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and a bound on nesting."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # PyYAML composes recursively: bound the depth before Python's stack runs out
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(mark.line + 1 if mark else 0)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _nested_too_deep() -> str:
    return f"nested more than {MAX_DEPTH} levels deep"


_YAML11_ONLY_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _scalar(loader: _Yaml12Loader, node: yaml.ScalarNode, file: str, path: PathKey) -> Any:
    if node.tag == "tag:yaml.org,2002:int":
        text = node.value.replace("_", "")
        if len(text) > MAX_DIGITS:
            raise ConfigError([ConfigIssue(file, node.start_mark.line + 1, path,
                                           f"number longer than {MAX_DIGITS} digits")])
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)
    return loader.construct_object(node, deep=True)


class _Converter:
    """Nodes to plain data with marks; counts every value made (aliases expand) and keeps the
    chain of collections being built (an alias back into it is a cycle)."""

    def __init__(self, loader: _Yaml12Loader, file: str, out: LoadedYaml, budget: int) -> None:
        self.loader = loader
        self.file = file
        self.out = out
        self.budget = budget
        self.open: set[int] = set()  # ids of the collection nodes on the current path

    def _fail(self, node: yaml.Node, path: PathKey, message: str) -> ConfigError:
        return ConfigError([ConfigIssue(self.file, node.start_mark.line + 1, path, message)])

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise self._fail(node, path, "aliases expand to too many values (an alias bomb?)")
        self.out.marks[path] = Mark(self.file, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(self.loader, node, self.file, path)
        if id(node) in self.open:
            raise self._fail(node, path, "an alias refers to a value that contains it "
                             "(a recursive alias)")
        if len(path) > MAX_DEPTH:  # aliases nest values deeper than the text does
            raise self._fail(node, path, _nested_too_deep())
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            assert isinstance(node, yaml.SequenceNode)
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        self.loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(self.loader, key_node, self.file, path) \
                if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise self._fail(key_node, path, "keys must be plain text")
            key = str(key)
            if key in result:
                raise self._fail(key_node, (*path, key), "duplicate key")
            result[key] = self.convert(value_node, (*path, key))
            self.out.marks[(*path, key)] = Mark(self.file, key_node.start_mark.line + 1)
        return result


def load_yaml_text(text: str, file: str) -> LoadedYaml:
    """Parse one YAML document; syntax errors become a ConfigError with the file and line."""
    loader: _Yaml12Loader | None = None
    try:
        loader = _Yaml12Loader(text)  # checks the characters first (ReaderError)
        node = loader.get_single_node()
        out = LoadedYaml(data=None)
        budget = EXPANSION_BASE + len(text)  # never fewer than the text's own values
        out.data = {} if node is None else _Converter(loader, file, out, budget).convert(node, ())
        return out
    except _TooDeep as exc:
        raise ConfigError([ConfigIssue(file, exc.line, (), _nested_too_deep())]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or "invalid YAML"
        raise ConfigError([ConfigIssue(file, line, (), f"YAML syntax error: {problem}")]) from None
    except yaml.reader.ReaderError as exc:  # a control character (NUL, ...) in the text
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character #x{exc.character:04x} is not allowed in YAML" \
            if isinstance(exc.character, int) else "unreadable text"
        raise ConfigError([ConfigIssue(file, line, (), problem)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, 0, (), f"YAML error: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path: Path) -> LoadedYaml:
    """A YAML file read through netwatch.config.files (regular, at most CONFIG_LIMIT, UTF-8
    with or without BOM, no NUL bytes)."""
    try:
        text = decode_text(read_bytes(path, CONFIG_LIMIT), str(path), bom=True)
    except FileProblem as exc:
        raise ConfigError([ConfigIssue(str(path), exc.line, (), exc.reason)]) from None
    return load_yaml_text(text, str(path))
