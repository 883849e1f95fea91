#!/usr/bin/env bash
# Platform checks that can run on one Linux machine without any VM or GitHub
# download:
#
#   cross       GOOS/GOARCH vet, test-binary compile and cmd build for the
#               non-native targets (FreeBSD, linux/arm64, macOS), for the main
#               module and for the nested bench/ module.
#   actionlint  lint .github/workflows with actionlint (installed through the
#               Go module proxy; uses shellcheck for run: blocks when present).
#   vagrant     `vagrant validate` of vagrant/Vagrantfile (Debian's vagrant).
#   scripts     shellcheck of this script and vagrant/run-matrix.sh.
#
# Usage: .ci/platform-checks.sh [--only STEP[,STEP...]] [--targets OS/ARCH[,OS/ARCH...]]
#        .ci/platform-checks.sh --help
#
# Every step runs even when an earlier one failed; the script prints a summary
# and exits non-zero if any step failed. Tools are installed only when missing.
# Environment:
#   ACTIONLINT_VERSION  actionlint module version (default below)
#   TOOLS_BIN           where `go install` puts actionlint (default: a cache dir)
#   SKIP_APT=1          never call apt-get (steps needing a missing tool fail)
set -euo pipefail

ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
DEFAULT_TARGETS="freebsd/amd64,freebsd/arm64,linux/arm64,darwin/arm64"
ALL_STEPS="cross,actionlint,vagrant,scripts"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

steps="$ALL_STEPS"
targets="$DEFAULT_TARGETS"
while [ $# -gt 0 ]; do
	case "$1" in
	--only) steps="${2:?--only needs a value}"; shift 2 ;;
	--only=*) steps="${1#*=}"; shift ;;
	--targets) targets="${2:?--targets needs a value}"; shift 2 ;;
	--targets=*) targets="${1#*=}"; shift ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "platform-checks: unknown argument: $1" >&2; exit 2 ;;
	esac
done

START=$SECONDS
FAILED=()
PASSED=()
NOTES=()

header() {
	printf '\n==== %s ====\n' "$*"
}

# run NAME CMD...: runs CMD, records NAME as passed or failed, never aborts.
run() {
	local name="$1"
	shift
	printf '+ %s\n' "$*"
	local t0=$SECONDS
	if "$@"; then
		PASSED+=("$name ($((SECONDS - t0))s)")
	else
		echo "FAILED: $name" >&2
		FAILED+=("$name")
	fi
}

want() {
	case ",$steps," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

APT_UPDATED=0
apt_install() {
	# apt_install PKG...: installs the packages; returns non-zero if apt is
	# unusable here.
	if [ "${SKIP_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
		return 1
	fi
	local sudo=""
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null 2>&1 || return 1
		sudo="sudo"
	fi
	if [ "$APT_UPDATED" = 0 ]; then
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
		APT_UPDATED=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- cross
# compile_module DIR GOOS GOARCH: vet, compile every package's test binary
# (packages without tests compile as a no-op) and build commands.
compile_module() {
	local dir="$1" goos="$2" goarch="$3" pkgs p rc=0
	(
		cd "$dir"
		export GOOS="$goos" GOARCH="$goarch" CGO_ENABLED=0
		echo "+ [$dir] GOOS=$goos GOARCH=$goarch go vet ./..."
		go vet ./... || rc=1
		pkgs="$(go list ./...)" || exit 1
		echo "+ [$dir] go test -c -o /dev/null <pkg> for $(echo "$pkgs" | wc -l) packages"
		for p in $pkgs; do
			# -c with -o /dev/null links the test binary and discards it;
			# "[no test files]" packages succeed without output.
			go test -c -o /dev/null "$p" >/dev/null || { echo "test compile failed: $p ($goos/$goarch)" >&2; rc=1; }
		done
		if [ -d cmd ] && [ -n "$(go list ./cmd/... 2>/dev/null)" ]; then
			echo "+ [$dir] go build -o /dev/null ./cmd/..."
			go build -o /dev/null ./cmd/... || rc=1
		fi
		exit "$rc"
	)
}

if want cross; then
	header "cross-compile: go vet + test binaries + cmd for ${targets//,/ }"
	go version
	IFS=',' read -r -a target_list <<<"$targets"
	for t in "${target_list[@]}"; do
		goos="${t%/*}" goarch="${t#*/}"
		header "cross $goos/$goarch"
		run "cross $goos/$goarch" compile_module . "$goos" "$goarch"
		# bench/ compares with Linux-only libraries (vishvananda/netlink):
		# it is built for Linux targets only.
		if [ -f bench/go.mod ] && [ "$goos" = linux ]; then
			run "cross $goos/$goarch bench/" compile_module bench "$goos" "$goarch"
		fi
	done
fi

# ---------------------------------------------------------------- actionlint
if want actionlint; then
	header "actionlint $ACTIONLINT_VERSION on .github/workflows"
	TOOLS_BIN="${TOOLS_BIN:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/nlbus-ci/bin}"
	mkdir -p "$TOOLS_BIN"
	actionlint_bin="$TOOLS_BIN/actionlint"
	if [ -x "$actionlint_bin" ] && "$actionlint_bin" -version 2>/dev/null | head -n1 | grep -qx "v${ACTIONLINT_VERSION#v}"; then
		echo "actionlint ${ACTIONLINT_VERSION} already installed at $actionlint_bin"
	else
		# Through the Go module proxy; GOFLAGS from the caller (e.g. -mod=vendor)
		# must not leak into the tool install.
		run "install actionlint" env GOFLAGS= GOBIN="$TOOLS_BIN" go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
	fi
	if ! command -v shellcheck >/dev/null 2>&1; then
		echo "shellcheck not found; installing it with apt"
		if ! apt_install shellcheck; then
			NOTES+=("shellcheck unavailable (no apt): actionlint ran without checking run: scripts")
		fi
	fi
	if command -v shellcheck >/dev/null 2>&1; then
		echo "shellcheck: $(shellcheck --version | sed -n 's/^version: //p') (actionlint checks run: blocks with it)"
	else
		echo "WARNING: shellcheck not available; run: blocks are not shell-checked" >&2
	fi
	if [ -x "$actionlint_bin" ]; then
		"$actionlint_bin" -version | head -n1
		if compgen -G ".github/workflows/*.y*ml" >/dev/null; then
			run "actionlint" "$actionlint_bin" -no-color
		else
			echo "no workflow files under .github/workflows" >&2
			FAILED+=("actionlint (no workflows)")
		fi
	else
		FAILED+=("actionlint (not installed)")
	fi
fi

# ---------------------------------------------------------------- vagrant
if want vagrant; then
	header "vagrant validate vagrant/Vagrantfile"
	if ! command -v vagrant >/dev/null 2>&1; then
		echo "vagrant not found; installing Debian's vagrant package"
		apt_install vagrant || true
	fi
	# vagrant-libvirt lets the libvirt provider blocks be validated too
	# (Debian ships it; VirtualBox is not in Debian main, so its block can't be).
	if command -v vagrant >/dev/null 2>&1 && ! vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt '; then
		echo "installing Debian's vagrant-libvirt plugin package"
		apt_install vagrant-libvirt || NOTES+=("vagrant-libvirt unavailable: libvirt provider blocks not validated")
	fi
	if command -v vagrant >/dev/null 2>&1 && [ -f vagrant/Vagrantfile ]; then
		vagrant --version
		# The checkpoint/box-update checks would try to reach the internet, and
		# the machine state dir goes to a temp dir, not into the work tree.
		vagrant_dot="$(mktemp -d)"
		vagrant_env=(VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
			VAGRANT_DISABLE_VBOXSYMLINKCREATE=1 VAGRANT_DOTFILE_PATH="$vagrant_dot")
		# No provider is usable here: --ignore-provider checks everything but the
		# provider blocks, without asking a provider for machine state.
		run "vagrant validate --ignore-provider" env -C vagrant "${vagrant_env[@]}" \
			vagrant validate --ignore-provider
		if vagrant plugin list 2>/dev/null | grep -q '^vagrant-libvirt '; then
			run "vagrant validate (libvirt provider blocks)" env -C vagrant "${vagrant_env[@]}" \
				VAGRANT_DEFAULT_PROVIDER=libvirt vagrant validate
		fi
		rm -rf "$vagrant_dot"
	else
		[ -f vagrant/Vagrantfile ] || echo "vagrant/Vagrantfile missing" >&2
		command -v vagrant >/dev/null 2>&1 || echo "vagrant unavailable (apt failed or SKIP_APT=1)" >&2
		FAILED+=("vagrant validate (vagrant or Vagrantfile missing)")
	fi
fi

# ---------------------------------------------------------------- scripts
if want scripts; then
	header "shellcheck of CI and Vagrant scripts"
	if ! command -v shellcheck >/dev/null 2>&1; then
		apt_install shellcheck || true
	fi
	if command -v shellcheck >/dev/null 2>&1; then
		scripts=(.ci/platform-checks.sh)
		[ -f vagrant/run-matrix.sh ] && scripts+=(vagrant/run-matrix.sh)
		run "shellcheck scripts" shellcheck "${scripts[@]}"
	else
		NOTES+=("shellcheck unavailable: scripts step skipped")
		echo "shellcheck unavailable; skipping" >&2
	fi
fi

# ---------------------------------------------------------------- summary
header "platform-checks summary ($((SECONDS - START))s)"
for p in ${PASSED[@]+"${PASSED[@]}"}; do echo "  ok    $p"; done
for f in ${FAILED[@]+"${FAILED[@]}"}; do echo "  FAIL  $f"; done
for n in ${NOTES[@]+"${NOTES[@]}"}; do echo "  note  $n"; done
if [ "${#FAILED[@]}" -gt 0 ]; then
	echo "platform-checks: ${#FAILED[@]} step(s) failed" >&2
	exit 1
fi
echo "platform-checks: all steps passed"
