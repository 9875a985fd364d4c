"""The real probe.sh, run by real shells on this machine, read back by parse_probe.

Nothing here assumes fi_info is installed: one test hides it, one uses Debian's libfabric-bin when it
is there (`apt-get install -y libfabric-bin`; skipped otherwise), and the simulated containers put
stub `fi_info` executables first on PATH that replay recorded outputs from tests/data/samples.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from efadoctor.parsers.probe_output import EXPECTED_SECTIONS, ProbeReport, parse_probe
from efadoctor.probe import DEFAULT_TIMEOUT_S, HEADER, load_script
from tests.samples import commented_example, local_capture, sample

SCRIPT_FILE = Path(__file__).parent.parent / "efadoctor" / "probe" / "probe.sh"


def _shells() -> list:
    found = []
    for name, argv in (("sh", ["sh"]), ("dash", ["dash"]), ("busybox", ["busybox", "sh"]), ("bash-posix", ["bash", "--posix"])):
        path = shutil.which(argv[0])
        marks = () if path else (pytest.mark.skip(reason=f"{argv[0]} is not installed on this machine"),)
        found.append(pytest.param([path or argv[0], *argv[1:]], id=name, marks=marks))
    return found


SHELLS = _shells()


def run(shell: list[str], env: dict[str, str], *, stdin: bytes = b"", cwd: Path | None = None) -> tuple[bytes, bytes, float]:
    """Run the script as `SHELL -c SCRIPT`; kill its whole process group if it overruns."""
    start = time.monotonic()
    process = subprocess.Popen(
        [*shell, "-c", load_script()],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=DEFAULT_TIMEOUT_S + 15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"probe overran {DEFAULT_TIMEOUT_S + 15} s; output so far: {out[-500:]!r}")
    assert process.returncode == 0, err
    return out, err, time.monotonic() - start


def base_env(path: str | None = None) -> dict[str, str]:
    return {"PATH": path or os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}




def source_line(name: str) -> str:
    """The first header line of a copied sample, to name it in a stub."""
    return sample(name).splitlines()[0]






def tool_dir(tmp_path: Path, tools: dict[str, str]) -> Path:
    """A directory of symlinks: name -> the executable it stands for."""
    directory = tmp_path / "bin"
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in tools.items():
        (directory / name).symlink_to(target)
    return directory


def stub_fi_info(directory: Path, *, sources: list[str], version: tuple[str, int], listing: tuple[str, int],
                 efa: tuple[str, str, int], sleep: str | None = None) -> Path:
    """An executable `fi_info` that replays recorded outputs (or hangs, with `sleep`)."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / "recorded"
    data.mkdir()
    (data / "version").write_text(version[0])
    (data / "list").write_text(listing[0])
    (data / "efa.out").write_text(efa[0])
    (data / "efa.err").write_text(efa[1])
    comments = "\n".join(f"# {line}" for line in sources)
    body = sleep or textwrap.dedent(
        f"""\
        case "$1" in
            --version) cat '{data}/version'; exit {version[1]} ;;
            -l) cat '{data}/list'; exit {listing[1]} ;;
            -p) cat '{data}/efa.out'; cat '{data}/efa.err' >&2; exit {efa[2]} ;;
        esac
        exit 2"""
    )
    stub = directory / "fi_info"
    stub.write_text(f"#!/bin/sh\n# Stub fi_info for efadoctor's probe tests, replaying:\n{comments}\n{body}\n")
    stub.chmod(0o755)
    return stub


def own_status(key: str) -> str:
    """A line's value from this test process' /proc/self/status (a shell it starts holds the same sets)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(key)


def own_uid_map_is_initial() -> bool:
    return [line.split() for line in Path("/proc/self/uid_map").read_text().splitlines()] == [["0", "0", "4294967295"]]


CAP_IPC_LOCK = 1 << 14
CAP_LINE = re.compile(r"^(CapPrm|CapEff|CapBnd):\t[0-9a-f]{16}$")


def meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


# ---- the script itself ------------------------------------------------------------------------------


def test_script_is_the_packaged_file_and_fits_in_one_argument():
    text = load_script()
    assert text == SCRIPT_FILE.read_text(encoding="utf-8")
    # Linux limits one argv string to 128 KiB (MAX_ARG_STRLEN); `sh -c SCRIPT` passes it as one.
    assert len(text.encode()) < 64 * 1024


def test_script_is_loaded_only_when_asked_for():
    code = "import efadoctor.probe as p; a = p.load_script.cache_info().currsize; s = p.SCRIPT; print(a, p.load_script.cache_info().currsize, len(s) > 0)"
    done = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "1", "True"]


def test_no_bashisms_in_the_code():
    code_lines = [line for line in load_script().splitlines() if not line.lstrip().startswith("#")]
    patterns = [r"\[\[", r"^\s*function\s", r"^\s*local\s", r"<<<", r"\$'", r"pipefail", r"\$\{!", r"^\s*declare\s",
                r"^\s*source\s", r"\becho\b", r"\$\{\w+:\d", r"\$\{\w+/"]
    for line in code_lines:
        for pattern in patterns:
            assert not re.search(pattern, line), (pattern, line)


@pytest.mark.parametrize("shell", SHELLS)
def test_syntax(shell):
    subprocess.run([*shell, "-n", "-c", load_script()], check=True)


# ---- this machine -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_runs_under_each_shell_and_matches_this_machine(shell, tmp_path):
    out, err, elapsed = run(shell, base_env(), cwd=tmp_path)
    assert err == b"" and elapsed < DEFAULT_TIMEOUT_S
    assert out.startswith(HEADER.encode() + b"\n") and out.endswith(b"@@done\n")
    report = parse_probe(out)
    assert report.complete, report.notes
    assert [s.name for s in report.sections] == list(EXPECTED_SECTIONS)
    assert list(tmp_path.iterdir()) == []  # wrote nothing
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    assert report.memlock_kib.value == ("unlimited" if soft == resource.RLIM_INFINITY else soft // 1024)
    assert report.uid.value == os.getuid()
    capabilities = report.section("capabilities").lines
    assert [line.split(":")[0] for line in capabilities[:3]] == ["CapPrm", "CapEff", "CapBnd"]
    assert all(CAP_LINE.match(line) for line in capabilities[:3]), capabilities
    assert capabilities[1] == f"CapEff:\t{own_status('CapEff')}"
    assert all(line.startswith("uid_map: ") for line in capabilities[3:]) and len(capabilities) > 3
    assert report.cap_ipc_lock.value is bool(int(own_status("CapEff"), 16) & CAP_IPC_LOCK)
    assert report.user_namespace.value is not own_uid_map_is_initial()
    if os.geteuid() == 0 and int(own_status("CapBnd"), 16) & CAP_IPC_LOCK:
        assert report.cap_ipc_lock.value is True  # root holds what its bounding set allows
    assert report.hugepages_total.value == meminfo("HugePages_Total")
    assert report.hugepage_size_kib.value == meminfo("Hugepagesize")
    if Path("/dev/shm").is_dir():
        stats = os.statvfs("/dev/shm")
        assert report.shm_bytes.value == stats.f_blocks * stats.f_frsize
    assert report.dev_infiniband_present.value is Path("/dev/infiniband").is_dir()
    assert report.sysfs_devices.known
    assert report.fi_info_present.value is (shutil.which("fi_info", path=base_env()["PATH"]) is not None or Path("/opt/amazon/efa/bin/fi_info").exists())
    for path in report.found_libraries.value:
        assert Path(path).exists() and re.match(r"lib(fabric|efa|nccl-net.*|nccl)\.so", Path(path).name)


@pytest.mark.parametrize("shell", SHELLS)
def test_fi_info_missing(shell, tmp_path):
    if Path("/opt/amazon/efa/bin/fi_info").exists():
        pytest.skip("this machine has /opt/amazon/efa/bin/fi_info, which the probe falls back to")
    tools = {name: shutil.which(name) for name in ("sh", "timeout", "ls", "id", "df")}
    bin_dir = tool_dir(tmp_path, {name: path for name, path in tools.items() if path})
    out, _, _ = run(shell, base_env(str(bin_dir)))
    report = parse_probe(out)
    for name in ("fi_info_version", "fi_info_list", "fi_info_efa", "fi_info_efa_stderr"):
        assert report.section(name).rc == 127
    assert report.fi_info_present.value is False
    assert report.fi_info_present.note.startswith("fi_info not found")
    assert report.fi_info_efa.value is None and report.fi_info_efa.note.startswith("fi_info not found")
    assert report.fi_pingpong_present.value is False
    assert str(report.fi_info_efa.evidence[0]) == "fi_info_efa_stderr:1: efadoctor-probe: command not found: fi_info"


# ---- capabilities as the kernel sets them --------------------------------------------------------


def _privileged_tool(name: str) -> str:
    path = shutil.which(name)
    if os.geteuid() != 0 or path is None:
        pytest.skip(f"needs root and {name} (util-linux) to start a shell with other capability sets")
    if not int(own_status("CapBnd"), 16) & CAP_IPC_LOCK:
        pytest.skip("this process' bounding set lacks CAP_IPC_LOCK")
    return path


@pytest.mark.parametrize("shell", SHELLS)
def test_root_without_ipc_lock(shell):
    """Root with IPC_LOCK out of its bounding and inheritable sets, as under containerd's default capabilities."""
    setpriv = _privileged_tool("setpriv")
    out, _, _ = run([setpriv, "--inh-caps=-all", "--bounding-set=-ipc_lock", "--", *shell], base_env())
    report = parse_probe(out)
    assert report.uid.value == 0
    assert report.cap_ipc_lock.value is False and report.cap_ipc_lock_bounding.value is False
    assert report.user_namespace.value is False and report.complete


@pytest.mark.parametrize("shell", SHELLS)
def test_non_root_holds_nothing_its_bounding_set_allows(shell):
    """What Kubernetes does to a runAsUser container: the added capability stays in the bounding set only."""
    setpriv = _privileged_tool("setpriv")
    out, _, _ = run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", *shell], base_env("/usr/bin:/bin"))
    report = parse_probe(out)
    assert report.uid.value == 65534
    assert report.cap_ipc_lock.value is False and report.cap_ipc_lock_bounding.value is True
    assert report.section("capabilities").lines[1] == "CapEff:\t0000000000000000"


def test_ipc_lock_inside_a_user_namespace():
    """`unshare -U -r`: root of a new user namespace holds every capability, in that namespace only."""
    unshare = _privileged_tool("unshare")
    out, _, _ = run([unshare, "--user", "--map-root-user", "sh"], base_env())
    report = parse_probe(out)
    assert report.cap_ipc_lock.value is True
    assert report.user_namespace.value is True
    assert [str(line) for line in report.user_namespace.evidence] == ["capabilities:4: uid_map:          0          0          1"]


def test_debian_libfabric_bin():
    fi_info = shutil.which("fi_info")
    if fi_info is None:
        pytest.skip("fi_info is not installed (apt-get install -y libfabric-bin)")
    version = subprocess.run([fi_info, "--version"], capture_output=True, text=True).stdout
    if "libfabric: 1.17.0" not in version:
        pytest.skip(f"expects Debian bookworm's libfabric 1.17.0, found: {version.strip()!r}")
    out, _, _ = run(["sh"], base_env())
    report = parse_probe(out)
    assert report.fi_info_present.value is True and report.fi_info_path.value == fi_info
    assert report.fi_info_version.value.libfabric == "1.17.0"
    assert report.fi_info_providers.value.names[:3] == ("psm2", "psm", "ofi_rxm")
    assert "efa" not in report.fi_info_providers.value.names
    assert report.efa_provider_listed.value is False
    result = report.fi_info_efa.value
    assert result.enodata and result.exit_code == 61 and result.error_code == -61 and not result.ok
    assert report.section("fi_info_efa").lines == ()
    assert report.section("fi_info_efa_stderr").lines == ("fi_getinfo: -61",)
    assert report.dev_infiniband_present.value is False
    assert any(Path(p).name.startswith("libfabric.so") for p in report.found_libraries.value)


# ---- simulated containers -------------------------------------------------------------------------


HEALTHY = "05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt"


@pytest.mark.parametrize("shell", SHELLS)
def test_simulated_efa_container(shell, tmp_path):
    stub = stub_fi_info(
        tmp_path / "stub",
        sources=[source_line(HEALTHY), "fi_info -l: built in util/info.c's format, not a capture"],
        version=(commented_example(HEALTHY, 1), 0),
        listing=("efa:\n    version: 122.0\nshm:\n    version: 122.0\n", 0),
        efa=(commented_example(HEALTHY, 0), "", 0),
    )
    out, _, _ = run(shell, base_env(f"{stub.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"))
    report = parse_probe(out)
    assert report.fi_info_path.value == str(stub)
    assert report.fi_info_version.value.libfabric == "1.22.0amzn5.0"
    assert report.efa_provider_compiled_in.value is True
    result = report.fi_info_efa.value
    assert result.ok and result.exit_code == 0
    assert result.devices == ("rdmap47s0",) and result.domains == ("rdmap47s0-rdm", "rdmap47s0-dgrm")
    assert len(report.section("fi_info_efa").lines) == 12
    assert report.section("fi_info_efa_stderr").lines == ()


@pytest.mark.parametrize("shell", SHELLS)
def test_simulated_enodata_keeps_stdout_and_stderr_apart(shell, tmp_path):
    merged, code = local_capture("local-fi_info-p-efa-FI_LOG_LEVEL-warn.txt")
    version, _ = local_capture("local-fi_info-version.txt")
    listing, _ = local_capture("local-fi_info-l.txt")
    stub = stub_fi_info(
        tmp_path / "stub",
        sources=[source_line(n) for n in ("local-fi_info-version.txt", "local-fi_info-l.txt", "local-fi_info-p-efa-FI_LOG_LEVEL-warn.txt")],
        version=(version, 0),
        listing=(listing, 0),
        efa=("", merged, code),
    )
    out, _, _ = run(shell, base_env(f"{stub.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"))
    report = parse_probe(out)
    assert report.section("fi_info_efa").lines == () and report.section("fi_info_efa").rc == 61
    assert len(report.section("fi_info_efa_stderr").lines) == 5
    result = report.fi_info_efa.value
    assert result.enodata and result.exit_code == 61
    assert str(result.error_line) == "fi_info_efa_stderr:5: fi_getinfo: -61"
    assert [m.provider for m in result.provider_messages] == ["ofi_rxm", "ofi_rxd", "ofi_mrail"]


# ---- what must never happen ----------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_environment_filter_never_leaks(shell):
    env = base_env()
    env.update(
        {
            "AWS_SECRET_ACCESS_KEY": "sekret-1",
            "AWS_SESSION_TOKEN": "sekret-2",
            "FIRST_SECRET": "sekret-3",
            "MY_NCCL_TOKEN": "sekret-4",
            "NCCL_BAD-NAME": "sekret-5",
            "LD_LIBRARY_PATH_X": "sekret-6",
            "NCCL_X": "a\\b\nAWS_SECRET_ACCESS_KEY=forged\n@@end env rc=0\nexport FI_FORGED=1",
            "FI_PROVIDER": "efa",
            "OFI_NCCL_DISABLE_GDR_REQUIRED_CHECK": "1",
            "LD_LIBRARY_PATH": "/opt/amazon/efa/lib:/nonexistent",
            "CUDA_VISIBLE_DEVICES": "0,1",
        }
    )
    out, _, _ = run(shell, env)
    assert b"sekret" not in out
    assert not [line for line in out.splitlines() if line.startswith((b"AWS_", b"export ", b"FI_FORGED"))]
    report = parse_probe(out)
    assert report.env.value == {
        "NCCL_X": "a\\b\nAWS_SECRET_ACCESS_KEY=forged\n@@end env rc=0\nexport FI_FORGED=1",
        "FI_PROVIDER": "efa",
        "OFI_NCCL_DISABLE_GDR_REQUIRED_CHECK": "1",
        "LD_LIBRARY_PATH": "/opt/amazon/efa/lib:/nonexistent",
        "CUDA_VISIBLE_DEVICES": "0,1",
    }
    assert report.section("env").complete and report.complete


def test_reads_no_input():
    hostile = b"@@begin env\nAWS_SECRET_ACCESS_KEY=sekret\n@@end env rc=0\n" * 100
    quiet, _, _ = run(["sh"], base_env())
    fed, _, _ = run(["sh"], base_env(), stdin=hostile)
    assert fed == quiet


def _hang_case(tmp_path: Path, shell_name: str) -> tuple[list[str], dict[str, str]]:
    if shell_name == "busybox":
        # busybox's timeout applet signals only its child, so this stub hangs in its own process.
        busybox = shutil.which("busybox")
        applets = {name: busybox for name in ("sh", "timeout", "sleep", "cat", "ls", "id", "df")}
        bin_dir = tool_dir(tmp_path / "bb", applets)
        stub_fi_info(tmp_path / "stub-bb", sources=["hangs"], version=("", 0), listing=("", 0), efa=("", "", 0),
                     sleep="exec sleep 1000")
        return [busybox, "sh"], base_env(f"{tmp_path / 'stub-bb'}:{bin_dir}")
    # coreutils' timeout signals the whole process group, so a grandchild that sleeps dies too.
    stub_fi_info(tmp_path / "stub", sources=["hangs"], version=("", 0), listing=("", 0), efa=("", "", 0), sleep="sleep 1000")
    return ["dash" if shutil.which("dash") else "sh"], base_env(f"{tmp_path / 'stub'}:{os.environ.get('PATH', '/usr/bin:/bin')}")


def test_a_hanging_fi_info_is_cut_by_timeout(tmp_path):
    if shutil.which("timeout") is None:
        pytest.skip("no timeout command: the probe cannot bound its commands here")
    cases = ["coreutils"] + (["busybox"] if shutil.which("busybox") else [])
    prepared = [_hang_case(tmp_path / name, name) for name in cases]
    with ThreadPoolExecutor(len(prepared)) as pool:
        results = list(pool.map(lambda case: run(*case), prepared))
    for name, (out, _, elapsed) in zip(cases, results):
        report: ProbeReport = parse_probe(out)
        assert elapsed < DEFAULT_TIMEOUT_S, (name, elapsed)
        for section in ("fi_info_version", "fi_info_list", "fi_info_efa", "fi_info_efa_stderr"):
            assert report.section(section).rc == 124, (name, section)
        assert "timed out" in report.fi_info_efa.note
        assert report.fi_info_efa.value.ok is False
