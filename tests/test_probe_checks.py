"""The probe checks (PRB001-PRB010) on parsed probe outputs: every branch, on sample-derived inputs.

Why here and not only end to end: each check must say the true thing for each libfabric version, device
layout, environment and limit, including the ones no simulated container covers (the libfabric of the
2020 and p3dn samples, a cut-off output, hostile bytes). Inputs are probe outputs in probe.sh's exact
format (tests/fakes/probe_text.py), with fi_info outputs from the project's samples; the checks get them
through parse_probe, as in production.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efadoctor.facts.kube import node_from_json, pod_from_json
from efadoctor.model import Confidence, Status, Symptom
from efadoctor.parsers.probe_output import parse_probe
from efadoctor.registry import load
from tests.fakes import kube_objects as k
from tests.fakes.probe_text import (
    CONTAINERD_DEFAULT_CAPS,
    DEBIAN_ENODATA,
    DEBIAN_LIST,
    DEBIAN_VERSION,
    EFA_OK_1_22,
    WITH_IPC_LOCK,
    efa_entries,
    fenced_block,
    probe_output,
    version_text,
)
from tests.samples import local_capture, sample_lines

REGISTRY = load(plugins=False)
PRB = sorted((c for c in REGISTRY.checks.values() if c.id.startswith("PRB")), key=lambda c: c.id)
DEBIAN_LIBS = ["/usr/lib/x86_64-linux-gnu/libfabric.so.1", "/usr/lib/x86_64-linux-gnu/libefa.so.1"]
NO_EFA_LIST = "shm:\n    version: 201.0\ntcp:\n    version: 201.0\nsockets:\n    version: 201.0\n"


def run(check_id: str, text: str, *, pod: dict | None = None, node: dict | None = None):
    """Evaluate one check on a probe output, with the pod/container/node facts it accepts."""
    check = REGISTRY.checks[check_id]
    facts = {"probe_report": parse_probe(text)}
    if pod is not None:
        info = pod_from_json(pod)
        facts["pod"], facts["workload_container"] = info, info.efa_container
    if node is not None:
        facts["node"] = node_from_json(node)
    return check.evaluate(**{name: value for name, value in facts.items() if name in check.needs})


def pod_json(**kwargs) -> dict:
    return k.workload_pod("trainer-0", node_name="ip-10-0-1-10.ec2.internal", **kwargs)


def details(verdict) -> str:
    return "\n".join(f"{e.source}: {e.detail}" for e in verdict.evidence)


def test_the_ten_checks_exist_with_their_ids_and_targets():
    names = {c.id: c.name for c in PRB}
    assert names == {
        "PRB001": "fi_info_present", "PRB002": "efa_provider_compiled_in", "PRB003": "uverbs_devices_in_container",
        "PRB004": "fi_info_finds_efa", "PRB005": "fi_provider_env_is_efa", "PRB006": "fi_efa_iface_matches_devices",
        "PRB007": "device_rdma_env_supported", "PRB008": "memlock_unlimited", "PRB009": "hugepages_available",
        "PRB010": "aws_ofi_nccl_plugin_findable"}
    assert all(c.targets == ("pod", "local") for c in PRB)
    # the -61 cascade: the probe's observation folds under whatever explains it, down to the instance
    assert {"PRB001", "PRB002", "PRB003", "PRB005", "PRB006", "POD001", "K8S002", "AWS002"} <= set(REGISTRY.checks["PRB004"].caused_by)
    assert {"POD001", "K8S002", "AWS002"} <= set(REGISTRY.checks["PRB003"].caused_by)
    assert all(parent in REGISTRY.checks for c in PRB for parent in c.caused_by)


# ---- PRB001 fi_info_present -------------------------------------------------------------------------


def test_prb001_present_names_path_and_version():
    verdict = run("PRB001", probe_output())
    assert verdict.status is Status.PASS
    assert "/opt/amazon/efa/bin/fi_info (libfabric 1.22.0amzn5.0)" in verdict.summary
    assert "tools:4: fi_info_used=/opt/amazon/efa/bin/fi_info" in details(verdict)


def test_prb001_missing_without_libfabric_is_the_missing_user_space():
    verdict = run("PRB001", probe_output(fi_info=None, libs=[]), pod=pod_json())
    assert verdict.status is Status.FAIL and "lacks the EFA user space" in verdict.summary
    assert "container nccl-tests-worker of pod default/trainer-0" in verdict.summary
    assert any("efa_installer.sh -y -g -d --skip-kmod --skip-limit-conf --no-verify" in c for c in verdict.fix.commands)


def test_prb001_missing_with_a_libfabric_cannot_decide():
    verdict = run("PRB001", probe_output(fi_info=None, libs=DEBIAN_LIBS))
    assert verdict.status is Status.SKIP and verdict.unavailable
    assert "/usr/lib/x86_64-linux-gnu/libfabric.so.1" in verdict.summary


def test_prb001_tools_section_missing_is_unknown():
    verdict = run("PRB001", probe_output(drop=("tools", "fi_info_version")))
    assert verdict.status is Status.SKIP and verdict.unavailable and "missing" in verdict.summary


# ---- PRB002 efa_provider_compiled_in ----------------------------------------------------------------


def test_prb002_listed():
    verdict = run("PRB002", probe_output())
    assert verdict.status is Status.PASS and "lists the efa provider" in verdict.summary


def test_prb002_libfabric_2_1_not_listing_efa_has_none():
    text = probe_output(version=version_text("2.1.0", "2.1", "/opt/libfabric/bin/fi_info"), listing=NO_EFA_LIST, efa_stdout="")
    verdict = run("PRB002", text)
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert verdict.summary.startswith("the image's libfabric has no efa provider: libfabric 2.1.0")


def test_prb002_debian_1_17_without_devices_cannot_tell():
    """Debian's libfabric 1.17 (the local captures): efa unlisted, no device; it does ship efa, so: unknown."""
    text = probe_output(devices=0, node_devices=0, version=DEBIAN_VERSION, listing=DEBIAN_LIST, efa_stderr=DEBIAN_ENODATA,
                        libs=DEBIAN_LIBS, fi_info="/usr/bin/fi_info")
    verdict = run("PRB002", text)
    assert verdict.status is Status.SKIP and verdict.unavailable
    assert "1.17.0 (before 2.1.0)" in verdict.summary


def test_prb002_unlisted_before_2_1_while_devices_are_there_is_the_image():
    text = probe_output(version=DEBIAN_VERSION, listing=DEBIAN_LIST, efa_stdout="", efa_stderr=DEBIAN_ENODATA, libs=DEBIAN_LIBS)
    verdict = run("PRB002", text)
    assert verdict.status is Status.FAIL and "although the container has 32 EFA device(s) (rdmap79s0" in verdict.summary
    assert "sys_infiniband:1: rdmap79s0 driver=efa" in details(verdict)


def test_prb002_unlisted_without_libefa_medium_confidence():
    text = probe_output(devices=0, node_devices=0, version=DEBIAN_VERSION, listing=DEBIAN_LIST,
                        libs=["/opt/conda/lib/libfabric.so.1"], env={"LD_LIBRARY_PATH": "/opt/conda/lib"})
    verdict = run("PRB002", text)
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.MEDIUM and "no libefa" in verdict.summary


def test_prb002_the_efa_installers_build_always_has_efa():
    verdict = run("PRB002", probe_output(devices=0, node_devices=0, listing="shm:\n    version: 122.0\n"))
    assert verdict.status is Status.PASS and "EFA installer's build" in verdict.summary


def test_prb002_fi_provider_hides_efa_from_the_list():
    text = probe_output(listing="tcp:\n    version: 201.0\n", version=version_text("2.1.0amzn3.0", "2.1"), env={"FI_PROVIDER": "tcp"})
    verdict = run("PRB002", text)
    assert verdict.status is Status.SKIP and not verdict.unavailable and "PRB005" in verdict.summary


# ---- PRB003 uverbs_devices_in_container -------------------------------------------------------------


def test_prb003_devices_present():
    verdict = run("PRB003", probe_output())
    assert verdict.status is Status.PASS and "32 EFA/RDMA device node(s)" in verdict.summary


def test_prb003_sysfs_has_efa_but_no_device_nodes_is_the_pod():
    verdict = run("PRB003", probe_output(devices=0, node_devices=32), pod=pod_json(efa=None))
    assert verdict.status is Status.FAIL
    assert "did not get the EFA devices (container nccl-tests-worker requests no vpc.amazonaws.com/efa)" in verdict.summary
    assert verdict.fix.commands[-1] == "kubectl -n default exec trainer-0 -c nccl-tests-worker -- ls -la /dev/infiniband/"


def test_prb003_nothing_in_sysfs_is_a_node_without_efa():
    # the local capture's wording of a missing /dev/infiniband, as ls prints it
    ls_missing = next(line for line in sample_lines("local-ls-infiniband.txt") if line.startswith("ls: cannot access '/dev"))
    text = probe_output(devices=0, node_devices=0).replace(
        "efadoctor-probe: /dev/infiniband: No such file or directory\n", ls_missing + "\n")
    verdict = run("PRB003", text)
    assert verdict.status is Status.FAIL and "this machine has no EFA device" in verdict.summary
    assert "ls: cannot access '/dev/infiniband': No such file or directory" in details(verdict)


# ---- PRB004 fi_info_finds_efa -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "efa_stdout, devices",
    [
        (fenced_block("01_fi_info_efa_ok_ec2-userguide_libfabric1x.txt", 1), ("efa_0",)),  # EFA-<gid> fabric, efa_0-rdm
        (fenced_block("02_fi_info_efa_ok_p3dn_libfabric1.14_issue107.txt"), ("rdmap0s6",)),  # rdm + dgrm of one device
        (fenced_block("03_fi_info_efa_ok_2020_efa_ofi_rxd_issue5689.txt"), ("efa_0",)),  # with the layered efa;ofi_rxd
        (EFA_OK_1_22, ("rdmap47s0",)),  # sample 05, fabric 'efa'
    ],
    ids=["sample01", "sample02", "sample03", "sample05"],
)
def test_prb004_success_samples(efa_stdout, devices):
    verdict = run("PRB004", probe_output(efa_stdout=efa_stdout, efa_rc=0))
    assert verdict.status is Status.PASS and verdict.summary.endswith(", ".join(devices))
    assert "fi_info_efa:1: provider: efa" in details(verdict)


@pytest.mark.parametrize("stderr", [DEBIAN_ENODATA, "fi_getinfo: -61 (No data available)\n",
                                    local_capture("local-fi_info-p-efa-FI_LOG_LEVEL-warn.txt")[0]],
                         ids=["libfabric<1.19", "libfabric>=1.19", "FI_LOG_LEVEL=warn"])
def test_prb004_enodata_is_observed(stderr):
    verdict = run("PRB004", probe_output(devices=0, efa_stdout="", efa_stderr=stderr, efa_rc=61))
    assert verdict.status is Status.FAIL and verdict.observed == (Symptom.ENODATA,)
    assert "fails with `fi_getinfo: -61" in verdict.summary and "security groups cannot cause it" in verdict.summary
    assert "pod exec" not in details(verdict) and "local probe: fi_info -p efa -t FI_EP_RDM (stderr)" in details(verdict)


def test_prb004_the_abbreviated_minus_61_of_sample_07_counts_by_its_exit_status():
    verdict = run("PRB004", probe_output(devices=0, efa_stdout="", efa_stderr="-61\n", efa_rc=61))
    assert verdict.status is Status.FAIL and Symptom.ENODATA in verdict.observed


def test_prb004_fewer_devices_than_requested_is_degraded():
    verdict = run("PRB004", probe_output(efa_stdout=efa_entries(["rdmap79s0", "rdmap80s0"]), efa_rc=0), pod=pod_json(efa=32))
    assert verdict.status is Status.WARN and verdict.observed == (Symptom.DEGRADED,)
    assert "lists 2 EFA device(s)" in verdict.summary and "requests 32" in verdict.summary


def test_prb004_as_many_as_requested():
    verdict = run("PRB004", probe_output(), pod=pod_json(efa=32))
    assert verdict.status is Status.PASS and "(as many as the 32 requested)" in verdict.summary
    assert all(e.source.startswith("pod exec:") for e in verdict.evidence)


def test_prb004_timed_out_is_unknown():
    verdict = run("PRB004", probe_output(efa_stdout="", efa_stderr="", efa_rc=124))
    assert verdict.status is Status.SKIP and verdict.unavailable and "timed out" in verdict.summary


def test_prb004_cut_off_output_says_why():
    report_text = probe_output(stop_after="efa_installed_packages")
    verdict = run("PRB004", report_text)
    assert verdict.status is Status.SKIP and verdict.unavailable and "missing" in verdict.summary


# ---- PRB005 / PRB006 / PRB007: the environment the process really gets ------------------------------


@pytest.mark.parametrize("value, status", [(None, Status.PASS), ("efa", Status.PASS), ("efa,shm", Status.PASS),
                                           ("tcp", Status.FAIL), ("^efa", Status.FAIL), ("^tcp", Status.PASS), ("sockets", Status.FAIL)])
def test_prb005_fi_provider(value, status):
    env = {} if value is None else {"FI_PROVIDER": value}
    verdict = run("PRB005", probe_output(env=env), pod=pod_json(env=env))
    assert verdict.status is status, verdict.summary
    if status is Status.FAIL:
        assert verdict.fix.commands[-1] == "kubectl -n default exec trainer-0 -c nccl-tests-worker -- printenv FI_PROVIDER"
        assert f"env:1: FI_PROVIDER={value}" in details(verdict)


def test_prb006_ignored_before_libfabric_2():
    verdict = run("PRB006", probe_output(env={"FI_EFA_IFACE": "rdmap16s27"}))
    assert verdict.status is Status.PASS and "1.22.0amzn5.0 ignores it" in verdict.summary


@pytest.mark.parametrize("value, status", [("rdmap16s27", Status.FAIL), ("rdmap79s0", Status.WARN), ("all", Status.PASS),
                                           (",".join(f"rdmap{79 + i}s0" for i in range(32)), Status.PASS), ("", Status.FAIL),
                                           ("rdmap79s", Status.FAIL)])
def test_prb006_from_libfabric_2(value, status):
    text = probe_output(version=version_text("2.1.0amzn3.0", "2.1"), env={"FI_EFA_IFACE": value})
    verdict = run("PRB006", text)
    assert verdict.status is status, verdict.summary


def test_prb006_no_devices_to_select_is_not_applicable():
    text = probe_output(devices=0, node_devices=0, version=version_text("2.1.0amzn3.0", "2.1"), env={"FI_EFA_IFACE": "rdmap16s27"})
    verdict = run("PRB006", text)
    assert verdict.status is Status.SKIP and not verdict.unavailable


@pytest.mark.parametrize("instance_type, value, status", [
    ("p3dn.24xlarge", "1", Status.FAIL),  # no RDMA read: libfabric aborts
    ("p5.48xlarge", "0", Status.FAIL),  # gdr_required: aws-ofi-nccl refuses
    ("p5.48xlarge", "1", Status.PASS),
    (None, "1", Status.SKIP),  # local: the instance type is not known
])
def test_prb007_device_rdma(instance_type, value, status):
    node = k.node("ip-10-0-1-10.ec2.internal", instance_type=instance_type) if instance_type else None
    verdict = run("PRB007", probe_output(env={"FI_EFA_USE_DEVICE_RDMA": value}), node=node)
    assert verdict.status is status, verdict.summary


# ---- PRB008 memlock / PRB009 huge pages -------------------------------------------------------------


def test_prb008_unlimited():
    assert run("PRB008", probe_output()).status is Status.PASS


def test_prb008_64_kib_without_ipc_lock():
    # root under containerd's default capabilities (no IPC_LOCK), the pod spec adds none
    verdict = run("PRB008", probe_output(memlock="64"), pod=pod_json())
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert "limited to 64 KiB in container nccl-tests-worker of pod default/trainer-0 and the process lacks CAP_IPC_LOCK" in verdict.summary
    assert any('capabilities.add: ["IPC_LOCK"]' in c for c in verdict.fix.commands)
    assert verdict.fix.commands[-1] == ("kubectl -n default exec trainer-0 -c nccl-tests-worker -- "
                                        "sh -c 'ulimit -l; grep CapEff /proc/self/status'")
    assert "capabilities:2: CapEff:\t00000000a80425fb" in details(verdict)


def test_prb008_ipc_lock_held_makes_the_limit_harmless():
    verdict = run("PRB008", probe_output(memlock="64", cap_eff=WITH_IPC_LOCK), pod=pod_json(capabilities=["IPC_LOCK"]))
    assert verdict.status is Status.PASS and "the process holds CAP_IPC_LOCK (CapEff)" in verdict.summary
    assert "pod exec: /proc/self/status Cap* lines, /proc/self/uid_map: capabilities:2: CapEff:\t00000000a80465fb" in details(verdict)
    assert "capabilities:4: uid_map:          0          0 4294967295" in details(verdict)


def test_prb008_the_probe_outranks_the_pod_spec():
    """The spec adds IPC_LOCK, but the probe sees a process without it: the process is what the kernel checks."""
    verdict = run("PRB008", probe_output(memlock="64"), pod=pod_json(capabilities=["IPC_LOCK"]))
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert "the process lacks CAP_IPC_LOCK although the pod spec adds it" in verdict.summary
    assert "capabilities.add ['IPC_LOCK']" in details(verdict)
    assert len(verdict.fix.commands) == 1  # adding IPC_LOCK again would change nothing: only the confirmation
    # ...and the other way round: a process holding it passes whatever the spec says
    assert run("PRB008", probe_output(memlock="64", cap_eff=WITH_IPC_LOCK), pod=pod_json()).status is Status.PASS


def test_prb008_non_root_gets_ipc_lock_only_in_its_bounding_set():
    # Kubernetes puts capabilities.add in a uid-1000 container's bounding set; execve leaves its effective set empty
    text = probe_output(memlock="64", uid=1000, cap_eff=(), cap_bnd=WITH_IPC_LOCK)
    verdict = run("PRB008", text, pod=pod_json(capabilities=["IPC_LOCK"]))
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert "the process runs as uid 1000 without CAP_IPC_LOCK (it is only in the bounding set)" in verdict.summary
    assert "kubernetes/kubernetes#56374" in verdict.fix.summary and "runAsUser: 0" in verdict.fix.summary
    assert any("runAsUser: 0" in c for c in verdict.fix.commands)
    assert "identity:1: uid=1000" in details(verdict)
    # the bounding set without it: the same verdict, without the bounding-set remark
    verdict = run("PRB008", probe_output(memlock="64", uid=1000, cap_eff=()), pod=pod_json())
    assert verdict.status is Status.FAIL and "uid 1000 without CAP_IPC_LOCK:" in verdict.summary


def test_prb008_ipc_lock_inside_a_user_namespace_does_not_count():
    # a pod with hostUsers: false: root in its own user namespace, uids 0-65535 mapped from 100000 on the host
    text = probe_output(memlock="64", cap_eff=WITH_IPC_LOCK, uid_map="         0     100000      65536")
    verdict = run("PRB008", text, pod=pod_json(capabilities=["IPC_LOCK"]))
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert "holds CAP_IPC_LOCK only inside a user namespace" in verdict.summary
    assert any("hostUsers: false" in c for c in verdict.fix.commands)


def test_prb008_unknown_capabilities_fall_back_to_the_pod_spec():
    """Without the capabilities section (output cut short) the check judges as before: from the pod spec."""
    text = probe_output(memlock="64", drop=("capabilities",))
    verdict = run("PRB008", text, pod=pod_json(capabilities=["IPC_LOCK"]))
    assert verdict.status is Status.PASS and "the container holds CAP_IPC_LOCK (IPC_LOCK)" in verdict.summary
    verdict = run("PRB008", text, pod=pod_json())
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.HIGH
    assert "capabilities.add (none)" in details(verdict)


def test_prb008_local_as_root_is_medium_confidence_without_capabilities():
    # the local Debian capture's limit (local-ls-infiniband.txt: ulimit -l 8192), probe run as uid 0
    verdict = run("PRB008", probe_output(memlock="8192", drop=("capabilities",)))
    assert verdict.status is Status.FAIL and verdict.confidence is Confidence.MEDIUM


@pytest.mark.parametrize(("cap_eff", "status"), [(WITH_IPC_LOCK, Status.PASS), (CONTAINERD_DEFAULT_CAPS, Status.FAIL)])
def test_prb008_local_decided_by_capabilities(cap_eff, status):
    verdict = run("PRB008", probe_output(memlock="8192", cap_eff=cap_eff))
    assert verdict.status is status and "on this machine" in verdict.summary
    if status is Status.FAIL:
        assert verdict.confidence is Confidence.HIGH
        assert verdict.fix.commands == ("ulimit -l unlimited  # needs CAP_SYS_RESOURCE; for a container: docker run --ulimit memlock=-1:-1 ...",
                                        "sh -c 'ulimit -l; grep CapEff /proc/self/status'")


def test_prb008_unlimited_needs_no_capability():
    assert run("PRB008", probe_output(cap_eff=(), uid=1000), pod=pod_json()).status is Status.PASS


@settings(max_examples=200, deadline=None)
@given(mask=st.integers(0, 2**64 - 1), kib=st.integers(0, 2**40), namespaced=st.booleans())
def test_prb008_passes_exactly_when_bit_14_counts(mask, kib, namespaced):
    uid_map = "         0     100000      65536" if namespaced else "         0          0 4294967295"
    text = probe_output(memlock=str(kib), drop=("capabilities",)).replace(
        "@@begin hugepages", f"@@begin capabilities\nCapEff:\t{mask:016x}\nuid_map: {uid_map}\n@@end capabilities rc=0\n@@begin hugepages")
    verdict = run("PRB008", text, pod=pod_json(capabilities=["IPC_LOCK"]))
    assert (verdict.status is Status.PASS) == (bool(mask >> 14 & 1) and not namespaced)
    assert verdict.status in (Status.PASS, Status.FAIL) and (verdict.status is Status.PASS or verdict.confidence is Confidence.HIGH)


def test_prb009_requested_and_there():
    verdict = run("PRB009", probe_output(), pod=pod_json())
    assert verdict.status is Status.PASS and "5128 of 5128" in verdict.summary and "hugepages-2Mi: 5120Mi" in verdict.summary


def test_prb009_requested_on_a_node_without_huge_pages():
    verdict = run("PRB009", probe_output(hugepages=0), pod=pod_json())
    assert verdict.status is Status.WARN and "HugePages_Total: 0" in verdict.summary


def test_prb009_not_relied_on():
    assert run("PRB009", probe_output(env={"FI_EFA_USE_HUGE_PAGE": "0"}), pod=pod_json()).status is Status.SKIP
    assert run("PRB009", probe_output(), pod=pod_json(hugepages=None)).status is Status.SKIP


# ---- PRB010 aws-ofi-nccl ----------------------------------------------------------------------------


def test_prb010_on_ld_library_path():
    verdict = run("PRB010", probe_output())
    assert verdict.status is Status.PASS and "libnccl-net-ofi.so" in verdict.summary


def test_prb010_installed_but_not_on_the_path():
    verdict = run("PRB010", probe_output(env={}))
    assert verdict.status is Status.WARN and "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu, which is not on LD_LIBRARY_PATH" in verdict.summary
    assert verdict.fix.commands[0] == "export LD_LIBRARY_PATH=/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH"


def test_prb010_missing_where_nccl_runs():
    verdict = run("PRB010", probe_output(libs=["/opt/amazon/efa/lib/libfabric.so.1"]), pod=pod_json())
    assert verdict.status is Status.FAIL and "requests nvidia.com/gpu" in verdict.summary
    assert REGISTRY.checks["PRB010"].symptoms == (Symptom.SOCKET_FALLBACK,)


def test_prb010_no_nccl_at_all_is_not_applicable():
    verdict = run("PRB010", probe_output(libs=[], env={}))
    assert verdict.status is Status.SKIP and not verdict.unavailable


# ---- never a traceback ------------------------------------------------------------------------------


HEALTHY = probe_output()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=4096),
    st.integers(min_value=0, max_value=len(HEALTHY)).map(lambda n: HEALTHY[:n]),  # cut anywhere
    st.tuples(st.integers(0, len(HEALTHY)), st.binary(max_size=64)).map(
        lambda t: HEALTHY.encode()[: t[0]] + t[1] + HEALTHY.encode()[t[0]:]),  # garbage spliced in
))
def test_every_probe_check_returns_a_verdict_on_any_output(data):
    report = parse_probe(data)
    pod = pod_from_json(pod_json())
    for check in PRB:
        facts = {"probe_report": report, "pod": pod, "workload_container": pod.efa_container,
                 "node": node_from_json(k.node("ip-10-0-1-10.ec2.internal"))}
        verdict = check.evaluate(**{name: facts[name] for name in check.needs})
        assert verdict.status in Status
        if verdict.status in (Status.FAIL, Status.WARN):
            assert verdict.fix is not None


def test_evidence_quotes_probe_lines_exactly():
    report = parse_probe(probe_output(devices=0, efa_stdout="", efa_stderr=DEBIAN_ENODATA, efa_rc=61))
    verdict = REGISTRY.checks["PRB004"].evaluate(probe_report=report)
    assert dataclasses.astuple(verdict.evidence[0]) == ("local probe: fi_info -p efa -t FI_EP_RDM (stderr)",
                                                         "fi_info_efa_stderr:1: fi_getinfo: -61")
