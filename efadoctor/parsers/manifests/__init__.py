"""Read Kubernetes and Karpenter manifests for `efadoctor lint`, remembering where every key was written.

A lint finding is only useful if it points at a line: "vpc.amazonaws.com: 1 at pods.yaml:14 is not a
resource name". So the reader keeps every key's line, reports duplicate keys, and turns every kind of
bad input into a `YamlProblem` instead of an exception. It is pure apart from reading the named files,
and its work is bounded. The parts, each in its own module:

- values: the line-keeping `LineDict`/`LineList` and the `Document`, `PodSpecRef`, `YamlProblem`,
  `LoadResult` records;
- positions: `line_of`, `path_line`, `plain`;
- line_loader: the PyYAML loader that keeps lines, and `load_text` for one YAML stream;
- inputs: `load_paths`, for files, directories and stdin;
- pod_specs: `find_pod_specs`;
- kinds: `is_nodepool`, `is_ec2nodeclass`, `is_efa_device_plugin_daemonset`, ...

This package re-exports their public names, so callers import from `efadoctor.parsers.manifests`.
"""

from .inputs import DEFAULT_MAX_BYTES, STDIN_PATH, STDIN_SOURCE, YAML_SUFFIXES, load_paths
from .kinds import (
    api_group,
    is_ec2nodeclass,
    is_efa_device_plugin_daemonset,
    is_nodepool,
    looks_like_device_plugin_values,
)
from .line_loader import DEFAULT_MAX_ALIAS_NODES, load_text
from .pod_specs import find_pod_specs
from .positions import line_of, path_line, plain
from .values import Document, LineDict, LineList, LoadResult, PodSpecRef, YamlProblem

__all__ = [
    "DEFAULT_MAX_ALIAS_NODES",
    "DEFAULT_MAX_BYTES",
    "STDIN_PATH",
    "STDIN_SOURCE",
    "YAML_SUFFIXES",
    "Document",
    "LineDict",
    "LineList",
    "LoadResult",
    "PodSpecRef",
    "YamlProblem",
    "api_group",
    "find_pod_specs",
    "is_ec2nodeclass",
    "is_efa_device_plugin_daemonset",
    "is_nodepool",
    "line_of",
    "load_paths",
    "load_text",
    "looks_like_device_plugin_values",
    "path_line",
    "plain",
]
