#!/bin/sh
# Install, upgrade or remove netwatch on a Debian server (docs/deploy.md).
#
#   sudo sh deploy/install.sh install     venv in /opt/netwatch, /etc/netwatch/, the unit
#   sudo sh deploy/install.sh upgrade     new venv beside the old, config checked, then swapped
#   sudo sh deploy/install.sh rollback    back to the venv the last upgrade replaced
#   sudo sh deploy/install.sh add-credential NAME < secret   store a secret (root-only file)
#   sudo sh deploy/install.sh credentials regenerate LoadCredential= lines from the files
#   sudo sh deploy/install.sh uninstall [--purge]   --purge also removes /etc/netwatch
#   sudo sh deploy/install.sh stack       Debian's Prometheus/Alertmanager: netwatch's rules
#                                         (with /etc/netwatch/thresholds.yml when there is one),
#                                         prometheus.yml, retention flag, alertmanager.yml
#
# Options (before the command):
#   --root DIR     install below DIR instead of / (like DESTDIR; nothing is started)
#   --wheels DIR   install from the wheels in DIR only (offline server); default: build
#                  from this checkout, dependencies from the package index
#   --python PY    the Python 3.11+ the venv is made from (default: Debian's /usr/bin/python3)
#
# Layout: /opt/netwatch/venv (the program), /etc/netwatch/netwatch.yml (config, never
# overwritten), /etc/netwatch/credentials/ (root-only; each file NAME is passed to the service
# with LoadCredential= and read by the config as {credential: NAME}),
# /etc/systemd/system/netwatch.service (+ .d/credentials.conf, generated),
# /usr/local/bin/netwatch (the command).
set -eu

root=/
wheels=""
python=/usr/bin/python3
src=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --root=*) root=${1#--root=}; shift ;;
        --wheels) wheels=${2:?--wheels needs a directory}; shift 2 ;;
        --wheels=*) wheels=${1#--wheels=}; shift ;;
        --python) python=${2:?--python needs a program}; shift 2 ;;
        --python=*) python=${1#--python=}; shift ;;
        -h|--help) sed -n '2,24p' "$0" | cut -c3-; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) break ;;
    esac
done
command=${1:-}
[ $# -gt 0 ] && shift
purge=""
[ "${1:-}" = "--purge" ] && purge=1

root=$(cd "$root" 2>/dev/null && pwd) || die "--root: no such directory"
[ "$root" = / ] && root=""     # paths below are "$root/opt/...": no double slash
if [ -n "$wheels" ]; then
    wheels=$(cd "$wheels" 2>/dev/null && pwd) || die "--wheels: no such directory"
fi

# the paths as the running system sees them, and where this run writes them
OPT=/opt/netwatch
ETC=/etc/netwatch
UNIT=/etc/systemd/system/netwatch.service
BIN=/usr/local/bin/netwatch
opt=$root$OPT
etc=$root$ETC
unit=$root$UNIT

live_systemd() {
    # act on the running system only for a real install under a booted systemd
    [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null
}

check_python() {
    real=$(readlink -f "$(command -v "$python" || echo "$python")")
    case "$real" in
        /root/*|/home/*|/run/user/*)
            die "$python is $real: the service cannot see /root or /home (ProtectHome=yes); use a system Python" ;;
    esac
    "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "$python is not Python >= 3.11 with venv (Debian: apt-get install python3-venv)"
}

# make a venv at $1 and install netwatch into it; scripts point at the final path
build_venv() {
    new=$1
    rm -rf "$new"
    "$python" -m venv "$new"
    pip="$new/bin/python -m pip install --quiet --disable-pip-version-check --no-warn-script-location"
    if [ -n "$wheels" ]; then
        $pip --no-index --find-links "$wheels" netwatch || die "pip install from $wheels failed"
    else
        $pip "$src" || die "pip install from $src failed (offline? build wheels, use --wheels)"
    fi
    # the venv was made at a temporary path (and maybe below --root): point its scripts at
    # the path the running system will use
    find "$new/bin" -maxdepth 1 -type f | while read -r f; do
        if grep -Iq . "$f"; then sed -i "s|$new|$OPT/venv|g" "$f"; fi
    done
    "$new/bin/python" -m netwatch --version >/dev/null || die "the new venv does not run netwatch"
}

# the new version must accept the current config before it replaces the old one
check_config() {
    venv=$1
    [ -f "$etc/netwatch.yml" ] || return 0
    CREDENTIALS_DIRECTORY="$etc/credentials" "$venv/bin/python" -m netwatch --log-level error \
        check-config "$etc/netwatch.yml" >/dev/null \
        || { rm -rf "$venv"; die "the new version rejects $ETC/netwatch.yml (errors above); nothing was changed"; }
}

write_credentials_dropin() {
    dir="$unit.d"
    mkdir -p "$dir"
    tmp="$dir/.credentials.conf.new"
    {
        echo "# Generated by deploy/install.sh from $ETC/credentials/: do not edit."
        echo "# Add a file there and run 'install.sh credentials' (then restart netwatch)."
        echo "[Service]"
        for f in "$etc/credentials"/*; do
            [ -f "$f" ] || continue
            name=$(basename "$f")
            case "$name" in
                *[!A-Za-z0-9_.-]*|.*) say "skipping credential file '$name' (use A-Z a-z 0-9 _ . -)"; continue ;;
            esac
            echo "LoadCredential=$name:$ETC/credentials/$name"
        done
    } > "$tmp"
    mv "$tmp" "$dir/credentials.conf"
}

install_files() {
    install -d -m 0755 "$root/etc/systemd/system" "$root/usr/local/bin" "$opt/share"
    install -m 0644 "$src/deploy/systemd/netwatch.service" "$unit"
    install -d -m 0755 "$etc"
    install -d -m 0700 "$etc/credentials"
    if [ ! -f "$etc/netwatch.yml" ]; then
        install -m 0644 "$src/deploy/netwatch.yml" "$etc/netwatch.yml"
        say "wrote a starter $ETC/netwatch.yml: add your sites (docs/deploy.md)"
    fi
    rm -rf "$opt/share/examples"
    if [ -d "$src/config" ]; then cp -R "$src/config" "$opt/share/examples"; fi
    install -m 0644 "$src/docs/deploy.md" "$opt/share/deploy.md" 2>/dev/null || true
    ln -sfn "$OPT/venv/bin/netwatch" "$root$BIN"
    write_credentials_dropin
}

swap_venv() {
    if [ -d "$opt/venv" ]; then
        rm -rf "$opt/venv.previous"
        mv "$opt/venv" "$opt/venv.previous"
    fi
    mv "$opt/venv.new" "$opt/venv"
}

version_of() { "$1/bin/python" -c 'import netwatch; print(netwatch.__version__)'; }

cmd_install() {
    [ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or use --root DIR)"
    check_python
    if [ -d "$opt/venv" ]; then
        say "already installed ($(version_of "$opt/venv")): upgrading instead"
        cmd_upgrade
        return
    fi
    install -d -m 0755 "$opt"
    build_venv "$opt/venv.new"
    check_config "$opt/venv.new"
    swap_venv
    install_files
    say "installed netwatch $(version_of "$opt/venv") in $root$OPT"
    if live_systemd; then
        systemctl daemon-reload
        systemctl enable netwatch.service
        say "next: edit $ETC/netwatch.yml, then: systemctl start netwatch"
    fi
}

cmd_upgrade() {
    [ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or use --root DIR)"
    [ -d "$opt/venv" ] || die "not installed in $root$OPT (use install)"
    check_python
    old=$(version_of "$opt/venv" 2>/dev/null || echo unknown)
    build_venv "$opt/venv.new"
    check_config "$opt/venv.new"
    swap_venv
    install_files
    say "upgraded netwatch $old -> $(version_of "$opt/venv") (previous kept: $OPT/venv.previous)"
    if live_systemd; then
        systemctl daemon-reload
        systemctl try-restart netwatch.service
    fi
}

cmd_rollback() {
    [ -d "$opt/venv.previous" ] || die "no previous version in $root$OPT/venv.previous"
    mv "$opt/venv" "$opt/venv.rollback"
    mv "$opt/venv.previous" "$opt/venv"
    mv "$opt/venv.rollback" "$opt/venv.previous"
    say "rolled back to netwatch $(version_of "$opt/venv")"
    if live_systemd; then systemctl try-restart netwatch.service; fi
}

cmd_credentials() {
    [ -f "$unit" ] || die "not installed ($UNIT missing)"
    write_credentials_dropin
    if live_systemd; then systemctl daemon-reload; fi
    say "credentials: $(grep -c '^LoadCredential=' "$unit.d/credentials.conf") passed to netwatch"
}

cmd_add_credential() {
    name=${1:-}
    case "$name" in
        ""|.*|*[!A-Za-z0-9_.-]*) die "add-credential NAME: NAME is letters, digits, _ . - (the {credential: NAME} in the config)" ;;
    esac
    [ -d "$etc/credentials" ] || die "not installed ($ETC/credentials missing)"
    tmp="$etc/credentials/.$name.new"
    (umask 077; cat > "$tmp")
    [ -s "$tmp" ] || { rm -f "$tmp"; die "add-credential: nothing on standard input"; }
    mv "$tmp" "$etc/credentials/$name"
    cmd_credentials
}

# install $1 as $2 unless the admin has a different $2: then leave it, write $2.netwatch-new
install_config() {
    if [ -f "$2" ] && ! cmp -s "$1" "$2"; then
        install -m 0644 "$1" "$2.netwatch-new"
        say "kept your ${2#"$root"}; netwatch's version is beside it: ${2#"$root"}.netwatch-new"
    else
        install -m 0644 "$1" "$2"
    fi
}

# /etc/default/prometheus: Debian's unit runs `prometheus $ARGS`; 2.42 takes retention only
# as a flag. Add ours to ARGS, keep every other flag the admin set.
set_retention() {
    file=$root/etc/default/prometheus
    flag=$(sed -n 's/^ARGS="\(.*\)"/\1/p' "$src/deploy/prometheus/prometheus.default")
    if [ ! -f "$file" ]; then
        install -m 0644 "$src/deploy/prometheus/prometheus.default" "$file"
    elif grep -q -- '--storage.tsdb.retention.time' "$file"; then
        say "kept the retention already set in /etc/default/prometheus (netwatch needs >= 35d)"
    elif grep -q '^ARGS=' "$file"; then
        sed -i "s|^ARGS=\"|ARGS=\"$flag |; s|^ARGS=\"\(.*\) \"|ARGS=\"\1\"|" "$file"
    else
        echo "ARGS=\"$flag\"" >> "$file"
    fi
}

cmd_stack() {
    [ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or use --root DIR)"
    prom=$root/etc/prometheus
    install -d -m 0755 "$prom" "$prom/rules" "$prom/templates" "$root/etc/default"
    # the rules are generated files: replace ours, remove ours that are gone, keep the admin's
    for f in "$prom/rules"/netwatch-*.yml; do
        [ -f "$f" ] && [ ! -f "$src/deploy/prometheus/rules/$(basename "$f")" ] && rm -f "$f"
    done
    if [ -f "$etc/thresholds.yml" ] && [ -x "$opt/venv/bin/python" ]; then
        # the city's own thresholds (the daemon reads them too): rendered by the installed netwatch
        "$opt/venv/bin/python" -m netwatch.generators.rules render \
            --thresholds "$etc/thresholds.yml" --out "$prom/rules" >/dev/null \
            || die "cannot render the rules with $ETC/thresholds.yml (errors above)"
        chmod 0644 "$prom/rules"/netwatch-*.yml
        say "rules rendered with $ETC/thresholds.yml"
    else
        for f in "$src/deploy/prometheus/rules"/*.yml; do
            install -m 0644 "$f" "$prom/rules/$(basename "$f")"
        done
    fi
    install_config "$src/deploy/prometheus/prometheus.yml" "$prom/prometheus.yml"
    set_retention
    if [ -f "$src/deploy/alertmanager/alertmanager.yml" ]; then
        for f in "$src/deploy/alertmanager/templates"/*.tmpl; do
            [ -f "$f" ] && install -m 0644 "$f" "$prom/templates/$(basename "$f")"
        done
        install_config "$src/deploy/alertmanager/alertmanager.yml" "$prom/alertmanager.yml"
    fi
    if command -v promtool >/dev/null; then
        promtool check config "$prom/prometheus.yml" >/dev/null \
            || die "promtool rejects ${prom#"$root"}/prometheus.yml (run it by hand to see why)"
    fi
    if command -v amtool >/dev/null && [ -f "$prom/alertmanager.yml" ]; then
        amtool check-config "$prom/alertmanager.yml" >/dev/null \
            || die "amtool rejects ${prom#"$root"}/alertmanager.yml"
    fi
    say "stack configs installed in ${prom#"$root"}/ (PLACEHOLDERs in alertmanager.yml: docs/deploy.md)"
    if live_systemd; then
        systemctl restart prometheus.service || true      # flags changed: restart, not reload
        systemctl reload prometheus-alertmanager.service || true
    fi
}

cmd_uninstall() {
    [ -n "$root" ] || [ "$(id -u)" -eq 0 ] || die "run as root (or use --root DIR)"
    if live_systemd; then systemctl disable --now netwatch.service 2>/dev/null || true; fi
    rm -f "$unit" "$unit.d/credentials.conf" "$root$BIN"
    rmdir "$unit.d" 2>/dev/null || true   # keeps the admin's own drop-ins
    rm -rf "$opt"
    if [ -n "$purge" ]; then
        rm -rf "$etc"
        say "removed netwatch and $ETC"
    else
        say "removed netwatch; kept $ETC (config and credentials; --purge removes them)"
    fi
    if live_systemd; then systemctl daemon-reload; fi
}

case "$command" in
    install) cmd_install ;;
    upgrade) cmd_upgrade ;;
    rollback) cmd_rollback ;;
    credentials) cmd_credentials ;;
    add-credential) cmd_add_credential "${1:-}" ;;
    uninstall) cmd_uninstall ;;
    stack) cmd_stack ;;
    *) die "usage: install.sh [--root DIR] [--wheels DIR] [--python PY] install|upgrade|rollback|add-credential NAME|credentials|uninstall [--purge]|stack" ;;
esac
