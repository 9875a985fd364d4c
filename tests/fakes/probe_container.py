"""A simulated workload container for the in-pod probe: the REAL probe.sh runs in it, for tests.

Why: efadoctor's probe decides `fi_getinfo: -61` from what the container really shows (device nodes,
sysfs, the libfabric it ships, its environment and limits), so tests must run the real script against
a container whose every one of those is chosen by the test, without EFA hardware. A
`SimulatedContainer` is that container:

- its filesystem differences live in a private mount namespace (`unshare -m`, root only): a fresh
  /dev with /dev/infiniband/uverbsN char devices, a /sys/class with infiniband / infiniband_verbs
  entries bound to the `efa` driver, an /opt with the image's EFA installer tree, and /proc/meminfo
  with the node's huge pages. Nothing outside the namespace changes;
- its `fi_info` is a stub shell script that answers the way libfabric would in that container: it
  enumerates devices like libibverbs (a sysfs device counts only with its /dev/infiniband/uverbsN),
  applies FI_PROVIDER and, from libfabric 2.0, FI_EFA_IFACE, and prints in the formats of the
  project's samples (see the comments in `_STUB`);
- the host's own libfabric, libefa and NCCL libraries are hidden (overlay whiteouts), so the image has
  only the libraries the test gives it;
- its environment is exactly the pod's, PATH included (tools are symlinked into one directory, so the
  host's own fi_info stays out of sight), and `ulimit -l` can be lowered;
- its processes hold the capabilities a container runtime would give them (`setpriv` sets the bounding
  set, so root's effective set is exactly that): containerd's defaults plus what the spec adds.

`handler` plugs into FakeKube.exec_handler: the fake API server then runs each exec through it, and
records each argv so tests can assert that efadoctor sent exactly ["sh", "-c", SCRIPT].
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.kube_exec import ExecResult
from tests.fakes.probe_text import CONTAINERD_DEFAULT_CAPS

SAMPLE_05 = ("# SOURCE: https://github.com/zhang1980s/ec2-efa-lab/blob/HEAD/efa-performance-testing-guide.md "
             "(section \"Verifying EFA Installation\"; index file id 43698433256)")


@dataclass(frozen=True)
class Libfabric:
    """A libfabric build, as its fi_info reports it."""

    version: str  # what `fi_info --version` prints, e.g. 1.22.0amzn5.0
    api: str  # `libfabric api: X`
    efa: bool  # built with the efa provider
    prefix: str  # where the image installs it: fi_info in PREFIX/bin, the library in PREFIX/lib
    others: tuple[str, ...] = ("shm", "tcp", "sockets", "udp", "ofi_rxm", "ofi_rxd")

    @property
    def release(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int("".join(c for c in minor if c.isdigit()))

    @property
    def provider_version(self) -> str:
        # sample 05: libfabric 1.22 prints `version: 122.0` for its providers
        major, minor = self.release
        return f"{major * 100 + minor}.0"


# Sample 05: the EFA installer's libfabric 1.22.0amzn5.0 at /opt/amazon/efa.
EFA_INSTALLER_1_22 = Libfabric("1.22.0amzn5.0", "1.22", efa=True, prefix="/opt/amazon/efa")
# A 2.x EFA installer build: FI_EFA_IFACE applies, efa is always listed. The "amzn3.0" build suffix is
# illustrative (the format is sample 05's); the behaviour follows efa-domain.md A.0 and A.1 #6.
EFA_INSTALLER_2_1 = Libfabric("2.1.0amzn3.0", "2.1", efa=True, prefix="/opt/amazon/efa")
# libfabric 2.1.0 built from source without efa (configure --enable-efa=no), installed under /opt/libfabric.
SOURCE_BUILD_WITHOUT_EFA = Libfabric("2.1.0", "2.1", efa=False, prefix="/opt/libfabric")

_STUB = """#!/bin/sh
# Stub fi_info for efadoctor's tests: answers as libfabric {version} ({efa_text}) would in this container.
# Formats: `-p efa` entries and `--version` as in the project's sample 05:
# {sample_05}
# `-l` in util/info.c's "NAME:" / "    version: X" form (as in the local Debian capture local-fi_info-l.txt);
# the error line "fi_getinfo: -61" before libfabric 1.19, "fi_getinfo: -61 (No data available)" from 1.19.
HAS_EFA={has_efa}
LISTS_EFA_ALWAYS={always}
IFACE_FILTER={iface_filter}
ERROR_TEXT={error_text}
PROV_VERSION='{prov_version}'

allowed() {{  # FI_PROVIDER: a comma-separated list of providers, or ^list for all but those
    [ -n "${{FI_PROVIDER+x}}" ] || return 0
    case $FI_PROVIDER in
        ^*) case ",${{FI_PROVIDER#^}}," in *",$1,"*) return 1 ;; esac; return 0 ;;
    esac
    case ",$FI_PROVIDER," in *",$1,"*) return 0 ;; esac
    return 1
}}

devices() {{  # like libibverbs + the efa provider: sysfs device, its uverbs node present, driver efa
    for v in /sys/class/infiniband_verbs/uverbs*; do
        [ -r "$v/ibdev" ] || continue
        IFS= read -r dev <"$v/ibdev"
        [ -e "/dev/infiniband/${{v##*/}}" ] || continue
        drv=$(cd -P "/sys/class/infiniband/$dev/device/driver" 2>/dev/null && pwd -P) || continue
        [ "${{drv##*/}}" = efa ] || continue
        if [ "$IFACE_FILTER" = 1 ] && [ -n "${{FI_EFA_IFACE+x}}" ]; then
            case $FI_EFA_IFACE in
                all*) ;;
                *) case ",$FI_EFA_IFACE," in *",$dev,"*) ;; *) continue ;; esac ;;
            esac
        fi
        printf '%s\\n' "$dev"
    done
}}

fail61() {{
    if [ "$ERROR_TEXT" = 1 ]; then echo 'fi_getinfo: -61 (No data available)' >&2; else echo 'fi_getinfo: -61' >&2; fi
    exit 61
}}

case "$1" in
    --version)
        printf '%s: %s\\nlibfabric: %s\\nlibfabric api: %s\\n' "$0" '{version}' '{version}' '{api}'
        exit 0 ;;
    -l)
        found=$(devices)
        if [ "$HAS_EFA" = 1 ] && allowed efa && {{ [ "$LISTS_EFA_ALWAYS" = 1 ] || [ -n "$found" ]; }}; then
            printf 'efa:\\n    version: %s\\n' "$PROV_VERSION"
        fi
        for p in {others}; do
            if allowed "$p"; then printf '%s:\\n    version: %s\\n' "$p" "$PROV_VERSION"; fi
        done
        exit 0 ;;
    -p)
        [ "$2" = efa ] || fail61
        [ "$HAS_EFA" = 1 ] && allowed efa || fail61
        found=$(devices)
        [ -n "$found" ] || fail61
        for dev in $found; do
            printf 'provider: efa\\n    fabric: efa\\n    domain: %s-rdm\\n    version: %s\\n    type: FI_EP_RDM\\n    protocol: FI_PROTO_EFA\\n' "$dev" "$PROV_VERSION"
        done
        exit 0 ;;
esac
exit 1
"""

_SETUP = """set -e
_path=$PATH
PATH=/usr/sbin:/usr/bin:/sbin:/bin
root='{root}'
mount --bind /dev "$root/host-dev"
mount -t tmpfs -o mode=755 efadoctor-dev /dev
for n in null zero urandom random; do : >"/dev/$n"; mount --bind "$root/host-dev/$n" "/dev/$n"; done
mkdir /dev/shm
mount --bind "$root/host-dev/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
{devices}
{hide}
mount --bind "$root/sys" /sys/class
mount --bind "$root/opt" /opt
mount --bind "$root/meminfo" /proc/meminfo
{ulimit}
PATH=$_path
export PATH
exec {setpriv}"$@"
"""


def runtime_capabilities(added: Sequence[str] = ()) -> tuple[str, ...]:
    """The capability set containerd gives a container whose securityContext adds `added` (no "ALL")."""
    extra = tuple(name.upper().removeprefix("CAP_") for name in added)
    return CONTAINERD_DEFAULT_CAPS + tuple(name for name in extra if name not in CONTAINERD_DEFAULT_CAPS)


def namespaces_available() -> str | None:
    """None when this machine can run simulated containers; otherwise why not (for pytest.skip)."""
    if os.geteuid() != 0:
        return "simulated containers need root (a private mount namespace for /dev/infiniband and sysfs)"
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("setpriv") is None:
        return "unshare and setpriv (util-linux) are not both installed"
    with tempfile.TemporaryDirectory() as scratch:
        script = (f"set -e; mkdir {scratch}/up {scratch}/work; mount -t tmpfs none /mnt; "
                  f"mount -t overlay none -o lowerdir=/usr/lib,upperdir={scratch}/up,workdir={scratch}/work /usr/lib")
        probe = subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-c", script],
                               capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"cannot create mount namespaces here: {probe.stderr.strip()[:200]}"
    return None


@dataclass
class SimulatedContainer:
    """One workload container; see the module docstring. Build with a tmp directory, then use `handler`."""

    root: Path
    libfabric: Libfabric | None = EFA_INSTALLER_1_22  # None: no fi_info and no libfabric at all
    ofi_nccl: bool = True  # the EFA installer's aws-ofi-nccl, on LD_LIBRARY_PATH
    env: Mapping[str, str] = field(default_factory=dict)  # the pod's env (as the container gets it)
    node_devices: int = 32  # EFA devices of the node (sysfs is shared with the host)
    passed_devices: int = 32  # /dev/infiniband/uverbsN nodes the device plugin passed in
    memlock_kib: int | None = None  # lower `ulimit -l` to this; None: leave it
    capabilities: tuple[str, ...] | None = CONTAINERD_DEFAULT_CAPS  # what root in it holds; None: this machine's
    hugepages_total: int = 5128  # the EFA driver's pre-allocation (EKS user guide), node-wide
    shell: str = "sh"  # "sh" (this machine's /bin/sh) or "busybox"
    calls: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "host-dev").mkdir()
        self._tools()
        self._sys()
        self._opt()
        (self.root / "meminfo").write_text(
            # /proc/meminfo's format (fs/proc/meminfo.c); only the huge-page lines the probe reads vary
            "MemTotal:       2097152000 kB\n"
            f"HugePages_Total:    {self.hugepages_total}\nHugePages_Free:     {self.hugepages_total}\n"
            "HugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       2048 kB\n"
        )

    # --- the image ----------------------------------------------------------------------------
    def _tools(self) -> None:
        tools = self.root / "tools"
        tools.mkdir()
        busybox = shutil.which("busybox")
        for name in ("sh", "timeout", "ls", "id", "df", "cat", "sleep"):
            if self.shell == "busybox" and busybox:
                target = busybox
            else:
                target = shutil.which(name)
            if target:
                (tools / name).symlink_to(target)

    def _opt(self) -> None:
        opt = self.root / "opt"
        opt.mkdir()
        lib = self.libfabric
        if lib is not None:
            prefix = opt / lib.prefix.removeprefix("/opt/")
            (prefix / "bin").mkdir(parents=True)
            (prefix / "lib").mkdir()
            (prefix / "lib" / "libfabric.so.1").write_bytes(b"")
            if lib.efa:
                (prefix / "lib" / "libefa.so.1").write_bytes(b"")
            stub = prefix / "bin" / "fi_info"
            major, minor = lib.release
            stub.write_text(_STUB.format(
                version=lib.version, api=lib.api, efa_text="with efa" if lib.efa else "built without efa",
                sample_05=SAMPLE_05, has_efa=int(lib.efa), always=int((major, minor) >= (2, 1)),
                iface_filter=int(major >= 2), error_text=int((major, minor) >= (1, 19)),
                prov_version=lib.provider_version, others=" ".join(lib.others)))
            stub.chmod(0o755)
            if lib.prefix == "/opt/amazon/efa":
                # the EFA installer's package list; its first line is what the probe reads
                (opt / "amazon" / "efa_installed_packages").write_text("# EFA installer version: 1.38.0\n")
        if self.ofi_nccl:
            plugin_dir = opt / "amazon" / "ofi-nccl" / "lib" / "x86_64-linux-gnu"
            plugin_dir.mkdir(parents=True)
            (plugin_dir / "libnccl-net-ofi.so").write_bytes(b"")
            (plugin_dir / "libnccl-net.so").symlink_to("libnccl-net-ofi.so")

    def _sys(self) -> None:
        sys_class = self.root / "sys"
        (sys_class / ".drivers" / "efa").mkdir(parents=True)
        if self.node_devices <= 0:
            return
        for index in range(self.node_devices):
            device = self.device_name(index)
            (sys_class / "infiniband" / device / "device").mkdir(parents=True)
            (sys_class / "infiniband" / device / "device" / "driver").symlink_to("/sys/class/.drivers/efa")
            (sys_class / "infiniband_verbs" / f"uverbs{index}").mkdir(parents=True)
            (sys_class / "infiniband_verbs" / f"uverbs{index}" / "ibdev").write_text(device + "\n")

    @staticmethod
    def device_name(index: int) -> str:
        """p5.48xlarge-style RDMA device names (as in the device-plugin log sample 20: rdmap79s0 ...)."""
        return f"rdmap{79 + index}s0"

    # --- running ------------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        path = [str(self.root / "tools")]
        ld_path = []
        if self.libfabric is not None:
            path.insert(0, f"{self.libfabric.prefix}/bin")
            ld_path.append(f"{self.libfabric.prefix}/lib")
        if self.ofi_nccl:
            ld_path.insert(0, "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu")
        env = {"PATH": ":".join(path), "HOME": "/root", "LANG": "C"}
        if ld_path:
            env["LD_LIBRARY_PATH"] = ":".join(ld_path)
        env.update(self.env)
        return env

    @staticmethod
    def host_libraries() -> dict[str, list[str]]:
        """The host's libraries the probe would find (its search, efadoctor/probe/probe.sh), by directory."""
        found: dict[str, list[str]] = {}
        names = ("libfabric.so*", "libefa.so*", "libnccl-net*.so*", "libnccl.so*")
        for top in [*Path("/usr").glob("lib*"), *Path("/usr/local").glob("lib*")]:
            if not top.is_dir() or top.is_symlink():
                continue
            for directory in (top, *(d for d in top.iterdir() if d.is_dir() and not d.is_symlink())):
                for pattern in names:
                    for path in directory.glob(pattern):
                        found.setdefault(str(directory), []).append(path.name)
        return found

    def _hide_script(self) -> str:
        """Overlay each host directory that holds such libraries with whiteouts (char 0:0) for them."""
        lines = []
        for index, (directory, names) in enumerate(sorted(self.host_libraries().items())):
            layer = self.root / f"hide{index}"
            (layer / "up").mkdir(parents=True, exist_ok=True)
            (layer / "work").mkdir(exist_ok=True)
            lines += [f"[ -e '{layer}/up/{name}' ] || mknod '{layer}/up/{name}' c 0 0" for name in names]
            lines.append(f"mount -t overlay efadoctor-hide -o lowerdir='{directory}',upperdir='{layer}/up',"
                         f"workdir='{layer}/work' '{directory}'")
        return "\n".join(lines)

    def setup_script(self) -> str:
        count = min(self.passed_devices, self.node_devices) if self.node_devices > 0 else self.passed_devices
        lines = []
        if count > 0:
            lines.append("mkdir /dev/infiniband")
            for index in range(count):
                node = f"/dev/infiniband/uverbs{index}"
                lines.append(f"mknod {node} c 231 {192 + index} 2>/dev/null || : >{node}")
        ulimit = f"ulimit -l {self.memlock_kib}" if self.memlock_kib is not None else ""
        setpriv = ""
        if self.capabilities is not None:
            # root's effective set after exec is its bounding set (the inheritable one is emptied)
            allowed = "".join(f",+{name.lower()}" for name in self.capabilities)
            setpriv = f"'{shutil.which('setpriv') or 'setpriv'}' --inh-caps=-all --bounding-set=-all{allowed} -- "
        return _SETUP.format(root=self.root, devices="\n".join(lines), hide=self._hide_script(), ulimit=ulimit,
                             setpriv=setpriv)

    def run(self, argv: list[str], timeout_s: float = 60) -> ExecResult:
        """Run argv inside the simulated container, as the kubelet would run an exec."""
        unshare = shutil.which("unshare") or "unshare"
        done = subprocess.run(
            [unshare, "-m", "--propagation", "private", "/bin/sh", "-c", self.setup_script(), "efadoctor-container", *argv],
            env=self.environment(), capture_output=True, timeout=timeout_s, stdin=subprocess.DEVNULL, check=False,
        )
        return ExecResult(stdout=done.stdout, stderr=done.stderr, exit_code=done.returncode)

    def handler(self, namespace: str, pod: str, container: str, argv: list[str], stdin: bytes | None) -> ExecResult:
        """FakeKube.exec_handler: every exec into the pod runs here."""
        self.calls.append(list(argv))
        if argv[:1] == ["sh"] and not (self.root / "tools" / "sh").exists():
            return ExecResult.missing_binary("sh")
        return self.run(argv)
