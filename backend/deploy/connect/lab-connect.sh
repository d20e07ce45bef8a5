# `./lab connect start|stop`: a Kafka Connect worker (distributed mode, REST on 8083) beside
# the lab, assembled from Maven Central (pom.xml beside this file) with the FileStream
# connectors. Sourced by ./lab after backend/deploy/kafka/lab-kafka.sh, whose kafka_java and
# port_in_use it uses.

CONNECT_VERSION=4.2.0
CONNECT_CACHE="${STREAMLAB_CACHE:-$HOME/.cache/streamlab}/connect"
CONNECT_LIBS="$CONNECT_CACHE/$CONNECT_VERSION/libs"
CONNECT_DEFAULT_DIR="$CONNECT_CACHE/worker"

connect_usage() {
  cat >&2 <<'EOF'
usage: ./lab connect start [--brokers HOST:PORT,..] [--port P] [--dir DIR] [--group G]
       ./lab connect stop [--dir DIR]

start  starts a Kafka Connect worker (distributed mode) against the brokers (default
       $KAFKA_BROKERS, else the lab's embedded broker at 127.0.0.1:9092), its REST API on
       127.0.0.1:P (default 8083); waits until it has joined its group (default
       streamlab-connect), then prints CONNECT_URL=http://127.0.0.1:P as its last line.
       Its configurations, offsets and statuses live in the topics connect-configs,
       connect-offsets and connect-status; DIR (default ~/.cache/streamlab/connect/worker)
       keeps its settings, log and pid. Connectors: FileStreamSink and FileStreamSource.
stop   stops the worker started from DIR (SIGTERM, then SIGKILL after 30 s); its connectors
       stay in the cluster and run again at the next start.
EOF
}

connect_fail() { printf 'connect: %s\n' "$*" >&2; exit 1; }

connect_jars() {
  maven_jars backend/deploy/connect/pom.xml "$CONNECT_LIBS" "Kafka Connect $CONNECT_VERSION" \
    || connect_fail "Maven could not fetch Kafka Connect's jars (see above)"
}

# The worker's pid when it runs from DIR.
connect_pid() { running_pids "$1" worker; }

connect_start() {
  local brokers="${KAFKA_BROKERS:-127.0.0.1:9092}" port=8083 dir="$CONNECT_DEFAULT_DIR" group=streamlab-connect
  while [ $# -gt 0 ]; do
    case "$1" in
      --brokers) brokers="${2:-}"; shift 2 ;;
      --port) port="${2:-}"; shift 2 ;;
      --dir) dir="${2:-}"; shift 2 ;;
      --group) group="${2:-}"; shift 2 ;;
      -h|--help) connect_usage; exit 0 ;;
      *) connect_usage; connect_fail "unknown flag $1" ;;
    esac
  done
  [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1024 && "$port" -le 65535 ]] \
    || connect_fail "--port must be a port from 1024 to 65535, got '$port'"
  [[ "$group" =~ ^[A-Za-z0-9._-]+$ ]] || connect_fail "--group must be letters, digits, '.', '_' or '-', got '$group'"
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  [ -z "$(connect_pid "$dir")" ] || connect_fail "a Connect worker is already running from $dir: ./lab connect stop --dir $dir first"
  port_in_use "$port" && connect_fail "port $port is already in use on 127.0.0.1: choose another with --port"
  # The worker would only retry and log; say at once that nothing answers.
  local first="${brokers%%,*}"
  [[ "$first" == *:* ]] || connect_fail "--brokers must be HOST:PORT[,HOST:PORT..], got '$brokers'"
  (exec 3<>"/dev/tcp/${first%:*}/${first##*:}") 2>/dev/null \
    || connect_fail "no broker answers at $first: start the lab (./lab run) or Kafka (./lab kafka start), or pass --brokers"
  command -v curl >/dev/null || apt_install curl
  kafka_java
  connect_jars

  # Keys as text (a student's `key=b'sensor-1'` is no JSON, and a JSON key converter fails
  # the task on it), values as JSON without Connect's schema envelope, as the course writes
  # them. Replication factor -1: the cluster's default (1 on the embedded broker and one Kafka
  # node, three on `./lab kafka start --nodes 3`).
  cat > "$dir/worker.properties" <<EOF
# Written by ./lab connect start; rewritten on each start.
bootstrap.servers=$brokers
group.id=$group
listeners=http://127.0.0.1:$port
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
config.storage.topic=connect-configs
offset.storage.topic=connect-offsets
status.storage.topic=connect-status
config.storage.replication.factor=-1
offset.storage.replication.factor=-1
status.storage.replication.factor=-1
offset.storage.partitions=1
status.storage.partitions=1
offset.flush.interval.ms=5000
plugin.discovery=service_load
EOF
  cat > "$dir/log4j2.properties" <<EOF
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=OUT
appender.out.type=Console
appender.out.name=OUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
EOF
  local started=$SECONDS
  : > "$dir/worker.log"
  # setsid: the worker outlives this script and the terminal it ran in.
  setsid java -server -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$CONNECT_LIBS/*" org.apache.kafka.connect.cli.ConnectDistributed "$dir/worker.properties" \
    > "$dir/worker.log" 2>&1 < /dev/null &
  echo $! > "$dir/worker.pid"

  # Ready means joined: the REST API answers before the worker has its group and its
  # configurations, and a connector posted then would wait for them.
  local deadline=$((SECONDS + ${CONNECT_START_TIMEOUT:-120}))
  until grep -q "Herder started" "$dir/worker.log" \
      && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/connectors")" = 200 ]; do
    if [ -z "$(connect_pid "$dir")" ]; then
      echo "--- the last lines of $dir/worker.log:" >&2
      grep -E "ERROR|Exception" "$dir/worker.log" | tail -n 15 >&2
      connect_fail "the worker stopped while starting (its errors above)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "--- the last lines of $dir/worker.log:" >&2
      tail -n 15 "$dir/worker.log" >&2
      connect_stop_dir "$dir" || true
      connect_fail "the worker had not joined its group after ${CONNECT_START_TIMEOUT:-120} s; it was stopped"
    fi
    sleep 0.5
  done
  say "Kafka Connect is up after $((SECONDS - started)) s (group $group on $brokers); stop it with ./lab connect stop${dir:+ --dir $dir}"
  echo "CONNECT_URL=http://127.0.0.1:$port"
}

# Stops DIR's worker; false when none ran.
connect_stop_dir() { stop_pids "$1" worker 30; }

connect_stop() {
  local dir="$CONNECT_DEFAULT_DIR"
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="${2:-}"; shift 2 ;;
      -h|--help) connect_usage; exit 0 ;;
      *) connect_usage; connect_fail "unknown flag $1" ;;
    esac
  done
  connect_stop_dir "$dir" || connect_fail "no Connect worker is running from $dir"
  say "stopped the Connect worker of $dir (its connectors stay in the cluster)"
}

connect_main() {
  local sub="${1:-}"; shift || true
  case "$sub" in
    start) connect_start "$@" ;;
    stop) connect_stop "$@" ;;
    *) connect_usage; exit 2 ;;
  esac
}
