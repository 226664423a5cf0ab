#!/usr/bin/env bash
# Installs what the fault campaign needs to build hosts in network namespaces and break their
# links (ip, iptables, tc) when missing.
set -euo pipefail
exec bash "$(dirname "$0")/deps.sh" iproute2 iptables
