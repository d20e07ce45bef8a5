# `./lab kafka start|stop`: Apache Kafka 4.4 on this machine, assembled from Maven Central
# (pom.xml beside this file), in KRaft mode: every node is both broker and controller, or
# (--dedicated-controller) the brokers share one controller that runs apart; with --sasl,
# clients sign in (SCRAM-SHA-256) and the standard authorizer holds them to their ACLs.
# Sourced by ./lab, which defines say, as_root and apt_install.

KAFKA_VERSION=4.4.0
KAFKA_HOME_CACHE="${STREAMLAB_CACHE:-$HOME/.cache/streamlab}/kafka"
KAFKA_LIBS="$KAFKA_HOME_CACHE/$KAFKA_VERSION/libs"
KAFKA_DEFAULT_DIR="$KAFKA_HOME_CACHE/cluster"

kafka_usage() {
  cat >&2 <<'EOF'
usage: ./lab kafka start [--nodes N] [--port P] [--dir DIR] [--dedicated-controller] [--sasl]
       ./lab kafka stop [--dir DIR] [--node K]

start  formats and starts N nodes (default 1) on 127.0.0.1, brokers on ports P, P+1, ...
       (default 9092 when free), controllers on P+100, ...; waits until every node is in
       the cluster's metadata, then prints KAFKA_BROKERS=127.0.0.1:P,... as its last line.
       DIR (default ~/.cache/streamlab/kafka/cluster) keeps each node's data, log and pid:
       a second start after a stop finds the same topics. When some of DIR's nodes run,
       start brings back the others (a broker that went away returns).
       --dedicated-controller: the N nodes are brokers only, and one controller (node 0,
       port P+99) runs apart, as production clusters run it. Then any N-1 brokers may go
       away and the cluster still decides who leads and who is in sync; with every node a
       controller, losing most of them stops those decisions.
       --sasl: clients sign in with SASL/SCRAM-SHA-256 and Kafka's standard authorizer
       allows each user only what ACLs grant. The user `teacher` (a random password kept
       in DIR/cluster.sasl) may do everything; before KAFKA_BROKERS start prints its
       client settings as streamlab flags: KAFKA_CLIENT_FLAGS=-X security.protocol=...
       Then `streamlab class apply` (or the lab in class mode) makes the students' users.
stop   stops the nodes started from DIR, gracefully (SIGTERM, then SIGKILL after 60 s);
       --node K stops broker K alone (a broker going away).
EOF
}

kafka_fail() { printf 'kafka: %s\n' "$*" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_java() {
  if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    command -v apt-get >/dev/null \
      || kafka_fail "Kafka needs Java 17 or newer and Maven, and this machine has no apt-get to install them: install them, then run this again"
    apt_install default-jre-headless maven
  fi
  local v; v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
  [ "${v%%.*}" -ge 17 ] 2>/dev/null || kafka_fail "Kafka $KAFKA_VERSION needs Java 17 or newer; java here is ${v:-unknown}"
}

# Copies a pom's jars and their dependencies from Maven Central into LIBS, once:
# `maven_jars POM LIBS WHAT`; false when Maven could not.
maven_jars() {
  [ -f "$2/.complete" ] && return 0
  say "fetching $3 and its dependencies from Maven Central (once)"
  rm -rf "$2" && mkdir -p "$2"
  mvn -q -B -f "$1" dependency:copy-dependencies -DoutputDirectory="$2" -DincludeScope=runtime >&2 || return 1
  touch "$2/.complete"
}

kafka_jars() {
  maven_jars backend/deploy/kafka/pom.xml "$KAFKA_LIBS" "Apache Kafka $KAFKA_VERSION" \
    || kafka_fail "Maven could not fetch Kafka's jars (see above)"
}

# The running processes' pids in DIR whose pid files match GLOB (default node-*: every
# node; node-K one, worker Connect's), one per line: `running_pids DIR [GLOB]`.
running_pids() {
  local f pid
  for f in "$1"/${2:-node-*}.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null && echo "$pid"
  done
  return 0
}

# Stops DIR's processes whose pid files match GLOB: SIGTERM, then SIGKILL after SECONDS;
# false when none ran: `stop_pids DIR GLOB SECONDS`.
stop_pids() {
  local dir="$1" which="$2" pids pid waited=0
  pids=$(running_pids "$dir" "$which")
  [ -n "$pids" ] || return 1
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  while [ -n "$(running_pids "$dir" "$which")" ] && [ $waited -lt $(($3 * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  for pid in $(running_pids "$dir" "$which"); do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$dir"/$which.pid; do rm -f "$pid"; done
}

# Stops DIR's nodes (or node K alone: `kafka_stop_dir DIR K`); false when none ran.
kafka_stop_dir() { stop_pids "$1" "node-${2:-*}" 60; }

# The number of brokers the cluster's metadata names: `kafka_brokers_seen BOOTSTRAP DIR`.
# Until the first node answers, that is "none yet", not an error.
kafka_brokers_seen() {
  if [ -f "$2/teacher.properties" ]; then
    # Debian's kcat (librdkafka 2.0) fails SCRAM sign-in to Kafka 4.4, so with SASL Kafka's
    # own tool asks, as the teacher: a line per registered broker.
    local first="${1%%,*}"
    port_in_use "${first##*:}" || return 0
    { java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$2/node-1/log4j2.properties" org.apache.kafka.tools.ClusterTool \
        list-endpoints --bootstrap-server "$1" --config "$2/teacher.properties" 2>/dev/null || true; } \
      | grep -cE ' unfenced +broker' || true
    return 0
  fi
  # kcat lists the brokers the cluster's metadata names: " 3 brokers:".
  { kcat -L -b "$1" -m 2 2>/dev/null || true; } | awk '/ brokers:$/ {print $1; exit}'
}

kafka_start() {
  local nodes="" port="" dir="$KAFKA_DEFAULT_DIR" dedicated="" sasl=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes="${2:-}"; shift 2 ;;
      --port) port="${2:-}"; shift 2 ;;
      --dir) dir="${2:-}"; shift 2 ;;
      --dedicated-controller) dedicated=1; shift ;;
      --sasl) sasl=1; shift ;;
      -h|--help) kafka_usage; exit 0 ;;
      *) kafka_usage; kafka_fail "unknown flag $1" ;;
    esac
  done
  [ -z "$nodes" ] || [[ "$nodes" =~ ^[1-9][0-9]?$ ]] || kafka_fail "--nodes must be a number from 1 to 99, got '$nodes'"
  [ -z "$port" ] || [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1024 && "$port" -le 65000 ]] \
    || kafka_fail "--port must be a port from 1024 to 65000, got '$port'"
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  local stored_nodes="" stored_dedicated=0
  [ -f "$dir/cluster.nodes" ] && stored_nodes=$(cat "$dir/cluster.nodes")
  [ -f "$dir/cluster.controller" ] && [ "$(cat "$dir/cluster.controller")" = dedicated ] && stored_dedicated=1
  if [ -n "$(running_pids "$dir")" ]; then
    # Some nodes run: bring back the ones that do not, as they were.
    [ -z "$nodes" ] || [ "$nodes" = "$stored_nodes" ] || kafka_fail "$dir runs a cluster of $stored_nodes nodes, not $nodes"
    local missing=()
    for ((k = 1 - stored_dedicated; k <= stored_nodes; k++)); do
      running_pids "$dir" "node-$k" | grep -q . || missing+=("$k")
    done
    [ ${#missing[@]} -gt 0 ] || kafka_fail "Kafka is already running from $dir: ./lab kafka stop --dir $dir first"
    kafka_launch "$dir" "$stored_nodes" "$(cat "$dir/cluster.port")" "$stored_dedicated" "${missing[@]}"
    return
  fi
  # A directory that holds a cluster starts as it was unless told otherwise.
  nodes=${nodes:-${stored_nodes:-1}}
  [ -n "$stored_nodes" ] && [ -z "$dedicated" ] && dedicated=$stored_dedicated
  dedicated=${dedicated:-0}
  if [ -n "$stored_nodes" ] && [ "$stored_nodes" != "$nodes" ]; then
    kafka_fail "$dir holds a cluster of $stored_nodes nodes, not $nodes: start it with --nodes $stored_nodes, or choose another --dir (or remove this one)"
  fi
  if [ -n "$stored_nodes" ] && [ -n "$sasl" ] && [ ! -f "$dir/cluster.sasl" ]; then
    kafka_fail "$dir holds a cluster without SASL: choose another --dir for one with --sasl (or remove this one)"
  fi
  if [ -n "$stored_nodes" ] && [ "$stored_dedicated" != "$dedicated" ]; then
    kafka_fail "$dir holds a cluster $( ((stored_dedicated)) && echo "with" || echo "without") a dedicated controller: start it $( ((stored_dedicated)) && echo "with" || echo "without") --dedicated-controller, or choose another --dir"
  fi
  local k taken=() candidates
  if [ -n "$port" ]; then candidates=$port
  elif [ -f "$dir/cluster.port" ]; then candidates=$(cat "$dir/cluster.port")
  else candidates="9092 19092 29092 39092"  # 9092 when free: the embedded broker may hold it
  fi
  for port in $candidates; do
    taken=()
    for ((k = 0; k < nodes; k++)); do
      port_in_use $((port + k)) && taken+=($((port + k)))
      port_in_use $((port + 100 + k)) && taken+=($((port + 100 + k)))
    done
    ((dedicated)) && port_in_use $((port + 99)) && taken+=($((port + 99)))
    [ ${#taken[@]} -eq 0 ] && break
  done
  [ ${#taken[@]} -eq 0 ] || kafka_fail "port ${taken[*]} already in use on 127.0.0.1 (the lab's embedded broker uses 9092): choose other ports with --port"

  command -v kcat >/dev/null || apt_install kcat
  kafka_java
  kafka_jars

  local id
  [ -f "$dir/cluster.id" ] && id=$(cat "$dir/cluster.id") \
    || id=$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)
  [ -n "$id" ] || kafka_fail "kafka.tools.StorageTool random-uuid gave no cluster id"
  echo "$id" > "$dir/cluster.id"; echo "$nodes" > "$dir/cluster.nodes"; echo "$port" > "$dir/cluster.port"
  if [ -n "$sasl" ] && [ ! -f "$dir/cluster.sasl" ]; then
    # Hex digits only: the password goes into JAAS lines between double quotes.
    (umask 077; od -An -N18 -tx1 /dev/urandom | tr -d ' \n' > "$dir/cluster.sasl")
  fi
  if ((dedicated)); then echo dedicated; else echo combined; fi > "$dir/cluster.controller"
  local all=()
  for ((k = 1 - dedicated; k <= nodes; k++)); do all+=("$k"); done
  kafka_launch "$dir" "$nodes" "$port" "$dedicated" "${all[@]}"
}

# Writes the configuration of nodes K... of DIR's cluster (N brokers from PORT, a dedicated
# controller or not), formats and starts them, and waits until all N brokers are in the
# metadata: `kafka_launch DIR N PORT DEDICATED K...`.
kafka_launch() {
  # A failure stops the nodes this call started, no others.
  kafka_stop_started() { local k; for k in "${started_nodes[@]}"; do kafka_stop_dir "$dir" "$k" || true; done; }
  local started_nodes=()
  local dir="$1" nodes="$2" port="$3" dedicated="$4" k; shift 4
  local id; id=$(cat "$dir/cluster.id")
  local voters="" brokers="" proto=PLAINTEXT password="" security="" format_sasl=()
  if [ -f "$dir/cluster.sasl" ]; then
    password=$(cat "$dir/cluster.sasl") proto=SASL_PLAINTEXT
    # Clients and brokers sign in with SCRAM, whose users live in the cluster's metadata (the
    # teacher's is written there when a node is formatted); the controllers' own listener
    # cannot use SCRAM (they read those users from themselves), so they use PLAIN with the
    # teacher alone. Nobody is let in by default: only the teacher, a super user, and what
    # ACLs grant.
    security="sasl.enabled.mechanisms=SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"teacher\" password=\"$password\" user_teacher=\"$password\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"teacher\" password=\"$password\";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:teacher
allow.everyone.if.no.acl.found=false"
    format_sasl=(--add-scram "SCRAM-SHA-256=[name=teacher,password=$password]")
    (umask 077; printf 'security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="teacher" password="%s";\n' \
      "$password" > "$dir/teacher.properties")
  fi
  if ((dedicated)); then voters="0@127.0.0.1:$((port + 99))"; fi
  for ((k = 1; k <= nodes; k++)); do
    ((dedicated)) || voters+="${voters:+,}$k@127.0.0.1:$((port + 99 + k))"
    brokers+="${brokers:+,}127.0.0.1:$((port + k - 1))"
  done
  # Replicated internal topics need as many nodes as their replication factor.
  local rf=$((nodes < 3 ? nodes : 3)) isr=$((nodes < 2 ? 1 : 2))
  local started=$SECONDS
  if [ $# -lt $((nodes + dedicated)) ]; then
    say "bringing back node(s) $* of $dir"
  else
    say "starting Apache Kafka $KAFKA_VERSION: $nodes node(s)$( ((dedicated)) && echo " and a dedicated controller"), brokers $brokers, data in $dir"
  fi
  for k in "$@"; do
    local node="$dir/node-$k" roles listeners advertised
    if ((dedicated)) && [ "$k" = 0 ]; then
      roles=controller listeners="CONTROLLER://127.0.0.1:$((port + 99))" advertised=""
    elif ((dedicated)); then
      roles=broker listeners="$proto://127.0.0.1:$((port + k - 1))"
      advertised="advertised.listeners=$proto://127.0.0.1:$((port + k - 1))"
    else
      roles=broker,controller listeners="$proto://127.0.0.1:$((port + k - 1)),CONTROLLER://127.0.0.1:$((port + 99 + k))"
      advertised="advertised.listeners=$proto://127.0.0.1:$((port + k - 1))"
    fi
    mkdir -p "$node/data"
    cat > "$node/server.properties" <<EOF
# Written by ./lab kafka start; rewritten on each start.
process.roles=$roles
node.id=$k
controller.quorum.voters=$voters
listeners=$listeners
$advertised
listener.security.protocol.map=$proto:$proto,CONTROLLER:$proto
controller.listener.names=CONTROLLER
inter.broker.listener.name=$proto
$security
log.dirs=$node/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
group.initial.rebalance.delay.ms=0
# A class watches retention and compaction happen: look every few seconds, not Kafka's
# defaults of five minutes (retention) and fifteen seconds (the cleaner).
log.retention.check.interval.ms=5000
log.cleaner.backoff.ms=1000
EOF
    cat > "$node/log4j2.properties" <<EOF
rootLogger.level=INFO
rootLogger.appenderRef.out.ref=OUT
appender.out.type=Console
appender.out.name=OUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.state.name=state.change.logger
logger.state.level=WARN
EOF
    java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$node/log4j2.properties" kafka.tools.StorageTool format \
      --config "$node/server.properties" --cluster-id "$id" --ignore-formatted "${format_sasl[@]}" > "$node/format.log" 2>&1 \
      || { tail -n 20 "$node/format.log" >&2; kafka_stop_started; kafka_fail "formatting node $k failed (above: the end of $node/format.log)"; }
    # setsid: the node outlives this script and the terminal it ran in.
    # The JVM flags Kafka's own kafka-run-class.sh starts a broker with
    # (KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_HEAP_OPTS): a fixed 1 GiB heap, G1 aiming at 20 ms
    # pauses rather than the JVM's 200.
    local heap=${KAFKA_HEAP_MB:-1024}
    [ "$roles" = controller ] && heap=512  # a controller keeps only the cluster's metadata
    setsid java -server -Xms${heap}m -Xmx${heap}m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$node/log4j2.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$node/server.properties" > "$node/server.log" 2>&1 < /dev/null &
    echo $! > "$dir/node-$k.pid"
    started_nodes+=("$k")
  done

  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120})) seen=""
  while :; do
    for k in "$@"; do
      if ! kill -0 "$(cat "$dir/node-$k.pid")" 2>/dev/null; then
        echo "--- the last lines of $dir/node-$k/server.log:" >&2
        tail -n 25 "$dir/node-$k/server.log" >&2
        kafka_stop_started
        kafka_fail "node $k stopped while starting (the end of its log above); the nodes this start began were stopped"
      fi
    done
    seen=$(kafka_brokers_seen "$brokers" "$dir")
    [ "${seen:-0}" = "$nodes" ] && break
    if [ $SECONDS -ge $deadline ]; then
      for k in "$@"; do echo "--- the last lines of $dir/node-$k/server.log:" >&2; tail -n 10 "$dir/node-$k/server.log" >&2; done
      kafka_stop_started
      kafka_fail "after ${KAFKA_START_TIMEOUT:-120} s the cluster's metadata names ${seen:-no} broker(s), not $nodes; the nodes this start began were stopped"
    fi
    sleep 0.5
  done
  say "Kafka is up: $nodes node(s) in the metadata after $((SECONDS - started)) s; stop it with ./lab kafka stop${dir:+ --dir $dir}"
  if [ -n "$password" ]; then
    say "clients sign in: the teacher may do everything (password in $dir/cluster.sasl); students get theirs from streamlab class apply"
    echo "KAFKA_CLIENT_FLAGS=-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=SCRAM-SHA-256 -X sasl.username=teacher -X sasl.password=$password"
  fi
  echo "KAFKA_BROKERS=$brokers"
}

kafka_stop() {
  local dir="$KAFKA_DEFAULT_DIR" node=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) dir="${2:-}"; shift 2 ;;
      --node) node="${2:-}"; shift 2 ;;
      -h|--help) kafka_usage; exit 0 ;;
      *) kafka_usage; kafka_fail "unknown flag $1" ;;
    esac
  done
  [ -d "$dir" ] || kafka_fail "no Kafka was started from $dir"
  if [ -n "$node" ]; then
    [[ "$node" =~ ^[0-9]+$ ]] || kafka_fail "--node must be a node number, got '$node'"
    kafka_stop_dir "$dir" "$node" || kafka_fail "node $node of $dir is not running"
    say "stopped node $node of $dir; ./lab kafka start --dir $dir brings it back"
    return
  fi
  local n; n=$(running_pids "$dir" | wc -l)
  kafka_stop_dir "$dir" || kafka_fail "no Kafka is running from $dir"
  say "stopped $n Kafka node(s) of $dir (their data stays there)"
}

kafka_main() {
  local sub="${1:-}"; shift || true
  case "$sub" in
    start) kafka_start "$@" ;;
    stop) kafka_stop "$@" ;;
    *) kafka_usage; exit 2 ;;
  esac
}
