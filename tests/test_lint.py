"""`efadoctor lint`: the seed runbook's mistakes found at their lines, correct manifests clean, each rule on
its own, the CLI contract (formats, --fail-on, stdin, directories) and hostile input ending in exit 2.

Fixtures are in tests/data/manifests/ (each names its source); hostile inputs are generated in a temp dir.
"""

from __future__ import annotations

import gzip
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efadoctor.cli import main
from efadoctor.collectors.manifests import manifest_pod_specs
from efadoctor.collectors.manifests import manifests as manifests_collector
from efadoctor.context import Context, Options
from efadoctor.instance_types import GpuInfo, InstanceTypeInfo, all_types
from efadoctor.model import FactUnavailable, Status, UsageError, Verdict
from efadoctor.parsers.manifests import LoadResult, load_text
from efadoctor.registry import load

DATA = Path(__file__).parent / "data" / "manifests"
ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "report-schema.json").read_text())
REGISTRY = load(plugins=False)
LINT = {c.id: c for c in REGISTRY.for_target("manifests")}
CATALOG = all_types()

SEED_PODS = str(DATA / "seed_pod_resources.yaml")
SEED_POOL = str(DATA / "seed_efa_nodepool.yaml")


# --- helpers ----------------------------------------------------------------------------------------


def lint(*args: str, input: str | bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *args], input=input, catch_exceptions=False)
    return result.exit_code, result.output


def lint_json(*args: str, input: str | bytes | None = None) -> tuple[int, dict[str, Any]]:
    code, out = lint(*args, "-o", "json", input=input)
    report = json.loads(out)
    jsonschema.validate(report, SCHEMA)
    return code, report


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check_id"]: c for c in report["checks"]}


def places(entry: dict[str, Any]) -> list[str]:
    """'file.yaml:17' for each evidence item (basename, to stay independent of where tests run)."""
    found = []
    for item in entry["evidence"]:
        match = re.fullmatch(r"manifest: (.+?)(?::(\d+))?", item["source"])
        assert match, item["source"]
        found.append(f"{Path(match.group(1)).name}:{match.group(2)}")
    return found


def line(name: str, number: int) -> str:
    return (DATA / name).read_text(encoding="utf-8").splitlines()[number - 1]


def run_check(check_id: str, text: str, catalog: tuple[InstanceTypeInfo, ...] = CATALOG, **facts: Any) -> Verdict:
    """Evaluate one lint check directly on YAML text, as the engine would."""
    check = LINT[check_id]
    loaded = load_text(text, "t.yaml")
    available = {"manifests": loaded, "manifest_pod_specs": manifest_pod_specs.gather(manifests=loaded), "instance_type_catalog": catalog, **facts}
    verdict = check.evaluate(**{name: available[name] for name in check.needs if name in available})
    assert isinstance(verdict, Verdict)
    if verdict.status in (Status.FAIL, Status.WARN):
        assert verdict.fix is not None and verdict.fix.summary
        assert all(e.source.startswith("manifest: ") for e in verdict.evidence)
    return verdict


def pod(container: str, spec: str = "") -> str:
    """A Pod with one container (YAML indented for `containers:`) and extra pod spec lines."""
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n{spec}  containers:\n{container}"


EFA_CONTAINER = """  - name: train
    image: x
    resources:
      limits: {vpc.amazonaws.com/efa: 32, nvidia.com/gpu: 8, hugepages-2Mi: 5120Mi, memory: 32000Mi}
"""


def env_container(**env: str) -> str:
    items = "".join(f"    - name: {k}\n      value: \"{v}\"\n" for k, v in env.items())
    return EFA_CONTAINER + "    env:\n" + items


def moto_catalog() -> tuple[InstanceTypeInfo, ...]:
    """Every instance type in moto's DescribeInstanceTypes snapshot (the data's own source), EFA or not."""
    moto = pytest.importorskip("moto")
    raw = json.loads(gzip.decompress((Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz").read_bytes()))
    infos = []
    for name, item in raw.items():
        network = item.get("NetworkInfo", {})
        gpus = item.get("GpuInfo", {}).get("Gpus") or []
        count = sum(int(g.get("Count", 0)) for g in gpus)
        infos.append(
            InstanceTypeInfo(
                instance_type=name,
                efa_supported=bool(network.get("EfaSupported")),
                max_efa_interfaces=network.get("EfaInfo", {}).get("MaximumEfaInterfaces", 0),
                max_network_cards=network.get("MaximumNetworkCards"),
                network_performance=network.get("NetworkPerformance"),
                gpus=GpuInfo(count, None, None, None) if count else None,
                vcpus=item.get("VCpuInfo", {}).get("DefaultVCpus"),
                gdr="unknown",
                gdr_required=None,
                source="moto",
            )
        )
    return tuple(infos)


# --- the seed runbook: every mistake, at its line ----------------------------------------------------


@pytest.fixture(scope="module")
def seed_report() -> dict[str, Any]:
    code, report = lint_json(SEED_PODS, SEED_POOL)
    assert code == 1
    return report


def test_seed_invalid_resource_names_at_their_lines(seed_report):
    entry = by_id(seed_report)["LINT002"]
    assert entry["status"] == "fail"
    assert places(entry) == ["seed_pod_resources.yaml:27", "seed_pod_resources.yaml:28"]
    assert line("seed_pod_resources.yaml", 27).strip().startswith("vpc.amazonaws.com: 1")
    assert line("seed_pod_resources.yaml", 28).strip() == "nvidia.com: 8"
    assert "vpc.amazonaws.com/efa: 1" in entry["fix"]["summary"] and "nvidia.com/gpu: 8" in entry["fix"]["summary"]


def test_seed_enodata_pod_gets_no_efa_device_folded_under_the_names(seed_report):
    entry = by_id(seed_report)["LINT004"]
    assert entry["status"] == "fail" and places(entry) == ["seed_pod_resources.yaml:27"]
    root = next(c for c in seed_report["causes"] if c["check_id"] == "LINT002")
    assert "LINT004" in root["consequences"]


def test_seed_nodeclass_fields_that_do_not_exist(seed_report):
    entry = by_id(seed_report)["LINT015"]
    assert entry["status"] == "fail"
    assert places(entry) == ["seed_efa_nodepool.yaml:16", "seed_efa_nodepool.yaml:17", "seed_efa_nodepool.yaml:6"]
    assert line("seed_efa_nodepool.yaml", 16).strip().startswith("placementGroupName")
    assert line("seed_efa_nodepool.yaml", 17).strip() == "spec:"
    details = " ".join(e["detail"] for e in entry["evidence"])
    assert "spec.placementGroupName is not a Karpenter field" in details and "spec.spec is not a field" in details
    assert "required field spec.amiSelectorTerms is missing" in details
    fix = entry["fix"]["summary"]
    assert "placementGroupSelector:" in fix and "name: training-on-eks" in fix and "alias: al2023@latest" in fix
    assert (
        "aws ec2 describe-placement-groups --group-names training-on-eks "
        "--query 'PlacementGroups[].[GroupName,Strategy,State,GroupId]' --output text"
    ) in entry["fix"]["commands"]


def test_seed_amazon_linux_2(seed_report):
    entry = by_id(seed_report)["LINT016"]
    assert entry["status"] == "fail" and places(entry) == ["seed_efa_nodepool.yaml:7"]
    assert line("seed_efa_nodepool.yaml", 7).strip() == "amiFamily: AL2"
    assert "2025-11-26" in entry["evidence"][0]["detail"]


def test_seed_pods_do_not_tolerate_the_seed_nodepool_taint(seed_report):
    entry = by_id(seed_report)["LINT011"]
    assert entry["status"] == "fail"
    assert places(entry) == [
        "seed_pod_resources.yaml:7",
        "seed_efa_nodepool.yaml:53",
        "seed_pod_resources.yaml:21",
        "seed_efa_nodepool.yaml:53",
    ]
    assert line("seed_efa_nodepool.yaml", 53).strip() == '- key: "efa-workload"'
    assert '- key: efa-workload\n  operator: Equal\n  value: "true"\n  effect: NoSchedule' in entry["fix"]["summary"]


def test_seed_pods_lack_hugepages_and_shm(seed_report):
    hugepages, shm = by_id(seed_report)["LINT005"], by_id(seed_report)["LINT007"]
    assert hugepages["status"] == "warn" and places(hugepages) == ["seed_pod_resources.yaml:13", "seed_pod_resources.yaml:27"]
    assert "FI_EFA_USE_HUGE_PAGE" in hugepages["fix"]["summary"] and "hugepages-2Mi: 5120Mi" in hugepages["fix"]["summary"]
    assert shm["status"] == "warn" and places(shm) == ["seed_pod_resources.yaml:23"]  # the GPU container (nvidia.com: 8)
    assert "medium: Memory" in shm["fix"]["summary"]


def test_seed_nodepool_admits_types_without_efa(seed_report):
    """The seed's c/p/g of 8xlarge+ (generation > 3) admits c-family sizes without EFA: a warning at the requirements."""
    entry = by_id(seed_report)["LINT013"]
    assert entry["status"] == "warn"
    assert places(entry) == ["seed_efa_nodepool.yaml:35"]
    assert "c6i.8xlarge" in entry["evidence"][0]["detail"] or "c5.12xlarge" in entry["evidence"][0]["detail"]


def test_seed_single_zone_and_yaml_pass(seed_report):
    checks = by_id(seed_report)
    assert checks["LINT001"]["status"] == "pass"  # the inner `spec:` is valid YAML (spec.spec), judged by LINT015
    assert checks["LINT014"]["status"] == "pass"  # the seed does pin one zone for its placement group
    assert checks["LINT003"]["status"] == "pass"


def test_seed_nodepool_with_complete_instance_data_lists_types_without_efa():
    """With every EC2 type known (moto's snapshot, the data's source), the seed's c/p/g 8xlarge+ admits c-family
    types without EFA, named as examples."""
    text = (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8")
    verdict = run_check("LINT013", text, catalog=moto_catalog())
    assert verdict.status is Status.WARN
    [evidence] = verdict.evidence
    assert evidence.source == "manifest: t.yaml:35"
    assert "c6i.8xlarge" in evidence.detail or "c5.12xlarge" in evidence.detail
    assert "without EFA" in evidence.detail
    assert "- key: node.kubernetes.io/instance-type" in verdict.fix.summary and "p5.48xlarge" in verdict.fix.summary
    assert verdict.fix.commands[0].startswith("aws ec2 describe-instance-types --filters Name=network-info.efa-supported,Values=true")


def test_seed_spec_pasted_at_top_level_is_a_duplicate_key(tmp_path):
    text = (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8").replace("\n  spec:\n", "\nspec:\n", 1)
    path = tmp_path / "pasted.yaml"
    path.write_text(text)
    code, report = lint_json(str(path))
    entry = by_id(report)["LINT001"]
    assert code == 1 and entry["status"] == "fail" and places(entry) == ["pasted.yaml:17"]
    assert "duplicate" in entry["summary"] and "line 6" in entry["evidence"][0]["detail"]


def test_seed_heredoc_without_the_shell_is_a_syntax_error_at_its_line(tmp_path):
    text = (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8").replace("[us-west-2a]", "[${VPC_AZ}]")
    path = tmp_path / "heredoc.yaml"
    path.write_text(text)
    code, report = lint_json(str(path))
    entry = by_id(report)["LINT001"]
    assert code == 1 and entry["status"] == "fail" and places(entry) == ["heredoc.yaml:51"]
    assert by_id(report)["LINT016"]["status"] == "fail"  # the EC2NodeClass before it is still linted


# --- correct manifests: no finding --------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        ("mpijob_nccl_tests_worker.yaml",),
        ("corrected_efa_nodepool.yaml",),
        ("corrected_efa_nodepool.yaml", "corrected_pod_resources.yaml"),
    ],
    ids=["eks-user-guide-pod", "corrected-nodepool", "corrected-nodepool-and-pods"],
)
def test_correct_manifests_produce_no_finding(files):
    code, report = lint_json(*(str(DATA / f) for f in files))
    failing = [(c["check_id"], c["summary"]) for c in report["checks"] if c["status"] not in ("pass", "skip")]
    assert code == 0 and failing == [] and report["verdict"] == "healthy"
    assert report["could_not_check"] == []


def test_user_guide_pod_is_judged_not_just_skipped():
    _, report = lint_json(str(DATA / "mpijob_nccl_tests_worker.yaml"))
    passed = {c["check_id"] for c in report["checks"] if c["status"] == "pass"}
    assert {"LINT002", "LINT003", "LINT004", "LINT005", "LINT006", "LINT007", "LINT018"} <= passed


def test_corrected_nodepool_is_judged_by_the_nodepool_checks():
    _, report = lint_json(str(DATA / "corrected_efa_nodepool.yaml"))
    assert {c["check_id"]: c["status"] for c in report["checks"] if c["check_id"] in ("LINT013", "LINT014", "LINT015", "LINT016")} == {
        "LINT013": "pass",
        "LINT014": "pass",
        "LINT015": "pass",
        "LINT016": "pass",
    }


# --- versions -----------------------------------------------------------------------------------------


def test_karpenter_1_10_has_no_placement_group_selector_but_1_11_does():
    corrected = str(DATA / "corrected_efa_nodepool.yaml")
    code, report = lint_json(corrected, "--karpenter-version", "1.10")
    entry = by_id(report)["LINT015"]
    assert code == 1 and entry["status"] == "fail" and places(entry) == ["corrected_efa_nodepool.yaml:19"]
    assert line("corrected_efa_nodepool.yaml", 19).strip() == "placementGroupSelector:"
    assert "from Karpenter v1.11.0, not in v1.10.0" in entry["summary"]
    for version in ("1.11", "v1.11.0", "1.14.1"):
        code, report = lint_json(corrected, "--karpenter-version", version)
        assert code == 0 and by_id(report)["LINT015"]["status"] == "pass", version


def test_placement_group_name_before_1_11_says_there_is_no_field_at_all():
    verdict = run_check("LINT015", (DATA / "seed_efa_nodepool.yaml").read_text(), declared_karpenter_version="1.10.0")
    assert "has no placement-group field" in verdict.fix.summary


def test_kube_version_past_al2():
    _, report = lint_json(SEED_POOL, "--kube-version", "1.33")
    assert "Kubernetes 1.33 has no AL2 AMI" in by_id(report)["LINT016"]["evidence"][0]["detail"]
    _, report = lint_json(SEED_POOL, "--kube-version", "1.32")
    assert "has no AL2 AMI" not in by_id(report)["LINT016"]["evidence"][0]["detail"]


@pytest.mark.parametrize("option", ["--karpenter-version", "--kube-version"])
def test_bad_version_is_a_usage_error(option):
    code, out = lint(SEED_POOL, option, "eleven")
    assert code == 2 and "is not a version like 1.11" in out


# --- the device plugin --------------------------------------------------------------------------------


def _plugin_report(plugin: str) -> dict[str, Any]:
    code, report = lint_json(SEED_POOL, str(DATA / plugin), "--only", "LINT012")
    assert code == 1
    return by_id(report)["LINT012"]


def test_helm_rendered_plugin_gets_the_chart_command_with_the_real_taint():
    entry = _plugin_report("helm_rendered_device_plugin.yaml")
    assert entry["status"] == "fail"
    assert places(entry) == ["helm_rendered_device_plugin.yaml:31", "seed_efa_nodepool.yaml:53"]
    assert entry["fix"]["commands"] == [
        "helm upgrade --install aws-efa-k8s-device-plugin eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values "
        "--set-string 'tolerations[0].key=efa-workload' --set-string 'tolerations[0].operator=Equal' "
        "--set-string 'tolerations[0].value=true' --set-string 'tolerations[0].effect=NoSchedule'"
    ]


def test_values_file_command_restates_the_existing_tolerations():
    """Helm replaces a list given with --set, so the values file's nvidia.com/gpu toleration must be restated."""
    entry = _plugin_report("efa-device-plugin-values.yaml")
    [command] = entry["fix"]["commands"]
    words = shlex.split(command)
    assert " ".join(words[:8]) == "helm upgrade --install aws-efa-k8s-device-plugin eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values"
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set-string"]
    tolerations: dict[int, dict[str, str]] = {}
    for item in sets:
        match = re.fullmatch(r"tolerations\[(\d+)\]\.(\w+)=(.*)", item)
        assert match, item
        tolerations.setdefault(int(match.group(1)), {})[match.group(2)] = match.group(3)
    assert tolerations == {
        0: {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        1: {"key": "efa-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
    }
    assert "- key: nvidia.com/gpu" in entry["fix"]["summary"] and "- key: efa-workload" in entry["fix"]["summary"]


def test_plain_daemonset_gets_a_json_patch_for_its_own_name():
    entry = _plugin_report("device_plugin_daemonset_v0.5.0.yaml")
    [command] = entry["fix"]["commands"]
    words = shlex.split(command)
    assert words[:7] == ["kubectl", "-n", "kube-system", "patch", "daemonset", "aws-efa-k8s-device-plugin-daemonset", "--type=json"]
    assert json.loads(words[-1]) == [
        {
            "op": "add",
            "path": "/spec/template/spec/tolerations/-",
            "value": {"key": "efa-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        }
    ]


def test_plugin_that_tolerates_the_taint_passes(tmp_path):
    values = tmp_path / "efa-values.yaml"
    values.write_text("tolerations:\n  - key: efa-workload\n    operator: Exists\n    effect: NoSchedule\n")
    code, report = lint_json(SEED_POOL, str(values), "--only", "LINT012")
    assert code == 0 and by_id(report)["LINT012"]["status"] == "pass"


def test_device_plugin_hostpath_is_not_a_workload_finding():
    code, report = lint_json(str(DATA / "device_plugin_daemonset_v0.5.0.yaml"), "--only", "LINT006")
    assert code == 0 and by_id(report)["LINT006"]["status"] == "skip"


# --- each rule on its own -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resources, status, words",
    [
        ("limits: {vpc.amazonaws.com/efa: 4}", Status.PASS, ""),
        ("limits: {vpc.amazonaws.com/efa: 4}\n      requests: {vpc.amazonaws.com/efa: 4}", Status.PASS, ""),
        ("limits: {vpc.amazonaws.com/efa: 4}\n      requests: {vpc.amazonaws.com/efa: 2}", Status.FAIL, "must be equal"),
        ("requests: {vpc.amazonaws.com/efa: 4}", Status.FAIL, "Limit must be set"),
        ("limits: {vpc.amazonaws.com/efa: 500m}", Status.FAIL, "not a whole number"),
        ("limits: {vpc.amazonaws.com/efa: 0}", Status.FAIL, "no EFA device"),
    ],
)
def test_efa_requests_equal_limits(resources, status, words):
    verdict = run_check("LINT003", pod(f"  - name: c\n    image: x\n    resources:\n      {resources}\n"))
    assert verdict.status is status
    assert words in " ".join(e.detail for e in verdict.evidence)
    if status is Status.FAIL:
        assert verdict.evidence[0].source.startswith("manifest: t.yaml:")
        assert "vpc.amazonaws.com/efa: 4" in verdict.fix.summary or "vpc.amazonaws.com/efa: N" in verdict.fix.summary


def test_efa_in_a_sidecar_while_the_gpus_are_elsewhere():
    containers = (
        "  - name: train\n    image: x\n    resources:\n      limits: {nvidia.com/gpu: 8}\n"
        "  - name: sidecar\n    image: y\n    resources:\n      limits: {vpc.amazonaws.com/efa: 32}\n"
    )
    verdict = run_check("LINT004", pod(containers))
    assert verdict.status is Status.FAIL
    assert "train has the GPUs but sidecar has the EFA devices" in verdict.evidence[0].detail
    assert verdict.evidence[0].source == "manifest: t.yaml:9"  # train's resources:


def test_efa_env_without_a_request_and_an_init_container_only():
    verdict = run_check("LINT004", pod('  - name: c\n    image: x\n    env:\n    - {name: FI_PROVIDER, value: efa}\n'))
    assert verdict.status is Status.FAIL and "env FI_PROVIDER" in verdict.evidence[0].detail
    init = "  initContainers:\n  - name: i\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1}\n"
    init_only = pod("  - name: c\n    image: x\n", spec=init)
    verdict = run_check("LINT004", init_only)
    assert verdict.status is Status.FAIL and "only init container i requests EFA" in verdict.evidence[0].detail
    assert run_check("LINT004", pod(EFA_CONTAINER)).status is Status.PASS
    assert run_check("LINT004", pod("  - name: web\n    image: nginx\n")).status is Status.SKIP


@pytest.mark.parametrize(
    "container, status, words",
    [
        (EFA_CONTAINER, Status.PASS, ""),
        ("  - name: c\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1}\n", Status.WARN, "without hugepages-2Mi"),
        (
            "  - name: c\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1}\n    env:\n    - {name: FI_EFA_USE_HUGE_PAGE, value: '0'}\n",
            Status.PASS,
            "",
        ),
        ("  - name: c\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1, hugepages-2Mi: 5120Mi}\n", Status.FAIL, "HugePages require cpu or memory"),
        (
            "  - name: c\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1, hugepages-2Mi: 5120Mi, memory: 1Gi}\n"
            "      requests: {hugepages-2Mi: 2Gi}\n",
            Status.FAIL,
            "!= limit",
        ),
    ],
)
def test_hugepages_with_efa(container, status, words):
    verdict = run_check("LINT005", pod(container))
    assert verdict.status is status and words in " ".join(e.detail for e in verdict.evidence)


def test_host_infiniband_mount_in_a_workload():
    spec = "  volumes:\n  - name: ib\n    hostPath:\n      path: /dev/infiniband\n"
    container = "  - name: c\n    image: x\n    securityContext: {privileged: true}\n    volumeMounts:\n    - {name: ib, mountPath: /dev/infiniband}\n"
    verdict = run_check("LINT006", pod(container, spec))
    assert verdict.status is Status.WARN and verdict.evidence[0].source == "manifest: t.yaml:9"
    assert "mounted by c" in verdict.evidence[0].detail and "vpc.amazonaws.com/efa: N" in verdict.fix.summary


@pytest.mark.parametrize(
    "volume, status",
    [("emptyDir: {medium: Memory}", Status.PASS), ("hostPath: {path: /dev/shm}", Status.PASS), ("emptyDir: {}", Status.WARN)],
)
def test_shm_volume(volume, status):
    container = EFA_CONTAINER + "    volumeMounts:\n    - {name: shm, mountPath: /dev/shm}\n"
    verdict = run_check("LINT007", pod(container, f"  volumes:\n  - name: shm\n    {volume}\n"))
    assert verdict.status is status
    assert run_check("LINT007", pod(EFA_CONTAINER)).status is Status.WARN


@pytest.mark.parametrize(
    "value, status",
    [("tcp", Status.FAIL), ("sockets", Status.FAIL), ("^efa", Status.FAIL), ("efa", Status.PASS),
     # libfabric reads a list (or `^` for all but those): these keep efa, as POD009 and PRB005 judge them
     ("efa,shm", Status.PASS), ("^tcp", Status.PASS)],
)
def test_fi_provider(value, status):
    verdict = run_check("LINT008", pod(env_container(FI_PROVIDER=value)))
    assert verdict.status is status
    if status is Status.FAIL:
        assert verdict.evidence[0].source == "manifest: t.yaml:13" and f"FI_PROVIDER={value}" in verdict.evidence[0].detail


def test_fi_provider_from_a_configmap_is_not_judged():
    container = EFA_CONTAINER + "    env:\n    - name: FI_PROVIDER\n      valueFrom: {configMapKeyRef: {name: c, key: k}}\n"
    assert run_check("LINT008", pod(container)).status is Status.PASS


@pytest.mark.parametrize(
    "value, instance_type, status, words",
    [
        ("1", "g5.48xlarge", Status.FAIL, "has no RDMA read"),
        ("1", "p5.48xlarge", Status.PASS, ""),
        ("1", None, Status.WARN, "no instance type pinned"),
        ("0", "p4d.24xlarge", Status.FAIL, "requires GPUDirect RDMA"),
        ("0", "g6e.48xlarge", Status.PASS, ""),
        ("maybe", "p5.48xlarge", Status.WARN, "not a boolean"),
    ],
)
def test_device_rdma_env_decided_with_the_instance_data(value, instance_type, status, words):
    spec = f"  nodeSelector:\n    node.kubernetes.io/instance-type: {instance_type}\n" if instance_type else ""
    verdict = run_check("LINT009", pod(env_container(FI_EFA_USE_DEVICE_RDMA=value), spec))
    assert verdict.status is status and words in " ".join(e.detail for e in verdict.evidence)


def test_device_rdma_with_node_affinity_list():
    spec = (
        "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n"
        "        - matchExpressions:\n          - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge, g6.48xlarge]}\n"
    )
    verdict = run_check("LINT009", pod(env_container(FI_EFA_USE_DEVICE_RDMA="1"), spec))
    assert verdict.status is Status.FAIL and "on g6.48xlarge" in verdict.evidence[0].detail


@pytest.mark.parametrize(
    "env, status, words",
    [
        ({"NCCL_P2P_DISABLE": "1"}, Status.WARN, "does not switch the network to TCP"),
        ({"NCCL_IB_DISABLE": "1"}, Status.WARN, "aws-ofi-nccl (EFA) is still used"),
        ({"NCCL_NET": "Socket"}, Status.WARN, "forces TCP sockets although the container requests EFA"),
        ({"NCCL_P2P_DISABLE": "0", "NCCL_NET": "Libfabric"}, Status.PASS, ""),
    ],
)
def test_nccl_tcp_folklore(env, status, words):
    verdict = run_check("LINT010", pod(env_container(**env)))
    assert verdict.status is status and words in " ".join(e.detail for e in verdict.evidence)
    if status is Status.WARN:
        assert "NCCL_NET=Socket" in verdict.fix.summary


NODEPOOL = """apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: {name}
spec:
  template:
    spec:
      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: efa}}
      requirements:
{requirements}
      taints:
      - {{key: dedicated, value: training, effect: NoSchedule}}
"""
NODECLASS = """apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: efa
spec:
  amiSelectorTerms: [{{alias: al2023@latest}}]
  role: r
  subnetSelectorTerms: [{{id: subnet-1}}]
  securityGroupSelectorTerms: [{{id: sg-1}}]
{extra}"""


def karpenter(requirements: str, extra: str = "  placementGroupSelector: {name: pg}\n", name: str = "trainers") -> str:
    return NODECLASS.format(extra=extra) + "---\n" + NODEPOOL.format(name=name, requirements=requirements)


def test_pod_tolerations_against_a_pool_it_selects_by_name():
    pool = karpenter("      - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}")
    selecting = pod(EFA_CONTAINER, "  nodeSelector: {karpenter.sh/nodepool: trainers}\n")
    verdict = run_check("LINT011", pool + "---\n" + selecting)
    assert verdict.status is Status.FAIL and "dedicated=training:NoSchedule" in verdict.evidence[0].detail
    tolerating = pod(EFA_CONTAINER, "  nodeSelector: {karpenter.sh/nodepool: trainers}\n  tolerations: [{key: dedicated, operator: Exists}]\n")
    assert run_check("LINT011", pool + "---\n" + tolerating).status is Status.PASS


def test_a_taint_on_the_resource_name_may_be_tolerated_by_admission():
    pool = karpenter("      - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}").replace(
        "key: dedicated, value: training", "key: vpc.amazonaws.com/efa"
    )
    verdict = run_check("LINT011", pool + "---\n" + pod(EFA_CONTAINER))
    assert verdict.status is Status.WARN and "ExtendedResourceToleration" in verdict.evidence[0].detail


def test_nodepool_admitting_gpu_sizes_without_efa_with_the_shipped_data():
    """g5.2xlarge and g6.4xlarge are in the shipped data as sizes without EFA: named as examples."""
    requirements = (
        "      - {key: karpenter.k8s.aws/instance-family, operator: In, values: [g5, g6]}\n"
        "      - {key: karpenter.k8s.aws/instance-size, operator: In, values: [2xlarge, 4xlarge, 8xlarge]}"
    )
    verdict = run_check("LINT013", karpenter(requirements))
    assert verdict.status is Status.WARN
    assert "g5.2xlarge" in verdict.evidence[0].detail and "g6.4xlarge" in verdict.evidence[0].detail
    assert "g5.8xlarge" not in verdict.evidence[0].detail
    assert "- g5.8xlarge" in verdict.fix.summary and "- g6.8xlarge" in verdict.fix.summary


def test_nodepool_generation_gt_and_unknown_pins():
    gt = (
        "      - {key: karpenter.k8s.aws/instance-family, operator: In, values: [g5, g6]}\n"
        "      - {key: karpenter.k8s.aws/instance-generation, operator: Gt, values: ['5']}\n"
        "      - {key: karpenter.k8s.aws/instance-size, operator: NotIn, values: [xlarge, 2xlarge, 4xlarge]}"
    )
    verdict = run_check("LINT013", karpenter(gt))
    assert verdict.status is Status.PASS  # only g6 of 8xlarge and up: all have EFA
    stranger = run_check("LINT013", karpenter("      - {key: node.kubernetes.io/instance-type, operator: In, values: [p9.96xlarge]}"))
    assert stranger.status is Status.SKIP and "does not know (p9.96xlarge)" in stranger.summary


def test_nodepool_without_efa_intent_is_not_judged():
    general = karpenter("      - {key: karpenter.k8s.aws/instance-category, operator: In, values: [c, m, r]}", extra="", name="general")
    general = general.replace("key: dedicated, value: training", "key: team, value: web")
    assert run_check("LINT013", general).status is Status.SKIP


@pytest.mark.parametrize(
    "zone, status",
    [
        ("      - {key: topology.kubernetes.io/zone, operator: In, values: [us-west-2a]}", Status.PASS),
        ("      - {key: topology.kubernetes.io/zone, operator: In, values: [us-west-2a, us-west-2b]}", Status.WARN),
        ("      - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}", Status.WARN),
    ],
)
def test_placement_group_with_several_zones(zone, status):
    verdict = run_check("LINT014", karpenter(zone))
    assert verdict.status is status
    if status is Status.WARN:
        assert "topology.kubernetes.io/zone" in verdict.fix.summary and any("placementGroupSelector: pg" in e.detail for e in verdict.evidence)


def test_nodeclass_misspelled_field_newer_field_and_role_rules():
    verdict = run_check("LINT015", karpenter("      []", extra="  placementGroupSelectr: {name: pg}\n  instanceProfile: p\n"))
    details = " ".join(e.detail for e in verdict.evidence)
    assert verdict.status is Status.FAIL
    assert "spec.placementGroupSelectr is not a field of EC2NodeClass v1 (did you mean placementGroupSelector?)" in details
    assert "exactly one of spec.role and spec.instanceProfile" in details
    newer = run_check("LINT015", karpenter("      []", extra="  networkInterfaces: []\n"), declared_karpenter_version="1.10.2")
    assert newer.status is Status.FAIL and "networkInterfaces exists only from Karpenter v1.11.0" in newer.summary


def test_al2_alias_is_end_of_support():
    text = karpenter("      []").replace("alias: al2023@latest", "alias: al2@latest")
    verdict = run_check("LINT016", text)
    assert verdict.status is Status.FAIL and "alias: al2@latest" in verdict.evidence[0].detail
    assert verdict.evidence[0].source == "manifest: t.yaml:6"


def test_public_ip_with_multi_efa_instance_types():
    public = "  associatePublicIPAddress: true\n  placementGroupSelector: {name: pg}\n"
    multi = karpenter("      - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}", extra=public)
    verdict = run_check("LINT017", multi)
    assert verdict.status is Status.FAIL and "p5.48xlarge" in verdict.evidence[0].detail
    assert verdict.evidence[0].source == "manifest: t.yaml:10"
    assert "associatePublicIPAddress: false" in verdict.fix.summary
    single = karpenter("      - {key: node.kubernetes.io/instance-type, operator: In, values: [g5.8xlarge]}", extra=public)
    assert run_check("LINT017", single).status is Status.PASS
    # nothing says this pool is for EFA: Karpenter attaches EFA only for pods that request it, so one ENI
    p5 = "      - {key: node.kubernetes.io/instance-type, operator: In, values: [p5.48xlarge]}"
    no_efa = karpenter(p5, extra="  associatePublicIPAddress: true\n")
    assert run_check("LINT017", no_efa).status is Status.PASS
    assert run_check("LINT017", no_efa + "---\n" + pod(EFA_CONTAINER)).status is Status.FAIL  # a pod asks for 32


@pytest.mark.parametrize(
    "count, instance_type, status, words",
    [
        (32, "p5.48xlarge", Status.PASS, ""),
        (4, "p5.48xlarge", Status.WARN, "of the 32 that p5.48xlarge has"),
        (8, "p4d.24xlarge", Status.FAIL, "has 4 EFA interface(s): Pending forever"),
        (1, "g5.2xlarge", Status.FAIL, "has no EFA interface(s)"),
    ],
)
def test_efa_count_against_the_pinned_instance_type(count, instance_type, status, words):
    container = f"  - name: c\n    image: x\n    resources:\n      limits: {{vpc.amazonaws.com/efa: {count}}}\n"
    verdict = run_check("LINT018", pod(container, f"  nodeSelector: {{node.kubernetes.io/instance-type: {instance_type}}}\n"))
    assert verdict.status is status and words in " ".join(e.detail for e in verdict.evidence)


# --- the CLI contract ------------------------------------------------------------------------------------


def test_markdown_and_table_render_the_fix_yaml():
    code, out = lint(SEED_PODS, SEED_POOL, "-o", "markdown")
    assert code == 1 and out.startswith("## efadoctor: causes found")
    assert "```yaml\n# " in out and "vpc.amazonaws.com/efa: 1   # was vpc.amazonaws.com: 1" in out
    code, out = lint(SEED_PODS, SEED_POOL)
    assert code == 1 and "LINT002" in out and "seed_pod_resources.yaml:27" in out


def test_fail_on(tmp_path):
    warn_only = tmp_path / "warn.yaml"
    warn_only.write_text(pod("  - name: c\n    image: x\n    resources:\n      limits: {vpc.amazonaws.com/efa: 1}\n"))
    assert lint(str(warn_only))[0] == 1  # default --fail-on warn
    assert lint(str(warn_only), "--fail-on", "warn")[0] == 1
    assert lint(str(warn_only), "--fail-on", "fail")[0] == 0
    assert lint(SEED_PODS, "--fail-on", "fail")[0] == 1


def test_stdin_and_output_file(tmp_path):
    text = (DATA / "seed_pod_resources.yaml").read_text(encoding="utf-8")
    code, report = lint_json("-", input=text)
    assert code == 1 and report["target"] == {"kind": "manifests", "name": "-"}
    assert places(by_id(report)["LINT002"]) == ["<stdin>:27", "<stdin>:28"]
    assert by_id(report)["LINT002"]["fix"]["commands"] == []  # stdin cannot be linted "again" by name
    out = tmp_path / "report.json"
    code, printed = lint(SEED_PODS, "-o", "json", "--output-file", str(out))
    assert code == 1 and printed == ""
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)


def test_a_directory_is_linted_recursively(tmp_path):
    (tmp_path / "k8s" / "pods").mkdir(parents=True)
    (tmp_path / "k8s" / "pods" / "pods.yaml").write_text((DATA / "seed_pod_resources.yaml").read_text())
    (tmp_path / "k8s" / "karpenter.yml").write_text((DATA / "seed_efa_nodepool.yaml").read_text())
    code, report = lint_json(str(tmp_path / "k8s"))
    checks = by_id(report)
    assert code == 1 and checks["LINT011"]["status"] == "fail"  # the pod/NodePool pairing spans the two files
    assert places(checks["LINT015"])[0] == "karpenter.yml:16"


def test_only_and_skip():
    _, report = lint_json(SEED_PODS, "--only", "LINT002,LINT004")
    assert [c["check_id"] for c in report["checks"]] == ["LINT002", "LINT004"]
    _, report = lint_json(SEED_PODS, "--skip", "LINT0")
    assert report["checks"] == []


def test_lint_checks_run_only_for_manifests():
    assert len(LINT) == 18 and all(c.targets == ("manifests",) for c in LINT.values())
    assert not any(c.id.startswith("LINT") for c in REGISTRY.for_target("pod"))


def test_every_finding_cites_a_file_and_line(seed_report):
    for entry in seed_report["checks"]:
        if entry["status"] in ("fail", "warn"):
            assert entry["evidence"] and all(re.fullmatch(r"manifest: .+:\d+", e["source"]) for e in entry["evidence"]), entry


def test_lint_help_imports_no_heavy_library():
    command = [sys.executable, "-X", "importtime", "-m", "efadoctor", "lint", "--help"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "click" in modules and "efadoctor.cli.diagnose" in modules  # imported by the lint command
    assert not {m for m in modules if m.split(".")[0] in ("yaml", "rich", "boto3", "botocore", "kubernetes", "tabulate")}


def test_no_path_is_a_usage_error():
    code, out = lint()
    assert code == 2 and "Missing argument" in out


# --- hostile input: exit 2, one clear line, bounded time --------------------------------------------------


BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def _hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.yaml"
    if kind == "binary":
        path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    elif kind == "huge":
        chunk = b"- vpc.amazonaws.com/efa: 32\n" * 40_000
        with path.open("wb") as handle:
            while handle.tell() <= 50 * 1024 * 1024:
                handle.write(chunk)
    elif kind == "bomb":
        path.write_text(BOMB)
    return path


@pytest.mark.parametrize(
    "kind, message",
    [
        ("binary", "NUL byte at line 1; a binary file?"),
        ("huge", "bytes, over the 20,971,520-byte limit; not read"),
        ("bomb", "(an alias bomb?); not loaded"),
        ("missing", "No such file or directory"),
    ],
)
def test_unusable_input_ends_with_exit_2_and_a_clear_line(tmp_path, kind, message):
    path = _hostile(tmp_path, kind)
    started = time.perf_counter()
    code, out = lint(str(path))
    elapsed = time.perf_counter() - started
    assert code == 2, out
    assert out.startswith("Error: ") and str(path) in out and message in out
    assert len(out.strip().splitlines()) == 1 and "Traceback" not in out
    assert elapsed < 5, f"{kind}: {elapsed:.2f}s"


def test_unusable_input_next_to_readable_files_is_a_finding_not_exit_2(tmp_path):
    missing = str(tmp_path / "typo.yaml")
    code, report = lint_json(SEED_PODS, missing, str(_hostile(tmp_path, "bomb")))
    entry = by_id(report)["LINT001"]
    assert code == 1 and entry["status"] == "fail"
    assert places(entry) == ["typo.yaml:None", "bomb.yaml:1"]
    assert by_id(report)["LINT002"]["status"] == "fail"  # the readable file is still linted


def test_collector_not_applicable_outside_lint_and_usage_error_without_paths():
    with pytest.raises(FactUnavailable) as raised:
        manifests_collector.gather(context=Context(Options(target="pod")))
    assert raised.value.not_applicable
    with pytest.raises(UsageError):
        manifests_collector.gather(context=Context(Options(target="manifests")))


# --- property: any valid pod spec lints without a crash ---------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)
env_names = st.sampled_from(
    ["FI_PROVIDER", "FI_EFA_USE_DEVICE_RDMA", "FI_EFA_USE_HUGE_PAGE", "NCCL_P2P_DISABLE", "NCCL_IB_DISABLE", "NCCL_NET", "NCCL_DEBUG", "OTHER"]
)
env_values = st.sampled_from(["efa", "tcp", "0", "1", "true", "Socket", "", "INFO", "x y"])
resource_names = st.sampled_from(
    ["vpc.amazonaws.com/efa", "nvidia.com/gpu", "hugepages-2Mi", "memory", "cpu", "vpc.amazonaws.com", "nvidia.com", "aws.amazon.com/efa"]
)
quantities = st.one_of(st.integers(min_value=0, max_value=64), st.sampled_from(["5120Mi", "32000Mi", "500m", "1Gi"]))
mounts = st.lists(st.fixed_dictionaries({"name": names, "mountPath": st.sampled_from(["/dev/shm", "/dev/infiniband", "/data"])}), max_size=2)
env_items = st.one_of(
    st.fixed_dictionaries({"name": env_names, "value": env_values}),
    st.fixed_dictionaries({"name": env_names, "valueFrom": st.just({"configMapKeyRef": {"name": "c", "key": "k"}})}),
)
containers = st.fixed_dictionaries(
    {"name": names, "image": names},
    optional={
        "resources": st.fixed_dictionaries(
            {}, optional={"limits": st.dictionaries(resource_names, quantities), "requests": st.dictionaries(resource_names, quantities)}
        ),
        "env": st.lists(env_items, max_size=4),
        "volumeMounts": mounts,
    },
)
volumes = st.lists(
    st.one_of(
        st.fixed_dictionaries({"name": names, "hostPath": st.fixed_dictionaries({"path": st.sampled_from(["/dev/infiniband", "/dev/shm", "/x"])})}),
        st.fixed_dictionaries({"name": names, "emptyDir": st.one_of(st.just({}), st.just({"medium": "Memory"}))}),
    ),
    max_size=3,
)
pod_specs = st.fixed_dictionaries(
    {"containers": st.lists(containers, min_size=1, max_size=3)},
    optional={
        "initContainers": st.lists(containers, max_size=2),
        "nodeSelector": st.fixed_dictionaries(
            {"node.kubernetes.io/instance-type": st.sampled_from(["p5.48xlarge", "g5.2xlarge", "p4d.24xlarge", "nope.large"])}
        ),
        "tolerations": st.lists(st.fixed_dictionaries({"key": names, "operator": st.sampled_from(["Exists", "Equal"])}), max_size=2),
        "volumes": volumes,
    },
)
WRAP = [
    lambda spec: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec},
    lambda spec: {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": spec}}},
    lambda spec: {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "m"},
        "spec": {"mpiReplicaSpecs": {"Worker": {"replicas": 2, "template": {"spec": spec}}}},
    },
]


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(st.tuples(pod_specs, st.integers(min_value=0, max_value=len(WRAP) - 1)), min_size=1, max_size=3), with_pool=st.booleans())
def test_any_valid_pod_spec_lints_without_a_crash(specs, with_pool):
    text = yaml.safe_dump_all([WRAP[w](spec) for spec, w in specs], sort_keys=False)
    if with_pool:
        text += "---\n" + (DATA / "seed_efa_nodepool.yaml").read_text(encoding="utf-8")
    loaded: LoadResult = load_text(text, "generated.yaml")
    assert loaded.problems == ()
    available = {"manifests": loaded, "manifest_pod_specs": manifest_pod_specs.gather(manifests=loaded), "instance_type_catalog": CATALOG}
    for check in LINT.values():
        verdict = check.evaluate(**{name: available[name] for name in check.needs if name in available})
        assert isinstance(verdict, Verdict), check.id
        if verdict.status in (Status.FAIL, Status.WARN):
            assert verdict.fix is not None and verdict.evidence, check.id
            assert all(re.fullmatch(r"manifest: generated\.yaml:\d+", e.source) for e in verdict.evidence), (check.id, verdict.evidence)

