#!/bin/sh
# vpc-mirror: install Zeek (zeek-8.0) from the openSUSE Build Service repository security:zeek on Ubuntu 24.04.2 LTS, non-interactively
set -eu
export DEBIAN_FRONTEND=noninteractive
repo=https://download.opensuse.org/repositories/security:/zeek/xUbuntu_24.04
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl gpg
curl -fsSL "$repo/Release.key" | gpg --dearmor --yes -o /usr/share/keyrings/security-zeek.gpg
echo "deb [signed-by=/usr/share/keyrings/security-zeek.gpg] $repo/ /" > /etc/apt/sources.list.d/security-zeek.list
apt-get update -q
apt-get install -y -q --no-install-recommends zeek-8.0 tcpdump ethtool
