"""YAML loading that remembers where every value came from.

`yaml.safe_load` loses line numbers and speaks YAML 1.1 (`no` -> False, `0161` -> 113,
`1:20` -> 80). Operators type kelurahan codes, community strings and times into these files,
so we resolve scalars the YAML 1.2 way (only true/false are booleans, no octal or base-60
numbers) and keep a map from each value's path to its (file, line) for error messages.
Duplicate keys are an error instead of a silent overwrite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from netwatch.base.errors import ConfigError, ConfigIssue

PathKey = tuple[str | int, ...]


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
    """SafeLoader with YAML 1.2 core-schema scalars."""


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


def _scalar(loader: _Yaml12Loader, node: yaml.ScalarNode) -> Any:
    if node.tag == "tag:yaml.org,2002:int":
        text = node.value.replace("_", "")
        if text.startswith(("0o", "0x")):
            return int(text, 0)
        return int(text, 10)
    return loader.construct_object(node, deep=True)


def _convert(
    loader: _Yaml12Loader, node: yaml.Node, path: PathKey, file: str, out: LoadedYaml
) -> Any:
    out.marks[path] = Mark(file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(loader, key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                line = key_node.start_mark.line + 1
                raise ConfigError([ConfigIssue(file, line, path, "keys must be plain text")])
            key = str(key)
            if key in result:
                raise ConfigError(
                    [ConfigIssue(file, key_node.start_mark.line + 1, (*path, key), "duplicate key")]
                )
            result[key] = _convert(loader, value_node, (*path, key), file, out)
            out.marks[(*path, key)] = Mark(file, key_node.start_mark.line + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, (*path, i), file, out) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(loader, node)


def load_yaml_text(text: str, file: str) -> LoadedYaml:
    """Parse one YAML document; syntax errors become a ConfigError with the file and line."""
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        out = LoadedYaml(data=None)
        out.data = {} if node is None else _convert(loader, node, (), file, out)
        return out
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = exc.problem or "invalid YAML"
        raise ConfigError([ConfigIssue(file, line, (), f"YAML syntax error: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, 0, (), f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def load_yaml_file(path: Path) -> LoadedYaml:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), 0, (), f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([ConfigIssue(str(path), 0, (), "not UTF-8 text")]) from None
    return load_yaml_text(text, str(path))
