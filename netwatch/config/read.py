"""Read a config file (and its `sites_files`), validate it, and report every problem by line.

    read_config(path) -> (Config, SourceMap)     raises ConfigError
    read_config(path, warnings=[]) -> ...        the same for `check-config`: what only the
                                                 running service can settle is a warning

Pydantic's error locations are mapped back to the YAML marks, so each problem reads
`FILE:LINE: sites[3].devices[0].address: not an IP address or host name`. What is valid but
probably a mistake (a `sites_files` glob that matches nothing) is a warning in
`SourceMap.warnings`: check-config prints them, the daemon logs them.
"""

from __future__ import annotations

import difflib
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from netwatch.base.errors import ConfigError, ConfigIssue
from netwatch.config.model import Config, SitesFile
from netwatch.config.types import DEFER_CREDENTIALS, DeferredCredential
from netwatch.config.yamlload import LoadedYaml, PathKey, load_yaml_file

MAX_SITES_FILES = 10_000  # files one sites_files glob may match


@dataclass(frozen=True, slots=True)
class _Origin:
    loaded: LoadedYaml
    prefix: PathKey  # path of the site inside its own file


class SourceMap:
    """Maps a path in the merged config back to the file, line and path the operator wrote."""

    def __init__(self, main: LoadedYaml, main_file: str) -> None:
        self._main = main
        self._main_file = main_file
        self._sites: list[_Origin] = []
        self.warnings: list[ConfigIssue] = []

    def add_site(self, loaded: LoadedYaml, prefix: PathKey) -> None:
        self._sites.append(_Origin(loaded, prefix))

    def issue(self, path: PathKey, message: str) -> ConfigIssue:
        loaded, file, real = self._main, self._main_file, path
        index = path[1] if len(path) >= 2 and path[0] == "sites" else None
        if isinstance(index, int) and index < len(self._sites):  # a site from a sites_files file
            origin = self._sites[index]
            loaded, real = origin.loaded, origin.prefix + path[2:]
        mark = loaded.mark_for(real)
        if mark is not None:
            file = mark.file
        return ConfigIssue(file, mark.line if mark else 0, real, message)


def describe_error(error: dict[str, Any], model: type[BaseModel], loc: PathKey) -> str:
    """A pydantic error as an operator-facing message (used for YAML and CSV input)."""
    kind, text = str(error["type"]), str(error["msg"])
    if kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1) if known else []
        return f"unknown field (did you mean {close[0]!r}?)" if close else "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "must be a mapping (key: value)"
    if kind == "list_type":
        return "must be a list"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "finite_number":
        return "must be a finite number (not .nan or .inf)"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be text"
    if kind == "too_short" and "list" in text.lower():
        return "must not be empty"
    bounds = {"less_than_equal": ("at most", "le"), "less_than": ("less than", "lt"),
              "greater_than_equal": ("at least", "ge"), "greater_than": ("greater than", "gt")}
    if kind in bounds:
        words, key = bounds[kind]
        limit = error.get("ctx", {}).get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {words} {limit}"
    for prefix in ("Value error, ", "Assertion failed, "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text[:1].lower() + text[1:]


def _deferred_credentials(config: Config, sources: SourceMap) -> list[ConfigIssue]:
    found = []
    for name, auth in config.auths.items():
        for field_name in ("community", "auth_password", "priv_password"):
            secret = getattr(auth, field_name)
            if isinstance(secret, DeferredCredential):
                found.append(sources.issue(
                    ("auths", name, field_name),
                    f"credential {secret.name!r} is resolved by systemd at start "
                    "($CREDENTIALS_DIRECTORY is not set here, so it is not checked; "
                    "`netwatch run` outside systemd refuses it)"))
    return found


def _fields_at(model: type[BaseModel], loc: PathKey) -> list[str]:
    """Field names of the model found at `loc` (for 'did you mean' hints)."""
    current: Any = model
    keyed = False  # the last field was a mapping: this part is one of its keys
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        keyed = getattr(field.annotation, "__origin__", None) is dict
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def clean_loc(loc: tuple[Any, ...]) -> PathKey:
    # pydantic adds pseudo-locations for validator functions; keep only real keys and indexes
    # ("[key]": an error in a mapping's key; the key itself is the place)
    return tuple(p for p in loc if isinstance(p, int)
                 or not (str(p).startswith("function-") or p == "[key]"))


def validate_document(
    model: type[BaseModel], loaded: LoadedYaml, base_dir: Path, *, defer_credentials: bool = False
) -> tuple[BaseModel | None, list[ConfigIssue]]:
    """Validate one YAML document against a model; map every error to file and line."""
    context = {"base_dir": str(base_dir), DEFER_CREDENTIALS: defer_credentials}
    try:
        return model.model_validate(loaded.data, context=context), []
    except ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            loc = clean_loc(error["loc"])
            mark = loaded.mark_for(loc)
            issues.append(
                ConfigIssue(mark.file if mark else "?", mark.line if mark else 0, loc,
                            describe_error(dict(error), model, loc))
            )
        return None, issues


def read_config(path: str | Path,
                warnings: list[ConfigIssue] | None = None) -> tuple[Config, SourceMap]:
    """Load and validate the config and every sites file; raise ConfigError with all issues.

    With a `warnings` list (check-config), a `{credential: NAME}` that only systemd can
    resolve (no $CREDENTIALS_DIRECTORY here) is a warning there instead of an error; without
    one (`run`), it is an error: no silent fallback."""
    path = Path(path)
    main = load_yaml_file(path)
    if not isinstance(main.data, dict):
        raise ConfigError([ConfigIssue(str(path), 1, (), "the config must be a mapping")])
    config, issues = validate_document(Config, main, path.parent,
                                       defer_credentials=warnings is not None)
    if config is None:
        raise ConfigError(issues)
    assert isinstance(config, Config)
    sources = SourceMap(main, str(path))
    if warnings is not None:
        warnings.extend(_deferred_credentials(config, sources))
    sites = list(config.sites)
    for index in range(len(sites)):
        sources.add_site(main, ("sites", index))
    for pattern_index, pattern in enumerate(config.sites_files):
        where = ("sites_files", pattern_index)
        matches = sorted(glob.glob(str(path.parent / pattern)))
        if not matches and not glob.has_magic(pattern):
            issues.append(sources.issue(where, f"no such file: {pattern}"))
        elif not matches:
            sources.warnings.append(sources.issue(where, f"{pattern} matches no file"))
        if len(matches) > MAX_SITES_FILES:
            issues.append(sources.issue(where, f"{pattern} matches {len(matches)} files "
                                        f"(at most {MAX_SITES_FILES})"))
            matches = []
        for match in matches:
            try:
                loaded = load_yaml_file(Path(match))
            except ConfigError as exc:
                issues.extend(exc.issues)
                continue
            if isinstance(loaded.data, list):  # a bare list of sites is accepted too
                loaded.data = {"sites": loaded.data}
                loaded.marks = {("sites", *k): v for k, v in loaded.marks.items()}
            extra, file_issues = validate_document(SitesFile, loaded, Path(match).parent)
            issues.extend(file_issues)
            if isinstance(extra, SitesFile):
                for index, site in enumerate(extra.sites):
                    sites.append(site)
                    sources.add_site(loaded, ("sites", index))
    thresholds = config.thresholds
    if thresholds is not None:  # read with the inventory; here made absolute, like sites_files
        thresholds = str(path.parent / thresholds)
        if not Path(thresholds).is_file():
            issues.append(sources.issue(("thresholds",), f"no such file: {config.thresholds}"))
    if warnings is not None:  # check-config prints them with its own
        warnings.extend(sources.warnings)
    if issues:
        raise ConfigError(issues)
    return config.model_copy(update={"sites": sites, "thresholds": thresholds}), sources
