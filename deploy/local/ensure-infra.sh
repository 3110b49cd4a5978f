#!/usr/bin/env bash
# Makes sure a PostgreSQL and a RabbitMQ answer, and prints on stdout exactly two lines:
#   DATABASE_URL=postgresql://...
#   AMQP_URL=amqp://...
# Everything else goes to stderr. For each server, independently, the first that works:
#   a. the URL already in DATABASE_URL / AMQP_URL (printed back as is);
#   b. the local default server (PostgreSQL 127.0.0.1:5432, RabbitMQ 127.0.0.1:5672);
#   c. a private instance run from the installed server programs, its data under <repo>/.run/
#      (PostgreSQL on 127.0.0.1:55432, RabbitMQ on 127.0.0.1:56720), reused if still running;
#   d. as root on Debian, with the server programs missing: apt-get install them, then c.
# MILIE_PRIVATE_INFRA=1 skips a and b. The private instances are recorded in .run/infra.env,
# which deploy/local/stop-infra.sh reads. If MILIE_INFRA_STARTED names a file, the names of the
# instances started by this run (not reused ones) are appended to it, one a line.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUN="$REPO/.run"
HASH=$(printf '%s' "$REPO" | sha256sum | cut -c1-8)
PG_PORT=55432
RMQ_PORT=56720
RMQ_DIST_PORT=56721 # the default, NODE_PORT + 20000, is past 65535
RMQ_NODE="milie-$HASH@localhost"

say() { echo "ensure-infra: $*" >&2; }
die() {
	say "error: $*"
	exit 1
}

tcp_answers() { # host port
	# shellcheck disable=SC2016 # $0 and $1 are the inner bash's arguments
	timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

pg_answers() { # host port
	if command -v pg_isready >/dev/null; then
		pg_isready -q -h "$1" -p "$2" -t 3
	else
		tcp_answers "$1" "$2"
	fi
}

# Runs a command as the given system user when we are root (initdb refuses root), else as us.
# The servers it may start must not keep our stdout (fd 3) or the lock (fd 9) open.
as_user() { # user command...
	local user=$1
	shift
	if ((EUID == 0)); then
		(cd / && runuser -u "$user" -- "$@" 3>&- 9>&-)
	else
		"$@" 3>&- 9>&-
	fi
}

# The directory for a private server's data: <repo>/.run/<name>, unless we are root and the
# server's user cannot reach it (a repo under /root, say); then /var/tmp/milie-<hash>/<name>.
private_dir() { # name user
	local dir="$RUN/$1"
	if ((EUID == 0)) && ! runuser -u "$2" -- test -x "$RUN"; then
		dir="/var/tmp/milie-$HASH/$1"
		mkdir -p "/var/tmp/milie-$HASH"
		chmod 755 "/var/tmp/milie-$HASH"
		say "$2 cannot reach $RUN: keeping the private $1 data in $dir"
	fi
	mkdir -p "$dir"
	if ((EUID == 0)); then chown "$2:" "$dir"; fi
	echo "$dir"
}

# .run/infra.env: shell assignments that stop-infra.sh sources. Loaded at start, so that record()
# rewrites the whole file with one server's part changed and the other's kept.
PRIVATE_PG_DATA="" PRIVATE_PG_BIN="" PRIVATE_PG_USER=""
PRIVATE_RMQ_NODE="" PRIVATE_RMQ_BASE="" PRIVATE_RMQ_BIN="" PRIVATE_RMQ_USER=""
record() {
	{
		echo "# Private servers started by deploy/local/ensure-infra.sh; stop-infra.sh stops them."
		for var in PRIVATE_PG_DATA PRIVATE_PG_BIN PRIVATE_PG_USER \
			PRIVATE_RMQ_NODE PRIVATE_RMQ_BASE PRIVATE_RMQ_BIN PRIVATE_RMQ_USER; do
			printf '%s=%q\n' "$var" "${!var}"
		done
	} >"$RUN/infra.env.tmp"
	mv "$RUN/infra.env.tmp" "$RUN/infra.env"
}

note_started() { # name
	if [[ -n ${MILIE_INFRA_STARTED:-} ]]; then echo "$1" >>"$MILIE_INFRA_STARTED"; fi
}

APT_UPDATED=0
apt_install() { # package...
	if ((EUID != 0)) || ! command -v apt-get >/dev/null; then
		die "the server programs are missing: install them (on Debian: apt-get install $*), or set DATABASE_URL and AMQP_URL"
	fi
	if ((!APT_UPDATED)); then
		apt-get -o DPkg::Lock::Timeout=600 update >&2
		APT_UPDATED=1
	fi
	say "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y "$@" >&2
}

# --- PostgreSQL --------------------------------------------------------------------------------

create_milie_db() { # host port
	local exists
	exists=$(psql -X -w -h "$1" -p "$2" -U postgres -d postgres -tAc \
		"select 1 from pg_database where datname = 'milie'")
	if [[ $exists != 1 ]]; then
		say "creating database milie on $1:$2"
		createdb -w -h "$1" -p "$2" -U postgres milie
	fi
}

find_pg_bin() {
	local dir
	dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then echo "$dir"; fi
}

start_private_postgres() { # sets db
	local bin data user socket_dir
	bin=$(find_pg_bin)
	if [[ -z $bin ]]; then
		apt_install postgresql
		bin=$(find_pg_bin)
		[[ -n $bin ]] || die "postgresql is installed but no /usr/lib/postgresql/*/bin/initdb"
	fi
	user=$(id -un)
	if ((EUID == 0)); then user=postgres; fi
	data=$(private_dir postgres "$user")
	socket_dir="$(dirname "$data")/postgres-socket"
	mkdir -p "$socket_dir"
	if ((EUID == 0)); then chown "$user:" "$socket_dir"; fi

	# shellcheck disable=SC2034 # record() writes them out
	PRIVATE_PG_DATA=$data PRIVATE_PG_BIN=$bin PRIVATE_PG_USER=$user
	if as_user "$user" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
		say "reusing the private PostgreSQL in $data"
	else
		if [[ ! -f $data/PG_VERSION ]]; then
			say "initdb $data"
			as_user "$user" "$bin/initdb" -D "$data" -U postgres -A trust \
				--encoding=UTF8 --locale=C.UTF-8 >&2
			cat >>"$data/postgresql.conf" <<-EOF
				# deploy/local/ensure-infra.sh
				listen_addresses = '127.0.0.1'
				port = $PG_PORT
				unix_socket_directories = '$socket_dir'
			EOF
		fi
		say "starting the private PostgreSQL on 127.0.0.1:$PG_PORT"
		as_user "$user" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >&2 ||
			die "the private PostgreSQL did not start; see $data/server.log"
		note_started postgres
	fi
	record
	create_milie_db 127.0.0.1 "$PG_PORT"
	db="postgresql://postgres@127.0.0.1:$PG_PORT/milie"
}

set_database_url() { # sets db
	if [[ ${MILIE_PRIVATE_INFRA:-} != 1 ]]; then
		if [[ -n ${DATABASE_URL:-} ]]; then
			db=$DATABASE_URL
			return
		fi
		if pg_answers 127.0.0.1 5432; then
			# Debian's default pg_hba.conf wants a password over TCP: then the URL would not work.
			if psql -X -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc 'select 1' >/dev/null; then
				say "using the PostgreSQL on 127.0.0.1:5432"
				create_milie_db 127.0.0.1 5432
				db="postgresql://postgres@127.0.0.1:5432/milie"
				return
			fi
			say "the PostgreSQL on 127.0.0.1:5432 refuses postgres without a password"
		fi
	fi
	start_private_postgres
}

# --- RabbitMQ ----------------------------------------------------------------------------------

find_rmq_bin() {
	local server
	if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
		echo /usr/lib/rabbitmq/bin # Debian's; /usr/sbin/ holds wrappers that run as rabbitmq
	elif server=$(command -v rabbitmq-server); then
		dirname "$server"
	fi
}

# Environment of the private node, for the server and its CLI alike. Our own config file keeps
# the node off the listeners that /etc/rabbitmq/rabbitmq.conf sets for the system node.
rmq_env() { # base
	local base=$1 home
	home=$HOME
	if ((EUID == 0)); then home=$(getent passwd rabbitmq | cut -d: -f6); fi
	echo "HOME=$home" # where the Erlang cookie is, shared by the node and rabbitmqctl
	echo "RABBITMQ_NODENAME=$RMQ_NODE"
	echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
	echo "RABBITMQ_NODE_PORT=$RMQ_PORT"
	echo "RABBITMQ_DIST_PORT=$RMQ_DIST_PORT"
	echo "RABBITMQ_CONFIG_FILE=$base/rabbitmq.conf"
	echo "RABBITMQ_ADVANCED_CONFIG_FILE=$base/advanced.config"
	echo "RABBITMQ_ENABLED_PLUGINS_FILE=$base/enabled_plugins"
	echo "RABBITMQ_MNESIA_BASE=$base/mnesia"
	echo "RABBITMQ_LOG_BASE=$base/log"
	echo "RABBITMQ_PID_FILE=$base/rabbitmq.pid"
}

start_private_rabbitmq() { # sets amqp
	local bin base user
	bin=$(find_rmq_bin)
	if [[ -z $bin ]]; then
		apt_install rabbitmq-server
		bin=$(find_rmq_bin)
		[[ -n $bin ]] || die "rabbitmq-server is installed but not found"
	fi
	user=$(id -un)
	if ((EUID == 0)); then user=rabbitmq; fi
	base=$(private_dir rabbitmq "$user")
	local -a vars
	mapfile -t vars < <(rmq_env "$base")
	ctl() { as_user "$user" env "${vars[@]}" "$bin/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

	# shellcheck disable=SC2034 # record() writes them out
	PRIVATE_RMQ_NODE=$RMQ_NODE PRIVATE_RMQ_BASE=$base PRIVATE_RMQ_BIN=$bin PRIVATE_RMQ_USER=$user
	if ctl -q ping >/dev/null 2>&1 && tcp_answers 127.0.0.1 "$RMQ_PORT"; then
		say "reusing the private RabbitMQ node $RMQ_NODE"
	else
		mkdir -p "$base/mnesia" "$base/log"
		echo "listeners.tcp.local = 127.0.0.1:$RMQ_PORT" >"$base/rabbitmq.conf"
		echo "[]." >"$base/enabled_plugins"
		if ((EUID == 0)); then chown -R "$user:" "$base"; fi
		say "starting the private RabbitMQ node $RMQ_NODE on 127.0.0.1:$RMQ_PORT"
		as_user "$user" env "${vars[@]}" "$bin/rabbitmq-server" -detached \
			</dev/null >"$base/log/startup.log" 2>&1 ||
			die "the private RabbitMQ did not start; see $base/log/"
		note_started rabbitmq
		local deadline=$((SECONDS + 120))
		until ctl -q await_startup --timeout 10 >/dev/null 2>&1 && tcp_answers 127.0.0.1 "$RMQ_PORT"; do
			((SECONDS < deadline)) || die "the private RabbitMQ did not answer in 120 s; see $base/log/"
			sleep 1
		done
	fi
	record
	# Every milie.* queue bounded, refusing publishes when full, as in production
	# (shared/topology.py limits_policy, deploy/rabbitmq/definitions.json; tests/deploy compares).
	ctl -q set_policy --apply-to queues milie.queue-limits '^milie\.' \
		'{"max-length":1000000,"max-length-bytes":2147483648,"overflow":"reject-publish"}' \
		>/dev/null 2>&1 || say "could not set the queue length policy on $RMQ_NODE"
	amqp="amqp://guest:guest@127.0.0.1:$RMQ_PORT/"
}

set_amqp_url() { # sets amqp
	if [[ ${MILIE_PRIVATE_INFRA:-} != 1 ]]; then
		if [[ -n ${AMQP_URL:-} ]]; then
			amqp=$AMQP_URL
			return
		fi
		if tcp_answers 127.0.0.1 5672; then
			say "using the RabbitMQ on 127.0.0.1:5672"
			amqp="amqp://guest:guest@127.0.0.1:5672/"
			return
		fi
	fi
	start_private_rabbitmq
}

# --- main --------------------------------------------------------------------------------------

# Our stdout is for the two lines alone: keep it as fd 3, send everything else to stderr.
exec 3>&1 1>&2
mkdir -p "$RUN"
# One run at a time: `make up` and `make test` side by side must not both start a server.
exec 9>"$RUN/infra.lock"
flock -w 600 9 || die "another ensure-infra.sh holds $RUN/infra.lock"
if [[ -f $RUN/infra.env ]]; then
	# shellcheck source=/dev/null
	source "$RUN/infra.env"
fi

db="" amqp=""
set_database_url
set_amqp_url
printf 'DATABASE_URL=%s\nAMQP_URL=%s\n' "$db" "$amqp" >&3
