#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: the Debian packages
# the network and terminal tests use (when run as root), then the package with
# its test extras into .venv (so Debian's and Ubuntu's own Python, which
# refuse `pip install` outside a virtual environment, work too).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    python3-venv openssh-server openssh-client iputils-ping tcpdump tshark shellcheck iproute2 ethtool \
    sudo tmux rsync cron tcpreplay qemu-system-x86 >/dev/null
fi
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || {
    echo "tests/run.sh: $python cannot make a virtual environment; install python3-venv (sudo apt install python3-venv)" >&2
    exit 1
  }
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
# Two workers: many tests wait on sshd, captures and the sandbox. The namespace tests stay on one worker, one at a
# time (tests/conftest.py); VPC_MIRROR_TEST_WORKERS=0 runs everything in this process.
exec .venv/bin/python -m pytest -n "${VPC_MIRROR_TEST_WORKERS:-2}" --dist loadgroup "$@"
