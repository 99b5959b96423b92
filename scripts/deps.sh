#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs, by name from Debian 12's archive, everything ec2net needs to build and test.
set -euo pipefail

PACKAGES=(
        # build
        build-essential meson ninja-build pkg-config clang
        # fuzzing (scripts/fuzz.sh): the libFuzzer runtime of clang 14
        libclang-rt-14-dev
        # libraries (design.md: netlink, IMDS over HTTP, JSON, udev, systemd)
        libnl-3-dev libnl-route-3-dev libcurl4-openssl-dev libjson-c-dev libudev-dev libsystemd-dev
        # tests: unit framework, the fake IMDS, the namespace VPC
        libcmocka-dev python3 iproute2 nftables iputils-ping procps curl
        # ec2netctl tests: setpriv drops CAP_NET_ADMIN, script gives status a terminal
        util-linux bsdutils
        # benchmarks (tests/bench/run.sh counts the daemon's netlink messages with strace)
        strace
        # the daemon tests under valgrind (scripts/test-faults.sh)
        valgrind
        # man pages and system checks (scdoc renders, mandoc lints, systemd-analyze, udevadm)
        scdoc mandoc man-db systemd udev
)

missing=()
for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
        echo "deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
