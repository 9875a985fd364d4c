"""The log parser against real logs (tests/data/logs, each with its SOURCE line), against lines rendered
from the printf formats of NCCL, aws-ofi-nccl and libfabric where no public log shows a version's
wording, and against anything at all (hypothesis): it must never raise and must keep hosts apart."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efadoctor.parsers import logs
from efadoctor.parsers.logs import (
    DEFAULT_MAX_EVIDENCE,
    MAX_HOSTS,
    MAX_LINE_CHARS,
    SIGNATURES,
    HostLogFacts,
    LogFacts,
    open_log,
    parse_log_files,
    parse_log_lines,
    summarize,
)

DATA = Path(__file__).parent / "data" / "logs"
SAMPLE_07 = DATA / "07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt"
SAMPLE_10 = DATA / "10_nccl_efa_ok_p4d_nccl2.9.9_aws-ofi-nccl_eks.txt"
SAMPLE_12 = DATA / "12_nccl_efa_ok_p4d_aws-ofi-nccl1.11_init_lines_issue715.txt"
SAMPLE_13 = DATA / "13_nccl_socket_fallback_no_plugin_nccl2.4.8_issue352.txt"
SAMPLE_15 = DATA / "15_libfabric_efa_memlock_-12_cannot_allocate_memory.txt"
SAMPLE_16 = DATA / "16_efa_security_group_unreachable_not_-61.txt"
SAMPLE_20 = DATA / "20_efa_device_plugin_logs_found_devices.txt"
SAMPLE_21 = DATA / "21_efa_device_plugin_logs_no_devices_crashloop.txt"

W0 = "nccl-tests-efa-16-worker-0"
W1 = "nccl-tests-efa-16-worker-1"


def parse(path: Path) -> LogFacts:
    facts = parse_log_files([path])
    assert facts.read_errors == ()
    return facts


def host(facts: LogFacts, name: str) -> HostLogFacts:
    found = facts.host(name)
    assert found is not None, f"no host {name!r} in {[h.host for h in facts.hosts]}"
    return found


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def errors_of(h: HostLogFacts) -> dict[tuple[str, int | None], int]:
    return {(e.kind, e.code): e.count for e in h.errors}


def sig_count(h: HostLogFacts, sig_id: str) -> int:
    hit = h.signature(sig_id)
    return hit.count if hit else 0


def without_evidence(value: Any) -> Any:
    """Facts with every evidence field removed: what must not depend on line order or file names."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: without_evidence(v) for k, v in value.items() if k != "evidence"}
    if isinstance(value, (list, tuple)):
        return [without_evidence(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# Real logs, one by one
# --------------------------------------------------------------------------------------------------


def test_sample_10_efa_success_p4d_old_plugin_wording() -> None:
    facts = parse(SAMPLE_10)
    assert [h.host for h in facts.hosts] == [W0, W1, "unknown"]
    assert facts.nccl_versions == ("2.9.9+cuda11.2",)
    w0 = host(facts, W0)
    assert (w0.network, w0.network_kind, w0.network_source) == ("AWS Libfabric", "AWS Libfabric", "printed")
    assert w0.plugin.outcome == "loaded"
    assert w0.plugin.evidence is not None and w0.plugin.evidence.line_no == 4  # first NET/OFI line
    assert w0.plugin.evidence.file == str(SAMPLE_10)
    assert w0.ofi.platforms == ("P4d",)
    assert w0.ofi.providers == ("efa",)
    assert w0.ofi.nic_counts == ()  # this plugin build printed no "(found N nics)"
    assert w0.bootstrap_interfaces == ("eth0",)
    assert [(n.network, n.gdrdma, n.plain) for n in w0.transports.net] == [("AWS Libfabric", 5, 0)]
    w1 = host(facts, W1)
    assert [(n.network, n.gdrdma, n.plain) for n in w1.transports.net] == [("AWS Libfabric", 2, 0)]
    assert w1.network is None  # its "Using network" line is not in the excerpt
    gdr = w0.signature("transport_net_gdrdma")
    assert gdr is not None and gdr.count == 5 and [e.line_no for e in gdr.evidence] == [11, 14, 15, 16, 17]
    assert facts.failure_signatures == ()
    assert summarize(facts) == "NCCL 2.9.9 over AWS Libfabric/efa, GDRDMA on all 7 NET channel connections (2 hosts)"


def test_sample_12_aws_ofi_nccl_1_11_init_lines_in_cloudwatch_framing() -> None:
    facts = parse(SAMPLE_12)
    assert [h.host for h in facts.hosts] == ["algo-1"]
    algo = host(facts, "algo-1")
    assert algo.ofi.versions == ("1.11.0-aws",)
    assert algo.ofi.platforms == ("p4d.24xlarge",)
    assert algo.ofi.protocols == ("SENDRECV",)
    assert algo.ofi.provider_filters == ("efa",)
    assert algo.plugin.outcome == "loaded"
    assert [(e.name, e.value, e.source) for e in algo.env] == [("FI_EFA_FORK_SAFE", "1", "plugin")]
    assert algo.matched_lines == 11  # every NET/OFI line proves the plugin is loaded
    assert algo.network is None
    assert "aws-ofi-nccl 1.11.0-aws" in summarize(facts)


def test_sample_13_socket_fallback_without_plugin() -> None:
    facts = parse(SAMPLE_13)
    ds = host(facts, "ds-ml-01-0")
    assert ds.plugin.outcome == "not_found"
    assert ds.plugin.evidence is not None and ds.plugin.evidence.line_no == 12
    assert ds.plugin.evidence.text.endswith("NET/Plugin : No plugin found (libnccl-net.so).")
    assert ds.ib_no_device is True
    assert ds.socket_interfaces == ("lo",)
    assert ds.bootstrap_interfaces == ("lo",)
    # NCCL 2.4 printed no "Using network": Socket is inferred from NET/Socket being initialised.
    assert (ds.networks, ds.network, ds.network_source) == ((), "Socket", "inferred")
    assert sig_count(ds, "nccl_plugin_missing") == 2  # one per rank
    assert facts.nccl_versions == ("2.4.8+cuda10.1",)
    assert "nccl_plugin_missing" in facts.failure_signatures
    assert summarize(facts) == "NCCL 2.4.8 over Socket (NET/Socket initialised), net plugin not found"


def test_sample_07_enodata_through_aws_ofi_nccl_and_libfabric_core() -> None:
    facts = parse(SAMPLE_07)
    warn_host = host(facts, "ip-172-31-3-90")
    assert errors_of(warn_host) == {("enodata", -61): 1}
    (error,) = warn_host.errors
    assert error.evidence[0].line_no == 7
    assert "NCCL WARN NET/OFI OFI fi_getinfo() call failed: No data available" in error.evidence[0].text
    assert warn_host.plugin.outcome == "loaded"  # the plugin printed the warning
    # "provider efa output empty list" (FI_LOG_LEVEL=warn) is the core's view of the same -61
    unknown = host(facts, "unknown")
    assert errors_of(unknown) == {("enodata", -61): 1}
    assert unknown.errors[0].evidence[0].line_no == 24
    assert facts.nccl_versions == ("2.21.5+cuda12.8",)
    # ip-10-36-29-253's only line (cudaDriverVersion) says nothing the facts keep
    assert facts.host("ip-10-36-29-253") is None


def test_sample_15_memlock_family() -> None:
    facts = parse(SAMPLE_15)
    (unknown,) = facts.hosts
    kinds = errors_of(unknown)
    assert set(kinds) == {("memlock", -12), ("memlock", 4112), ("memlock", None)}
    assert kinds[("memlock", 4112)] == 1
    assert {e.line_no for e in next(e for e in unknown.errors if e.code == 4112).evidence} == {9}
    assert "enodata" not in {k for k, _ in kinds}
    assert facts.failure_signatures == ("memlock",)


def test_sample_16_security_group_gives_unreachable_never_enodata() -> None:
    facts = parse(SAMPLE_16)
    (unknown,) = facts.hosts
    kinds = errors_of(unknown)
    assert kinds[("unreachable", 4126)] == 2  # the gardener report and libfabric's code table
    assert ("unreachable", 15) in kinds
    assert ("av_insert", None) in kinds  # aws-ofi-nccl#663's title
    assert not any(kind == "enodata" for kind, _ in kinds)  # A.0: a security group cannot cause -61
    first = next(e for e in unknown.errors if e.code == 4126).evidence[0]
    assert first.line_no == 3 and "Error 4126: Unresponsive receiver" in first.text


def test_sample_20_device_plugin_found_devices() -> None:
    facts = parse(SAMPLE_20)
    (unknown,) = facts.hosts
    dp = unknown.device_plugin
    assert [d.name for d in dp.devices] == [f"rdmap{n}s0" for n in (79, 80, 81, 82, 96, 97, 98)]
    assert [d.uverbs for d in dp.devices] == [f"uverbs{n}" for n in range(7)]
    assert (dp.fetching, dp.registered, dp.no_devices) == (3, 2, 0)
    assert dp.serving == ("/var/lib/kubelet/device-plugins/aws-efa-device-plugin.sock",)
    assert dp.topologies == ("8 GPUs and 32 EFAs", "16 Neurons and 8 EFAs")
    assert sig_count(unknown, "dp_device") == 13
    assert summarize(facts) == "device plugin found 7 EFA devices"


def test_sample_21_device_plugin_no_devices_in_k9s_frame() -> None:
    facts = parse(SAMPLE_21)
    (unknown,) = facts.hosts
    dp = unknown.device_plugin
    assert (dp.fetching, dp.no_devices, dp.devices) == (1, 1, ())
    assert facts.failure_signatures == ("dp_no_devices",)
    assert unknown.signature("dp_no_devices").evidence[0].text.startswith("\u2502 2026/02/03 15:23:32 Error to get IB device")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "01_fi_info_efa_ok_ec2-userguide_libfabric1x.txt",
            [("efa", "EFA-fe80::94:3dff:fe89:1b70", "efa_0-rdm", "2.0", "FI_EP_RDM")],
        ),
        (
            "02_fi_info_efa_ok_p3dn_libfabric1.14_issue107.txt",
            [
                ("efa", "EFA-fe80::da:b9ff:fe04:8af", "rdmap0s6-rdm", "114.10", "FI_EP_RDM"),
                ("efa", "EFA-fe80::da:b9ff:fe04:8af", "rdmap0s6-dgrm", "114.10", "FI_EP_DGRAM"),
            ],
        ),
        (
            "03_fi_info_efa_ok_2020_efa_ofi_rxd_issue5689.txt",
            [
                ("efa", "EFA-fe80::39:beff:fe6e:c23", "efa_0-rdm", "2.0", "FI_EP_RDM"),
                ("efa", "EFA-fe80::39:beff:fe6e:c23", "efa_0-dgrm", "2.0", "FI_EP_DGRAM"),
                ("efa;ofi_rxd", "EFA-fe80::39:beff:fe6e:c23", "efa_0-dgrm", "1.0", "FI_EP_RDM"),
            ],
        ),
        (
            "05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt",
            [("efa", "efa", "rdmap47s0-rdm", "122.0", "FI_EP_RDM"), ("efa", "efa", "rdmap47s0-dgrm", "122.0", "FI_EP_DGRAM")],
        ),
    ],
)
def test_pasted_fi_info_blocks(name: str, expected: list[tuple[str, ...]]) -> None:
    facts = parse(DATA / name)
    entries = [e for h in facts.hosts for e in h.fi_info.entries]
    assert [(e.provider, e.fabric, e.domain, e.version, e.ep_type) for e in entries] == expected
    assert all(e.protocol and e.protocol.startswith("FI_PROTO_") for e in entries)
    assert all(not h.errors for h in facts.hosts)


def test_fi_info_version_lines() -> None:
    fi = host(parse(DATA / "05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt"), "unknown").fi_info
    assert (fi.fi_info_versions, fi.libfabric_versions, fi.libfabric_apis) == (("1.22.0amzn5.0",), ("1.22.0amzn5.0",), ("1.22",))
    fi = host(parse(DATA / "local-fi_info-version.txt"), "unknown").fi_info
    assert (fi.fi_info_versions, fi.libfabric_versions, fi.libfabric_apis) == (("1.17.0",), ("1.17.0",), ("1.17",))


def test_fi_info_list_without_efa_debian_build() -> None:
    facts = parse(DATA / "local-fi_info-l.txt")
    listed = host(facts, "unknown").fi_info.listed_providers
    assert listed[:3] == ("psm2", "psm", "ofi_rxm") and len(listed) == 15
    assert "efa" not in listed
    assert summarize(facts) == "fi_info -l has no efa provider"


def test_fi_info_warn_level_other_providers_are_not_enodata_for_efa() -> None:
    unknown = host(parse(DATA / "local-fi_info-p-efa-FI_LOG_LEVEL-warn.txt"), "unknown")
    assert sig_count(unknown, "core_provider") == 3  # ofi_rxm, ofi_rxd, ofi_mrail returned -61
    assert errors_of(unknown) == {("enodata", -61): 1}  # only the final bare "fi_getinfo: -61"
    assert unknown.errors[0].evidence[0].line_no == 7


def test_every_reported_signature_is_documented() -> None:
    for path in sorted(DATA.glob("*.txt")):
        for h in parse(path).hosts:
            for hit in h.signatures:
                assert hit.id in SIGNATURES, (path.name, hit.id)
                assert 0 < len(hit.evidence) <= DEFAULT_MAX_EVIDENCE


# --------------------------------------------------------------------------------------------------
# Wordings by version, rendered from the printf formats where no public log shows them
# --------------------------------------------------------------------------------------------------

P = "ip-10-1-2-3:4242:4250 [0] NCCL INFO "
W = "ip-10-1-2-3:4242:4250 [0] net.cc:42 NCCL WARN "
ENOENT = "cannot open shared object file: No such file or directory"


@pytest.mark.parametrize(
    ("line", "outcome"),
    [
        # NVIDIA/nccl v2.12.12-1 src/net.cc:125
        (P + "NET/Plugin : No plugin found (libnccl-net.so), using internal implementation", "not_found"),
        # v2.17.1-1 src/net.cc:179
        (P + f"NET/Plugin : Plugin load (libnccl-net.so) returned 2 : libnccl-net.so: {ENOENT}", "not_found"),
        # v2.19.3-1 src/net.cc:231: the plugin exists but its libfabric does not; NCCL still says "No plugin found"
        (
            P + f"NET/Plugin : dlerror=libfabric.so.1: {ENOENT} No plugin found (libnccl-net.so), using internal implementation",
            "load_failed",
        ),
        # v2.21.5-1 src/net.cc:349/351
        (P + "NET/Plugin: No plugin found (libnccl-net.so)", "not_found"),
        (
            P + "NET/Plugin: Plugin load returned 13 : libnccl-net.so: undefined symbol: ncclNetPlugin_v8 "
            "when loading libnccl-net.so",
            "load_failed",
        ),
        # v2.22.3-1 src/net.cc:438
        (P + "NET/Plugin: Could not find: libnccl-net.so. Using internal network plugin.", "not_found"),
        # 5067397 src/plugin/plugin_open.cc:119 and :124
        (P + f"NET/Plugin: libnccl-net.so: libfabric.so.1: {ENOENT}", "load_failed"),
        (P + "NET/Plugin: Could not find: libnccl-net.so", "not_found"),
        # net_v9.cc:176; plugin/net.cc:186 and :208 (NCCL >= 2.27 / 2.28)
        (P + "NET/Plugin: Loaded net plugin Libfabric (v9)", "loaded"),
        (P + "Initialized NET plugin Libfabric", "loaded"),
        (P + "Failed to initialize NET plugin Libfabric", "init_failed"),
        # aws-ofi-nccl: "Initializing " PACKAGE_STRING (1.7+), "Using " PACKAGE_STRING (1.5)
        (P + "NET/OFI Initializing aws-ofi-nccl 1.14.0", "loaded"),
        (P + "NET/OFI Using aws-ofi-nccl 1.5.0-aws", "loaded"),
        (W + "NET/OFI aws-ofi-nccl initialization failed", "init_failed"),
        (W + "NET/OFI Unable to find a protocol that worked.  Failing initialization.", "init_failed"),
        (W + "NET/OFI Couldn't find any optimal provider", "init_failed"),
    ],
)
def test_plugin_outcome_by_version(line: str, outcome: str) -> None:
    (h,) = parse_log_lines([line]).hosts
    assert h.host == "ip-10-1-2-3"
    assert h.plugin.outcome == outcome
    assert h.plugin.evidence is not None and h.plugin.evidence.text == line


def test_internal_transport_failing_to_initialise_is_not_a_plugin_failure() -> None:
    # NCCL 2.28 initialises its own IB transport like a plugin; on an EFA node it has no device
    h = parse_log_lines([P + "Failed to initialize NET plugin IB", P + "Initialized NET plugin Libfabric"]).hosts[0]
    assert h.plugin.outcome == "loaded" and h.plugin.name == "Libfabric"
    assert h.plugin.outcomes_seen == ("loaded",)


def test_loaded_wins_over_an_earlier_failed_library_name() -> None:
    lines = [
        P + f"NET/Plugin: Plugin load returned 2 : libnccl-net-ofi.so: {ENOENT} when loading libnccl-net-ofi.so",
        P + "NET/Plugin: Loaded net plugin Libfabric (v8)",
    ]
    plugin = parse_log_lines(lines).hosts[0].plugin
    assert (plugin.outcome, plugin.outcomes_seen, plugin.name) == ("loaded", ("loaded", "not_found"), "Libfabric")


def test_provider_lines_old_and_v1_14() -> None:
    facts = parse_log_lines(
        [
            # aws-ofi-nccl v1.7.4-aws "Selected Provider is %s (found %d nics)"
            "a:1:1 [0] NCCL INFO NET/OFI Selected Provider is efa (found 4 nics)",
            # v1.14.0 "Selected provider is %s, fabric is %s (found %d nics)"
            "b:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa-direct (found 32 nics)",
            "b:1:1 [0] NCCL INFO NET/OFI Running on p5.48xlarge platform, topology file "
            "/opt/amazon/ofi-nccl/share/aws-ofi-nccl/xml/p5.48xl-topo.xml",
            "b:1:1 [0] NCCL INFO NET/OFI Using transport protocol RDMA (platform set)",
            "b:1:1 [0] NCCL INFO NET/OFI Support for DMA-BUF registrations: false",
            "b:1:1 [0] NCCL INFO Using network Libfabric",
        ]
    )
    a, b = host(facts, "a"), host(facts, "b")
    assert (a.ofi.providers, a.ofi.fabrics, a.ofi.nic_counts) == (("efa",), (), (4,))
    assert (b.ofi.providers, b.ofi.fabrics, b.ofi.nic_counts) == (("efa",), ("efa-direct",), (32,))
    assert (b.ofi.platforms, b.ofi.protocols, b.ofi.dmabuf) == (("p5.48xlarge",), ("RDMA",), (False,))
    assert (b.network, b.network_kind) == ("Libfabric", "Libfabric")


def test_summary_of_a_modern_efa_run() -> None:
    facts = parse_log_lines(
        [
            "NCCL version 2.18.5+cuda12.2",
            P + "NET/OFI Initializing aws-ofi-nccl 1.14.0",
            P + "NET/OFI Selected provider is efa, fabric is efa (found 32 nics)",
            P + "Using network Libfabric",
            P + "Channel 00/0 : 0[0] -> 8[0] [send] via NET/Libfabric/0/GDRDMA",
            P + "Channel 00/0 : 8[0] -> 0[0] [receive] via NET/Libfabric/0/GDRDMA",
        ]
    )
    assert summarize(facts) == "NCCL 2.18.5 over Libfabric/efa, 32 NICs, GDRDMA on all 2 NET channel connections, aws-ofi-nccl 1.14.0"


@pytest.mark.parametrize(
    ("line", "net", "gdr"),
    [
        (P + "Channel 00/0 : 1[1] -> 9[1] [send] via NET/Libfabric/1/GDRDMA", "Libfabric", True),
        (P + "Channel 03/0 : 9[1] -> 1[1] [receive] via NET/Libfabric/1/GDRDMA/Shared", "Libfabric", True),
        (P + "Channel 01/1 : 2[2] -> 10[2] [send] via NET/Libfabric/2(3)/GDRDMA(PCI)", "Libfabric", True),
        (P + "Channel 00/0 : 1[1] -> 9[1] [send] via NET/Socket/0", "Socket", False),
        (P + "Channel 00 : 1[101d0] -> 8[101c0] [send] via NET/AWS Libfabric/1", "AWS Libfabric", False),
    ],
)
def test_channel_transports(line: str, net: str, gdr: bool) -> None:
    (h,) = parse_log_lines([line]).hosts
    assert [(n.network, n.gdrdma, n.plain) for n in h.transports.net] == [(net, int(gdr), int(not gdr))]


def test_intra_node_transports_are_counted_apart() -> None:
    h = parse_log_lines(
        [
            P + "Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM/read",  # 5067397 src/transport/p2p.cc:423
            P + "Channel 00 : 0[0] -> 1[1] via SHM/direct/direct",  # src/transport/shm.cc:116
            P + "Channel 00/0 : 0[0] -> 1[1] via P2P/IPC",
        ]
    ).hosts[0]
    assert (h.transports.p2p, h.transports.shm, h.transports.net) == (2, 1, ())


def test_env_echoes_and_the_p2p_ib_disable_folklore() -> None:
    h = parse_log_lines(
        [
            P + "NCCL_P2P_DISABLE set by environment to 1",  # src/graph/paths.cc:252 (no period)
            P + "NCCL_IB_DISABLE set by environment to 1.",  # src/misc/param.cc:100 ("%lld.")
            P + "NCCL_NET_PLUGIN set by environment to ofi",  # src/plugin/net.cc:265
            P + "Using network Libfabric",
        ]
    ).hosts[0]
    assert [(e.name, e.value, e.source) for e in h.env] == [
        ("NCCL_P2P_DISABLE", "1", "nccl"),
        ("NCCL_IB_DISABLE", "1", "nccl"),
        ("NCCL_NET_PLUGIN", "ofi", "nccl"),
    ]
    # neither variable forces TCP: with aws-ofi-nccl loaded NCCL still says Libfabric
    assert h.network_kind == "Libfabric"
    assert h.env_value("NCCL_IB_DISABLE") == "1" and h.env_value("FI_PROVIDER") is None


def test_env_assignments_in_dumps_and_command_lines() -> None:
    lines = ["NCCL_NET=Socket", "FI_PROVIDER=efa", "mpirun -x FI_EFA_USE_DEVICE_RDMA=1 -x NCCL_DEBUG=INFO ./all_reduce_perf"]
    env = {(e.name, e.value) for e in host(parse_log_lines(lines), "unknown").env if e.source == "assignment"}
    assert env == {("NCCL_NET", "Socket"), ("FI_PROVIDER", "efa"), ("FI_EFA_USE_DEVICE_RDMA", "1")}


def test_gdr_messages() -> None:
    facts = parse_log_lines(
        [
            W + "NET/OFI GDR disabled on GDR-supported instance type p5.48xlarge",  # platform-aws.cpp:819
            # libfabric prov/efa/src/rdm/efa_rdm_util.c:66-68
            "FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no rdma-read capability.  Application will abort().",
            # libfabric 8ecf56a52 prov/efa/src/rxr/rxr_init.c:391, in the FI_LOG_LEVEL=warn frame
            "libfabric:1234:1650000000::efa:core:rxr_info_to_rxr():391<warn> "
            "FI_HMEM capability requires RDMA, which this device does not support.",
            P + "NET/Libfabric : GPU Direct RDMA Disabled for HCA 0 'rdmap16s27'",  # src/graph/topo.cc (v2.18.5-1:643)
        ]
    )
    gdr = {(g.kind, g.detail) for h in facts.hosts for g in h.gdr}
    assert gdr == {
        ("gdr_required_fail", "p5.48xlarge"),
        ("gdr_forced_abort", "no rdma-read capability"),
        ("fi_hmem_no_rdma", "this device does not support"),
        ("nccl_gdr_disabled", "rdmap16s27"),
    }
    assert {"gdr_required_fail", "gdr_forced_abort"} <= set(facts.failure_signatures)


def test_libfabric_errors_by_version() -> None:
    facts = parse_log_lines(
        [
            "fi_getinfo: -61 (No data available)",  # libfabric >= 1.19 util/info.c
            "fi_getinfo: -2 (No such file or directory)",
            "libfabric:99:1700000000::efa:fabric:efa_device_list_initialize():352<info> "
            "Device rdmap16s27 filtered out by FI_EFA_IFACE",
            W + "NET/OFI No eligible providers were found",
            W + "NET/OFI Only EFA provider is supported",
            "libibverbs: Warning: RLIMIT_MEMLOCK is 65536 bytes.",
            # aws-ofi-nccl 5067397 platform-aws.cpp:1047 and its banner line
            W + "NET/OFI Request 0x7f00 (send) completed with error: err: 113, flags: 0, prov_errno: 4126, "
            "strerror: Unresponsive receiver (reachable by EFA device but handshake failed), len: 0",
            "* This error indicates that the security group on either this instance or the peer instance",
            "EFA internal error: (4124) Unresponsive receiver (connection previously established)",
        ]
    )
    kinds = errors_of(host(facts, "unknown"))
    assert kinds == {
        ("enodata", -61): 1,
        ("getinfo_error", -2): 1,
        ("efa_iface_filtered", None): 1,
        ("memlock", None): 1,
        ("unreachable", None): 1,
        ("unresponsive", 4124): 1,
    }
    warned = errors_of(host(facts, "ip-10-1-2-3"))
    assert warned == {("no_provider", None): 1, ("efa_only_provider", None): 1, ("unreachable", 4126): 1}
    assert host(facts, "ip-10-1-2-3").plugin.outcome == "loaded"  # "No eligible providers" alone is not fatal


def test_error_numbers_that_are_not_efa_codes_are_ignored() -> None:
    facts = parse_log_lines(
        ["ip-1:1:1 [0] misc/ibvwrap.cc:1 NCCL WARN Call to ibv_reg_mr failed with error 13", "Error: 15 items", "pid 4126 exited"]
    )
    assert all(not h.errors for h in facts.hosts)


# --------------------------------------------------------------------------------------------------
# Hosts and framing
# --------------------------------------------------------------------------------------------------


def test_two_hosts_interleaved_socket_and_libfabric() -> None:
    socket_lines, efa_lines = lines_of(SAMPLE_13), lines_of(SAMPLE_10)
    mixed = [line for pair in zip(socket_lines, efa_lines) for line in pair]
    mixed += socket_lines[len(efa_lines) :] + efa_lines[len(socket_lines) :]
    facts = parse_log_lines(mixed)
    ds, w0 = host(facts, "ds-ml-01-0"), host(facts, W0)
    assert (ds.network_kind, ds.plugin.outcome) == ("Socket", "not_found")
    assert (w0.network_kind, w0.plugin.outcome) == ("AWS Libfabric", "loaded")
    assert ds.transports.net == () and w0.transports.gdrdma_total == 5
    assert set(facts.nccl_versions) == {"2.4.8+cuda10.1", "2.9.9+cuda11.2"}
    summary = summarize(facts)
    assert "mixed networks" in summary and "ds-ml-01-0 Socket" in summary and f"{W0} AWS Libfabric/efa" in summary
    # each host's facts are those of its own file alone
    alone = {**{h.host: h for h in parse(SAMPLE_13).hosts}, **{h.host: h for h in parse(SAMPLE_10).hosts}}
    for name in ("ds-ml-01-0", W0, W1):
        assert without_evidence(host(facts, name)) == without_evidence(alone[name])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_any_interleaving_keeps_per_host_facts(rng: random.Random) -> None:
    streams = [lines_of(SAMPLE_13), lines_of(SAMPLE_10), lines_of(SAMPLE_12)]
    cursors = [0, 0, 0]
    merged: list[str] = []
    while any(c < len(s) for c, s in zip(cursors, streams)):
        i = rng.choice([i for i, s in enumerate(streams) if cursors[i] < len(s)])
        merged.append(streams[i][cursors[i]])
        cursors[i] += 1
    facts = parse_log_lines(merged)
    for name, path in (("ds-ml-01-0", SAMPLE_13), (W0, SAMPLE_10), ("algo-1", SAMPLE_12)):
        assert without_evidence(host(facts, name)) == without_evidence(host(parse(path), name))


FRAMES = [
    "",
    "2024-01-01T00:00:00.000000000Z stdout F ",  # CRI log file on the node
    "[pod/nccl-tests-worker-0/worker] ",  # kubectl logs --prefix
    "[pod/nccl-tests-worker-0/worker] 2024-01-01T00:00:00.123Z stdout F ",
    "  | 2024-11-28T07:42:11.526Z | ",  # CloudWatch console
    "[2025-10-16 22:16:08] ",  # NCCL_DEBUG_TIMESTAMP_FORMAT default
    "[1,3]<stdout>:",  # mpirun --tag-output
]


@pytest.mark.parametrize("frame", FRAMES)
def test_nccl_lines_under_any_framing(frame: str) -> None:
    body = [line.split("<stdout>:", 1)[1] for line in lines_of(SAMPLE_10) if f"{W0}:" in line]
    facts = parse_log_lines(frame + line for line in body)
    w0 = host(facts, W0)
    assert (w0.network, w0.plugin.outcome, w0.ofi.providers) == ("AWS Libfabric", "loaded", ("efa",))
    assert w0.transports.gdrdma_total == 5
    assert [h.host for h in facts.hosts] == [W0]


@pytest.mark.parametrize("frame", FRAMES)
def test_bare_lines_under_any_framing(frame: str) -> None:
    bare = ["fi_getinfo: -61", "provider: efa", "    fabric: efa", "2024/02/27 23:34:55 Fetching EFA devices."]
    facts = parse_log_lines(frame + line for line in bare)
    (h,) = facts.hosts
    assert h.host == ("nccl-tests-worker-0" if frame.startswith("[pod/") else "unknown")
    assert errors_of(h) == {("enodata", -61): 1}
    assert [(e.provider, e.fabric) for e in h.fi_info.entries] == [("efa", "efa")]
    assert h.device_plugin.fetching == 1


def test_device_plugin_pods_are_kept_apart_by_kubectl_prefix() -> None:
    facts = parse_log_lines(
        [
            "[pod/aws-efa-k8s-device-plugin-daemonset-5xzrf/aws-efa-k8s-device-plugin] 2024/03/13 22:16:00 "
            "device: rdmap79s0,uverbs0,/sys/class/infiniband_verbs/uverbs0,/sys/class/infiniband/rdmap79s0",
            "[pod/aws-efa-k8s-device-plugin-daemonset-9zlf7/aws-efa-k8s-device-plugin] 2026/02/03 15:23:32 "
            "Error to get IB device: %v. No valid EFA devices found",
        ]
    )
    assert host(facts, "aws-efa-k8s-device-plugin-daemonset-5xzrf").device_plugin.devices[0].name == "rdmap79s0"
    assert host(facts, "aws-efa-k8s-device-plugin-daemonset-9zlf7").device_plugin.no_devices == 1


def test_too_many_hosts_are_pooled() -> None:
    facts = parse_log_lines(f"host-{i}:1:1 [0] NCCL INFO Using network Socket" for i in range(MAX_HOSTS + 20))
    assert facts.hosts_overflowed
    assert len(facts.hosts) == MAX_HOSTS + 1
    assert host(facts, logs.OVERFLOW_HOST).networks[0].count == 20


# --------------------------------------------------------------------------------------------------
# Bad and odd input: never raise, stay bounded
# --------------------------------------------------------------------------------------------------

ANCHORS = [
    "NCCL INFO ", "NCCL WARN ", "NET/OFI ", "NET/Plugin", "via NET/", "/GDRDMA", "Using network ", "fi_getinfo: -",
    "provider: ", "    fabric: ", "set by environment to ", "NCCL version ", "Selected provider is ", "(found ",
    "Error 4126", "prov_errno: ", "[pod/", "device: ", "uverbs", "FI_PROVIDER=", ":", " [0] ", "\u2502", "\r", "\x00",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from(ANCHORS), st.text(max_size=12)), max_size=12).map("".join), max_size=30))
def test_fuzz_lines_built_from_anchor_words_never_raise(lines: list[str]) -> None:
    facts = parse_log_lines(lines)
    assert facts.lines == len(lines)
    json.dumps(facts.to_dict())
    summarize(facts)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=20))
def test_fuzz_arbitrary_text_never_raises(lines: list[str]) -> None:
    facts = parse_log_lines(lines)
    assert facts.lines == len(lines)
    summarize(facts)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000))
def test_fuzz_arbitrary_bytes_as_a_stream_never_raise(data: bytes) -> None:
    facts = parse_log_files(io.BytesIO(data))
    # only bytes that claim to be gzip (magic 1f 8b) and are not can fail, and then as a ReadError
    assert facts.read_errors == () or (data[:2] == b"\x1f\x8b" and len(facts.read_errors) == 1)
    summarize(facts)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    facts = parse_log_files([empty])
    assert (facts.lines, facts.hosts, facts.read_errors, facts.files) == (0, (), (), (str(empty),))
    assert summarize(facts) == "no NCCL, libfabric or EFA device-plugin lines recognised (0 lines read)"


def test_binary_file_with_a_real_line_inside(tmp_path: Path) -> None:
    rng = random.Random(5)
    noise = bytes(rng.randrange(256) for _ in range(50_000))
    path = tmp_path / "core.bin"
    real = "ds-ml-01-0:17754:17754 [0] NCCL INFO NET/Plugin : No plugin found (libnccl-net.so).".encode()
    path.write_bytes(noise + b"\n" + real + b"\n\xff\xfe\x00" + noise)
    facts = parse_log_files([path])
    assert facts.read_errors == ()
    assert host(facts, "ds-ml-01-0").plugin.outcome == "not_found"


def test_gzip_file_gives_the_same_facts_and_a_truncated_one_an_error(tmp_path: Path) -> None:
    packed = tmp_path / "nccl.log.gz"
    packed.write_bytes(gzip.compress(SAMPLE_10.read_bytes()))
    plain = parse(SAMPLE_10)
    facts = parse_log_files([packed])
    assert facts.read_errors == ()
    assert without_evidence(facts.hosts) == without_evidence(plain.hosts)
    assert list(open_log(packed)) == lines_of(SAMPLE_10)
    big = ("\n".join(lines_of(SAMPLE_10)) + "\n") * 400
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(big.encode())[:-40])
    facts = parse_log_files([cut])
    assert len(facts.read_errors) == 1 and facts.read_errors[0].file == str(cut)
    assert facts.lines > 0 and host(facts, W0).transports.gdrdma_total > 0  # what was read is kept


def test_missing_file_is_a_read_error_not_an_exception(tmp_path: Path) -> None:
    facts = parse_log_files([tmp_path / "nope.log", SAMPLE_13])
    assert [e.file for e in facts.read_errors] == [str(tmp_path / "nope.log")]
    assert host(facts, "ds-ml-01-0").plugin.outcome == "not_found"
    with pytest.raises(OSError):
        open_log(tmp_path / "nope.log")


def test_streams_text_bytes_and_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = SAMPLE_13.read_bytes()
    expected = without_evidence(parse(SAMPLE_13).hosts)
    assert without_evidence(parse_log_files(io.BytesIO(data)).hosts) == expected
    assert without_evidence(parse_log_files([io.StringIO(data.decode())]).hosts) == expected
    assert without_evidence(parse_log_files(io.BytesIO(gzip.compress(data))).hosts) == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    facts = parse_log_files(["-"])
    assert facts.files == ("<stdin>",) and without_evidence(facts.hosts) == expected
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert list(open_log("-")) == lines_of(SAMPLE_13)


def test_crlf_and_lone_cr_end_lines() -> None:
    text = "\n".join(lines_of(SAMPLE_13))
    expected = without_evidence(parse(SAMPLE_13).hosts)
    assert without_evidence(parse_log_files(io.BytesIO(text.replace("\n", "\r\n").encode())).hosts) == expected
    assert without_evidence(parse_log_files(io.BytesIO(text.replace("\n", "\r").encode())).hosts) == expected


def test_huge_lines_are_cut_and_the_next_line_still_counts(tmp_path: Path) -> None:
    path = tmp_path / "huge.log"
    with path.open("w") as out:
        out.write("fi_getinfo: -61" + " x" * 3_000_000 + "\n")  # 6 MB, no newline inside
        out.write("y" * 5_000_000)  # and a 5 MB tail without a newline before the next line
        out.write("\nds-ml-01-0:1:1 [0] NCCL INFO NET/IB : No device found.\n")
    facts = parse_log_files([path])
    assert facts.lines == 3 and facts.truncated_lines == 2
    assert host(facts, "ds-ml-01-0").ib_no_device
    assert all(len(line) <= MAX_LINE_CHARS + 1 for line in open_log(path))
    assert parse_log_lines(["z" * (MAX_LINE_CHARS * 3)]).truncated_lines == 1


def test_evidence_stays_bounded_and_counts_do_not() -> None:
    failed = P + "NET/OFI OFI fi_getinfo() call failed: No data available"
    channel = P + "Channel 00/0 : 1[1] -> 9[1] [send] via NET/Libfabric/1/GDRDMA"
    facts = parse_log_lines([failed] * 1000 + [channel] * 1000)
    h = host(facts, "ip-10-1-2-3")
    assert h.errors[0].count == 1000 and len(h.errors[0].evidence) == DEFAULT_MAX_EVIDENCE
    assert [e.line_no for e in h.signature("transport_net_gdrdma").evidence] == [1001, 1002, 1003, 1004, 1005]
    assert parse_log_lines(["fi_getinfo: -61"] * 9, max_evidence=2).hosts[0].errors[0].evidence[-1].line_no == 2


def test_files_are_named_and_numbered_separately(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text("noise\nfi_getinfo: -61\n")
    second.write_text("fi_getinfo: -61\n")
    (error,) = parse_log_files([first, second]).hosts[0].errors
    assert [(e.file, e.line_no) for e in error.evidence] == [(str(first), 2), (str(second), 1)]


def test_facts_are_json_ready() -> None:
    facts = parse_log_files(sorted(DATA.glob("*.txt")))
    decoded = json.loads(json.dumps(facts.to_dict()))
    assert {h["host"] for h in decoded["hosts"]} >= {W0, "ds-ml-01-0", "algo-1", "ip-172-31-3-90", "unknown"}
    assert decoded["lines"] == sum(len(lines_of(p)) for p in sorted(DATA.glob("*.txt")))


def test_pathological_lines_stay_fast() -> None:
    """No regex may go quadratic on a line of MAX_LINE_CHARS (each case takes well under 1 ms)."""
    n = MAX_LINE_CHARS
    cases = [
        "a" * (n - 40) + " [0] NCCL INFO NET/OFI Selected provider is efa",  # a huge host token
        "h:1:1 [0] NCCL INFO NET/Plugin : Plugin load returned 2 : " + "a" * (n - 200) + " cannot open shared object file",
        "h:1:1 [0] NCCL INFO NET/Plugin : dlerror=" + "x" * (n - 60),
        "Starting to serve on " + "a" * (n - 60) + " aws-efa-device-plugin.sock",
        (":" + " " * 50 + "x") * (n // 52),
        "fi_getinfo: provider " + "a" * (n - 30),
        "NCCL_NET=" + "a." * (n // 2 - 10),
        "/" * (n - 30) + "fi_info: 1.2.3",
        "a" * (n - 2) + ":",
        "Error: 4" * (n // 8),
    ]
    start = time.perf_counter()
    parse_log_lines(cases * 20)
    assert time.perf_counter() - start < 2.0


def test_importing_the_parser_stays_light() -> None:
    heavy = "('boto3', 'botocore', 'kubernetes', 'rich')"
    code = f"import sys, efadoctor.parsers.logs; print(sorted(m for m in {heavy} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
