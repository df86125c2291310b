#!/usr/bin/env bash
# Install Parsec Tray for the current user on Linux (Debian 12 and alike)
# from the directory this script lives in, then run it:
#
#     bash installers/install.sh [--demo] [--no-run] [-- APP ARGS...]
#
#   --demo    also install the reference server (parsec-cloud 3.9.3, which
#             needs Python 3.12) and run `parsec-tray demo`
#   --no-run  install only
#
# What it does, each step skipped when already done:
#   1. the Debian packages tagged "app" in installers/debian-packages.txt
#      (apt-get, with sudo when not root; PARSEC_TRAY_SKIP_APT=1 skips this),
#   2. a venv in ${XDG_DATA_HOME:-~/.local/share}/parsec-tray/venv with
#      Python 3.12 when there is one, else 3.13 or 3.11 (PARSEC_TRAY_PYTHON
#      overrides the search), and the project with its "gtk" extra in it,
#   3. ~/.local/bin/parsec-tray, the desktop entry (the parsec3:// link
#      handler) and the icon,
#   4. runs `parsec-tray` (or `parsec-tray demo`).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=common.sh
. "$REPO/installers/common.sh"

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

demo=0
run=1
app_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --demo) demo=1 ;;
        --no-run) run=0 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; app_args=("$@"); break ;;
        *) usage >&2; pt_die "unknown option: $1" ;;
    esac
    shift
done

DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
VENV="$DATA_HOME/parsec-tray/venv"
VPY="$VENV/bin/python"
BIN_DIR="$HOME/.local/bin"
LINK="$BIN_DIR/parsec-tray"
export PIP_DISABLE_PIP_VERSION_CHECK=1

pt_section "Debian packages (installers/debian-packages.txt, tag: app)"
pt_apt_ensure app || pt_die "the Debian packages Parsec Tray needs could not be installed (see above)"

pt_section "Python"
if [ "$demo" = 1 ]; then
    py=$(pt_find_python 12 12 12) || pt_die "--demo needs Python 3.12 (the reference server parsec-cloud 3.9.3 \
supports only 3.12) and none was found (tried \$PARSEC_TRAY_PYTHON, python3.12 on PATH, pyenv's 3.12.*). \
Install one (e.g. 'pyenv install 3.12', after 'apt-get install tk-dev' for tkinter) or set PARSEC_TRAY_PYTHON."
else
    py=$(pt_find_python 11 13 12 13 11) || pt_die "no Python 3.11 to 3.13 with venv found: install one \
(on Debian 12: apt-get install python3 python3-venv python3-tk) or set PARSEC_TRAY_PYTHON."
fi
pt_info "using $py"
pt_has_tkinter "$py" || pt_warn "$py has no tkinter: Parsec Tray's dialogs need it (Debian: python3-tk; pyenv: tk-dev, then rebuild)"

pt_section "venv: $VENV"
if [ -x "$VPY" ] && [ "$(pt_venv_base "$VPY")" = "$(realpath "$py")" ]; then
    pt_info "reusing it"
else
    pt_info "creating it"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    "$py" -m venv "$VENV"
fi

pt_section "Parsec Tray and its Python packages"
extra_reqs=()
[ "$demo" = 1 ] && extra_reqs=("parsec-cloud==3.9.3")
if unmet=$(pt_requirements_unmet "$VPY" "$REPO/pyproject.toml" gtk "${extra_reqs[@]}" 2>&1); then
    pt_info "dependencies already met"
else
    printf 'to install:\n%s\n' "$unmet"
    "$VPY" -m pip install --progress-bar off "$REPO[gtk]" "${extra_reqs[@]}"
fi
# Always the project itself from this directory (cheap, and picks up changes).
"$VPY" -m pip install --quiet --no-deps --force-reinstall "$REPO"
pt_info "installed: parsec-tray $("$VPY" -c 'import importlib.metadata as m; print(m.version("parsec-tray"))')"

pt_section "Command, desktop entry and icon"
mkdir -p "$BIN_DIR"
ln -sfn "$VENV/bin/parsec-tray" "$LINK"
pt_info "linked $LINK"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) pt_warn "$BIN_DIR is not on your PATH: add it (e.g. in ~/.profile) to type 'parsec-tray'" ;;
esac

desktop_src="$REPO/installers/linux/parsec-tray.desktop"
apps="$DATA_HOME/applications"
if [ -f "$desktop_src" ]; then
    mkdir -p "$apps"
    exec_path=$LINK
    case $exec_path in
        *[!A-Za-z0-9/._+-]*) exec_path=parsec-tray ;; # keep it simple: rely on PATH
    esac
    sed -e "s|^Exec=parsec-tray|Exec=$exec_path|" "$desktop_src" >"$apps/parsec-tray.desktop.tmp"
    mv -f "$apps/parsec-tray.desktop.tmp" "$apps/parsec-tray.desktop"
    pt_info "installed $apps/parsec-tray.desktop"
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps" || pt_warn "update-desktop-database failed"
    fi
    if command -v xdg-mime >/dev/null 2>&1; then
        current=$(xdg-mime query default x-scheme-handler/parsec3 2>/dev/null || true)
        if [ -z "$current" ] || [ "$current" = parsec-tray.desktop ]; then
            xdg-mime default parsec-tray.desktop x-scheme-handler/parsec3 \
                && pt_info "parsec3:// links open with Parsec Tray" \
                || pt_warn "xdg-mime could not register the parsec3:// handler"
        else
            pt_info "parsec3:// links stay with $current; to use Parsec Tray: xdg-mime default parsec-tray.desktop x-scheme-handler/parsec3"
        fi
    fi
fi

icons="$DATA_HOME/icons/hicolor"
icon_done=0
if [ -f "$REPO/icons/parsec-tray.svg" ]; then
    install -D -m 644 "$REPO/icons/parsec-tray.svg" "$icons/scalable/apps/parsec-tray.svg"
    icon_done=1
fi
for png in "$REPO"/icons/parsec-tray.png "$REPO"/icons/parsec-tray-[0-9]*.png; do
    [ -f "$png" ] || continue
    size=$("$VPY" -c 'import sys; from PIL import Image; w, h = Image.open(sys.argv[1]).size; print(f"{w}x{h}")' "$png" 2>/dev/null || echo 256x256)
    install -D -m 644 "$png" "$icons/$size/apps/parsec-tray.png"
    icon_done=1
done
if [ "$icon_done" = 1 ]; then
    pt_info "installed the icon in $icons"
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons/index.theme" ]; then
        gtk-update-icon-cache -q "$icons" || true
    fi
fi

if [ "$run" = 0 ]; then
    pt_section "done"
    if [ "$demo" = 1 ]; then pt_info "installed; run it with: $LINK demo"; else pt_info "installed; run it with: $LINK"; fi
    exit 0
fi
if [ "$demo" = 1 ]; then
    pt_section "running: parsec-tray demo ${app_args[*]:-}"
    exec "$VENV/bin/parsec-tray" demo "${app_args[@]}"
fi
pt_section "running: parsec-tray ${app_args[*]:-}"
exec "$VENV/bin/parsec-tray" "${app_args[@]}"
