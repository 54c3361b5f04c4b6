#!/usr/bin/env bash
# Installs what the tests need (Debian packages when run as root, the Python
# package with its test extras) and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    openssh-server openssh-client iputils-ping tcpdump tshark shellcheck iproute2 ethtool sudo tmux >/dev/null
fi
python3 -m pip install -q -e '.[test]'
exec python3 -m pytest "$@"
