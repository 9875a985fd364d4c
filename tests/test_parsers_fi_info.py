"""fi_info parsers against real outputs (tests/data/samples, copied verbatim) and against fuzzing.

The samples keep the framing of the page they were quoted from (markdown indentation, '# ' comment
prefixes, fences); the helpers below remove that framing at read time and never edit a sample line.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from efadoctor.parsers.fi_info import (
    FiInfoEfaResult,
    parse_fi_info_efa,
    parse_fi_info_list,
    parse_fi_info_version,
    release_of,
)
from tests.samples import commented_example, fenced_blocks, sample


def local_capture(name: str) -> tuple[str, int]:
    """A local-*.txt capture: the output below its two '# ' header lines, and the recorded exit code."""
    lines = sample(name).splitlines(keepends=True)
    assert lines[0].startswith("# $ ") and lines[1].startswith("# exit code: ")
    code = int(re.match(r"# exit code: (\d+)", lines[1]).group(1))
    return "".join(lines[2:]), code


def as_json(value: object) -> str:
    return json.dumps(dataclasses.asdict(value))


# ---- fi_info -p efa: successes across libfabric generations ----------------------------------


def test_ec2_user_guide_output_old_fabric_naming():
    stdout = fenced_blocks("01_fi_info_efa_ok_ec2-userguide_libfabric1x.txt")[1]
    result = parse_fi_info_efa(stdout, "", 0)
    assert result.ok and not result.enodata
    assert result.providers == ("efa",)
    assert result.fabrics == ("EFA-fe80::94:3dff:fe89:1b70",)
    assert result.domains == ("efa_0-rdm",)
    assert result.devices == ("efa_0",) and result.device_count == 1
    (entry,) = result.entries
    assert (entry.version, entry.type, entry.protocol) == ("2.0", "FI_EP_RDM", "FI_PROTO_EFA")
    assert str(entry.line) == "stdout:1: provider: efa"
    assert result.error_code is None and result.error_line is None


def test_p3dn_rdm_and_dgrm_domains_are_one_device():
    stdout = fenced_blocks("02_fi_info_efa_ok_p3dn_libfabric1.14_issue107.txt")[0]
    result = parse_fi_info_efa(stdout, "", 0)
    assert result.ok
    assert result.domains == ("rdmap0s6-rdm", "rdmap0s6-dgrm")
    assert result.devices == ("rdmap0s6",) and result.device_count == 1
    assert [e.type for e in result.entries] == ["FI_EP_RDM", "FI_EP_DGRAM"]
    assert {e.version for e in result.entries} == {"114.10"}


def test_2020_output_with_layered_efa_ofi_rxd_provider():
    stdout = fenced_blocks("03_fi_info_efa_ok_2020_efa_ofi_rxd_issue5689.txt")[0]
    result = parse_fi_info_efa(stdout, "", None)
    assert result.ok and result.exit_code is None
    assert result.providers == ("efa", "efa;ofi_rxd")
    assert len(result.entries) == 3
    assert result.devices == ("efa_0",)
    assert result.entries[2].protocol == "FI_PROTO_RXD"


def test_libfabric_1_22_plain_efa_fabric_and_version():
    stdout = commented_example("05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt", 0)
    result = parse_fi_info_efa(stdout, "", 0)
    assert result.ok
    assert result.fabrics == ("efa",)
    assert result.devices == ("rdmap47s0",)
    version = parse_fi_info_version(commented_example("05_fi_info_version_and_efa_ok_libfabric1.22_m6i.txt", 1))
    assert version.fi_info == "1.22.0amzn5.0"
    assert version.libfabric == "1.22.0amzn5.0"
    assert version.api == "1.22"
    assert version.release == (1, 22, 0)
    assert version.amazon_build


def test_non_efa_providers_are_not_efa_devices():
    stdout, code = local_capture("local-fi_info-p-tcp.txt")
    result = parse_fi_info_efa(stdout, "", code)
    assert len(result.entries) == 25
    assert result.providers == ("tcp;ofi_rxm", "tcp")
    assert not result.ok and result.devices == () and result.device_count == 0


# ---- fi_info -p efa: failures ---------------------------------------------------------------


def test_debian_libfabric_1_17_enodata_without_text():
    stderr, code = local_capture("local-fi_info-p-efa.txt")
    result = parse_fi_info_efa("", stderr, code)
    assert code == 61
    assert result.enodata and not result.ok
    assert result.error_code == -61 and result.error_message is None
    assert str(result.error_line) == "stderr:1: fi_getinfo: -61"
    assert result.entries == () and result.device_count == 0


def test_enodata_with_warn_log_lists_each_provider():
    merged, code = local_capture("local-fi_info-p-efa-FI_LOG_LEVEL-warn.txt")
    result = parse_fi_info_efa("", merged, code)
    assert result.enodata and result.error_code == -61
    assert result.error_line.number == 5
    assert [(m.provider, m.code, m.message) for m in result.provider_messages] == [
        ("ofi_rxm", -61, "No data available"),
        ("ofi_rxd", -61, "No data available"),
        ("ofi_mrail", -61, "No data available"),
    ]


def test_verbose_flag_gives_the_same_failure():
    stderr, code = local_capture("local-fi_info-p-efa-v.txt")
    assert parse_fi_info_efa("", stderr, code).enodata


def test_libfabric_1_19_and_later_add_the_error_text():
    # The >= 1.19 form is fprintf(stderr, "fi_getinfo: %d (%s)\n", ret, fi_strerror(-ret)) in
    # ofiwg/libfabric util/info.c (v1.19.0 line 326, unchanged in v2.6.0); no capture of it is stored.
    result = parse_fi_info_efa("", "fi_getinfo: -61 (No data available)\n", 61)
    assert result.enodata and result.error_code == -61
    assert result.error_message == "No data available"


def test_enodata_is_known_from_the_exit_status_alone():
    result = parse_fi_info_efa("", "", 61)
    assert result.enodata and not result.ok and result.error_line is None


def test_other_errors_are_not_enodata():
    # Same util/info.c format with another code (fi_strerror(22) is "Invalid argument").
    result = parse_fi_info_efa("", "fi_getinfo: -22 (Invalid argument)\n", 22)
    assert not result.enodata and not result.ok
    assert (result.error_code, result.error_message) == (-22, "Invalid argument")


def test_core_warn_line_in_a_cloudwatch_log():
    line = next(
        line for line in sample("07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt").splitlines()
        if "provider efa output empty list" in line
    )
    result = parse_fi_info_efa("", line, None)
    (message,) = result.provider_messages
    assert (message.provider, message.code, message.message) == ("efa", None, "output empty list")
    assert not result.ok and not result.enodata


def test_a_person_s_abbreviation_is_not_fi_info_output():
    # aws-ofi-nccl#1020: the author shortened the console line to '-61'; fi_info never prints that.
    block = fenced_blocks("07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt")[1]
    assert block.splitlines() == ["$ fi_info -p efa", "-61"]
    result = parse_fi_info_efa("", block, None)
    assert not result.ok and not result.enodata and result.error_code is None


def test_efa_iface_filter_lines_are_collected():
    # The message of libfabric >= 2.0 prov/efa/src/efa_device.c:374 ("Device %s filtered out by
    # FI_EFA_IFACE"), without the log prefix, which the pattern does not depend on.
    stderr = "Device rdmap16s27 filtered out by FI_EFA_IFACE\n"
    assert parse_fi_info_efa("", stderr, 61).filtered_devices == ("rdmap16s27",)


def test_a_timed_out_run_is_never_ok_even_with_entries():
    stdout = fenced_blocks("01_fi_info_efa_ok_ec2-userguide_libfabric1x.txt")[1]
    result = parse_fi_info_efa(stdout, "", 124)
    assert not result.ok and result.device_count == 1


def test_results_are_json_friendly():
    stdout = fenced_blocks("02_fi_info_efa_ok_p3dn_libfabric1.14_issue107.txt")[0]
    payload = json.loads(as_json(parse_fi_info_efa(stdout, "", 0)))
    assert payload["devices"] == ["rdmap0s6"]
    assert payload["entries"][0]["line"] == {"source": "stdout", "number": 1, "text": "provider: efa"}


# ---- fi_info -l and --version ---------------------------------------------------------------


def test_debian_provider_list_has_no_efa():
    text, code = local_capture("local-fi_info-l.txt")
    listing = parse_fi_info_list(text)
    assert code == 0
    assert listing.names == (
        "psm2", "psm", "ofi_rxm", "ofi_rxd", "shm", "udp", "tcp", "sockets", "net", "ofi_hook_perf",
        "ofi_hook_debug", "ofi_hook_noop", "ofi_hook_hmem", "ofi_hook_dmabuf_peer_mem", "ofi_mrail",
    )
    assert {p.version for p in listing.providers} == {"117.0"}
    assert not listing.has_efa
    assert str(listing.providers[0].line) == "stdout:1: psm2:"


def test_provider_list_with_efa():
    # Built in the format of util/info.c (printf("%s:\n") then "    version: %d.%d"); not a capture.
    listing = parse_fi_info_list("efa:\n    version: 122.0\nshm:\n    version: 122.0\n")
    assert listing.has_efa and listing.names == ("efa", "shm")
    assert listing.providers[0].version == "122.0"


def test_debian_version():
    text, _ = local_capture("local-fi_info-version.txt")
    version = parse_fi_info_version(text)
    assert (version.fi_info, version.libfabric, version.api) == ("1.17.0", "1.17.0", "1.17")
    assert version.release == (1, 17, 0) and not version.amazon_build


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.22.0amzn5.0", (1, 22, 0)), ("2.1", (2, 1)), ("2.1.0amzn1.0", (2, 1, 0)), ("amzn", None), ("", None), (None, None)],
)
def test_release_numbers(text, expected):
    assert release_of(text) == expected


# ---- never raise ------------------------------------------------------------------------------

TEXT = st.one_of(st.text(), st.binary(), st.none(), st.integers())
CODE = st.one_of(st.none(), st.integers(), st.booleans(), st.text(max_size=3))


@settings(max_examples=300, deadline=None)
@given(stdout=TEXT, stderr=TEXT, code=CODE)
def test_efa_parser_never_raises(stdout, stderr, code):
    result = parse_fi_info_efa(stdout, stderr, code)
    assert isinstance(result, FiInfoEfaResult)
    assert result.device_count == len(result.devices)
    json.dumps(dataclasses.asdict(result))


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_list_and_version_parsers_never_raise(text):
    json.dumps(dataclasses.asdict(parse_fi_info_list(text)))
    json.dumps(dataclasses.asdict(parse_fi_info_version(text)))


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(
            ["provider: efa", "    fabric: efa", "    domain: rdmap0s6-rdm", "    domain: efa_1-dgrm", "fi_getinfo: -61",
             "fi_getinfo: -61 (No data available)", "    version: 122.0", "efa:", "libfabric: 2.1.0amzn1.0", "", "\x00\ufffd"]
        ),
        max_size=30,
    ),
    code=st.sampled_from([None, 0, 61, 124, 127]),
)
def test_line_soup_never_raises_and_stays_consistent(lines, code):
    text = "\n".join(lines)
    result = parse_fi_info_efa(text, text, code)
    assert not (result.ok and result.enodata)
    assert set(result.devices) <= {"rdmap0s6", "efa_1"}


@pytest.mark.parametrize(
    "name", ["02_fi_info_efa_ok_p3dn_libfabric1.14_issue107.txt", "03_fi_info_efa_ok_2020_efa_ofi_rxd_issue5689.txt"]
)
def test_every_truncation_of_a_real_output(name):
    full_text = fenced_blocks(name)[0]
    full = parse_fi_info_efa(full_text, "", 0)
    for offset in range(len(full_text) + 1):
        part = parse_fi_info_efa(full_text[:offset], "", None)
        assert set(part.devices) <= set(full.devices)
        assert len(part.entries) <= len(full.entries)
        parse_fi_info_list(full_text[:offset])
        parse_fi_info_version(full_text[:offset])
