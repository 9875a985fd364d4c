"""parse_probe: typed facts from the probe's sectioned output, and no exception on any input.

Section bodies that stand for fi_info and ls come from tests/data/samples (copied verbatim, framing
removed at read time). Bodies the samples do not have (an `ls -la` of a real /dev/infiniband, sysfs
listings, df) are written here in the exact format of the tool that prints them and say so. The
probe's own lines (tools, identity, env, libs) are in the format probe.sh prints. The last tests run
the real script and cut its output at every offset.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import textwrap
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efadoctor.parsers.probe_output import EXPECTED_SECTIONS, ProbeReport, parse_probe
from efadoctor.probe import MAX_OUTPUT_BYTES, load_script
from tests.samples import commented_example, local_capture, sample


def ls_capture(command: str) -> tuple[str, int, str]:
    """From local-ls-infiniband.txt: (output, exit code) of one '## $ command' block."""
    lines = sample("local-ls-infiniband.txt").splitlines()
    start = lines.index(f"## $ {command}") + 1
    body = []
    for line in lines[start:]:
        code = re.match(r"## exit code: (\d+)", line)
        if code:
            return "\n".join(body), int(code.group(1)), "local-ls-infiniband.txt"
        body.append(line)
    raise AssertionError(command)


def transcript(*sections: tuple[str, str, int | None], header: bool = True, done: bool = True) -> str:
    """Probe output in the v1 format; rc None leaves the section without its end marker."""
    out = ["EFADOCTOR-PROBE v1"] if header else []
    for name, body, rc in sections:
        out.append(f"@@begin {name}")
        out.extend(body.splitlines())
        if rc is not None:
            out.append(f"@@end {name} rc={rc}")
    if done:
        out.append("@@done")
    return "\n".join(out) + "\n"


def tools(fi_info: str = "/opt/amazon/efa/bin/fi_info", pingpong: str = "/opt/amazon/efa/bin/fi_pingpong") -> tuple[str, str, int]:
    body = f"fi_info={fi_info}\nfi_pingpong={pingpong}\ntimeout=/usr/bin/timeout\nfi_info_used={fi_info}\nfi_pingpong_used={pingpong}\ntimeout_form=timeout -k 1 5"
    return ("tools", body, 0)


# /proc/meminfo lines as the kernel prints them ("%-15s %8lu" style), values made up.
MEMINFO = "HugePages_Total:    5128\nHugePages_Free:     5128\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB"
# `df -kP /dev/shm` as GNU coreutils prints it; the size is made up.
DF = "Filesystem     1024-blocks  Used Available Capacity Mounted on\nshm                  65536     0     65536       0% /dev/shm"
# `ls -la /dev/infiniband/` in GNU ls format (device numbers as on a Linux host: uverbs 231,192; rdma_cm 10,x).
LS_DEV = textwrap.dedent(
    """\
    total 0
    drwxr-xr-x  2 root root      80 Nov 29 03:10 .
    drwxr-xr-x 16 root root    3400 Nov 29 03:10 ..
    crw-rw-rw-  1 root root 231, 192 Nov 29 03:10 uverbs0
    crw-rw-rw-  1 root root  10, 58 Nov 29 03:10 rdma_cm"""
)


# The capabilities section as probe.sh prints it: /proc/self/status lines (fs/proc/array.c, a tab after the
# colon), then /proc/self/uid_map lines behind "uid_map: " (kernel format "%10u %10u %10u"). This one: a
# uid-1000 process in a container whose spec added IPC_LOCK to containerd's defaults (in the bounding set only).
CAPS_NON_ROOT = "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80465fb\nuid_map:          0          0 4294967295"


def healthy() -> str:
    """An EFA container: fi_info from sample 05 (libfabric 1.22.0amzn5.0 on m6i.metal), the rest as described above."""
    name = "05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt"
    return transcript(
        tools(),
        ("identity", "uid=1000", 0),
        ("dev_infiniband", LS_DEV, 0),
        ("sys_infiniband", "rdmap47s0 driver=efa", 0),
        ("sys_infiniband_verbs", "uverbs0 ibdev=rdmap47s0", 0),
        ("memlock", "unlimited", 0),
        ("capabilities", CAPS_NON_ROOT, 0),
        ("hugepages", MEMINFO, 0),
        ("shm", DF, 0),
        ("env", "FI_EFA_USE_DEVICE_RDMA=1\nLD_LIBRARY_PATH=/opt/amazon/efa/lib:/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu\nNCCL_DEBUG=INFO", 0),
        ("libs", "/opt/amazon/efa/lib/libfabric.so.1\n/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu/libnccl-net-ofi.so\n/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu/libnccl-net.so", 0),
        # The first three lines as efa_installer.sh write_package_file() prints them; the version is made up.
        ("efa_installed_packages", "# EFA installer version: 1.38.0\n# Debug packages installed: no\n# Packages installed:", 0),
        ("fi_info_version", commented_example(name, 1), 0),
        # Built in util/info.c's format; no `fi_info -l` from an EFA host is stored.
        ("fi_info_list", "efa:\n    version: 122.0\nshm:\n    version: 122.0", 0),
        ("fi_info_efa", commented_example(name, 0), 0),
        ("fi_info_efa_stderr", "", 0),
    )


def debian() -> str:
    """Debian bookworm with libfabric-bin 1.17.0-3 and no EFA: every body from the local captures."""
    version, _ = local_capture("local-fi_info-version.txt")
    listing, _ = local_capture("local-fi_info-l.txt")
    stderr, code = local_capture("local-fi_info-p-efa.txt")
    ls_out, ls_code, _ = ls_capture("ls /dev/infiniband")
    sys_out, sys_code, _ = ls_capture("ls /sys/class/infiniband")
    memlock, _, _ = ls_capture("ulimit -l")
    return transcript(
        tools("/usr/bin/fi_info", "/usr/bin/fi_pingpong"),
        ("identity", "uid=0\nuser=root", 0),
        ("dev_infiniband", ls_out, ls_code),
        ("sys_infiniband", sys_out, sys_code),
        ("memlock", memlock, 0),
        ("fi_info_version", version, 0),
        ("fi_info_list", listing, 0),
        ("fi_info_efa", "", code),
        ("fi_info_efa_stderr", stderr, code),
    )


def as_json(report: ProbeReport) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(report)))


# ---- whole reports ----------------------------------------------------------------------------


def test_healthy_container():
    report = parse_probe(healthy())
    assert report.probe_version == 1
    assert report.fi_info_present.value is True
    assert report.fi_info_path.value == "/opt/amazon/efa/bin/fi_info"
    assert report.fi_info_version.value.libfabric == "1.22.0amzn5.0"
    assert report.efa_provider_listed.value is True
    assert report.efa_provider_compiled_in.value is True
    result = report.fi_info_efa.value
    assert result.ok and result.devices == ("rdmap47s0",) and result.fabrics == ("efa",)
    assert [str(e) for e in report.fi_info_efa.evidence] == ["fi_info_efa:1: provider: efa", "fi_info_efa:7: provider: efa"]
    assert report.dev_infiniband_present.value is True
    assert report.uverbs_devices.value == ("uverbs0",)
    assert str(report.uverbs_devices.evidence[0]).endswith("Nov 29 03:10 uverbs0")
    assert report.rdma_cm_present.value is True
    assert report.sysfs_devices.value == ("rdmap47s0",)
    assert report.sysfs_efa_devices.value == ("rdmap47s0",)
    assert report.sysfs_verbs.value == (("uverbs0", "rdmap47s0"),)
    assert report.memlock_kib.value == "unlimited"
    assert (report.hugepages_total.value, report.hugepages_free.value, report.hugepage_size_kib.value) == (5128, 5128, 2048)
    assert report.shm_bytes.value == 65536 * 1024
    assert report.env.value["FI_EFA_USE_DEVICE_RDMA"] == "1"
    assert str(report.env_var("FI_EFA_USE_DEVICE_RDMA").evidence[0]) == "env:1: FI_EFA_USE_DEVICE_RDMA=1"
    assert report.env_var("FI_PROVIDER").value is None and report.env_var("FI_PROVIDER").note == "FI_PROVIDER is not set"
    assert report.aws_ofi_nccl_plugin.value is True
    assert len(report.nccl_net_plugins.value) == 2
    assert report.efa_installed_packages_file.value is True
    assert report.efa_installer_version.value == "1.38.0"
    assert report.fi_pingpong_present.value is True
    assert report.uid.value == 1000 and report.user.value is None
    assert report.cap_ipc_lock.value is False and report.cap_ipc_lock_bounding.value is True
    assert str(report.cap_ipc_lock.evidence[0]) == "capabilities:2: CapEff:\t0000000000000000"
    assert report.user_namespace.value is False
    assert report.missing_sections == ()
    assert report.complete, report.notes
    as_json(report)


def test_debian_libfabric_without_efa():
    report = parse_probe(debian())
    assert report.fi_info_present.value is True
    assert report.fi_info_version.value.release == (1, 17, 0)
    assert report.fi_info_providers.value.has_efa is False
    assert report.efa_provider_listed.value is False
    # Before libfabric 2.1.0 an unlisted efa may only mean "no device": undecided, and the note says why.
    assert report.efa_provider_compiled_in.value is None
    assert "2.1.0" in report.efa_provider_compiled_in.note
    result = report.fi_info_efa.value
    assert result.enodata and result.exit_code == 61 and not result.ok
    assert [str(e) for e in report.fi_info_efa.evidence] == ["fi_info_efa_stderr:1: fi_getinfo: -61"]
    assert report.dev_infiniband_present.value is False
    assert str(report.dev_infiniband_present.evidence[0]) == (
        "dev_infiniband:1: ls: cannot access '/dev/infiniband': No such file or directory"
    )
    assert report.uverbs_devices.value == ()
    assert report.sysfs_efa_devices.value == ()
    assert report.memlock_kib.value == 8192
    assert set(report.missing_sections) == {"sys_infiniband_verbs", "capabilities", "hugepages", "shm", "env", "libs",
                                        "efa_installed_packages"}
    assert report.env.value is None and report.env_var("FI_PROVIDER").value is None
    assert report.cap_ipc_lock.value is None and report.cap_ipc_lock.note == "section capabilities missing from the probe output"
    assert not report.complete


def test_unlisted_efa_on_libfabric_2_1_means_not_compiled_in():
    report = parse_probe(
        transcript(
            tools(),
            ("fi_info_version", "fi_info: 2.1.0\nlibfabric: 2.1.0\nlibfabric api: 2.1", 0),
            ("fi_info_list", "tcp:\n    version: 201.0", 0),
        )
    )
    assert report.efa_provider_listed.value is False
    assert report.efa_provider_compiled_in.value is False


def test_fi_info_not_found():
    missing = "efadoctor-probe: command not found: fi_info"
    report = parse_probe(
        transcript(
            tools(fi_info="", pingpong=""),
            ("fi_info_version", missing, 127),
            ("fi_info_list", missing, 127),
            ("fi_info_efa", "", 127),
            ("fi_info_efa_stderr", missing, 127),
        )
    )
    assert report.fi_info_present.value is False
    assert report.fi_info_present.note.startswith("fi_info not found")
    for fact in (report.fi_info_version, report.fi_info_providers, report.fi_info_efa, report.efa_provider_compiled_in):
        assert fact.value is None and fact.note.startswith("fi_info not found")
    assert report.fi_pingpong_present.value is False


def test_timed_out_fi_info_is_not_a_result():
    report = parse_probe(transcript(tools(), ("fi_info_efa", "", 124), ("fi_info_efa_stderr", "", 124)))
    assert report.fi_info_efa.value.ok is False and report.fi_info_efa.value.enodata is False
    assert "timed out" in report.fi_info_efa.note


# ---- splitting ----------------------------------------------------------------------------------


def test_cut_off_output_keeps_what_arrived():
    text = transcript(("memlock", "unlimited", 0), ("env", "NCCL_DEBUG=INFO\nFI_PROVIDER=ef", None), done=False)
    report = parse_probe(text.rstrip("\n"))
    assert report.memlock_kib.value == "unlimited"
    env = report.section("env")
    assert env.rc is None and not env.complete
    assert report.env.value == {"NCCL_DEBUG": "INFO"} and report.env.note == "environment listing cut off"
    assert any("env has no end marker" in note for note in report.notes)
    assert any("output ends inside line 7" in note for note in report.notes)
    assert any("@@done" in note for note in report.notes)
    assert not report.complete


def test_end_marker_counts_only_for_the_open_section():
    text = transcript(("efa_installed_packages", "# EFA installer version: 1.38.0\n@@end env rc=0\n@@end efa_installed_packages", 0))
    section = parse_probe(text).section("efa_installed_packages")
    assert section.lines[1:] == ("@@end env rc=0", "@@end efa_installed_packages") and section.rc == 0


def test_a_new_begin_closes_an_unfinished_section():
    text = "EFADOCTOR-PROBE v1\n@@begin memlock\n8192\n@@begin shm\n" + DF + "\n@@end shm rc=0\n@@done\n"
    report = parse_probe(text)
    assert report.section("memlock").complete is False
    assert report.memlock_kib.value == 8192
    assert report.shm_bytes.value == 65536 * 1024


def test_stray_lines_and_missing_header_are_recorded():
    text = "Defaulted container \"train\" out of: train, sidecar\n" + transcript(("memlock", "64", 0), header=False)
    report = parse_probe(text)
    assert report.probe_version is None
    assert [str(line) for line in report.stray_lines] == ['output:1: Defaulted container "train" out of: train, sidecar']
    assert any("header" in note for note in report.notes)


def test_first_of_duplicate_sections_wins():
    report = parse_probe(transcript(("memlock", "64", 0), ("memlock", "unlimited", 0)))
    assert report.memlock_kib.value == 64
    assert any("repeated" in note for note in report.notes)


def test_sections_are_bounded():
    body = "\n".join(f"/usr/lib/lib{i}.so" for i in range(5000))
    report = parse_probe(transcript(("libs", body, 0)))
    assert len(report.section("libs").lines) == 2000
    assert report.section("libs").lines_dropped == 3000


# ---- section by section ---------------------------------------------------------------------------


def test_env_is_filtered_again_and_unescaped():
    body = "\n".join(
        [
            "AWS_SECRET_ACCESS_KEY=not-for-the-report",
            r"NCCL_X=a\\b\n@@end env rc=0\nAWS_SECRET_ACCESS_KEY=x",
            "FI_PROVIDER=efa",
            "FIRST=1",
            "MY_NCCL_DEBUG=1",
            "LD_LIBRARY_PATH_EXTRA=1",
            "CUDA_VISIBLE_DEVICES=0,1",
            "OFI_NCCL_DISABLE_GDR_REQUIRED_CHECK=1",
        ]
    )
    report = parse_probe(transcript(("env", body, 0)))
    assert report.env.value == {
        "NCCL_X": "a\\b\n@@end env rc=0\nAWS_SECRET_ACCESS_KEY=x",
        "FI_PROVIDER": "efa",
        "CUDA_VISIBLE_DEVICES": "0,1",
        "OFI_NCCL_DISABLE_GDR_REQUIRED_CHECK": "1",
    }
    assert all("not-for-the-report" not in str(line) for line in report.env.evidence)


def test_dev_infiniband_listed_by_the_shell_when_ls_is_missing():
    report = parse_probe(transcript(("dev_infiniband", "/dev/infiniband/uverbs0\n/dev/infiniband/uverbs1\n/dev/infiniband/rdma_cm", 0)))
    assert report.uverbs_devices.value == ("uverbs0", "uverbs1")
    assert report.rdma_cm_present.value is True


def test_empty_dev_infiniband():
    report = parse_probe(transcript(("dev_infiniband", "total 0\n" + "\n".join(LS_DEV.splitlines()[1:3]), 0)))
    assert report.dev_infiniband_present.value is True
    assert report.uverbs_devices.value == () and report.uverbs_devices.note == "no uverbs* device in /dev/infiniband"


def test_sysfs_efa_devices_by_driver_then_by_name():
    body = "rdmap0s6 driver=efa\nmlx5_0 driver=mlx5_core\nibp0 driver=mlx5_core\nrdmap1s6 driver=\nefa_1 driver="
    report = parse_probe(transcript(("sys_infiniband", body, 0)))
    assert report.sysfs_devices.value == ("rdmap0s6", "mlx5_0", "ibp0", "rdmap1s6", "efa_1")
    assert report.sysfs_efa_devices.value == ("rdmap0s6", "rdmap1s6", "efa_1")


@pytest.mark.parametrize(
    ("libs", "expected"),
    [
        ("/opt/amazon/ofi-nccl/lib64/libnccl-net.so", True),
        ("/opt/aws-ofi-nccl/lib/libnccl-net.so", True),
        ("/usr/local/lib/libnccl-net-ofi.so", True),
        ("/usr/lib/x86_64-linux-gnu/libnccl.so.2", False),
        ("", False),
        ("/usr/local/lib/libnccl-net.so", None),
    ],
)
def test_aws_ofi_nccl_plugin(libs, expected):
    fact = parse_probe(transcript(("libs", libs, 0))).aws_ofi_nccl_plugin
    assert fact.value is expected
    assert (fact.note is None) == (expected is True)


@pytest.mark.parametrize(
    ("text", "expected"),
    # 65536: the memlock limit quoted in awslabs/awsome-distributed-ai#647 (sample 15); 8192: local capture.
    [("unlimited", "unlimited"), ("65536", 65536), ("8192\n", 8192), ("ulimit: bad option", None), ("", None)],
)
def test_memlock(text, expected):
    assert parse_probe(transcript(("memlock", text, 0))).memlock_kib.value == expected


@pytest.mark.parametrize(
    ("body", "held", "bounding", "namespaced"),
    [
        # root under containerd's default capabilities: no IPC_LOCK (0x4000)
        ("CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nuid_map:          0          0 4294967295",
         False, False, False),
        # ... with capabilities.add: [IPC_LOCK]
        ("CapPrm:\t00000000a80465fb\nCapEff:\t00000000a80465fb\nCapBnd:\t00000000a80465fb\nuid_map:          0          0 4294967295",
         True, True, False),
        (CAPS_NON_ROOT, False, True, False),
        # a user namespace (hostUsers: false): uids 0-65535 from host uid 100000
        ("CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nuid_map:          0     100000      65536", True, True, True),
        # upper-case hex, no tab, no uid_map line
        ("CapEff: 0000000000004000\nCapBnd: 0000000000004000", True, True, None),
        # a full identity map followed by another extent is not the initial namespace
        ("CapEff:\t0000000000004000\nuid_map: 0 0 4294967295\nuid_map: 5 5 1", True, None, True),
    ],
)
def test_capabilities(body, held, bounding, namespaced):
    report = parse_probe(transcript(("capabilities", body, 0)))
    assert (report.cap_ipc_lock.value, report.cap_ipc_lock_bounding.value, report.user_namespace.value) == (held, bounding, namespaced)
    assert report.cap_ipc_lock.evidence and report.cap_ipc_lock.note is None


@pytest.mark.parametrize(
    ("body", "rc", "note"),
    [
        ("efadoctor-probe: /proc/self/status: No such file or directory", 2, "/proc/self/status could not be read"),
        ("CapEff:\t00000000000040001", 0, "no CapEff line from /proc/self/status"),  # 17 digits: not a cap set
        ("CapEff:\tzzzz\nCapEff:", 0, "no CapEff line from /proc/self/status"),
        ("CapEff\t0000000000004000", 0, "no CapEff line from /proc/self/status"),
        ("", 0, "no CapEff line from /proc/self/status"),
    ],
)
def test_capabilities_unreadable(body, rc, note):
    report = parse_probe(transcript(("capabilities", body, rc)))
    assert report.cap_ipc_lock.value is None and report.cap_ipc_lock.note == note


def test_capabilities_cut_before_cap_eff():
    report = parse_probe(transcript(("capabilities", "CapPrm:\t0000000000004000", None), done=False))
    assert report.cap_ipc_lock.value is None and report.cap_ipc_lock.note.endswith("(section cut off)")


@settings(max_examples=300, deadline=None)
@given(mask=st.integers(0, 2**64 - 1),
       noise=st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30), max_size=5))
def test_cap_eff_bit_14_is_ipc_lock(mask, noise):
    """Any mask: bit 14 decides; lines of noise before it change nothing unless one is itself a CapEff line."""
    report = parse_probe(transcript(("capabilities", "\n".join([*noise, f"CapEff:\t{mask:016x}"]), 0)))
    if not any(line.strip().startswith(("CapEff:", "@@")) for line in noise):  # the first CapEff line counts; @@ may end the section
        assert report.cap_ipc_lock.value is bool(mask & 0x4000)
        assert str(report.cap_ipc_lock.evidence[0]) == f"capabilities:{len(noise) + 1}: CapEff:\t{mask:016x}"


def test_shm_busybox_format():
    # busybox df -P prints the same columns, aligned differently.
    body = "Filesystem           1024-blocks    Used Available Capacity Mounted on\ntmpfs                    65536         0     65536   0% /dev/shm"
    assert parse_probe(transcript(("shm", body, 0))).shm_bytes.value == 65536 * 1024


def test_installer_file_absent():
    body = "efadoctor-probe: /opt/amazon/efa_installed_packages: No such file or directory"
    report = parse_probe(transcript(("efa_installed_packages", body, 2)))
    assert report.efa_installed_packages_file.value is False
    assert report.efa_installed_packages.value is None and report.efa_installer_version.value is None


# ---- bytes, size, garbage -----------------------------------------------------------------------


def test_non_utf8_bytes():
    report = parse_probe(healthy().encode().replace(b"uid=1000", b"uid=1000\xff\xfe"))
    assert any("UTF-8" in note for note in report.notes)
    assert report.fi_info_efa.value.ok


def test_ten_megabytes_of_noise_is_cut_and_fast():
    noise = (b"\x00garbage @@begin x\n\xff" * 600_000)[: 10 * 1024 * 1024]
    start = time.perf_counter()
    report = parse_probe(healthy().encode() + noise)
    assert time.perf_counter() - start < 5
    assert any(f"read {MAX_OUTPUT_BYTES} of" in note for note in report.notes)
    assert report.fi_info_efa.value.ok
    assert len(report.sections) <= 64


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.text(), st.binary(), st.none(), st.integers()))
def test_never_raises_on_anything(data):
    report = parse_probe(data)
    json.dumps(dataclasses.asdict(report))


MARKERS = st.sampled_from(
    ["EFADOCTOR-PROBE v1", "EFADOCTOR-PROBE v9", "@@done", "@@begin env", "@@end env rc=0", "@@begin fi_info_efa",
     "@@end fi_info_efa rc=61", "@@begin fi_info_efa_stderr", "fi_getinfo: -61", "@@begin tools", "fi_info_used=",
     "fi_info_used=/x", "@@end tools rc=0", "@@begin memlock", "unlimited", "@@end memlock rc=x", "FI_PROVIDER=efa\\",
     "@@begin dev_infiniband", "crw-rw-rw- 1 root root 231, 192 Nov 29 03:10 uverbs0", "@@end dev_infiniband rc=2",
     "@@begin libs", "/opt/amazon/x/libnccl-net.so", "@@begin shm", "a 1 2 3 4 /dev/shm", "provider: efa",
     "    domain: rdmap0s6-rdm", "@@begin capabilities", "CapEff:\t0000000000004000", "CapBnd:\tffffffffffffffff",
     "CapEff:\t", "uid_map:          0          0 4294967295", "uid_map: 0 100000 65536", "@@end capabilities rc=0",
     "", "\r"]
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(st.one_of(MARKERS, st.text(max_size=20)), max_size=40))
def test_marker_soup_never_raises(lines):
    report = parse_probe("\n".join(lines))
    json.dumps(dataclasses.asdict(report))
    assert set(report.env.value or {}) <= {"FI_PROVIDER"}


# ---- the real script's output, cut everywhere -------------------------------------------------


@pytest.fixture(scope="module")
def real_output() -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "FI_PROVIDER": "efa", "NCCL_DEBUG": "INFO"}
    done = subprocess.run(["sh", "-c", load_script()], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_real_output_is_complete(real_output):
    report = parse_probe(real_output)
    assert report.complete, report.notes
    assert [s.name for s in report.sections] == list(EXPECTED_SECTIONS)
    assert report.env.value == {"FI_PROVIDER": "efa", "NCCL_DEBUG": "INFO"}


def test_every_truncation_of_the_real_output(real_output):
    full = parse_probe(real_output)
    by_name = {s.name: s for s in full.sections}
    for offset in range(len(real_output) + 1):
        part = parse_probe(real_output[:offset])
        for section in part.sections:
            whole = by_name[section.name]
            if section.complete:
                assert section == whole
            else:
                # Only whole lines are read: a cut section holds a prefix of the full one, never a cut value.
                assert section.lines == whole.lines[: len(section.lines)]
        assert part.complete == (offset >= len(real_output) - 1)


def test_unicode_digits_are_not_numbers():
    """'²'.isdigit() is True but int('²') raises: found by the fuzzer, kept as a plain regression test."""
    report = parse_probe("EFADOCTOR-PROBE v1\n@@begin memlock\n²\n@@end memlock rc=0\n")
    assert report.memlock_kib.value is None and report.memlock_kib.evidence
