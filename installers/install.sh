#!/usr/bin/env bash
# Install Parsec Tray for the current user on Linux (Debian 12 and alike)
# from the directory this script lives in, then run it:
#
#     bash installers/install.sh [--demo] [--no-run | --detach] [-- APP ARGS...]
#     bash installers/install.sh --uninstall
#
#   --demo       also install the reference server (parsec-cloud 3.9.3, which
#                needs Python 3.12) and run `parsec-tray demo`
#   --no-run     install only
#   --detach     run the app in the background, its output in a log file
#                (without it the app runs in this terminal, which must stay open)
#   --uninstall  remove what this script installed; device files and
#                settings stay
#
# What it does, each step skipped when already done (pip's output goes to
# ${XDG_DATA_HOME:-~/.local/share}/parsec-tray/install.log):
#   1. the Debian packages tagged "app" in installers/debian-packages.txt
#      (apt-get, with sudo when not root; PARSEC_TRAY_SKIP_APT=1 skips this),
#   2. a venv in ${XDG_DATA_HOME:-~/.local/share}/parsec-tray/venv with
#      Python 3.12 when there is one, else 3.13 or 3.11 (PARSEC_TRAY_PYTHON
#      overrides the search), and the project with its "gtk" extra in it,
#   3. ~/.local/bin/parsec-tray, the desktop entry (the parsec3:// link and
#      .psrk recovery file handler), its AppStream metadata, the icons in the
#      hicolor theme and the MIME type of recovery files,
#   4. runs `parsec-tray` (or `parsec-tray demo`).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=common.sh
. "$REPO/installers/common.sh"

usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

demo=0
run=1
detach=0
uninstall=0
app_args=()
while [ $# -gt 0 ]; do
    case $1 in
        --demo) demo=1 ;;
        --no-run) run=0 ;;
        --detach) detach=1 ;;
        --uninstall) uninstall=1 ;;
        -h | --help) usage; exit 0 ;;
        --) shift; app_args=("$@"); break ;;
        *) usage >&2; pt_die "unknown option: $1" ;;
    esac
    shift
done

# Everything this script puts in place (--uninstall removes exactly these).
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}
APP_DATA="$DATA_HOME/parsec-tray"
VENV="$APP_DATA/venv"
VPY="$VENV/bin/python"
INSTALL_LOG="$APP_DATA/install.log"
RUN_LOG="$APP_DATA/run.log"
BIN_DIR="$HOME/.local/bin"
LINK="$BIN_DIR/parsec-tray"
LINUX_SRC="$REPO/installers/linux"
ENTRY_NAME=parsec-tray.desktop
APPS="$DATA_HOME/applications"
ENTRY="$APPS/$ENTRY_NAME"
METAINFO_NAME=io.github.parsec_tray.ParsecTray.metainfo.xml
METAINFO="$DATA_HOME/metainfo/$METAINFO_NAME"
ICONS="$DATA_HOME/icons/hicolor"
HICOLOR_SIZES="16 22 24 32 48 64 128 256" # of icons/parsec-tray-<size>.png, those hicolor has
MIME_PKG="$DATA_HOME/mime/packages/parsec-tray.xml"
MIME_TYPES=(x-scheme-handler/parsec3 application/x-parsec-recovery-file)
# Made by the app (Start at login), not by this script, but removed with it.
AUTOSTART="$CONFIG_HOME/autostart/$ENTRY_NAME"
# Never removed: the keys (keys lost = data lost) and the app's settings.
DEVICES_DIR="${PARSEC_BASE_CONFIG_DIR:-$CONFIG_HOME}/parsec3/libparsec/devices"
SETTINGS_DIR="${PARSEC_TRAY_CONFIG_DIR:-$CONFIG_HOME/parsec-tray}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

pt_refresh_icon_cache() {
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$ICONS/index.theme" ]; then
        gtk-update-icon-cache -q "$ICONS" || true
    fi
}

# forget_handler TYPE: drop "TYPE=parsec-tray.desktop" from the user's mimeapps.list files.
forget_handler() {
    local file
    for file in "$CONFIG_HOME/mimeapps.list" "$APPS/mimeapps.list"; do
        [ -f "$file" ] || continue
        awk -v line="$1=$ENTRY_NAME" '$0 != line && $0 != line ";"' "$file" >"$file.tmp"
        if grep -qv -e '^\[.*\]$' -e '^[[:space:]]*$' "$file.tmp"; then
            mv -f "$file.tmp" "$file"
        else # only group headers left: the file said nothing else
            rm -f "$file.tmp" "$file"
        fi
    done
}

do_uninstall() {
    pt_section "Uninstalling Parsec Tray"
    if [ -x "$VENV/bin/parsec-tray" ] && "$VENV/bin/parsec-tray" status >/dev/null 2>&1; then
        pt_die "Parsec Tray is running: choose Quit in its menu, then run this again"
    fi
    local removed=() path type size
    remove() {
        local p
        for p in "$@"; do
            if [ -e "$p" ] || [ -L "$p" ]; then
                rm -rf -- "$p"
                removed+=("$p")
            fi
        done
    }
    # The launcher only when it is ours (a link into our venv).
    if [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$VENV/bin/parsec-tray" ]; then
        remove "$LINK"
    fi
    remove "$VENV" "$INSTALL_LOG" "$RUN_LOG" "$ENTRY" "$METAINFO" "$MIME_PKG" "$AUTOSTART"
    for size in $HICOLOR_SIZES; do
        remove "$ICONS/${size}x${size}/apps/parsec-tray.png"
    done
    for type in "${MIME_TYPES[@]}"; do
        forget_handler "$type"
    done
    # Caches generated from what is left (or gone with the last entry).
    if [ -d "$APPS" ] && ! compgen -G "$APPS/*.desktop" >/dev/null; then
        rm -f "$APPS/mimeinfo.cache"
    elif [ -d "$APPS" ] && command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$APPS" || true
    fi
    if [ -d "$DATA_HOME/mime" ]; then
        if compgen -G "$DATA_HOME/mime/packages/*.xml" >/dev/null; then
            update-mime-database "$DATA_HOME/mime" || true
        else # everything else in mime/ is generated from packages/
            rm -rf -- "$DATA_HOME/mime"
        fi
    fi
    pt_refresh_icon_cache
    # Folders this script may have made, when nothing else is in them.
    for path in "$APP_DATA" "$APPS" "$(dirname "$METAINFO")" "$ICONS"/*/apps; do
        pt_prune_dirs "$path" "$(dirname "$DATA_HOME")"
    done
    pt_prune_dirs "$(dirname "$AUTOSTART")" "$(dirname "$CONFIG_HOME")"
    pt_prune_dirs "$BIN_DIR" "$HOME"
    if [ "${#removed[@]}" -eq 0 ]; then
        pt_info "nothing of Parsec Tray was installed here"
    else
        pt_info "removed:"
        printf '  %s\n' "${removed[@]}"
    fi
    local n=0
    [ -d "$DEVICES_DIR" ] && n=$(find "$DEVICES_DIR" -name '*.keys' -type f | wc -l)
    pt_info "left alone: your device files ($n in $DEVICES_DIR; without them, or the official client, your data cannot be opened) and Parsec Tray's settings ($SETTINGS_DIR). Delete them yourself only if you are sure."
}

if [ "$uninstall" = 1 ]; then
    do_uninstall
    exit 0
fi

mkdir -p "$APP_DATA"
: >"$INSTALL_LOG"

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
    rm -rf "$VENV"
    pt_logged "$INSTALL_LOG" "creating it" "$py" -m venv "$VENV" || pt_die "could not create the venv $VENV"
fi

pt_section "Parsec Tray and its Python packages (pip's output: $INSTALL_LOG)"
extra_reqs=()
[ "$demo" = 1 ] && extra_reqs=("parsec-cloud==3.9.3")
if unmet=$(pt_requirements_unmet "$VPY" "$REPO/pyproject.toml" gtk "${extra_reqs[@]}" 2>&1); then
    pt_info "dependencies already met"
else
    pt_logged "$INSTALL_LOG" "installing $(printf '%s\n' "$unmet" | grep -c .) missing requirement(s)" \
        "$VPY" -m pip install --progress-bar off "$REPO[gtk]" "${extra_reqs[@]}" \
        || pt_die "pip could not install Parsec Tray's dependencies (log above)"
fi
# Always the project itself from this directory (cheap, and picks up changes).
pt_logged "$INSTALL_LOG" "installing Parsec Tray from $REPO" \
    "$VPY" -m pip install --no-deps --force-reinstall "$REPO" \
    || pt_die "pip could not install Parsec Tray (log above)"
pt_info "installed: parsec-tray $("$VPY" -c 'import importlib.metadata as m; print(m.version("parsec-tray"))')"

pt_section "Command, desktop entry, icons, MIME types"
mkdir -p "$BIN_DIR"
ln -sfn "$VENV/bin/parsec-tray" "$LINK"
pt_info "linked $LINK"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) pt_warn "$BIN_DIR is not on your PATH: add it (e.g. in ~/.profile) to type 'parsec-tray'" ;;
esac

exec_path=$LINK
case $exec_path in
    *[!A-Za-z0-9/._+-]*) exec_path=parsec-tray ;; # keep it simple: rely on PATH
esac
mkdir -p "$APPS"
sed -e "s|^Exec=parsec-tray|Exec=$exec_path|" "$LINUX_SRC/$ENTRY_NAME" >"$ENTRY.tmp"
mv -f "$ENTRY.tmp" "$ENTRY"
pt_info "installed $ENTRY"
install -D -m 644 "$LINUX_SRC/$METAINFO_NAME" "$METAINFO"
pt_info "installed $METAINFO"

for size in $HICOLOR_SIZES; do
    install -D -m 644 "$REPO/icons/parsec-tray-$size.png" "$ICONS/${size}x${size}/apps/parsec-tray.png"
done
pt_info "installed the icon in $ICONS (${HICOLOR_SIZES// /, } px)"
pt_refresh_icon_cache

install -D -m 644 "$LINUX_SRC/parsec-tray-mime.xml" "$MIME_PKG"
if command -v update-mime-database >/dev/null 2>&1; then
    update-mime-database "$DATA_HOME/mime" && pt_info "registered the MIME type of recovery files (*.psrk)" \
        || pt_warn "update-mime-database failed: .psrk files will not be recognised"
else
    pt_warn "no update-mime-database (Debian: shared-mime-info): .psrk files will not be recognised"
fi
if command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q "$APPS" || pt_warn "update-desktop-database failed"
fi
if command -v xdg-mime >/dev/null 2>&1; then
    for type in "${MIME_TYPES[@]}"; do
        current=$(xdg-mime query default "$type" 2>/dev/null || true)
        if [ -z "$current" ] || [ "$current" = "$ENTRY_NAME" ]; then
            xdg-mime default "$ENTRY_NAME" "$type" \
                && pt_info "$type opens with Parsec Tray" \
                || pt_warn "xdg-mime could not make Parsec Tray the handler of $type"
        else
            pt_info "$type stays with $current; to use Parsec Tray: xdg-mime default $ENTRY_NAME $type"
        fi
    done
else
    pt_warn "no xdg-mime (Debian: xdg-utils): parsec3:// links and .psrk files are not handed to Parsec Tray"
fi

if [ "$run" = 0 ]; then
    pt_section "done"
    if [ "$demo" = 1 ]; then pt_info "installed; run it with: $LINK demo"; else pt_info "installed; run it with: $LINK"; fi
    exit 0
fi
cmd=("$VENV/bin/parsec-tray")
[ "$demo" = 1 ] && cmd+=(demo)
cmd+=("${app_args[@]}")
what="Parsec Tray"
[ "$demo" = 1 ] && what="The demo (a Parsec server on this computer and the tray)"
if [ "$detach" = 1 ]; then
    pt_section "starting in the background: parsec-tray ${cmd[*]:1}"
    setsid "${cmd[@]}" </dev/null >"$RUN_LOG" 2>&1 &
    pt_info "$what runs in the background (process $!); you can close this terminal."
    pt_info "Stop it with Quit in its menu. Its output is in $RUN_LOG"
    [ "$demo" = 1 ] && pt_info "(including the line to paste so that the parsec-tray command sees the demo's devices)."
    exit 0
fi
pt_section "running: parsec-tray ${cmd[*]:1}"
pt_info "$what runs in this terminal: keep it open, closing it stops $([ "$demo" = 1 ] && echo the demo || echo the app)."
again="bash $REPO/installers/install.sh"
[ "$demo" = 1 ] && again+=" --demo"
pt_info "Stop it with Quit in its menu or Ctrl+C here. To keep the terminal free instead: $again --detach"
exec "${cmd[@]}"
