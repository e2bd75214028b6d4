#!/usr/bin/env bash
# Prepares a Debian 12 machine to run the virtual device and its tests:
#   1. installs the Debian packages below when any is missing (needs root),
#   2. starts pcscd with the vpcd reader driver when it is not running,
#   3. installs the npm packages (npm ci).
# Safe to run again: each step is skipped when its work is already done.
set -euo pipefail

# pcscd + vsmartcard-vpcd: the PC/SC daemon and the virtual reader the device connects to.
# opensc, openssl, pcsc-tools (scriptor): the clients the end-to-end tests drive.
# softhsm2: the reference PKCS#11 token that tools/bench compares the device with.
PACKAGES=(pcscd vsmartcard-vpcd opensc openssl softhsm2 pcsc-tools)

# vpcd listens on 35963 for "Virtual PCD 00 00" (hex 8C7B, as /proc/net/tcp shows ports).
VPCD_PORT_HEX=8C7B
VPCD_READER_CONF=/etc/reader.conf.d/vpcd

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'setup: %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_packages() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    is_installed "$package" || missing+=("$package")
  done

  if [[ ${#missing[@]} -eq 0 ]]; then
    say "Debian packages already installed: ${PACKAGES[*]}"
    return
  fi

  [[ $(id -u) -eq 0 ]] || fail "missing Debian packages: ${missing[*]}. Run this script as root (sudo $0)."
  command -v apt-get >/dev/null || fail "apt-get not found: this script supports Debian 12; install ${missing[*]} yourself."

  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Prints the PID of a running pcscd, if any (reads /proc, so procps is not needed).
pcscd_pid() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    if [[ $(cat "$comm" 2>/dev/null) == pcscd ]]; then
      basename "$(dirname "$comm")"
      return 0
    fi
  done
  return 1
}

vpcd_listening() {
  # State 0A is LISTEN.
  grep -qiE ":${VPCD_PORT_HEX} 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

start_pcscd() {
  [[ -f $VPCD_READER_CONF ]] || fail "$VPCD_READER_CONF not found: reinstall vsmartcard-vpcd."

  local pid
  if pid=$(pcscd_pid); then
    say "pcscd already running (pid $pid)"
  else
    [[ $(id -u) -eq 0 ]] || fail "pcscd is not running. Start it as root: sudo pcscd (or sudo $0)."
    # No systemd here: pcscd started by hand forks into the background and reads
    # its readers, vpcd among them, from /etc/reader.conf.d.
    say "starting pcscd"
    pcscd
  fi

  for _ in $(seq 1 50); do
    if vpcd_listening; then
      say "vpcd listens on 127.0.0.1:35963 (reader \"Virtual PCD 00 00\") and 35964 (\"Virtual PCD 00 01\")"
      return
    fi
    sleep 0.1
  done
  fail "pcscd runs but vpcd does not listen on port 35963 after 5 s: check $VPCD_READER_CONF and restart pcscd."
}

check_node() {
  command -v node >/dev/null || fail "Node.js not found: install Node.js 20 or later (Debian 12's nodejs package is 18, too old)."
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [[ $major -ge 20 ]] || fail "Node.js $(node --version) is too old: install Node.js 20 or later."
  say "Node.js $(node --version)"
}

install_npm_packages() {
  say "installing npm packages (npm ci) in $repo"
  (cd "$repo" && npm ci --no-audit --no-fund)
}

install_packages
start_pcscd
check_node
install_npm_packages
say "done. Start the device with: npm start"
