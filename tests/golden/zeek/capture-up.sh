#!/bin/sh
# vpc-mirror: the Zeek capture interface: up, no IP address, MTU 9001, offloads off.
# Run at boot (vpc-mirror-capture.service, or cron @reboot where systemd does not run).
set -u
interface=ens6
ip link set dev "$interface" up mtu 9001
ip -4 addr flush dev "$interface"
ip -6 addr flush dev "$interface" scope global
for feature in rx tx sg tso gso gro lro; do
  # a feature the driver fixes cannot change; the others must
  ethtool -K "$interface" "$feature" off 2>/dev/null || true
done
