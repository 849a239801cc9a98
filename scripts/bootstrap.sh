#!/bin/sh
# Install what netwatch needs on Debian 12, as root, idempotently:
#   sh scripts/bootstrap.sh run    Debian packages for the daemon and demo, and .venv
#   sh scripts/bootstrap.sh test   ... plus what the tests talk to (Prometheus, snmpd, ...)
# A fresh Debian has no python3-venv and refuses system-wide pip (PEP 668): we use a venv.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-run}

run_pkgs="python3 python3-venv python3-pip iproute2 nftables ca-certificates"
# the Debian package: built with debhelper, checked with lintian, installed into a Debian 12
# root made by mmdebstrap (tests/integration/test_deb.py); the pages' browser tests: Debian's
# chromium driven by its chromedriver (tests/integration/test_screen_browser.py)
test_pkgs="snmpd snmp prometheus prometheus-alertmanager victoria-metrics systemd fping
           debhelper lintian mmdebstrap chromium chromium-driver"
pkgs=$run_pkgs
[ "$mode" = test ] && pkgs="$run_pkgs $test_pkgs"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bootstrap: missing Debian packages:$missing (run as root, or apt-get install them)" >&2
        exit 1
    fi
    echo "bootstrap: apt-get install$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d keeps the packages' services (prometheus, snmpd, ...) from starting:
    # netwatch's tests start their own instances on loopback ports
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

python=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
extra="[lab]"
[ "$mode" = test ] && extra="[test]"
stamp=".venv/.installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    # pip is quiet: say what the pause is (the demo's first run waits here ~20 s)
    echo "bootstrap: installing netwatch and its Python packages into .venv (first run: ~20 s)..." >&2
    .venv/bin/pip install -q --disable-pip-version-check -e ".$extra"
    echo "bootstrap: .venv ready" >&2
    touch "$stamp"
fi
