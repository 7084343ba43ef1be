#!/usr/bin/env bash
# Installs the Debian 12 packages Fanout needs to build, test and run — only those missing.
# Needs root (or sudo). Usage: scripts/install-deps.sh [--with-services]
#   --with-services  also the servers the distributed/integration tests start (PostgreSQL,
#                    PostGIS, NATS), the load generator h2load, and Chromium with Node.js
#                    for the console's browser test (playwright-core comes from npm:
#                    scripts/test.sh runs `npm ci` in tests/e2e/console), and clang 14
#                    with its libFuzzer runtime for the fuzz targets (fuzz/).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git
  libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libxml2-dev libsqlite3-dev libsimdjson-dev nlohmann-json3-dev libexpected-dev
  libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libnghttp2-dev libgeos-dev libroaring-dev libpq-dev
  python3 curl
)
if [[ "${1:-}" == "--with-services" ]]; then
  packages+=(postgresql-15 postgresql-15-postgis-3 postgresql-common nats-server libnats-dev
             nghttp2-client chromium
             clang-14 libclang-rt-14-dev openssl  # the libFuzzer build; TLS test certificates
             dpkg-dev systemd)  # package_e2e: dpkg-shlibdeps, systemd-analyze
  # Node.js and npm: Debian's, unless a Node.js with its own npm is installed already
  # (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
  if ! command -v node >/dev/null; then packages+=(nodejs); fi
  if ! command -v npm >/dev/null; then packages+=(npm); fi
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
