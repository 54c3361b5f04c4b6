#!/bin/sh
# vpc-mirror: install Zeek (zeek-8.0) from the openSUSE Build Service repository security:zeek on Fedora Linux 42 (Server Edition), non-interactively
set -eu
repo=https://download.opensuse.org/repositories/security:/zeek/Fedora_42
curl -fsSL -o /etc/yum.repos.d/security-zeek.repo "$repo/security:zeek.repo"
dnf install -y --setopt=install_weak_deps=False zeek-8.0 tcpdump ethtool
