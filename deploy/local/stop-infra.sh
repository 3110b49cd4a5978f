#!/usr/bin/env bash
# Stops the private PostgreSQL and RabbitMQ that deploy/local/ensure-infra.sh started, as recorded
# in .run/infra.env; never the system servers. Usage: stop-infra.sh [postgres] [rabbitmq]
# (no argument: both). Their data stays; `make clean` removes it.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$REPO/.run"

say() { echo "stop-infra: $*" >&2; }

as_user() { # user command...
	local user=$1
	shift
	if ((EUID == 0)); then
		(cd / && runuser -u "$user" -- "$@")
	else
		"$@"
	fi
}

stop_postgres() {
	[[ -n $PRIVATE_PG_DATA ]] || return 0
	if ! as_user "$PRIVATE_PG_USER" "$PRIVATE_PG_BIN/pg_ctl" -D "$PRIVATE_PG_DATA" status >/dev/null 2>&1; then
		say "the private PostgreSQL ($PRIVATE_PG_DATA) is not running"
		return 0
	fi
	say "stopping the private PostgreSQL ($PRIVATE_PG_DATA)"
	as_user "$PRIVATE_PG_USER" "$PRIVATE_PG_BIN/pg_ctl" -D "$PRIVATE_PG_DATA" -m fast -w stop >&2
}

stop_rabbitmq() {
	[[ -n $PRIVATE_RMQ_NODE ]] || return 0
	local pid_file="$PRIVATE_RMQ_BASE/rabbitmq.pid" home=$HOME pid
	if [[ ! -s $pid_file ]] || ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
		say "the private RabbitMQ node $PRIVATE_RMQ_NODE is not running"
		return 0
	fi
	pid=$(cat "$pid_file")
	if ((EUID == 0)); then home=$(getent passwd "$PRIVATE_RMQ_USER" | cut -d: -f6); fi
	say "stopping the private RabbitMQ node $PRIVATE_RMQ_NODE"
	# rabbitmqctl stop <pid file> returns once the node's process is gone.
	if ! as_user "$PRIVATE_RMQ_USER" env HOME="$home" \
		"$PRIVATE_RMQ_BIN/rabbitmqctl" -n "$PRIVATE_RMQ_NODE" stop "$pid_file" >&2; then
		say "rabbitmqctl stop failed: sending SIGTERM to $pid"
		kill "$pid" 2>/dev/null || true
	fi
}

if [[ ! -f $RUN/infra.env ]]; then
	say "no $RUN/infra.env: nothing to stop"
	exit 0
fi
PRIVATE_PG_DATA="" PRIVATE_RMQ_NODE=""
# shellcheck source=/dev/null
source "$RUN/infra.env"

targets=("$@")
if ((${#targets[@]} == 0)); then targets=(postgres rabbitmq); fi
status=0
for target in "${targets[@]}"; do
	case $target in
	postgres) stop_postgres || status=$? ;;
	rabbitmq) stop_rabbitmq || status=$? ;;
	*)
		say "unknown server: $target (expected postgres or rabbitmq)"
		status=2
		;;
	esac
done
exit "$status"
