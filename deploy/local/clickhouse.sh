# shellcheck shell=bash
# ClickHouse from Debian's clickhouse-server package (sourced by ./services).
#
# Debian ships 18.16, an old release: tests use what it supports and detect newer
# features by server version. The server runs in the foreground of its own
# session with the config in deploy/local/clickhouse (no systemd here), HTTP on
# 127.0.0.1:8123 and the native protocol on 127.0.0.1:9000.

CLICKHOUSE_HTTP_PORT=8123
CLICKHOUSE_TCP_PORT=9000
CLICKHOUSE_DIR="$RUN_DIR/clickhouse"
CLICKHOUSE_PID="$RUN_DIR/clickhouse.pid"
CLICKHOUSE_LOG="$LOG_DIR/clickhouse.log"

clickhouse_install() {
  command -v clickhouse-server >/dev/null || apt_install clickhouse-server
  command -v curl >/dev/null || apt_install curl
}

clickhouse_ready() {
  [[ $(curl -fsS --max-time 2 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping") == "Ok." ]]
}

clickhouse_running() { pid_alive "$CLICKHOUSE_PID" clickhouse-server; }

# Writes the config with this clone's absolute paths into .run/clickhouse/etc.
clickhouse_render_config() {
  local etc="$CLICKHOUSE_DIR/etc" file
  mkdir -p "$etc" "$CLICKHOUSE_DIR/data" "$CLICKHOUSE_DIR/tmp" "$CLICKHOUSE_DIR/user_files" \
    "$CLICKHOUSE_DIR/format_schemas"
  for file in config.xml users.xml; do
    sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@LOG_DIR@|$LOG_DIR|g" \
      "$LOCAL_DIR/clickhouse/$file" >"$etc/$file"
  done
}

clickhouse_up() {
  if clickhouse_running; then
    say "clickhouse: already running (pid $(cat "$CLICKHOUSE_PID")) on 127.0.0.1:$CLICKHOUSE_HTTP_PORT"
    return 0
  fi
  local port
  for port in "$CLICKHOUSE_HTTP_PORT" "$CLICKHOUSE_TCP_PORT"; do
    port_open "$port" && fail "clickhouse: port $port is taken by a process these scripts did not start"
  done
  clickhouse_install
  clickhouse_render_config
  # The server changes into its config's folder, so users.xml is found beside it.
  spawn_detached "$CLICKHOUSE_PID" "$CLICKHOUSE_LOG" \
    clickhouse-server --config-file="$CLICKHOUSE_DIR/etc/config.xml"
  wait_ready clickhouse "$CLICKHOUSE_PID" "$CLICKHOUSE_LOG" clickhouse_ready
}

clickhouse_down() { stop_group clickhouse "$CLICKHOUSE_PID" clickhouse-server 30; }

clickhouse_status() {
  if clickhouse_running && clickhouse_ready; then
    echo "clickhouse up    http://127.0.0.1:$CLICKHOUSE_HTTP_PORT native 127.0.0.1:$CLICKHOUSE_TCP_PORT (pid $(cat "$CLICKHOUSE_PID"))"
  elif clickhouse_running; then
    echo "clickhouse starting or unhealthy (pid $(cat "$CLICKHOUSE_PID"))"
  else
    echo "clickhouse down"
  fi
}
