#!/usr/bin/env bash
# Peak memory and rate of one typed 100,000-route IPv4 listing per library
# (rtnl streamed; vishvananda, jsimonetti and ip -j as they return them),
# each in a process of its own, on one shared namespace (as root).
# Usage: bash rtnl_peakmem.sh [routes]
set -euo pipefail
cd "$(dirname "$0")"
routes=${1:-100000}
ns="nlbench-rtnlpeak-$$"
bin=$(mktemp -d)/rtnlpeak
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$(dirname "$bin")"; }
trap cleanup EXIT

go build -o "$bin" ./cmd/rtnlpeak
ip netns add "$ns"
ip -n "$ns" link set lo up
if ! ip -n "$ns" link add nlb0 type dummy 2>/dev/null; then
  ip -n "$ns" link add nlb0 type veth peer name nlb0p
  ip -n "$ns" link set nlb0p up
fi
ip -n "$ns" link set nlb0 up
awk -v n="$routes" 'BEGIN { for (i = 0; i < n; i++) { a = 167772160 + i;
  printf "route add %d.%d.%d.%d/32 dev nlb0\n", int(a/16777216), int(a/65536)%256, int(a/256)%256, a%256 } }' |
  ip -n "$ns" -batch -

first=-header
for lib in rtnl vishvananda jsimonetti ip-json; do
  "$bin" -lib "$lib" -routes "$routes" -netns "$ns" $first
  first=
done
