#!/usr/bin/env bash
# Run the test suite in the Vagrant VMs (see Vagrantfile) and print a table.
#
# Usage: vagrant/run-matrix.sh [--machines freebsd,linux] [--provider virtualbox|libvirt] [--destroy]
#
# For each machine: vagrant up, vagrant rsync, then
#   unit: `go test -json ./...` as the vagrant user (kernel tests skip)
#   root: `go test -json ./...` as root (the whole suite, kernel tests included)
# JSON output and logs go to vagrant/results/<machine>/. Exit status is 1 if a
# machine could not be brought up or any test or package failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

machines="freebsd,linux"
provider=""
destroy=0
while [ $# -gt 0 ]; do
	case "$1" in
	--machines) machines="${2:?--machines needs a value}"; shift 2 ;;
	--machines=*) machines="${1#*=}"; shift ;;
	--provider) provider="${2:?--provider needs a value}"; shift 2 ;;
	--provider=*) provider="${1#*=}"; shift ;;
	--destroy) destroy=1; shift ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "run-matrix: unknown argument: $1" >&2; exit 2 ;;
	esac
done

command -v vagrant >/dev/null 2>&1 || { echo "run-matrix: vagrant not found in PATH" >&2; exit 2; }
export VAGRANT_CHECKPOINT_DISABLE=1
IFS=',' read -r -a machine_list <<<"$machines"
for m in "${machine_list[@]}"; do
	case "$m" in freebsd | linux) ;; *) echo "run-matrix: unknown machine: $m (want freebsd, linux)" >&2; exit 2 ;; esac
done

RESULTS="$HERE/results"
mkdir -p "$RESULTS"

up_args=()
[ -n "$provider" ] && up_args+=(--provider "$provider")

# shellcheck disable=SC2317 # called through trap
cleanup() {
	if [ "$destroy" = 1 ]; then
		echo "==> destroying ${machine_list[*]}"
		vagrant destroy -f "${machine_list[@]}" || true
	fi
}
trap cleanup EXIT

# Shell snippet run in the guest (sh, not bash: FreeBSD). Prints key=value.
# shellcheck disable=SC2016 # expanded in the guest
PROBE='
echo "os=$(uname -sr)"
echo "arch=$(uname -m)"
if [ "$(uname -s)" = FreeBSD ]; then
	echo "kernel=$(freebsd-version -k) $(uname -i)"
	echo "netlink=$(sysctl -n kern.features.netlink 2>/dev/null || echo 0)"
else
	echo "kernel=$(uname -r)"
fi
cd /vagrant && echo "go=$(go env GOVERSION)"
'

# counts FILE: prints "passed failed skipped" from a go test -json stream.
# Subtests count individually. A package that failed without a failing test
# (build error, panic in init, timeout) counts as one failure.
counts() {
	awk '
		/"Action":"(pass|fail|skip)"/ {
			act = $0; sub(/.*"Action":"/, "", act); sub(/".*/, "", act)
			if ($0 ~ /"Test":"/) { n[act]++; if (act == "fail") { p = $0; sub(/.*"Package":"/, "", p); sub(/".*/, "", p); tf[p] = 1 } }
			else if (act == "fail") { p = $0; sub(/.*"Package":"/, "", p); sub(/".*/, "", p); pf[p] = 1 }
		}
		END {
			for (p in pf) if (!(p in tf)) n["fail"]++
			printf "%d %d %d\n", n["pass"], n["fail"], n["skip"]
		}' "$1"
}

ROWS=()
overall=0

for i in "${!machine_list[@]}"; do
	m="${machine_list[$i]}"
	out="$RESULTS/$m"
	rm -rf "$out"
	mkdir -p "$out"
	echo "==> $m: vagrant up ${provider:+--provider $provider}"
	if ! vagrant up "$m" ${up_args[@]+"${up_args[@]}"} >"$out/up.log" 2>&1; then
		echo "    vagrant up failed; see $out/up.log" >&2
		ROWS[i]="$m|?|?|?|?|-|-|UP FAILED"
		overall=1
		continue
	fi
	echo "==> $m: vagrant rsync"
	vagrant rsync "$m" >>"$out/up.log" 2>&1 || { ROWS[i]="$m|?|?|?|?|-|-|RSYNC FAILED"; overall=1; continue; }

	vagrant ssh "$m" -c "$PROBE" >"$out/probe.txt" 2>/dev/null || true
	get() { sed -n "s/^$1=//p" "$out/probe.txt" | tr -d '\r' | head -n1; }
	os="$(get os)" kernel="$(get kernel)" gov="$(get go)" arch="$(get arch)"

	echo "==> $m: unit tests as vagrant ($os, $gov)"
	unit_rc=0
	vagrant ssh "$m" -c 'cd /vagrant && go test -json ./...' >"$out/unit.json" 2>"$out/unit.stderr" || unit_rc=$?
	echo "==> $m: whole suite as root"
	root_rc=0
	# -H: root gets its own HOME, so its build cache stays out of ~vagrant.
	# shellcheck disable=SC2016 # $PATH is the guest's
	vagrant ssh "$m" -c 'cd /vagrant && sudo -H env "PATH=$PATH" go test -json ./...' >"$out/root.json" 2>"$out/root.stderr" || root_rc=$?

	read -r up uf us < <(counts "$out/unit.json")
	read -r rp rf rs < <(counts "$out/root.json")
	status=PASS
	# A non-zero exit with no failing test still fails (e.g. go itself died).
	if [ "$uf" -gt 0 ] || [ "$rf" -gt 0 ] || [ "$unit_rc" != 0 ] || [ "$root_rc" != 0 ]; then
		status=FAIL
		overall=1
		[ "$uf" = 0 ] && [ "$unit_rc" != 0 ] && uf="rc=$unit_rc"
		[ "$rf" = 0 ] && [ "$root_rc" != 0 ] && rf="rc=$root_rc"
	fi
	ROWS[i]="$m|$os ($arch)|$kernel|$gov|$up/$uf/$us|$rp/$rf/$rs|$status"
	grep -h '"Action":"fail"' "$out/unit.json" "$out/root.json" | grep '"Test":"' |
		sed 's/.*"Package":"\([^"]*\)","Test":"\([^"]*\)".*/    FAIL \1 \2/' | sort -u || true
done

echo
{
	echo "MACHINE|OS|KERNEL|GO|UNIT pass/fail/skip|ROOT pass/fail/skip|RESULT"
	for r in "${ROWS[@]}"; do echo "$r"; done
} | column -t -s '|'
echo
echo "unit = go test ./... as the vagrant user; root = the whole suite as root."
echo "Logs and go test -json output: $RESULTS/<machine>/"
exit "$overall"
