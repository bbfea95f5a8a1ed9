#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests of the team-mode ledger; prints its URL on stdout.
#
# Idempotent: installs Debian's server packages when the binaries are missing, creates a cluster
# under $PROMOTER_PG_DIR (default /tmp/promoter-postgres) owned by an unprivileged user (`postgres`
# when run as root, else the caller), starts it on 127.0.0.1 only (port $PROMOTER_PG_PORT, default
# 55432, or the next free one), trust authentication, and creates the database `promoter`.
# When that server already runs it only prints the URL. Concurrent calls are serialised (flock).
# A server left running is harmless: loopback only, data under /tmp, fsync off.
# Stop it with: pg_ctl -D /tmp/promoter-postgres/data stop (as its owner).
set -euo pipefail

DIR=${PROMOTER_PG_DIR:-/tmp/promoter-postgres}
PORT=${PROMOTER_PG_PORT:-55432}
DB=promoter
ROLE=promoter

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return; fi
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  fi
}

BINDIR=$(find_bindir)
if [ -z "$BINDIR" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL's server binaries are missing; install them (Debian: apt-get install postgresql) or run as root"
    exit 1
  fi
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BINDIR=$(find_bindir)
  [ -n "$BINDIR" ] || { log "postgresql installed but no pg_ctl found"; exit 1; }
fi

if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  if ! id "$OWNER" >/dev/null 2>&1; then
    useradd --system --home-dir "$DIR" --shell /usr/sbin/nologin "$OWNER"
  fi
  as_owner() { runuser -u "$OWNER" -- "$@"; }
else
  OWNER=$(id -un)
  as_owner() { "$@"; }
fi

mkdir -p "$DIR"
chown "$OWNER" "$DIR" 2>/dev/null || true
exec 9>"$DIR/.lock"
flock 9

DATA="$DIR/data"
url() { echo "postgresql://$ROLE@127.0.0.1:$1/$DB"; }

if as_owner "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  url "$(cat "$DIR/port")"
  exit 0
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  log "creating a cluster in $DATA (owner $OWNER)"
  rm -rf "$DATA"
  as_owner "$BINDIR/initdb" -D "$DATA" -U "$ROLE" --auth=trust --encoding=UTF8 --no-sync >/dev/null
fi

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
for _ in $(seq 1 50); do
  port_free "$PORT" && break
  PORT=$((PORT + 1))
done
echo "$PORT" >"$DIR/port"

log "starting PostgreSQL on 127.0.0.1:$PORT"
# 9>&-: the server must not inherit the flock, or the next call would wait for it forever.
as_owner "$BINDIR/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 start -o \
  "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR \
   -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 9>&-

if ! as_owner "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  as_owner "$BINDIR/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d postgres -qc "CREATE DATABASE $DB" >&2
fi
url "$PORT"
