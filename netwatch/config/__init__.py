"""Config: YAML with line marks, pydantic models, and the loader that joins them."""

from netwatch.config.loader import SourceMap, load_config
from netwatch.config.model import Config

__all__ = ["Config", "SourceMap", "load_config"]
