# shellcheck shell=bash
# Shared helpers for deploy/local/services and the per-service scripts it sources.
#
# Every path is derived from this file's location so the scripts work in any
# clone (CI clones the repository into a folder of its own). Everything the
# scripts download or write lives in two git-ignored folders:
#   .cache/  installs (Kafka jars, the Maven repository, the emulator's venv)
#   .run/    state of running services: data dirs, pid files, logs

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="$LOCAL_DIR/.cache"
RUN_DIR="$LOCAL_DIR/.run"
LOG_DIR="$RUN_DIR/logs"

# Seconds a service may take to answer after its process starts.
START_TIMEOUT="${SLUICE_SERVICE_START_TIMEOUT:-120}"

say() { printf '[services] %s\n' "$*"; }
fail() {
  printf '[services] error: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

# Installs Debian packages that are missing. The package lists are refreshed
# once per run, and only when a package is actually missing.
APT_UPDATED=0
apt_install() {
  local missing=()
  local package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || fail "missing Debian packages ${missing[*]}; run as root or install them"
  say "installing Debian packages: ${missing[*]}"
  local apt_log="$LOG_DIR/apt.log"
  mkdir -p "$LOG_DIR"
  if [[ $APT_UPDATED -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1 ||
      startup_failed apt "$apt_log" "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >>"$apt_log" 2>&1 || startup_failed apt "$apt_log" "apt-get install ${missing[*]} failed"
}

# A fingerprint of the files an install was made from: a cached install whose
# marker holds another fingerprint is redone (a version bump reaches every clone).
inputs_fingerprint() {
  cat "$@" | sha256sum | cut -c1-16
}

# True when the process recorded in the pid file is alive and, when a marker is
# given, its command line contains it: .run/ outlives reboots, and a stale pid
# may by then belong to an unrelated process.
pid_alive() {
  local pid_file="$1" marker="${2:-}"
  [[ -f $pid_file ]] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ -z $marker ]] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# True while the process exists and is not a zombie: a detached service's parent
# is pid 1 once `up` has exited, and it may reap the exited process late.
process_running() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z ]]
}

# True when something listens on 127.0.0.1:<port>.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Starts a command detached in its own session (so `down` can signal the whole
# group), with stdout and stderr appended to the service's log.
spawn_detached() {
  local pid_file="$1" log_file="$2"
  shift 2
  setsid "$@" >>"$log_file" 2>&1 </dev/null &
  echo $! >"$pid_file"
}

# Polls a readiness check until it succeeds, the process dies, or the timeout
# passes. On failure it stops the process, prints the tail of the service's log
# and exits non-zero.
wait_ready() {
  local name="$1" pid_file="$2" log_file="$3" check="$4"
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$check" >/dev/null 2>&1; do
    if [[ -n $pid_file ]] && ! pid_alive "$pid_file"; then
      startup_failed "$name" "$log_file" "its process exited"
    fi
    if ((SECONDS >= deadline)); then
      # A half-started service is stopped: a failed `up` leaves nothing running.
      [[ -n $pid_file ]] && stop_group "$name" "$pid_file" "" 10 >/dev/null
      startup_failed "$name" "$log_file" "it did not answer within ${START_TIMEOUT}s"
    fi
    sleep 0.5
  done
}

startup_failed() {
  local name="$1" log_file="$2" reason="$3"
  printf '[services] error: %s failed to start: %s. Last lines of %s:\n' "$name" "$reason" "$log_file" >&2
  tail -n 40 "$log_file" >&2 || true
  exit 1
}

# Sends TERM to the process group recorded in the pid file (if its command line
# has `marker`), waits up to `grace` seconds, then KILLs what is left. Removes
# the pid file.
stop_group() {
  local name="$1" pid_file="$2" marker="$3" grace="${4:-20}"
  if ! pid_alive "$pid_file" "$marker"; then
    rm -f "$pid_file"
    return 0
  fi
  local pid
  pid="$(cat "$pid_file")"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + grace))
  while process_running "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if process_running "$pid"; then
    say "$name did not stop within ${grace}s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  # Children that outlived the leader still belong to its process group.
  pkill -KILL -g "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  say "$name stopped"
}
