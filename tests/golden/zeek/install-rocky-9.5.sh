#!/bin/sh
# vpc-mirror: install Zeek (zeek) from EPEL on Rocky Linux 9.5 (Blue Onyx), non-interactively
set -eu
dnf install -y epel-release
if ! dnf install -y --setopt=install_weak_deps=False zeek tcpdump ethtool; then
  echo "vpc-mirror: EPEL has no installable zeek package for this release;" \
    "use a Fedora, Debian or Ubuntu sensor, or install Zeek yourself and pass --zeek-prefix" >&2
  exit 3
fi
