# shellcheck shell=bash
# A private PostgreSQL cluster for tests, from Debian's packages (sourced by ./services).
#
# The cluster is initdb'd into .run/pg-data, listens on 127.0.0.1:5432 with
# wal_level=logical (CDC tests open replication slots), and has a role `sluice`
# (password `sluice`, superuser + replication) owning database `sluice_test`.
# PostgreSQL refuses to run as root, so as root the cluster is owned by the
# `postgres` OS user that the Debian package creates.

PG_PORT=5432
PG_ROLE=sluice
PG_PASSWORD=sluice
PG_DATABASE=sluice_test

# The postgres user must be able to reach the data dir. A clone inside a private
# home (/root is 0700) is out of its reach; the cluster then lives in /var/tmp,
# in a folder named after this checkout so two clones never share it.
pg_base_dir() {
  local base="$RUN_DIR"
  # LOCAL_DIR, not RUN_DIR: .run may not exist yet, and is created world-searchable.
  if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$LOCAL_DIR" 2>/dev/null; then
    base="/var/tmp/sluice-postgres-$(printf '%s' "$LOCAL_DIR" | md5sum | cut -c1-12)"
  fi
  echo "$base"
}

PG_BASE="$(pg_base_dir)"
PG_DATA="$PG_BASE/pg-data"
# pg_ctl opens the log as the postgres user, so it lives under PG_BASE; in the
# /var/tmp case .run/logs/postgres.log is a link to it.
PG_LOG="$PG_BASE/logs/postgres.log"
# A Unix socket path may not exceed 107 bytes; deep clones fall back to /tmp.
PG_SOCKET_DIR="$PG_BASE/pg-socket"
[[ ${#PG_SOCKET_DIR} -gt 90 ]] && PG_SOCKET_DIR=/tmp

as_pg_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n $dir && -x $dir/initdb ]] && echo "$dir"
}

postgres_install() {
  [[ -n $(pg_bin_dir) ]] || apt_install postgresql
  PG_BIN="$(pg_bin_dir)" || fail "postgres: no initdb under /usr/lib/postgresql/*/bin after install"
}

# The Debian package creates a `main` cluster and may start it on 5432; stop it
# so the private cluster gets the port.
stop_distro_clusters() {
  command -v pg_lsclusters >/dev/null || return 0
  local version name port status
  while read -r version name port status _; do
    if [[ $port == "$PG_PORT" && $status == online* ]]; then
      say "postgres: stopping Debian's cluster $version/$name, which holds port $PG_PORT"
      pg_ctlcluster "$version" "$name" stop -m fast || true
    fi
  done < <(pg_lsclusters --no-header 2>/dev/null || true)
}

pg_ctl_cmd() { as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }

postgres_running() {
  local pid
  pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$PG_DATA"
}

postgres_ready() {
  PGPASSWORD="$PG_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE" \
    -tAc 'select 1' 2>/dev/null | grep -q '^1$'
}

postgres_init_cluster() {
  say "postgres: initdb into $PG_DATA"
  mkdir -p "$PG_DATA" "$PG_SOCKET_DIR"
  chmod 700 "$PG_DATA"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_DATA" "$PG_SOCKET_DIR"
  as_pg_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >>"$PG_LOG" 2>&1 ||
    startup_failed postgres "$PG_LOG" "initdb failed"
  as_pg_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null <<CONF

# sluice: private test cluster (deploy/local/postgres.sh)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
wal_level = logical
max_replication_slots = 16
max_wal_senders = 16
max_connections = 200
shared_buffers = 128MB
CONF
  as_pg_owner tee "$PG_DATA/pg_hba.conf" >/dev/null <<'HBA'
# TYPE  DATABASE     USER  ADDRESS         METHOD
local   all          all                   trust
local   replication  all                   trust
host    all          all   127.0.0.1/32    scram-sha-256
host    replication  all   127.0.0.1/32    scram-sha-256
HBA
}

postgres_create_role_and_database() {
  local psql_admin=(as_pg_owner psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres)
  "${psql_admin[@]}" -d postgres >>"$PG_LOG" 2>&1 <<SQL || startup_failed postgres "$PG_LOG" "creating role/database failed"
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN
    CREATE ROLE $PG_ROLE LOGIN REPLICATION SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE')\gexec
SQL
}

postgres_up() {
  postgres_install
  if postgres_running; then
    say "postgres: already running (pid $(head -n 1 "$PG_DATA/postmaster.pid")) on 127.0.0.1:$PG_PORT"
    return 0
  fi
  stop_distro_clusters
  port_open "$PG_PORT" && fail "postgres: port $PG_PORT is taken by a process these scripts did not start"
  mkdir -p "$(dirname "$PG_LOG")"
  touch "$PG_LOG"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_LOG"
  [[ $PG_LOG -ef $LOG_DIR/postgres.log ]] || ln -sfn "$PG_LOG" "$LOG_DIR/postgres.log"
  [[ -f $PG_DATA/PG_VERSION ]] || postgres_init_cluster
  mkdir -p "$PG_SOCKET_DIR"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG_SOCKET_DIR"
  pg_ctl_cmd -l "$PG_LOG" -w -t "$START_TIMEOUT" start >/dev/null 2>&1 ||
    startup_failed postgres "$PG_LOG" "pg_ctl start failed"
  postgres_create_role_and_database
  wait_ready postgres "" "$PG_LOG" postgres_ready
}

postgres_down() {
  PG_BIN="$(pg_bin_dir)" || true
  if ! postgres_running; then
    return 0
  fi
  # Fast shutdown: open replication connections must not hold it up.
  if ! pg_ctl_cmd -m fast -w -t 30 stop >/dev/null 2>&1; then
    say "postgres: fast shutdown failed; immediate shutdown"
    pg_ctl_cmd -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  say "postgres stopped"
}

# A short outage for fault tests (CDC reconnects): fast shutdown, which ends every
# session and replication connection, then start again on the same data directory.
postgres_restart() {
  PG_BIN="$(pg_bin_dir)" || fail "postgres: not installed"
  postgres_running || fail "postgres: not running; use 'up'"
  # A logical walsender whose client has not confirmed everything sent holds a fast
  # shutdown up to wal_sender_timeout; keep the outage short and stop immediately then.
  if ! pg_ctl_cmd -m fast -w -t 10 stop >/dev/null 2>&1; then
    say "postgres: fast shutdown took over 10s; immediate shutdown"
    pg_ctl_cmd -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  pg_ctl_cmd -l "$PG_LOG" -w -t "$START_TIMEOUT" start >/dev/null 2>&1 ||
    startup_failed postgres "$PG_LOG" "pg_ctl start failed"
  wait_ready postgres "" "$PG_LOG" postgres_ready
  say "postgres restarted"
}

postgres_status() {
  if postgres_running && postgres_ready; then
    echo "postgres   up    127.0.0.1:$PG_PORT db=$PG_DATABASE user=$PG_ROLE (pid $(head -n 1 "$PG_DATA/postmaster.pid"))"
  elif postgres_running; then
    echo "postgres   starting or unhealthy (pid $(head -n 1 "$PG_DATA/postmaster.pid"))"
  else
    echo "postgres   down"
  fi
}
