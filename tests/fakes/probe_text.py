"""Probe outputs written by hand, in exactly the format efadoctor/probe/probe.sh prints, for unit tests.

Why by hand: the checks must be tested on every relevant combination (libfabric versions, device
layouts, env values, limits) without root or EFA hardware; running the real script needs a simulated
container (tests/fakes/probe_container.py, root only). The section bodies follow the programs that
print them: `ls -la` for /dev/infiniband, the script's own `NAME driver=X` / `uverbsN ibdev=X` lines,
/proc/meminfo lines, `df -kP`, the filtered environment, and fi_info outputs from the samples
(tests/data/samples) wherever a sample exists; the helpers below name the sample they read.
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.samples import commented_example, fenced_blocks, local_capture


def fenced_block(name: str, index: int = 0) -> str:
    """The `index`-th ``` block of a public sample, its markdown indentation removed."""
    return fenced_blocks(name)[index]










SAMPLE_05 = "05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt"
VERSION_1_22 = commented_example(SAMPLE_05, 1)  # /opt/amazon/efa/bin/fi_info: 1.22.0amzn5.0 ...
EFA_OK_1_22 = commented_example(SAMPLE_05, 0)  # one device, rdmap47s0 (rdm and dgrm entries)
# `fi_info -l` of a build with efa, in util/info.c's format (the Debian capture's layout, with efa first)
LIST_WITH_EFA = "efa:\n    version: 122.0\nshm:\n    version: 122.0\ntcp:\n    version: 122.0\n"
DEBIAN_VERSION, _ = local_capture("local-fi_info-version.txt")
DEBIAN_LIST, _ = local_capture("local-fi_info-l.txt")
DEBIAN_ENODATA, _ = local_capture("local-fi_info-p-efa.txt")  # fi_getinfo: -61 (libfabric < 1.19 form)
ENODATA_1_19 = "fi_getinfo: -61 (No data available)\n"  # libfabric >= 1.19 (commit d65ddbb4d), util/info.c


# Capability numbers (include/uapi/linux/capability.h) of the names used here.
CAPABILITY_BITS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8,
    "NET_BIND_SERVICE": 10, "NET_RAW": 13, "IPC_LOCK": 14, "SYS_CHROOT": 18, "SYS_ADMIN": 21, "SYS_RESOURCE": 24,
    "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}
# What containerd gives a container unless its spec adds or drops some (pkg/oci/spec.go defaultUnixCaps):
# no IPC_LOCK. As root, the process holds all of them (CapEff 00000000a80425fb).
CONTAINERD_DEFAULT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                           "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")
WITH_IPC_LOCK = (*CONTAINERD_DEFAULT_CAPS, "IPC_LOCK")
# /proc/self/uid_map of the initial user namespace, as the kernel prints it ("%10u %10u %10u").
INITIAL_UID_MAP = "         0          0 4294967295"


def cap_mask(names: tuple[str, ...]) -> str:
    """A capability set as /proc/self/status prints it: 16 hex digits."""
    mask = 0
    for name in names:
        mask |= 1 << CAPABILITY_BITS[name]
    return f"{mask:016x}"


def capabilities_body(effective: tuple[str, ...], bounding: tuple[str, ...] | None = None,
                      uid_map: str = INITIAL_UID_MAP) -> str:
    """The probe's capabilities section: CapPrm/CapEff/CapBnd lines (tab after the colon) and uid_map."""
    bounding = effective if bounding is None else bounding
    return (f"CapPrm:\t{cap_mask(effective)}\nCapEff:\t{cap_mask(effective)}\nCapBnd:\t{cap_mask(bounding)}\n"
            f"uid_map: {uid_map}\n")


def version_text(version: str, api: str, program: str = "/opt/amazon/efa/bin/fi_info") -> str:
    """`fi_info --version` for another version, in sample 05's three-line format."""
    return f"{program}: {version}\nlibfabric: {version}\nlibfabric api: {api}\n"


def efa_entries(devices: list[str], provider_version: str = "122.0") -> str:
    """`fi_info -p efa -t FI_EP_RDM` listing these devices, in sample 05's entry format."""
    return "".join(
        f"provider: efa\n    fabric: efa\n    domain: {device}-rdm\n    version: {provider_version}\n"
        "    type: FI_EP_RDM\n    protocol: FI_PROTO_EFA\n"
        for device in devices
    )


def device_names(count: int) -> list[str]:
    return [f"rdmap{79 + index}s0" for index in range(count)]


def probe_output(
    *,
    devices: int = 32,  # uverbs nodes in the container
    node_devices: int | None = None,  # EFA devices in sysfs (default: devices)
    fi_info: str | None = "/opt/amazon/efa/bin/fi_info",
    version: str = VERSION_1_22,
    listing: str = LIST_WITH_EFA,
    efa_stdout: str | None = None,
    efa_stderr: str = "",
    efa_rc: int | None = None,
    memlock: str = "unlimited",
    uid: int = 0,
    cap_eff: tuple[str, ...] = CONTAINERD_DEFAULT_CAPS,  # what the process holds
    cap_bnd: tuple[str, ...] | None = None,  # the container's bounding set (default: cap_eff)
    uid_map: str = INITIAL_UID_MAP,
    hugepages: int = 5128,
    env: Mapping[str, str] | None = None,
    libs: list[str] | None = None,
    drop: tuple[str, ...] = (),
    stop_after: str | None = None,
) -> str:
    """A whole probe output; `drop` leaves sections out, `stop_after` cuts the output after a section."""
    node_devices = devices if node_devices is None else node_devices
    names = device_names(node_devices)
    env = {"LD_LIBRARY_PATH": "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu:/opt/amazon/efa/lib"} if env is None else dict(env)
    if libs is None:
        libs = ["/opt/amazon/efa/lib/libfabric.so.1", "/opt/amazon/efa/lib/libefa.so.1",
                "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu/libnccl-net-ofi.so",
                "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu/libnccl-net.so"]
    if efa_stdout is None:
        efa_stdout = efa_entries(names[:devices]) if devices and node_devices and fi_info else ""
    if efa_rc is None:
        efa_rc = 0 if efa_stdout else 61
    if not efa_stdout and not efa_stderr and efa_rc == 61:
        efa_stderr = ENODATA_1_19
    sections: list[tuple[str, str, int]] = []
    tools = (f"fi_info={fi_info or ''}\nfi_pingpong=\ntimeout=/usr/bin/timeout\nfi_info_used={fi_info or ''}\n"
             "fi_pingpong_used=\ntimeout_form=timeout -k 1 5\n")
    sections.append(("tools", tools, 0))
    sections.append(("identity", "uid=0\nuser=root\n" if uid == 0 else f"uid={uid}\n", 0))
    if devices:
        # `ls -la /dev/infiniband/` of the device plugin's char devices (major 231, uverbs minors from 192)
        body = "total 0\ndrwxr-xr-x 2 root root 660 Jan  5 10:01 .\ndrwxr-xr-x 6 root root 380 Jan  5 10:01 ..\n"
        body += "".join(f"crw-rw-rw- 1 root root 231, {192 + i} Jan  5 10:01 uverbs{i}\n" for i in range(devices))
        sections.append(("dev_infiniband", body, 0))
    else:
        sections.append(("dev_infiniband", "efadoctor-probe: /dev/infiniband: No such file or directory\n", 2))
    if node_devices:
        sections.append(("sys_infiniband", "".join(f"{n} driver=efa\n" for n in names), 0))
        sections.append(("sys_infiniband_verbs", "".join(f"uverbs{i} ibdev={n}\n" for i, n in enumerate(names)), 0))
    else:
        sections.append(("sys_infiniband", "efadoctor-probe: /sys/class/infiniband: No such file or directory\n", 2))
        sections.append(("sys_infiniband_verbs", "efadoctor-probe: /sys/class/infiniband_verbs: No such file or directory\n", 2))
    sections.append(("memlock", f"{memlock}\n", 0))
    sections.append(("capabilities", capabilities_body(cap_eff, cap_bnd, uid_map), 0))
    meminfo = (f"HugePages_Total:    {hugepages}\nHugePages_Free:     {hugepages}\nHugePages_Rsvd:        0\n"
               "HugePages_Surp:        0\nHugepagesize:       2048 kB\n")
    sections.append(("hugepages", meminfo, 0))
    df = ("Filesystem     1024-blocks  Used Available Capacity Mounted on\n"
          "shm                65536     0     65536       0% /dev/shm\n")
    sections.append(("shm", df, 0))
    sections.append(("env", "".join(f"{k}={v}\n" for k, v in env.items()), 0))
    sections.append(("libs", "".join(f"{p}\n" for p in libs), 0))
    sections.append(("efa_installed_packages", "# EFA installer version: 1.38.0\n", 0))
    if fi_info:
        sections.append(("fi_info_version", version, 0))
        sections.append(("fi_info_list", listing, 0))
        sections.append(("fi_info_efa", efa_stdout, efa_rc))
        sections.append(("fi_info_efa_stderr", efa_stderr, efa_rc))
    else:
        missing = "efadoctor-probe: command not found: fi_info\n"
        sections += [("fi_info_version", missing, 127), ("fi_info_list", missing, 127), ("fi_info_efa", "", 127),
                     ("fi_info_efa_stderr", "efadoctor-probe: command not found: fi_info\n", 127)]
    out = ["EFADOCTOR-PROBE v1\n"]
    for name, body, rc in sections:
        if name in drop:
            continue
        out.append(f"@@begin {name}\n{body}@@end {name} rc={rc}\n")
        if name == stop_after:
            return "".join(out)
    out.append("@@done\n")
    return "".join(out)
