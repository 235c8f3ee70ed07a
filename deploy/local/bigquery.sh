# shellcheck shell=bash
# BigQuery emulator `bqemulator` from PyPI (sourced by ./services).
#
# Installed in a venv under .cache, it serves BigQuery's REST API on
# 127.0.0.1:9050 (gRPC Storage API on 9060) with its DuckDB file in
# .run/bigquery. `up` also creates project `sluice-test`'s dataset `sluice`.
# bigquery/launch_emulator.py explains why the emulator is started through it.

BQ_PORT=9050
BQ_GRPC_PORT=9060
BQ_PROJECT=sluice-test
BQ_DATASET=sluice
BQ_VENV="$CACHE_DIR/bq-venv"
BQ_PID="$RUN_DIR/bigquery.pid"
BQ_LOG="$LOG_DIR/bigquery.log"
BQ_URL="http://127.0.0.1:$BQ_PORT/bigquery/v2/projects/$BQ_PROJECT"

bigquery_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null &&
      "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

bigquery_install() {
  command -v curl >/dev/null || apt_install curl
  local fingerprint
  fingerprint="$(inputs_fingerprint "$LOCAL_DIR/bigquery/requirements.txt" "$LOCAL_DIR/bigquery/constraints.txt")"
  [[ $(cat "$BQ_VENV/.complete" 2>/dev/null) == "$fingerprint" ]] && return 0
  local python
  if ! python="$(bigquery_python)"; then
    apt_install python3 python3-venv
    python="$(bigquery_python)" || fail "bigquery: bqemulator needs Python >= 3.11 with venv"
  fi
  say "bigquery: installing bqemulator into $BQ_VENV"
  rm -rf "$BQ_VENV"
  {
    "$python" -m venv "$BQ_VENV" &&
      "$BQ_VENV/bin/pip" install -q --disable-pip-version-check \
        -r "$LOCAL_DIR/bigquery/requirements.txt" -c "$LOCAL_DIR/bigquery/constraints.txt"
  } >>"$BQ_LOG" 2>&1 || startup_failed bigquery "$BQ_LOG" "pip install of bqemulator failed"
  echo "$fingerprint" >"$BQ_VENV/.complete"
}

bigquery_ready() {
  curl -fsS --max-time 2 "$BQ_URL/datasets" >/dev/null
}

bigquery_running() { pid_alive "$BQ_PID" launch_emulator.py; }

bigquery_create_dataset() {
  local code
  code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H 'content-type: application/json' \
    -d "{\"datasetReference\":{\"projectId\":\"$BQ_PROJECT\",\"datasetId\":\"$BQ_DATASET\"}}" \
    "$BQ_URL/datasets")"
  # 409: it exists already (the emulator's data dir outlives restarts).
  [[ $code == 200 || $code == 409 ]] ||
    startup_failed bigquery "$BQ_LOG" "creating dataset $BQ_PROJECT.$BQ_DATASET answered HTTP $code"
}

bigquery_up() {
  if bigquery_running; then
    say "bigquery: already running (pid $(cat "$BQ_PID")) on 127.0.0.1:$BQ_PORT"
    return 0
  fi
  local port
  for port in "$BQ_PORT" "$BQ_GRPC_PORT"; do
    port_open "$port" && fail "bigquery: port $port is taken by a process these scripts did not start"
  done
  bigquery_install
  # Format extensions (avro) would be fetched from DuckDB's site: unreachable here.
  BQEMU_ENABLE_FORMAT_EXTENSIONS=false HOME="$CACHE_DIR/bq-home" \
    spawn_detached "$BQ_PID" "$BQ_LOG" \
    "$BQ_VENV/bin/python" "$LOCAL_DIR/bigquery/launch_emulator.py" start \
    --rest-host 127.0.0.1 --rest-port "$BQ_PORT" \
    --grpc-host 127.0.0.1 --grpc-port "$BQ_GRPC_PORT" \
    --data-dir "$RUN_DIR/bigquery" --project "$BQ_PROJECT" \
    --log-format console --log-level warning
  wait_ready bigquery "$BQ_PID" "$BQ_LOG" bigquery_ready
  bigquery_create_dataset
}

bigquery_down() { stop_group bigquery "$BQ_PID" launch_emulator.py 20; }

bigquery_status() {
  if bigquery_running && bigquery_ready; then
    echo "bigquery   up    http://127.0.0.1:$BQ_PORT project=$BQ_PROJECT dataset=$BQ_DATASET (pid $(cat "$BQ_PID"))"
  elif bigquery_running; then
    echo "bigquery   starting or unhealthy (pid $(cat "$BQ_PID"))"
  else
    echo "bigquery   down"
  fi
}
