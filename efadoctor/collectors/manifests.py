"""Collectors for `efadoctor lint`: the manifests themselves, the offline instance-type data, and the
versions the user says the manifests are meant for.

Reading the files is this module's only I/O; every lint check is a pure function of what it returns.

What ends the run, and what is a finding:

- An input that cannot be linted at all (a missing path, an unreadable or binary file, a file over the
  size cap, an alias bomb, a directory with no YAML in it) ends the run with exit 2 and a one-line
  message naming the file, **when no input yielded a single document**: there is nothing to lint,
  and a typo in a CI path must not look like a clean result.
- When other inputs were readable, the unreadable ones do not hide what the readable ones hold:
  they are reported by LINT001 as failures naming the file (so the run still exits 1, never 0).
- YAML syntax errors, tabs and duplicate keys are findings of LINT001, with file:line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import FactUnavailable, UsageError, collector

if TYPE_CHECKING:  # the reader imports PyYAML; only `lint` needs it, so it is imported on use
    from ..instance_types import InstanceTypeInfo
    from ..parsers.manifests import LoadResult, PodSpecRef, YamlProblem

UNREADABLE = frozenset({"io", "too-large", "binary", "too-complex", "no-yaml"})
"""Reader problem codes that mean "this input could not be linted", as opposed to a mistake in the YAML."""


def problem_text(problem: YamlProblem) -> str:
    """One line that names the file (and line), whatever the reader's message already says."""
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    return problem.message if problem.source in problem.message else f"{where}: {problem.message}"


@collector
def manifests(context) -> LoadResult:
    """Every document in the files, directories and stdin (`-`) the user named, with their problems."""
    options = context.options
    if options.target != "manifests":
        raise FactUnavailable("no manifests were given (use `efadoctor lint FILE...`)", not_applicable=True)
    if not options.paths:
        raise UsageError("name at least one manifest file, directory or - for stdin")
    from ..parsers.manifests import load_paths

    loaded = load_paths(options.paths)
    unreadable = [p for p in loaded.problems if p.code in UNREADABLE]
    if unreadable and not loaded.documents:
        raise UsageError("; ".join(problem_text(p) for p in unreadable))
    return loaded


@collector
def manifest_pod_specs(manifests: LoadResult) -> tuple[PodSpecRef, ...]:
    """Every workload pod spec in the input, found by shape, in input order; gathered once for all checks.

    The EFA device plugin's own DaemonSet is not a workload: it legitimately mounts /dev/infiniband
    and requests no EFA, so it is left out (the device plugin checks read it from `manifests`).
    """
    from ..parsers.manifests import find_pod_specs, is_efa_device_plugin_daemonset

    return tuple(ref for doc in manifests.documents if not is_efa_device_plugin_daemonset(doc) for ref in find_pod_specs(doc))


@collector
def instance_type_catalog(context) -> tuple[InstanceTypeInfo, ...]:  # noqa: ARG001 - no option changes it
    """The instance types efadoctor ships facts for (every EFA-capable type, plus GPU sizes without EFA)."""
    from ..instance_types import all_types

    return all_types()


@collector
def declared_kube_version(context) -> str:
    """`--kube-version`: the Kubernetes minor the manifests will be applied to (normalised "1.33.0")."""
    if not context.options.kube_version:
        raise FactUnavailable("no --kube-version given", not_applicable=True)
    return context.options.kube_version


@collector
def declared_karpenter_version(context) -> str:
    """`--karpenter-version`: the Karpenter release the NodePools and EC2NodeClasses are written for."""
    if not context.options.karpenter_version:
        raise FactUnavailable("no --karpenter-version given", not_applicable=True)
    return context.options.karpenter_version
