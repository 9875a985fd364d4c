"""The sections probe.sh v1 prints and the caps on what is kept, shared by the splitter, the facts and parse_probe."""

from __future__ import annotations

# The sections probe.sh v1 prints, in order.
EXPECTED_SECTIONS = (
    "tools",
    "identity",
    "dev_infiniband",
    "sys_infiniband",
    "sys_infiniband_verbs",
    "memlock",
    "capabilities",
    "hugepages",
    "shm",
    "env",
    "libs",
    "efa_installed_packages",
    "fi_info_version",
    "fi_info_list",
    "fi_info_efa",
    "fi_info_efa_stderr",
)

MAX_SECTIONS = 64
MAX_SECTION_LINES = 2000
MAX_STRAY_LINES = 50
MAX_LINE_CHARS = 4096
