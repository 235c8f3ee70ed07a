# shellcheck shell=bash
# Kafka 3.9 in KRaft mode from Maven Central jars (sourced by ./services).
#
# The machines reach Maven Central but not Apache's download mirrors, so the
# broker is assembled from kafka/pom.xml's dependency tree instead of the
# release tarball, and started with `java -cp libs/* kafka.Kafka`.

KAFKA_LIBS="$CACHE_DIR/kafka/libs"
KAFKA_DATA="$RUN_DIR/kafka-data"
KAFKA_PID="$RUN_DIR/kafka.pid"
KAFKA_LOG="$LOG_DIR/kafka.log"
KAFKA_PORT=9092

kafka_install() {
  command -v java >/dev/null || apt_install default-jre-headless
  command -v mvn >/dev/null || apt_install maven
  command -v kcat >/dev/null || apt_install kcat
  # The marker is written last, so a download cut short is redone.
  local fingerprint
  fingerprint="$(inputs_fingerprint "$LOCAL_DIR/kafka/pom.xml")"
  [[ $(cat "$KAFKA_LIBS/.complete" 2>/dev/null) == "$fingerprint" ]] && return 0
  say "kafka: fetching jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mvn -B -q -f "$LOCAL_DIR/kafka/pom.xml" \
    -Dmaven.repo.local="$CACHE_DIR/m2" \
    dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" >>"$KAFKA_LOG" 2>&1 ||
    startup_failed kafka "$KAFKA_LOG" "mvn dependency:copy-dependencies failed"
  echo "$fingerprint" >"$KAFKA_LIBS/.complete"
}

KAFKA_JAVA=(
  java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$LOCAL_DIR/kafka/log4j.properties"
  -cp "$KAFKA_LIBS/*"
)

kafka_ready() {
  # A metadata answer naming the broker means the listener is up and the
  # broker has caught up with the KRaft metadata log.
  kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 3 2>/dev/null | grep -q 'broker 1 at 127.0.0.1:9092'
}

kafka_running() { pid_alive "$KAFKA_PID" kafka.Kafka; }

kafka_up() {
  if kafka_running; then
    say "kafka: already running (pid $(cat "$KAFKA_PID")) on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  port_open "$KAFKA_PORT" && fail "kafka: port $KAFKA_PORT is taken by a process these scripts did not start"
  kafka_install
  local props="$RUN_DIR/kafka-server.properties"
  {
    cat "$LOCAL_DIR/kafka/server.properties"
    echo "log.dirs=$KAFKA_DATA"
  } >"$props"
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local cluster_id
    cluster_id="$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$KAFKA_LOG" | tail -n 1)"
    say "kafka: formatting storage with cluster id $cluster_id"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >>"$KAFKA_LOG" 2>&1 ||
      startup_failed kafka "$KAFKA_LOG" "formatting storage failed"
  fi
  spawn_detached "$KAFKA_PID" "$KAFKA_LOG" "${KAFKA_JAVA[@]}" kafka.Kafka "$props"
  wait_ready kafka "$KAFKA_PID" "$KAFKA_LOG" kafka_ready
}

kafka_down() { stop_group kafka "$KAFKA_PID" kafka.Kafka 30; }

kafka_status() {
  if kafka_running && kafka_ready; then
    echo "kafka      up    127.0.0.1:$KAFKA_PORT (pid $(cat "$KAFKA_PID"))"
  elif kafka_running; then
    echo "kafka      starting or unhealthy (pid $(cat "$KAFKA_PID"))"
  else
    echo "kafka      down"
  fi
}
