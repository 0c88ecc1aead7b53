#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases: `temporal` (persistence) and
# `temporal_visibility` (visibility). Runs in temporalio/admin-tools, whose image ships the
# versioned schema under /etc/temporal/schema.
#
# Safe to run on every `docker compose up`: create-database ignores an existing database,
# setup-schema -v 0.0 leaves a newer schema version alone, and update-schema applies only the
# versions above the recorded one. Running it again after an image upgrade is how the schema
# follows the server.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${POSTGRES_PWD:?POSTGRES_PWD is required}"
DB_PORT="${DB_PORT:-5432}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"
WAIT_SECONDS="${WAIT_SECONDS:-120}"

# temporal-sql-tool reads the password from SQL_PASSWORD, which keeps it off the command line.
SQL_PASSWORD="$POSTGRES_PWD"
export SQL_PASSWORD

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

# The health check says PostgreSQL accepts connections; the first connection can still race a
# restart at the end of the image's first-boot initialisation, so retry until a deadline.
deadline=$(($(date +%s) + WAIT_SECONDS))
until sql_tool --db "$DBNAME" create-database; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT did not accept connections within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  echo "PostgreSQL not ready, retrying..."
  sleep 2
done

sql_tool --db "$DBNAME" setup-schema -v 0.0
sql_tool --db "$DBNAME" update-schema -d "$SCHEMA_ROOT/temporal/versioned"

sql_tool --db "$VISIBILITY_DBNAME" create-database
sql_tool --db "$VISIBILITY_DBNAME" setup-schema -v 0.0
sql_tool --db "$VISIBILITY_DBNAME" update-schema -d "$SCHEMA_ROOT/visibility/versioned"

echo "Temporal schema is up to date in $DBNAME and $VISIBILITY_DBNAME"
