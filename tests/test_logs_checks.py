"""The log checks (LOG001-LOG014) on lines rendered from the printf formats of NCCL, aws-ofi-nccl and
libfabric (the source of each is named), through the real collectors, engine and ranker; and hypothesis
fuzzing of the whole path from stdin to a validated report (never an exception, never an ERROR)."""

from __future__ import annotations

import io
import sys
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efadoctor import Status, Symptom, engine
from efadoctor.context import Context, Options
from efadoctor.facts.kube import pod_from_json
from efadoctor.facts.logs import instance_type_from_platform
from efadoctor.parsers.logs import parse_log_lines
from efadoctor.rank import rank
from efadoctor.registry import load
from efadoctor.report import build
from tests.fakes import kube_objects as k
from tests.helpers import validate_report

REGISTRY = load(plugins=False)
LOG_CHECKS = REGISTRY.for_target("logs")
CHECKS = {c.id: c for c in LOG_CHECKS}

P = "ip-10-1-2-3:4242:4250 [0] NCCL INFO "
W = "ip-10-1-2-3:4242:4250 [0] net.cc:42 NCCL WARN "
Q = "ip-10-1-2-4:5151:5160 [0] NCCL INFO "  # a second host
# aws-ofi-nccl 1.14.0 "Selected provider is %s, fabric is %s (found %d nics)" and "Running on %s platform"
PROVIDER_32 = P + "NET/OFI Selected provider is efa, fabric is efa (found 32 nics)"
PLATFORM_P5 = P + "NET/OFI Running on p5.48xlarge platform, topology file /opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml"
USING_LIBFABRIC = P + "Using network Libfabric"
GDR_CHANNEL = P + "Channel 00/0 : 0[0] -> 8[0] [send] via NET/Libfabric/0/GDRDMA"
PLAIN_CHANNEL = P + "Channel 01/0 : 0[0] -> 8[0] [send] via NET/Libfabric/1"
HEALTHY = ["NCCL version 2.18.5+cuda12.2", P + "NET/OFI Initializing aws-ofi-nccl 1.14.0", PLATFORM_P5, PROVIDER_32, USING_LIBFABRIC, GDR_CHANNEL]


def diagnose(lines, instance_type=None):
    """Run every log check over the lines, through the collectors (expected_instance_type) and the engine."""
    facts = parse_log_lines(lines, source="job.log")
    options = Options(target="logs", instance_type=instance_type)
    result = engine.run(LOG_CHECKS, REGISTRY.collectors, Context(options), provided={"log_facts": facts})
    verdicts = {f.check.id: f.verdict for f in result.findings}
    assert not [i for i, v in verdicts.items() if v.status is Status.ERROR], {i: v.summary for i, v in verdicts.items()}
    return verdicts, rank(result.findings)


def statuses(verdicts):
    return {i: v.status.value for i, v in verdicts.items() if v.status is not Status.SKIP}


def test_a_modern_healthy_run_passes_every_check_that_applies():
    verdicts, ranking = diagnose(HEALTHY)
    assert set(statuses(verdicts).values()) == {"pass"}
    assert verdicts["LOG001"].summary == "NCCL 2.18.5 over Libfabric/efa, 32 NICs, GDRDMA on all 1 NET channel connections, aws-ofi-nccl 1.14.0"
    assert verdicts["LOG007"].summary == "aws-ofi-nccl found all 32 EFA NICs of p5.48xlarge on host ip-10-1-2-3"
    assert not ranking.causes and not ranking.next_failures and not ranking.could_not_check


def test_instance_type_comes_from_the_flag_then_the_platform_line():
    assert instance_type_from_platform("p4d.24xlarge") == "p4d.24xlarge"
    assert instance_type_from_platform("P4d") == "p4d.24xlarge"  # aws-ofi-nccl < 1.11 printed the family
    assert instance_type_from_platform("p5") is None  # p5.48xlarge or p5.4xlarge: cannot tell
    verdicts, _ = diagnose([*HEALTHY, PLAIN_CHANNEL], instance_type="g5.48xlarge")
    assert verdicts["LOG008"].status is Status.PASS and "g5.48xlarge has no GPUDirect RDMA" in verdicts["LOG008"].summary
    assert verdicts["LOG007"].status is Status.PASS  # 32 found; g5.48xlarge has 1: more is not a fault


def test_fewer_nics_than_the_instance_type_is_degraded():
    verdicts, ranking = diagnose([PLATFORM_P5, P + "NET/OFI Selected provider is efa, fabric is efa (found 4 nics)", USING_LIBFABRIC])
    assert verdicts["LOG007"].status is Status.WARN
    assert verdicts["LOG007"].summary.startswith("aws-ofi-nccl found 4 of the 32 EFA NICs of p5.48xlarge on host ip-10-1-2-3")
    assert verdicts["LOG007"].fix.commands[0].startswith('efadoctor run --node "$(kubectl get nodes -o name | grep -m1')
    assert [c.finding.check.id for c in ranking.causes] == ["LOG007"]
    unknown_type, _ = diagnose([P + "NET/OFI Selected provider is efa, fabric is efa (found 4 nics)"])
    assert unknown_type["LOG007"].unavailable and "give --instance-type" in unknown_type["LOG007"].summary


def test_channels_without_gdrdma_on_a_gdr_type_are_degraded_and_say_why():
    lines = [*HEALTHY, PLAIN_CHANNEL, P + "NET/Libfabric : GPU Direct RDMA Disabled for HCA 0 'rdmap16s27'"]  # nccl src/graph/topo.cc
    verdicts, _ = diagnose(lines)
    assert verdicts["LOG008"].status is Status.WARN
    assert verdicts["LOG008"].summary.startswith("1 of 2 EFA channel connections on host ip-10-1-2-3 go without GPUDirect RDMA")
    assert any("GPU Direct RDMA Disabled for HCA 0" in e.detail for e in verdicts["LOG008"].evidence)
    verdicts, _ = diagnose([PLAIN_CHANNEL])  # no instance type anywhere
    assert verdicts["LOG008"].unavailable


def test_non_efa_provider_from_fi_provider():
    lines = [
        "FI_PROVIDER=tcp",  # an env dump: NCCL never echoes FI_PROVIDER
        P + "NET/OFI Selected Provider is tcp (found 1 nics)",  # aws-ofi-nccl 1.7.4 "Selected Provider is %s (found %d nics)"
        USING_LIBFABRIC,
    ]
    verdicts, _ = diagnose(lines)
    assert verdicts["LOG006"].status is Status.FAIL
    assert "selected tcp instead of efa on host ip-10-1-2-3" in verdicts["LOG006"].summary
    assert "FI_PROVIDER=tcp excludes efa" in verdicts["LOG006"].summary
    refused, _ = diagnose([W + "NET/OFI Only EFA provider is supported"])  # old aws-ofi-nccl
    assert refused["LOG006"].status is Status.FAIL and "refused a non-EFA provider" in refused["LOG006"].summary
    allowed, _ = diagnose(["FI_PROVIDER=efa", PROVIDER_32])
    assert allowed["LOG006"].status is Status.PASS


def test_nccl_net_socket_is_a_warning_not_a_mystery():
    verdicts, ranking = diagnose(["NCCL_NET=Socket", P + "NET/Socket : Using [0]eth0:10.0.0.5<0>", P + "Using network Socket"], "p5.48xlarge")
    assert verdicts["LOG002"].status is Status.WARN and "because NCCL_NET=Socket was set" in verdicts["LOG002"].summary
    assert not verdicts["LOG002"].observed and ranking.symptom is None  # asked for, so not observed as a fallback


def test_gdr_required_failure_explains_the_socket_fallback():
    lines = [W + "NET/OFI GDR disabled on GDR-supported instance type p5.48xlarge", P + "Using network Socket"]  # platform-aws.cpp:819
    verdicts, ranking = diagnose(lines, "p5.48xlarge")
    assert verdicts["LOG011"].status is Status.FAIL and "p5.48xlarge" in verdicts["LOG011"].summary
    assert "refused to run without GPUDirect RDMA" in verdicts["LOG002"].summary
    assert ranking.symptom is Symptom.SOCKET_FALLBACK
    assert [(c.finding.check.id, [f.check.id for f in c.consequences]) for c in ranking.causes] == [("LOG011", ["LOG002"])]


def test_forced_device_rdma():
    # libfabric prov/efa/src/rdm/efa_rdm_util.c:66-68
    abort = "FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no rdma-read capability.  Application will abort()."
    verdicts, _ = diagnose([abort])
    assert verdicts["LOG012"].status is Status.FAIL and "libfabric aborted" in verdicts["LOG012"].summary
    verdicts, _ = diagnose(["mpirun -x FI_EFA_USE_DEVICE_RDMA=1 -x NCCL_DEBUG=INFO ./all_reduce_perf"], "g5.48xlarge")
    assert verdicts["LOG012"].status is Status.FAIL and "g5.48xlarge, whose EFA has no RDMA read" in verdicts["LOG012"].summary
    verdicts, _ = diagnose(["mpirun -x FI_EFA_USE_DEVICE_RDMA=1 ./all_reduce_perf"], "p5.48xlarge")
    assert verdicts["LOG012"].status is Status.PASS


def test_tcp_folklore_says_what_the_variables_really_do():
    lines = [
        P + "NCCL_P2P_DISABLE set by environment to 1",  # nccl src/graph/paths.cc:252
        P + "NCCL_IB_DISABLE set by environment to 1.",  # nccl src/misc/param.cc:100
        USING_LIBFABRIC,
    ]
    verdicts, _ = diagnose(lines)
    summary = verdicts["LOG013"].summary
    assert verdicts["LOG013"].status is Status.WARN
    assert "NCCL_P2P_DISABLE=1 turns off NVLink/PCI peer-to-peer" in summary and "NCCL_IB_DISABLE=1 disables only" in summary
    assert "NCCL still used Libfabric on host ip-10-1-2-3, as these do not force TCP" in summary
    assert "NCCL_NET=Socket is the switch that forces TCP" in verdicts["LOG013"].fix.summary
    off, _ = diagnose([P + "NCCL_IB_DISABLE set by environment to 0.", USING_LIBFABRIC])
    assert off["LOG013"].status is Status.PASS


def test_minus_61_then_efa_selected_on_the_same_host_is_not_a_failure():
    lines = [W + "NET/OFI OFI fi_getinfo() call failed: No data available", PROVIDER_32, USING_LIBFABRIC]
    verdicts, _ = diagnose(lines)
    assert verdicts["LOG004"].status is Status.PASS and "the efa provider was then selected" in verdicts["LOG004"].summary


def test_minus_61_on_one_host_names_only_that_host():
    verdicts, ranking = diagnose([*HEALTHY, Q.replace("INFO", "WARN") + "NET/OFI OFI fi_getinfo() call failed: No data available"])
    assert verdicts["LOG004"].status is Status.FAIL and verdicts["LOG004"].observed == (Symptom.ENODATA,)
    assert "on host ip-10-1-2-4 (fi_getinfo -61" in verdicts["LOG004"].summary and "ip-10-1-2-3" not in verdicts["LOG004"].summary
    assert ranking.symptom is Symptom.ENODATA and ranking.causes[0].finding.check.id == "LOG004"


def test_fi_efa_iface_and_no_provider():
    # libfabric >= 2.0 efa_device.c:347-356 at FI_LOG_LEVEL=info
    iface = "libfabric:99:1700000000::efa:fabric:efa_device_list_initialize():352<info> Device rdmap16s27 filtered out by FI_EFA_IFACE"
    verdicts, _ = diagnose([iface])
    assert verdicts["LOG004"].status is Status.FAIL and "FI_EFA_IFACE" in verdicts["LOG004"].summary
    # "No eligible providers" is printed for one protocol; only giving up ends the plugin
    eligible = W + "NET/OFI No eligible providers were found"
    verdicts, _ = diagnose([eligible])
    assert verdicts["LOG004"].status is Status.SKIP
    verdicts, _ = diagnose([eligible, W + "NET/OFI Unable to find a protocol that worked.  Failing initialization."])
    assert verdicts["LOG004"].status is Status.FAIL and "no eligible provider" in verdicts["LOG004"].summary


def test_plugin_that_does_not_load_is_a_failure_even_without_an_expectation():
    enoent = "cannot open shared object file: No such file or directory"
    verdicts, _ = diagnose([P + f"NET/Plugin: libnccl-net.so: libfabric.so.1: {enoent}"])  # nccl plugin/plugin_open.cc:119
    assert verdicts["LOG003"].status is Status.FAIL and "could not load it" in verdicts["LOG003"].summary
    assert any("ldd" in c for c in verdicts["LOG003"].fix.commands)


def test_device_plugin_logs_per_pod():
    verdicts, _ = diagnose(
        [
            (
                "[pod/aws-efa-k8s-device-plugin-daemonset-9zlf7/aws-efa-k8s-device-plugin] 2026/02/03 15:23:32 "
                "Error to get IB device: %v. No valid EFA devices found"
            ),
            (
                "[pod/aws-efa-k8s-device-plugin-daemonset-5xzrf/aws-efa-k8s-device-plugin] 2024/03/13 22:16:00 "
                "device: rdmap79s0,uverbs0,/sys/class/infiniband_verbs/uverbs0,/sys/class/infiniband/rdmap79s0"
            ),
        ]
    )
    v = verdicts["LOG014"]
    assert v.status is Status.FAIL and "on host aws-efa-k8s-device-plugin-daemonset-9zlf7" in v.summary and "5xzrf" not in v.summary
    assert v.fix.commands == (
        (
            'efadoctor run --node "$(kubectl get pods -A --field-selector metadata.name=aws-efa-k8s-device-plugin-daemonset-9zlf7 '
            "-o jsonpath='{.items[0].spec.nodeName}')\""
        ),
    )


def test_fi_info_list_with_and_without_efa():
    with_efa, _ = diagnose(["efa:", "    version: 122.0", "tcp:", "    version: 122.0"])
    assert with_efa["LOG005"].status is Status.PASS
    # before libfabric 2.1 an unlisted efa may only mean "no device seen": not a verdict on the build
    older, _ = diagnose(["tcp:", "    version: 117.0"], "p5.48xlarge")
    assert older["LOG005"].status is Status.SKIP and older["LOG005"].unavailable and "before 2.1" in older["LOG005"].summary
    newer, _ = diagnose(["fi_info: 2.1.0", "libfabric: 2.1.0", "libfabric api: 2.1", "tcp:", "    version: 201.0"], "p5.48xlarge")
    assert newer["LOG005"].status is Status.FAIL and "although p5.48xlarge has up to 32 EFA interfaces" in newer["LOG005"].summary
    installer, _ = diagnose(["fi_info: 1.22.0amzn5.0", "libfabric: 1.22.0amzn5.0", "libfabric api: 1.22", "tcp:", "    version: 122.0"],
                            "p5.48xlarge")
    assert installer["LOG005"].status is Status.PASS
    not_needed, _ = diagnose(["tcp:", "    version: 117.0"], "m5.large")
    assert not_needed["LOG005"].status is Status.PASS


def test_pod_mode_fixes_name_the_pod_and_container():
    pod = pod_from_json(k.workload_pod("nccl-test-0", node_name="ip-10-0-1-10.ec2.internal", owner={"kind": "Job", "name": "nccl"}))
    container = pod.efa_container
    facts = parse_log_lines([W + "NET/OFI OFI fi_getinfo() call failed: No data available"], source="pods/log")
    verdict = CHECKS["LOG004"].evaluate(log_facts=facts, pod=pod, workload_container=container)
    assert verdict.fix.commands[0] == f"kubectl exec -n default nccl-test-0 -c {container.name} -- fi_info -p efa -t FI_EP_RDM"
    memlock = parse_log_lines(["Libfabric error: (-12) Cannot allocate memory"])
    verdict = CHECKS["LOG010"].evaluate(log_facts=memlock, pod=pod, workload_container=container)
    assert verdict.observed == (Symptom.MEMLOCK,)
    assert verdict.fix.commands[-1] == f"kubectl exec -n default nccl-test-0 -c {container.name} -- sh -c 'ulimit -l'"
    assert "IPC_LOCK" in verdict.fix.commands[0]
    nothing = parse_log_lines(["starting training", "epoch 1"])
    assert CHECKS["LOG001"].evaluate(log_facts=nothing, pod=pod).status is Status.SKIP  # not "unknown": the pod's checks decide
    assert CHECKS["LOG001"].evaluate(log_facts=nothing).unavailable


def test_every_log_check_runs_for_logs_and_pods_and_says_why_and_how():
    assert sorted(CHECKS) == [f"LOG{n:03d}" for n in range(1, 15)]
    for check in CHECKS.values():
        assert set(check.targets) == {"logs", "pod"}


# --------------------------------------------------------------------------------------------------
# Fuzzing: from stdin through the collectors, every check, the ranker and the report schema
# --------------------------------------------------------------------------------------------------

ANCHORS = [
    P, W, Q, "NET/OFI ", "NET/Plugin : No plugin found (libnccl-net.so)", "via NET/Libfabric/0", "/GDRDMA", "Using network ",
    "Socket", "Libfabric", "fi_getinfo: -61", "fi_getinfo() call failed: No data available", "provider: efa", "    fabric: efa",
    "Selected provider is efa, fabric is efa (found ", "4 nics)", "Running on p5.48xlarge platform", "Error 4126", "(-12) ",
    "Cannot allocate memory", "No valid EFA devices found", "device: rdmap1s0,uverbs0,", "[pod/a/b] ", "NCCL_NET=Socket",
    "FI_PROVIDER=tcp", "NCCL_IB_DISABLE set by environment to 1.", "GDR disabled on GDR-supported instance type p5.48xlarge",
    "efa:", "    version: 1.0", "\x00", "\xff", "\r", "\u2502 ",
]
TYPES = [None, "p5.48xlarge", "p4d.24xlarge", "g5.48xlarge", "m5.large", "x9.unknown"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.one_of(st.sampled_from(ANCHORS), st.text(max_size=8)), max_size=8).map("".join), max_size=25),
    st.sampled_from(TYPES),
)
def test_fuzz_stdin_through_collectors_checks_and_report_never_raises(lines, instance_type):
    data = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    options = Options(target="logs", paths=("-",), instance_type=instance_type)
    with mock.patch.object(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")):
        result = engine.run(LOG_CHECKS, REGISTRY.collectors, Context(options))
    errors = {f.check.id: f.verdict.summary for f in result.findings if f.verdict.status is Status.ERROR}
    assert not errors
    ranking = rank(result.findings)
    validate_report(build(target={"kind": "logs", "name": "-"}, findings=result.findings, ranking=ranking, api_calls={}, timings={}))
    failing = [f for f in result.findings if f.failing]
    assert all(f.verdict.fix is not None and f.verdict.fix.summary for f in failing)
