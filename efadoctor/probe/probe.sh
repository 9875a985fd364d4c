#!/bin/sh
# efadoctor in-container probe, output format v1.
#
# Why: `fi_getinfo: -61` is decided inside the workload container (the device nodes it was given, the
# libfabric it ships, the FI_* variables it sets), so efadoctor runs this one fixed script there
# (Kubernetes exec as `sh -c <script>`, or `efadoctor probe --local`) and parses what it prints.
#
# Rules kept here:
# - POSIX sh only (dash, busybox ash, bash): no arrays, no [[ ]], no `local`, no pipefail, no echo of data.
# - Every external command is optional: looked up with `command -v` and reported as rc=127 when missing.
#   Directory listings, /proc and sysfs reads use shell builtins only.
# - No arguments and no input: nothing from the user is ever interpolated, stdin is /dev/null.
# - Read-only: it writes nothing but its own stdout.
# - Every external command runs under `timeout` when there is one: 5 s plus 1 s before SIGKILL, so the
#   three fi_info calls take at most 18 s, inside efadoctor's 20 s budget for the whole exec.
# - Of the environment it prints only FI_*, NCCL_*, OFI_NCCL_*, LD_LIBRARY_PATH and CUDA_VISIBLE_DEVICES.
# - Of /proc/self/status it prints only the CapPrm, CapEff and CapBnd lines.
#
# Output: the line `EFADOCTOR-PROBE v1`, then sections
#     @@begin NAME
#     ...
#     @@end NAME rc=N
# and a last line `@@done`. rc is the command's exit status (127: not found, 124: killed by timeout);
# where the shell inspects a path itself, rc=0 means found and rc=2 missing. Cheap sections come first
# and the fi_info calls last, so an output cut short still holds most facts.

LC_ALL=C
export LC_ALL
exec 4>&1
_efd_nl='
'

# The form of `timeout` this system understands: coreutils and busybox >= 1.30 take `timeout SECS`
# (coreutils also -k), older busybox `timeout -t SECS`. Without one, commands run unbounded.
_efd_timeout=''
if command -v timeout >/dev/null 2>&1; then
    if timeout -k 1 5 sh -c : </dev/null >/dev/null 2>&1; then
        _efd_timeout='timeout -k 1 5'
    elif timeout 5 sh -c : </dev/null >/dev/null 2>&1; then
        _efd_timeout='timeout 5'
    elif timeout -t 5 sh -c : </dev/null >/dev/null 2>&1; then
        _efd_timeout='timeout -t 5'
    fi
fi

# fi_info and fi_pingpong: the ones on PATH, else the EFA installer's, which images do not always
# put on PATH. A missing tool keeps its bare name, so `command -v` fails on it below.
_efd_fi=$(command -v fi_info 2>/dev/null) || _efd_fi=''
if [ -z "$_efd_fi" ] && [ -x /opt/amazon/efa/bin/fi_info ]; then
    _efd_fi=/opt/amazon/efa/bin/fi_info
fi
_efd_pp=$(command -v fi_pingpong 2>/dev/null) || _efd_pp=''
if [ -z "$_efd_pp" ] && [ -x /opt/amazon/efa/bin/fi_pingpong ]; then
    _efd_pp=/opt/amazon/efa/bin/fi_pingpong
fi

_efd_run() {
    if [ -n "$_efd_timeout" ]; then
        $_efd_timeout "$@" </dev/null
        _efd_status=$?
        # busybox's timeout applet reports a timeout as the command's death by SIGTERM (143), not 124;
        # nothing else here sends SIGTERM.
        if [ "$_efd_status" -eq 143 ]; then return 124; fi
        return "$_efd_status"
    fi
    "$@" </dev/null
}

_efd_begin() { printf '@@begin %s\n' "$1"; }
_efd_end() { printf '@@end %s rc=%s\n' "$1" "$2"; }
# Command substitution dropped the trailing newlines: put one back so @@end starts its own line.
_efd_put() { if [ -n "$1" ]; then printf '%s\n' "$1"; fi; }
_efd_missing() { printf 'efadoctor-probe: %s: No such file or directory\n' "$1"; }

# _efd_cmd NAME CMD [ARG...]: a section holding CMD's stdout and stderr, and its exit status.
_efd_cmd() {
    _efd_name=$1
    shift
    _efd_begin "$_efd_name"
    if command -v "$1" >/dev/null 2>&1; then
        _efd_out=$(_efd_run "$@" 2>&1)
        _efd_rc=$?
    else
        _efd_out="efadoctor-probe: command not found: $1"
        _efd_rc=127
    fi
    _efd_put "$_efd_out"
    _efd_end "$_efd_name" "$_efd_rc"
}

# Sets _efd_esc to $1 on one line: backslash -> \\ and newline -> \n, so a value cannot fake a line.
_efd_escape() {
    _efd_s=$1
    _efd_t=''
    while :; do
        case $_efd_s in
            *\\*) _efd_t="$_efd_t${_efd_s%%\\*}\\\\"; _efd_s=${_efd_s#*\\} ;;
            *) _efd_t="$_efd_t$_efd_s"; break ;;
        esac
    done
    _efd_esc=''
    while :; do
        case $_efd_t in
            *"$_efd_nl"*) _efd_esc="$_efd_esc${_efd_t%%"$_efd_nl"*}\\n"; _efd_t=${_efd_t#*"$_efd_nl"} ;;
            *) _efd_esc="$_efd_esc$_efd_t"; break ;;
        esac
    done
}

printf 'EFADOCTOR-PROBE v1\n'

_efd_begin tools
for _efd_t in fi_info fi_pingpong timeout; do
    _efd_p=$(command -v "$_efd_t" 2>/dev/null) || _efd_p=''
    printf '%s=%s\n' "$_efd_t" "$_efd_p"
done
printf 'fi_info_used=%s\n' "$_efd_fi"
printf 'fi_pingpong_used=%s\n' "$_efd_pp"
printf 'timeout_form=%s\n' "$_efd_timeout"
_efd_end tools 0

_efd_begin identity
_efd_rc=0
if command -v id >/dev/null 2>&1; then
    _efd_out=$(_efd_run id -u 2>/dev/null)
    _efd_rc=$?
    printf 'uid=%s\n' "$_efd_out"
    # Fails for a uid with no passwd entry (common with runAsUser); then there is no user= line.
    if _efd_out=$(_efd_run id -un 2>/dev/null); then
        printf 'user=%s\n' "$_efd_out"
    fi
elif [ -r /proc/self/status ]; then
    # `read` is a builtin, so /proc/self is this shell.
    while read -r _efd_k _efd_v _efd_rest; do
        if [ "$_efd_k" = Uid: ]; then printf 'uid=%s\n' "$_efd_v"; fi
    done </proc/self/status
else
    _efd_rc=127
fi
_efd_end identity "$_efd_rc"

# The device nodes the EFA device plugin passes in; libibverbs drops every device without one.
_efd_begin dev_infiniband
if [ -d /dev/infiniband ]; then
    if command -v ls >/dev/null 2>&1; then
        _efd_out=$(_efd_run ls -la /dev/infiniband/ 2>&1)
        _efd_rc=$?
        _efd_put "$_efd_out"
    else
        for _efd_f in /dev/infiniband/*; do
            if [ -e "$_efd_f" ]; then printf '%s\n' "$_efd_f"; fi
        done
        _efd_rc=0
    fi
else
    _efd_missing /dev/infiniband
    _efd_rc=2
fi
_efd_end dev_infiniband "$_efd_rc"

# RDMA devices the kernel has (sysfs is shared with the host), each with its driver's name.
_efd_begin sys_infiniband
if [ -d /sys/class/infiniband ]; then
    for _efd_f in /sys/class/infiniband/*; do
        [ -e "$_efd_f" ] || continue
        _efd_p=$(cd -P "$_efd_f/device/driver" 2>/dev/null && pwd -P) || _efd_p=''
        printf '%s driver=%s\n' "${_efd_f##*/}" "${_efd_p##*/}"
    done
    _efd_rc=0
else
    _efd_missing /sys/class/infiniband
    _efd_rc=2
fi
_efd_end sys_infiniband "$_efd_rc"

# The uverbsN -> RDMA device map libibverbs enumerates from.
_efd_begin sys_infiniband_verbs
if [ -d /sys/class/infiniband_verbs ]; then
    for _efd_f in /sys/class/infiniband_verbs/*; do
        [ -d "$_efd_f" ] || continue
        _efd_v=''
        if [ -r "$_efd_f/ibdev" ]; then IFS= read -r _efd_v <"$_efd_f/ibdev"; fi
        printf '%s ibdev=%s\n' "${_efd_f##*/}" "$_efd_v"
    done
    _efd_rc=0
else
    _efd_missing /sys/class/infiniband_verbs
    _efd_rc=2
fi
_efd_end sys_infiniband_verbs "$_efd_rc"

_efd_begin memlock
_efd_out=$(ulimit -l 2>&1)
_efd_rc=$?
_efd_put "$_efd_out"
_efd_end memlock "$_efd_rc"

# The capabilities of this shell, which a process the runtime starts in this container (same user, same
# capability sets) holds as well: with CAP_IPC_LOCK the memlock limit does not bind EFA memory
# registrations. The kernel honours it only in the initial user namespace, whose uid_map is the single
# line "0 0 4294967295"; at most 8 uid_map lines are printed.
_efd_begin capabilities
if [ -r /proc/self/status ]; then
    while IFS= read -r _efd_l; do
        case $_efd_l in
            CapPrm:* | CapEff:* | CapBnd:*) printf '%s\n' "$_efd_l" ;;
        esac
    done </proc/self/status
    _efd_rc=0
else
    _efd_missing /proc/self/status
    _efd_rc=2
fi
if [ -r /proc/self/uid_map ]; then
    _efd_n=0
    while [ "$_efd_n" -lt 8 ] && IFS= read -r _efd_l; do
        printf 'uid_map: %s\n' "$_efd_l"
        _efd_n=$((_efd_n + 1))
    done </proc/self/uid_map
fi
_efd_end capabilities "$_efd_rc"

# Node-wide counters (/proc/meminfo is not namespaced); the EFA provider uses 2 MiB huge pages.
_efd_begin hugepages
if [ -r /proc/meminfo ]; then
    while IFS= read -r _efd_l; do
        case $_efd_l in
            HugePages_Total:* | HugePages_Free:* | HugePages_Rsvd:* | HugePages_Surp:* | Hugepagesize:*)
                printf '%s\n' "$_efd_l" ;;
        esac
    done </proc/meminfo
    _efd_rc=0
else
    _efd_missing /proc/meminfo
    _efd_rc=2
fi
_efd_end hugepages "$_efd_rc"

_efd_cmd shm df -kP /dev/shm

# Only the allowed names, from the builtin `export -p`; a name is printed only if the shell really has
# it (a line inside a multi-line value cannot forge one), and each value is escaped onto one line.
_efd_begin env
_efd_list=$(export -p)
_efd_rc=$?
_efd_seen=' '
_efd_ifs=$IFS
IFS=$_efd_nl
set -f
for _efd_l in $_efd_list; do
    case $_efd_l in
        'export '*) _efd_n=${_efd_l#export } ;;
        'declare -x '*) _efd_n=${_efd_l#declare -x } ;;
        *) continue ;;
    esac
    _efd_n=${_efd_n%%=*}
    case $_efd_n in
        '' | *[!A-Za-z0-9_]*) continue ;;
        FI_* | NCCL_* | OFI_NCCL_* | LD_LIBRARY_PATH | CUDA_VISIBLE_DEVICES) ;;
        *) continue ;;
    esac
    case $_efd_seen in *" $_efd_n "*) continue ;; esac
    _efd_seen="$_efd_seen$_efd_n "
    eval "_efd_set=\${$_efd_n+x}"
    [ -n "$_efd_set" ] || continue
    eval "_efd_v=\$$_efd_n"
    _efd_escape "$_efd_v"
    printf '%s=%s\n' "$_efd_n" "$_efd_esc"
done
set +f
IFS=$_efd_ifs
_efd_end env "$_efd_rc"

# Where libfabric, libefa, NCCL and its net plugins are: LD_LIBRARY_PATH entries and the usual
# prefixes, each searched two levels deep by globbing (no `find /`).
_efd_begin libs
_efd_dirs=''
_efd_n=0
_efd_ifs=$IFS
IFS=:
set -f
for _efd_d in ${LD_LIBRARY_PATH-}; do
    case $_efd_d in /*) ;; *) continue ;; esac
    _efd_n=$((_efd_n + 1))
    if [ "$_efd_n" -gt 32 ]; then break; fi
    _efd_dirs="$_efd_dirs$_efd_d$_efd_nl"
done
set +f
IFS=$_efd_ifs
for _efd_d in /opt/amazon/efa/lib* /opt/amazon/ofi-nccl/lib* /opt/aws-ofi-nccl/lib* /usr/lib* /usr/local/lib*; do
    if [ -d "$_efd_d" ]; then _efd_dirs="$_efd_dirs$_efd_d$_efd_nl"; fi
done
_efd_seen=$_efd_nl
_efd_n=0
IFS=$_efd_nl
set -f
for _efd_d in $_efd_dirs; do
    [ -d "$_efd_d" ] || continue
    set +f
    for _efd_f in "$_efd_d"/libfabric.so* "$_efd_d"/libefa.so* "$_efd_d"/libnccl-net*.so* "$_efd_d"/libnccl.so* \
        "$_efd_d"/*/libfabric.so* "$_efd_d"/*/libefa.so* "$_efd_d"/*/libnccl-net*.so* "$_efd_d"/*/libnccl.so*; do
        [ -e "$_efd_f" ] || continue
        case $_efd_seen in *"$_efd_nl$_efd_f$_efd_nl"*) continue ;; esac
        _efd_seen="$_efd_seen$_efd_f$_efd_nl"
        _efd_n=$((_efd_n + 1))
        if [ "$_efd_n" -le 200 ]; then printf '%s\n' "$_efd_f"; fi
    done
    set -f
done
set +f
IFS=$_efd_ifs
_efd_end libs 0

# Written by the EFA installer; at most 200 lines.
_efd_begin efa_installed_packages
_efd_f=/opt/amazon/efa_installed_packages
if [ -f "$_efd_f" ] && [ -r "$_efd_f" ]; then
    _efd_n=0
    _efd_l=''
    while [ "$_efd_n" -lt 200 ] && { IFS= read -r _efd_l || [ -n "$_efd_l" ]; }; do
        printf '%s\n' "$_efd_l"
        _efd_l=''
        _efd_n=$((_efd_n + 1))
    done <"$_efd_f"
    _efd_rc=0
else
    _efd_missing "$_efd_f"
    _efd_rc=2
fi
_efd_end efa_installed_packages "$_efd_rc"

# --version and -l are read for names only: a debug FI_LOG_LEVEL would just flood them.
( unset FI_LOG_LEVEL; _efd_cmd fi_info_version "${_efd_fi:-fi_info}" --version )
( unset FI_LOG_LEVEL; _efd_cmd fi_info_list "${_efd_fi:-fi_info}" -l )

# The decisive call, in the workload's own environment, with stdout and stderr in separate sections:
# stdout goes straight out (fd 4), stderr is captured, followed by a newline and the exit status.
if [ -n "$_efd_fi" ] && command -v "$_efd_fi" >/dev/null 2>&1; then
    _efd_err=$(
        {
            _efd_out=$(_efd_run "$_efd_fi" -p efa -t FI_EP_RDM 2>&3 3>&- 4>&-)
            _efd_rc=$?
            { _efd_begin fi_info_efa; _efd_put "$_efd_out"; _efd_end fi_info_efa "$_efd_rc"; } >&4
            printf '\n%s' "$_efd_rc"
        } 3>&1
    )
    _efd_rc=${_efd_err##*"$_efd_nl"}
    _efd_err=${_efd_err%"$_efd_nl"*}
    while :; do
        case $_efd_err in
            *"$_efd_nl") _efd_err=${_efd_err%"$_efd_nl"} ;;
            *) break ;;
        esac
    done
else
    _efd_begin fi_info_efa
    _efd_end fi_info_efa 127
    _efd_err='efadoctor-probe: command not found: fi_info'
    _efd_rc=127
fi
_efd_begin fi_info_efa_stderr
_efd_put "$_efd_err"
_efd_end fi_info_efa_stderr "$_efd_rc"

printf '@@done\n'
