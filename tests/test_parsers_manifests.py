"""The manifest reader behind `efadoctor lint`: lines, duplicate keys, pod specs, and bad input as problems.

Fixtures in tests/data/manifests/ are the seed runbook's own manifests and public AWS samples (see the
README there); everything hostile (bombs, binaries, 50 MB files, link loops) is generated in a temp dir.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efadoctor.parsers.manifests import (
    Document,
    LineDict,
    LineList,
    find_pod_specs,
    is_ec2nodeclass,
    is_efa_device_plugin_daemonset,
    is_nodepool,
    line_of,
    load_paths,
    load_text,
    looks_like_device_plugin_values,
    path_line,
    plain,
)
from efadoctor.parsers.manifests import line_loader as manifests

DATA = Path(__file__).parent / "data" / "manifests"
PROJECT = Path(__file__).resolve().parent.parent

LOADERS = [manifests._PyLineLoader] + ([manifests._CLineLoader] if manifests._CParser is not None else [])


@pytest.fixture(autouse=True, params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> type:
    """Run every test with libyaml and with pure-Python PyYAML: either may be what is installed."""
    monkeypatch.setattr(manifests, "_LOADER", request.param)
    return request.param


def load(name: str) -> manifests.LoadResult:
    return load_paths([str(DATA / name)])


def codes(result: manifests.LoadResult) -> list[str]:
    return [problem.code for problem in result.problems]


def fixture_line(name: str, number: int) -> str:
    return (DATA / name).read_text(encoding="utf-8").splitlines()[number - 1]


# --- the seed runbook's Karpenter manifests -------------------------------------------------------


def test_seed_nodepool_file_loads_both_documents_with_kinds() -> None:
    result = load("seed_efa_nodepool.yaml")
    assert result.problems == ()
    nodeclass, nodepool = result.documents
    assert (nodeclass.kind, nodeclass.api_version, nodeclass.name, nodeclass.line) == (
        "EC2NodeClass",
        "karpenter.k8s.aws/v1",
        "gpu-efa",
        2,
    )
    assert (nodepool.kind, nodepool.index, nodepool.line) == ("NodePool", 1, 24)
    assert is_ec2nodeclass(nodeclass) and not is_nodepool(nodeclass)
    assert is_nodepool(nodepool) and not is_ec2nodeclass(nodepool)


def test_seed_nodeclass_key_lines_point_at_the_folklore() -> None:
    nodeclass = load("seed_efa_nodepool.yaml").documents[0]
    spec = nodeclass.body["spec"]
    assert line_of(spec, "amiFamily") == 7 and spec["amiFamily"] == "AL2"
    assert line_of(spec, "placementGroupName") == 16
    assert fixture_line("seed_efa_nodepool.yaml", 16).strip() == 'placementGroupName: "training-on-eks"'
    assert path_line(nodeclass, ("spec", "userData")) == 18
    assert line_of(spec, "noSuchKey") is None and line_of({"plain": 1}, "plain") is None


def test_seed_second_spec_is_a_nested_empty_key_not_a_yaml_duplicate() -> None:
    """The seed's second `spec:` is indented under the first: YAML reads it as spec.spec = null.

    So it is not a duplicate key (no data is lost) and must not be reported as one; the reader
    gives both lines so that a lint check can name `spec.spec` as an unknown field.
    """
    result = load("seed_efa_nodepool.yaml")
    nodeclass = result.documents[0]
    assert "duplicate-key" not in codes(result)
    assert path_line(nodeclass, ("spec",)) == 6
    assert path_line(nodeclass, ("spec", "spec")) == 17
    assert nodeclass.body["spec"]["spec"] is None
    assert nodeclass.body["spec"]["amiFamily"] == "AL2"  # nothing was swallowed


def test_seed_spec_pasted_one_level_out_is_a_duplicate_key_with_both_lines() -> None:
    """The same runbook text with the second `spec:` at column 0: now it is a real duplicate,
    and the loader's last-wins rule silently throws away amiFamily, role and the selectors."""
    text = (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8").replace("\n  spec:\n", "\nspec:\n", 1)
    result = load_text(text, "pasted.yaml")
    [problem] = result.problems
    assert (problem.code, problem.line, problem.column) == ("duplicate-key", 17, 1)
    assert "'spec'" in problem.message and "line 6" in problem.message and "line 17" in problem.message
    nodeclass = result.documents[0]
    assert "amiFamily" not in nodeclass.body["spec"]  # what the duplicate cost
    assert line_of(nodeclass.body, "spec") == 17


def test_seed_heredoc_copied_without_the_shell_fails_only_its_own_document() -> None:
    """`values: [${VPC_AZ}]` is only YAML after the shell expands it; the EC2NodeClass still loads."""
    text = (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8").replace("[us-west-2a]", "[${VPC_AZ}]")
    result = load_text(text, "heredoc.yaml")
    assert [d.kind for d in result.documents] == ["EC2NodeClass"]
    [problem] = result.problems
    assert problem.code == "syntax" and problem.line == 51
    assert "${VPC_AZ}" in text.splitlines()[problem.line - 1]


def test_seed_pod_resources_keep_the_line_of_the_invalid_resource_names() -> None:
    result = load("seed_pod_resources.yaml")
    assert result.problems == ()
    setup, enodata = result.documents
    [ref] = find_pod_specs(enodata)
    limits = ref.containers[0]["resources"]["limits"]
    assert limits == {"vpc.amazonaws.com": 1, "nvidia.com": 8}
    assert line_of(limits, "vpc.amazonaws.com") == 27
    assert line_of(limits, "nvidia.com") == 28
    assert fixture_line("seed_pod_resources.yaml", 27).strip().startswith("vpc.amazonaws.com: 1")
    assert path_line(setup, ("spec", "containers", 0, "resources", "limits", "vpc.amazonaws.com/efa")) == 13


# --- pod specs, found by shape --------------------------------------------------------------------


def test_pod_specs_are_found_in_every_workload_api() -> None:
    result = load("workloads.yaml")
    assert result.problems == ()
    found = {(d.kind, d.name): [(r.owner_kind, r.path, r.line) for r in find_pod_specs(d)] for d in result.documents[:-1]}
    assert found[("Pod", "efa-probe")] == [("Pod", ("spec",), 10)]
    assert found[("Deployment", "inference")] == [("Deployment", ("spec", "template", "spec"), 32)]
    assert found[("Job", "nccl-allreduce")] == [("Job", ("spec", "template", "spec"), 45)]
    assert found[("CronJob", "nightly-nccl")] == [("CronJob", ("spec", "jobTemplate", "spec", "template", "spec"), 65)]
    assert found[("PyTorchJob", "llm-pretrain")] == [
        ("PyTorchJob", ("spec", "pytorchReplicaSpecs", "Master", "template", "spec"), 80),
        ("PyTorchJob", ("spec", "pytorchReplicaSpecs", "Worker", "template", "spec"), 89),
    ]
    assert found[("JobSet", "trainer")] == [
        ("JobSet", ("spec", "replicatedJobs", 0, "template", "spec", "template", "spec"), 106)
    ]
    assert found[("RayCluster", "ray")] == [
        ("RayCluster", ("spec", "headGroupSpec", "template", "spec"), 119),
        ("RayCluster", ("spec", "workerGroupSpecs", 0, "template", "spec"), 128),
    ]
    assert found[("Workflow", None)] == [("Workflow", ("spec", "templates", 0), 140)]
    assert found[("List", None)] == [("Pod", ("items", 0, "spec"), 152)]
    for refs in found.values():
        for _, path, line in refs:
            assert fixture_line("workloads.yaml", line).strip() == ("spec:" if path[-1] == "spec" else "- name: allreduce")


def test_pod_spec_ref_carries_containers_and_init_containers() -> None:
    job = next(d for d in load("workloads.yaml").documents if d.kind == "Job")
    [ref] = find_pod_specs(job)
    assert [c["name"] for c in ref.containers] == ["allreduce"]
    assert [c["name"] for c in ref.init_containers] == ["wait"]
    assert ref.spec["restartPolicy"] == "Never" and ref.doc is job


def test_init_containers_alone_are_not_a_pod_spec() -> None:
    patch = load("workloads.yaml").documents[-1]
    assert patch.kind == "Deployment" and "initContainers" in patch.body["spec"]["template"]["spec"]
    assert find_pod_specs(patch) == []


def test_eks_user_guide_worker_in_an_mpijob_is_found() -> None:
    [mpijob] = load("mpijob_nccl_tests_worker.yaml").documents
    [ref] = find_pod_specs(mpijob)
    assert (ref.owner_kind, ref.path, ref.line) == ("MPIJob", ("spec", "mpiReplicaSpecs", "Worker", "template", "spec"), 12)
    limits = ref.containers[0]["resources"]["limits"]
    assert limits["vpc.amazonaws.com/efa"] == 32 and limits["hugepages-2Mi"] == "5120Mi"
    assert line_of(limits, "vpc.amazonaws.com/efa") == 26


def test_lists_that_are_not_containers_are_ignored() -> None:
    doc = load_text("kind: Thing\napiVersion: x/v1\nspec:\n  containers: [a, b]\n  other:\n    containers: []\n", "t")
    assert find_pod_specs(doc.documents[0]) == []


# --- the device plugin ------------------------------------------------------------------------------


def test_aws_samples_device_plugin_daemonset_is_recognised() -> None:
    [daemonset] = load("device_plugin_daemonset_v0.5.0.yaml").documents
    assert (daemonset.name, daemonset.namespace) == ("aws-efa-k8s-device-plugin-daemonset", "kube-system")
    assert is_efa_device_plugin_daemonset(daemonset)
    [ref] = find_pod_specs(daemonset)
    assert ref.path == ("spec", "template", "spec") and ref.line == 17
    tolerations = ref.spec["tolerations"]
    assert isinstance(tolerations, LineList) and tolerations.item_lines == [20, 22]


def test_helm_rendered_output_with_empty_documents() -> None:
    result = load("helm_rendered_device_plugin.yaml")
    assert result.problems == ()
    [daemonset] = result.documents
    assert daemonset.index == 1 and daemonset.line == 8 and daemonset.namespace is None
    assert is_efa_device_plugin_daemonset(daemonset)


def test_device_plugin_is_found_by_image_name_in_a_mirror() -> None:
    text = """apiVersion: apps/v1
kind: DaemonSet
metadata: {name: efa}
spec:
  template:
    spec:
      containers:
      - name: plugin
        image: registry.example.com/mirror/aws-efa-k8s-device-plugin:v0.5.6
"""
    [doc] = load_text(text, "t").documents
    assert is_efa_device_plugin_daemonset(doc)
    other = load_text(text.replace("aws-efa-k8s-device-plugin", "nvidia-device-plugin"), "t").documents[0]
    assert not is_efa_device_plugin_daemonset(other)


def test_device_plugin_values_files() -> None:
    [values] = load("efa-device-plugin-values.yaml").documents
    assert looks_like_device_plugin_values(values)
    [renamed] = load_text((DATA / "efa-device-plugin-values.yaml").read_text(), "values.yaml").documents
    assert not looks_like_device_plugin_values(renamed)  # tolerations alone say nothing about the chart
    [own_key] = load_text("supportedInstanceLabels:\n  keys: [node.kubernetes.io/instance-type]\n", "v.yaml").documents
    assert looks_like_device_plugin_values(own_key)
    image = "image:\n  repository: 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin\n"
    assert looks_like_device_plugin_values(load_text(image, "v.yaml").documents[0])
    [daemonset] = load("device_plugin_daemonset_v0.5.0.yaml").documents
    assert not looks_like_device_plugin_values(daemonset)


# --- positions ------------------------------------------------------------------------------------


def test_path_line_walks_lists_and_stops_outside_the_data() -> None:
    [doc] = load("device_plugin_daemonset_v0.5.0.yaml").documents
    assert path_line(doc, ()) == 2
    assert path_line(doc, ("spec", "template", "spec", "containers", 0, "image")) == 148
    assert path_line(doc, ("spec", "template", "spec", "containers", 0, "name")) == 149
    assert path_line(doc, ("spec", "template", "spec", "containers", -1)) == 148
    assert path_line(doc, ("spec", "template", "spec", "containers", 5)) is None
    assert path_line(doc, ("spec", "nope")) is None
    assert path_line(doc.body["spec"], ("selector",)) == 8


def test_bodies_are_plain_data() -> None:
    [doc] = load_text("a: {b: [1, {c: 2}]}\nd: 2024-02-30\n", "t").documents
    assert doc.body == {"a": {"b": [1, {"c": 2}]}, "d": "2024-02-30"}  # timestamps stay text, as in the API server
    assert isinstance(doc.body["a"], LineDict) and isinstance(doc.body["a"]["b"], LineList)
    assert doc.body["a"]["b"].item_lines == [1, 1]
    assert json.loads(json.dumps(doc.body)) == doc.body
    assert yaml.safe_load(yaml.safe_dump(plain(doc.body))) == doc.body
    assert type(plain(doc.body)["a"]) is dict and type(plain(doc.body)["a"]["b"]) is list


def test_merge_keys_override_without_a_duplicate_report() -> None:
    text = """base: &base {image: a, name: x}
deep:
  inner: &derived
    <<: *base
    image: b
later:
  <<: *derived
  name: y
"""
    result = load_text(text, "t")
    assert result.problems == ()
    body = result.documents[0].body
    assert body["deep"]["inner"] == {"image": "b", "name": "x"}
    assert body["later"] == {"image": "b", "name": "y"}
    assert line_of(body["later"], "name") == 8


def test_problems_are_collected_per_document_and_the_rest_still_loads() -> None:
    text = "---\nkind: A\napiVersion: v1\nx: 1\nx: 2\n---\n- 1\n---\nb: [\n---\nkind: B\napiVersion: v1\n"
    result = load_text(text, "t")
    assert [d.kind for d in result.documents] == ["A", "B"]
    assert [(p.code, p.line) for p in result.problems] == [("duplicate-key", 5), ("not-a-mapping", 7), ("syntax", 9)]
    assert result.documents[1].index == 3


def test_tab_indentation_is_its_own_problem_with_line_and_column() -> None:
    text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n\t- name: a\n"
    [problem] = load_text(text, "t").problems
    assert (problem.code, problem.line, problem.column) == ("tab", 5, 1)
    [problem] = load_text("a:\n  b: 1\n  \tc: 2\n", "t").problems
    assert (problem.code, problem.line, problem.column) == ("tab", 3, 3)


def test_tabs_inside_a_block_scalar_are_content() -> None:
    [doc] = load_text("userData: |\n  #!/bin/bash\n  if true; then\n  \techo hi\n  fi\n", "t").documents
    assert "\techo hi" in doc.body["userData"]


def test_syntax_error_gives_the_yaml_problem_line() -> None:
    [problem] = load_text("a: 1\nb: [1, 2\nc: 3\n", "t").problems
    assert problem.code == "syntax" and problem.line in (2, 3)  # libyaml and PyYAML mark 2 and 3
    [problem] = load_text("a: 1\n  b: 2\n", "t").problems
    assert (problem.code, problem.line) == ("syntax", 2)


# --- inputs -----------------------------------------------------------------------------------------


def test_empty_and_comment_only_files_hold_no_documents_and_no_problems(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "comments.yaml").write_text("# nothing\n---\n# here\n")
    result = load_paths([str(tmp_path / "empty.yaml"), str(tmp_path / "comments.yaml")])
    assert result.documents == () and result.problems == ()
    assert result.sources == (str(tmp_path / "empty.yaml"), str(tmp_path / "comments.yaml"))


def test_missing_path_is_an_io_problem_naming_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    [problem] = load_paths([missing]).problems
    assert problem.code == "io" and missing in problem.message and problem.source == missing


def test_permission_denied_is_an_io_problem(tmp_path: Path) -> None:
    """Root reads any file, so as root the read runs with CAP_DAC_OVERRIDE/READ_SEARCH dropped."""
    secret = tmp_path / "secret.yaml"
    secret.write_text("a: 1\n")
    secret.chmod(0)
    if os.geteuid() != 0:
        [problem] = load_paths([str(secret)]).problems
        assert problem.code == "io" and str(secret) in problem.message and "Permission denied" in problem.message
        return
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    code = (
        "import sys; from efadoctor.parsers.manifests import load_paths; "
        "p = load_paths([sys.argv[1]]).problems[0]; print(p.code, '|', p.message)"
    )
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]
    done = subprocess.run(
        [*drop, sys.executable, "-c", code, str(secret)], cwd=PROJECT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("io |") and str(secret) in done.stdout and "Permission denied" in done.stdout


def test_a_path_through_a_file_is_an_io_problem(tmp_path: Path) -> None:
    (tmp_path / "file.yaml").write_text("a: 1\n")
    [problem] = load_paths([str(tmp_path / "file.yaml" / "child.yaml")]).problems
    assert problem.code == "io" and "Not a directory" in problem.message


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"apiVersion: v1\nkind: \xff\xfe\xfd\n", b"a: 1\nb: \x07\n"],
    ids=["nul", "not-utf8", "control-char"],
)
def test_binary_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "blob.yaml"
    path.write_bytes(content)
    result = load_paths([str(path)])
    assert codes(result) == ["binary"] and result.documents == ()


def test_utf16_with_bom_is_text(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_bytes("apiVersion: v1\nkind: Pod\n".encode("utf-16"))
    [doc] = load_paths([str(path)]).documents
    assert doc.kind == "Pod"


def test_directory_is_walked_recursively_sorted_and_link_loops_are_safe(tmp_path: Path) -> None:
    root = tmp_path / "manifests"
    (root / "b" / "deeper").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "z.yaml").write_text("kind: Z\napiVersion: v1\n")
    (root / "a" / "one.yml").write_text("kind: One\napiVersion: v1\n")
    (root / "b" / "deeper" / "two.YAML").write_text("kind: Two\napiVersion: v1\n")
    (root / "b" / "notes.txt").write_text("kind: NotYaml\n")
    (root / "b" / "chart.tgz").write_bytes(b"\x1f\x8b\x00\x00")
    (root / "b" / "loop").symlink_to(root, target_is_directory=True)
    (root / "b" / "dangling.yaml").symlink_to(root / "gone.yaml")
    result = load_paths([str(root)])
    assert [d.kind for d in result.documents] == ["One", "Two", "Z"]
    assert result.sources == tuple(str(root / p) for p in ("a/one.yml", "b/deeper/two.YAML", "z.yaml"))
    assert [(p.code, p.source) for p in result.problems] == [("io", str(root / "b" / "dangling.yaml"))]


def test_directory_without_yaml_says_so(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# hi\n")
    [problem] = load_paths([str(tmp_path)]).problems
    assert problem.code == "no-yaml" and str(tmp_path) in problem.message


def test_explicit_file_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "pod.txt"
    path.write_text("apiVersion: v1\nkind: Pod\n")
    assert [d.kind for d in load_paths([str(path)]).documents] == ["Pod"]


def test_stdin_text_and_bytes() -> None:
    text = (DATA / "seed_pod_resources.yaml").read_text(encoding="utf-8")
    result = load_paths(["-"], stdin=io.StringIO(text))
    assert [d.source for d in result.documents] == ["<stdin>", "<stdin>"] and result.sources == ("<stdin>",)
    wrapped = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    assert [d.name for d in load_paths(["-"], stdin=wrapped).documents] == ["seed-efa-setup", "seed-enodata-fix"]
    binary = io.TextIOWrapper(io.BytesIO(b"\x00\x01\x02"), encoding="utf-8")
    assert codes(load_paths(["-"], stdin=binary)) == ["binary"]
    assert codes(load_paths(["-"], stdin=io.StringIO("a: 1\n" * 100), max_bytes=64)) == ["too-large"]


def test_mixed_inputs_keep_the_order_given(tmp_path: Path) -> None:
    result = load_paths(
        [str(DATA / "device_plugin_daemonset_v0.5.0.yaml"), "-", str(tmp_path / "missing.yaml")],
        stdin=io.StringIO("apiVersion: v1\nkind: Pod\n"),
    )
    assert [d.kind for d in result.documents] == ["DaemonSet", "Pod"] and codes(result) == ["io"]


# --- bounded work -----------------------------------------------------------------------------------


def test_a_50_mb_file_is_refused_unread_and_fast(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    line = b"- vpc.amazonaws.com/efa: 32\n"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(line * (1024 * 1024 // len(line) + 1))
    assert path.stat().st_size > 50 * 1024 * 1024
    started = time.perf_counter()
    result = load_paths([str(path)])
    elapsed = time.perf_counter() - started
    [problem] = result.problems
    assert problem.code == "too-large" and str(path) in problem.message
    assert f"{path.stat().st_size:,} bytes" in problem.message  # judged by its size, before reading
    assert result.sources == () and elapsed < 0.5


BILLION_LAUGHS = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_billion_laughs_is_too_complex_in_bounded_time() -> None:
    started = time.perf_counter()
    result = load_text("apiVersion: v1\nkind: Pod\n---\n" + BILLION_LAUGHS, "bomb.yaml")
    elapsed = time.perf_counter() - started
    assert [d.kind for d in result.documents] == ["Pod"]
    [problem] = result.problems
    assert (problem.code, problem.line) == ("too-complex", 4) and "alias" in problem.message
    assert elapsed < 0.5


def test_modest_aliases_load_and_the_limit_is_a_parameter() -> None:
    small = "\n".join(BILLION_LAUGHS.splitlines()[:3]) + "\n"  # 9 + 81 + 729 leaves: fine
    assert load_text(small, "t").problems == ()
    assert codes(load_text(small, "t", max_alias_nodes=100)) == ["too-complex"]


def test_recursive_alias_and_deep_nesting_are_too_complex() -> None:
    assert codes(load_text("a: &a [*a]\n", "t")) == ["too-complex"]
    assert codes(load_text("[" * 5000 + "]" * 5000 + "\n", "t")) == ["too-complex"]


# --- property: any pod-spec-shaped object round-trips and is found --------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,19}", fullmatch=True)
anything = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
resource_names = st.sampled_from(["vpc.amazonaws.com/efa", "nvidia.com/gpu", "hugepages-2Mi", "memory", "cpu"])
quantities = st.one_of(st.integers(min_value=0, max_value=64), st.sampled_from(["5120Mi", "32000Mi", "500m"]))
containers = st.fixed_dictionaries(
    {"name": names, "image": anything},
    optional={
        "resources": st.fixed_dictionaries(
            {}, optional={"limits": st.dictionaries(resource_names, quantities), "requests": st.dictionaries(resource_names, quantities)}
        ),
        "env": st.lists(st.fixed_dictionaries({"name": names, "value": anything}), max_size=3),
        "command": st.lists(anything, max_size=3),
    },
)
pod_specs = st.fixed_dictionaries(
    {"containers": st.lists(containers, min_size=1, max_size=3)},
    optional={
        "initContainers": st.lists(containers, max_size=2),
        "nodeSelector": st.dictionaries(names, anything, max_size=3),
        "hostNetwork": st.booleans(),
    },
)
WRAPPERS = {
    ("spec",): lambda spec: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec},
    ("spec", "template", "spec"): lambda spec: {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": {"spec": spec}}},
    ("spec", "pytorchReplicaSpecs", "Worker", "template", "spec"): lambda spec: {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "spec": {"pytorchReplicaSpecs": {"Worker": {"replicas": 2, "template": {"spec": spec}}}},
    },
}


def _key_lines_match_text(node: object, lines: list[str]) -> None:
    """Every recorded key line holds that key (plain, or quoted where YAML needs it)."""
    if isinstance(node, LineDict):
        for key, value in node.items():
            text = lines[node.key_lines[key] - 1].lstrip(" -")
            assert text.startswith((f"{key}:", f"'{key}':", f'"{key}":')), (key, text)
            _key_lines_match_text(value, lines)
    elif isinstance(node, LineList):
        for item in node:
            _key_lines_match_text(item, lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=st.lists(st.tuples(pod_specs, st.sampled_from(sorted(WRAPPERS))), min_size=1, max_size=3))
def test_generated_pod_specs_round_trip_and_are_found(specs: list[tuple[dict, tuple[str, ...]]]) -> None:
    objects = [WRAPPERS[path](spec) for spec, path in specs]
    text = yaml.safe_dump_all(objects, sort_keys=False)
    result = load_text(text, "generated.yaml")
    assert result.problems == ()
    assert [d.body for d in result.documents] == objects
    lines = text.splitlines()
    for document, (spec, path) in zip(result.documents, specs):
        assert isinstance(document, Document)
        [ref] = find_pod_specs(document)
        assert ref.path == path and ref.spec == spec and list(ref.containers) == spec["containers"]
        assert lines[ref.line - 1].strip() == "spec:"
        _key_lines_match_text(document.body, lines)
