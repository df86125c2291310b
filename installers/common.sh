# Shared by installers/install.sh and tests/run (sourced, never run).
#
# Environment:
#   PARSEC_TRAY_SKIP_APT=1   never install Debian packages (only report missing ones)
#   PARSEC_TRAY_PYTHON=PATH  use this interpreter, no search
# shellcheck shell=bash

PT_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PT_PACKAGE_LIST="$PT_REPO/installers/debian-packages.txt"

pt_section() { printf '\n========== %s ==========\n' "$*"; }
pt_info() { printf '%s\n' "$*"; }
pt_warn() { printf 'WARNING: %s\n' "$*" >&2; }
pt_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# pt_debian_packages TAG: the packages of installers/debian-packages.txt tagged TAG.
pt_debian_packages() {
    sed -e 's/#.*//' "$PT_PACKAGE_LIST" | awk -v tag="$1" 'NF { for (i = 2; i <= NF; i++) if ($i == tag) { print $1; break } }'
}

# pt_missing_debian_packages PKG...: those not installed (dpkg-query).
pt_missing_debian_packages() {
    local pkg status
    for pkg in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        case "$status" in
            *" ok installed") ;;
            *) printf '%s\n' "$pkg" ;;
        esac
    done
}

# pt_apt_ensure TAG: install the packages tagged TAG that are missing.
# Returns non-zero when some are missing and cannot be installed.
pt_apt_ensure() {
    local tag=$1
    local -a wanted missing sudo=()
    mapfile -t wanted < <(pt_debian_packages "$tag")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        pt_warn "not a Debian system (no dpkg-query): install the equivalents of: ${wanted[*]}"
        return 0
    fi
    mapfile -t missing < <(pt_missing_debian_packages "${wanted[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        pt_info "all ${#wanted[@]} Debian packages present"
        return 0
    fi
    pt_info "missing Debian packages: ${missing[*]}"
    if [ "${PARSEC_TRAY_SKIP_APT:-}" = 1 ]; then
        pt_warn "PARSEC_TRAY_SKIP_APT=1: not installing them"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            pt_warn "not root and no sudo: as root, run: apt-get install ${missing[*]}"
            return 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" || return 1
    mapfile -t missing < <(pt_missing_debian_packages "${wanted[@]}")
    if [ "${#missing[@]}" -ne 0 ]; then
        pt_warn "still missing after apt-get install: ${missing[*]}"
        return 1
    fi
}

# pt_python_probe PY: prints "MAJOR MINOR TK EXECUTABLE" (TK is 1 when tkinter
# imports, and EXECUTABLE the real interpreter behind a shim); fails if PY
# does not run or cannot make a venv with pip.
pt_python_probe() {
    "$1" - 2>/dev/null <<'PY'
import importlib.util, sys
if importlib.util.find_spec("venv") is None or importlib.util.find_spec("ensurepip") is None:
    sys.exit(3)
try:
    import tkinter  # noqa: F401
    tk = 1
except Exception:
    tk = 0
print(sys.version_info[0], sys.version_info[1], tk, sys.executable)
PY
}

# pt_python_candidates MINOR...: interpreters to try, best first.
pt_python_candidates() {
    local minor dir
    for minor in "$@"; do
        command -v "python3.$minor" 2>/dev/null || true
        for dir in "${PYENV_ROOT:-}" /root/.pyenv "$HOME/.pyenv"; do
            [ -n "$dir" ] || continue
            # Newest patch release first.
            find "$dir/versions" -maxdepth 3 -path "*/versions/3.$minor.*/bin/python3.$minor" 2>/dev/null | sort -rV
        done
        printf '%s\n' "/usr/local/bin/python3.$minor" "/usr/bin/python3.$minor"
    done
    command -v python3 2>/dev/null || true
}

# pt_find_python MIN_MINOR MAX_MINOR PREFERRED_MINOR...: prints the path of a
# Python 3.MIN..3.MAX that can make a venv, preferring one with tkinter and
# the PREFERRED minors in order. Honours PARSEC_TRAY_PYTHON.
pt_find_python() {
    local min=$1 max=$2 cand probe major minor tk exe first="" first_tk=""
    shift 2
    local -a cands
    if [ -n "${PARSEC_TRAY_PYTHON:-}" ]; then
        cands=("$PARSEC_TRAY_PYTHON")
    else
        mapfile -t cands < <(pt_python_candidates "$@")
    fi
    for cand in "${cands[@]}"; do
        [ -x "$cand" ] || cand=$(command -v "$cand" 2>/dev/null) || continue
        probe=$(pt_python_probe "$cand") || continue
        read -r major minor tk exe <<<"$probe"
        [ "$major" = 3 ] && [ "$minor" -ge "$min" ] && [ "$minor" -le "$max" ] || continue
        [ -n "$first" ] || first=$exe
        if [ "$tk" = 1 ]; then first_tk=$exe; break; fi
    done
    if [ -n "$first_tk" ]; then
        printf '%s\n' "$first_tk"
    elif [ -n "$first" ]; then
        printf '%s\n' "$first"
    else
        return 1
    fi
}

# pt_has_tkinter PY: whether tkinter imports there.
pt_has_tkinter() {
    "$1" -c 'import tkinter' >/dev/null 2>&1
}

# pt_venv_base PY: the interpreter a venv's python was made from (resolved).
pt_venv_base() {
    "$1" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))' 2>/dev/null
}

# pt_requirements_unmet PY PYPROJECT EXTRAS [--build] [REQ...]: prints the
# requirements of the project (its dependencies, the comma-separated EXTRAS,
# with --build its build-system requires, and each REQ) that PY's environment
# does not satisfy; exits 0 only when all are satisfied.
pt_requirements_unmet() {
    local py=$1
    shift
    "$py" - "$@" <<'PY'
import sys
import tomllib
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement

path, extras, *rest = sys.argv[1:]
with open(path, "rb") as f:
    data = tomllib.load(f)
reqs = list(data["project"].get("dependencies", []))
optional = data["project"].get("optional-dependencies", {})
for extra in filter(None, extras.split(",")):
    reqs += optional.get(extra, [])
for item in rest:
    if item == "--build":
        reqs += data.get("build-system", {}).get("requires", [])
    else:
        reqs.append(item)
unmet = []
for text in reqs:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        unmet.append(f"{text}  (not installed)")
        continue
    if not req.specifier.contains(version, prereleases=True):
        unmet.append(f"{text}  (installed: {version})")
for line in unmet:
    print(line)
sys.exit(1 if unmet else 0)
PY
}

# pt_logged LOG SUMMARY CMD...: runs CMD with its output appended to LOG and
# prints one line, "SUMMARY ... done (Ns)"; on failure, the log's last lines
# and its path. Returns CMD's exit status.
pt_logged() {
    local log=$1 what=$2 start=$SECONDS rc=0
    shift 2
    printf '%s ... ' "$what"
    printf '\n===== %s: %s\n' "$(date '+%F %T')" "$*" >>"$log"
    "$@" >>"$log" 2>&1 </dev/null || rc=$?
    if [ "$rc" = 0 ]; then
        printf 'done (%ss)\n' "$((SECONDS - start))"
        return 0
    fi
    printf 'FAILED (exit %s)\n' "$rc"
    printf 'The last lines of %s:\n' "$log" >&2
    tail -n 20 "$log" | sed 's/^/    /' >&2
    printf 'Full log: %s\n' "$log" >&2
    return "$rc"
}

# pt_prune_dirs DIR STOP: removes DIR and its parents while they are empty,
# stopping below STOP.
pt_prune_dirs() {
    local dir=$1 stop=$2
    while [ -d "$dir" ] && [ "$dir" != "$stop" ] && [ "$dir" != / ] && rmdir -- "$dir" 2>/dev/null; do
        dir=$(dirname "$dir")
    done
    return 0
}
