# scripts/lib.sh: shared by scripts/demo and scripts/test (sourced, not run).
# Installs build dependencies, builds and installs the extension, and runs a throwaway
# PostgreSQL 15 cluster in a folder of the checkout as an unprivileged OS user, reachable
# only through a Unix socket (listen_addresses = '').
set -euo pipefail

CD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# CD_PG_PREFIX=/tmp/pg-x: use a private, relocated copy of the PostgreSQL 15 installation
# (made by scripts/private-pg), so several checkouts can build, install and test at once
# without overwriting each other's crmdedup.so.
if [ -n "${CD_PG_PREFIX:-}" ]; then
	PGBIN=$CD_PG_PREFIX/usr/lib/postgresql/15/bin
	export PG_CONFIG=$PGBIN/pg_config
else
	PGBIN=/usr/lib/postgresql/15/bin
fi
CD_PGUSER_OS=${CD_PGUSER_OS:-crmdedup}
CD_PORT=${CD_PORT:-54329}

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Packages the build, the tests and the demo need (Debian 12).
CD_PACKAGES="build-essential pkg-config python3 postgresql-15 postgresql-server-dev-15 \
libutf8proc-dev libicu-dev check clang libclang-rt-14-dev"

install_deps() {
	local missing=()
	for p in $CD_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	# No system-wide cluster or service: the scripts run their own throwaway cluster.
	if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q 'install ok installed'; then
		as_root mkdir -p /etc/postgresql-common
		echo 'create_main_cluster = false' | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confold "${missing[@]}"
}

build_install() {
	log "building and installing crmdedup"
	make -C "$CD_ROOT" -s clean >/dev/null
	make -C "$CD_ROOT" -s -j2
	as_root make -C "$CD_ROOT" -s install ${PG_CONFIG:+PG_CONFIG=$PG_CONFIG}
}

# Run a command as the cluster's OS user (PostgreSQL refuses to run as root).
as_pguser() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$CD_PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}

cluster_start() {
	if [ "$(id -u)" -eq 0 ]; then
		id "$CD_PGUSER_OS" >/dev/null 2>&1 ||
			useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$CD_PGUSER_OS"
	fi
	CD_PGDIR="$CD_ROOT/${CD_PGDIR_NAME:-.pg}"
	mkdir -p "$CD_PGDIR"
	[ "$(id -u)" -eq 0 ] && chown "$CD_PGUSER_OS": "$CD_PGDIR"
	if ! as_pguser test -w "$CD_PGDIR" 2>/dev/null; then
		# The checkout sits where the cluster's user cannot reach (e.g. under /root).
		CD_PGDIR=$(mktemp -d /tmp/crmdedup-pg.XXXXXX)
		[ "$(id -u)" -eq 0 ] && chown "$CD_PGUSER_OS": "$CD_PGDIR"
		log "cluster folder moved to $CD_PGDIR (checkout not reachable by $CD_PGUSER_OS)"
	fi
	cluster_stop_quiet
	as_pguser rm -rf "$CD_PGDIR/data" "$CD_PGDIR/sock"
	as_pguser mkdir -p "$CD_PGDIR/sock"
	log "starting a throwaway PostgreSQL 15 cluster in $CD_PGDIR (socket only, port $CD_PORT)"
	as_pguser "$PGBIN/initdb" -D "$CD_PGDIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$CD_PGDIR/initdb.log" 2>&1 ||
		{ cat "$CD_PGDIR/initdb.log"; return 1; }
	as_pguser "$PGBIN/pg_ctl" -D "$CD_PGDIR/data" -l "$CD_PGDIR/server.log" -w -t 300 \
		-p "${CD_POSTGRES:-$PGBIN/postgres}" \
		-o "-c listen_addresses='' -c unix_socket_directories='$CD_PGDIR/sock' -p $CD_PORT -c fsync=off -c max_connections=60 ${CD_PG_OPTS:-}" start >/dev/null
	export PGHOST="$CD_PGDIR/sock" PGPORT="$CD_PORT" PGUSER=postgres PGDATABASE=postgres
	export CD_PGDIR
}

cluster_stop_quiet() {
	if [ -n "${CD_PGDIR:-}" ] && [ -f "$CD_PGDIR/data/postmaster.pid" ]; then
		as_pguser "$PGBIN/pg_ctl" -D "$CD_PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
	fi
}

cluster_cleanup() {
	cluster_stop_quiet
	if [ -n "${CD_PGDIR:-}" ] && [ -z "${CD_KEEP_CLUSTER:-}" ]; then
		rm -rf "$CD_PGDIR"
	fi
}
