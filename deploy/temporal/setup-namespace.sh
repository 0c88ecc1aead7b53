#!/bin/sh
# Prepares a Temporal server for the APS worker: waits until the frontend answers its health
# check, creates the namespace when it does not exist, and registers the workflow's custom search
# attributes (all Keyword) in it. Runs in temporalio/admin-tools (the `temporal` CLI).
#
# Idempotent: an existing namespace is kept as it is, and an attribute that already exists as a
# Keyword is skipped, so it can run on every `docker compose up` and against any server
# (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE select which).
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
NAMESPACE_RETENTION="${NAMESPACE_RETENTION:-72h}"
WAIT_SECONDS="${WAIT_SECONDS:-180}"
# Name:Type pairs the workflow writes (src/api.ts, SEARCH_ATTRIBUTES).
SEARCH_ATTRIBUTES="ApsJobId:Keyword ApsRegion:Keyword ApsPhase:Keyword"

deadline=$(($(date +%s) + WAIT_SECONDS))

# Runs "$@" until it succeeds or the deadline passes. Namespace creation reaches the frontends
# through a cache that refreshes every few seconds, so the first calls after a create can fail.
retry() {
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "Gave up after ${WAIT_SECONDS}s: $*" >&2
      return 1
    fi
    sleep 2
  done
}

echo "Waiting for Temporal at $TEMPORAL_ADDRESS..."
retry temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "Namespace $TEMPORAL_NAMESPACE exists"
else
  echo "Creating namespace $TEMPORAL_NAMESPACE (retention $NAMESPACE_RETENTION)"
  retry temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" \
    --retention "$NAMESPACE_RETENTION" --address "$TEMPORAL_ADDRESS"
  retry temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" \
    --address "$TEMPORAL_ADDRESS" >/dev/null
fi

# Prints the namespace's search attributes as compact JSON.
list_attributes() {
  temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" \
    --address "$TEMPORAL_ADDRESS" --output json | tr -d ' \t\r\n'
}

# Prints the type of attribute $1 in upper case (KEYWORD, TEXT, ...), or nothing when it is not
# registered. Newer CLIs print a list of {"name": ..., "type": "Keyword"} objects, older ones the
# raw response with "ApsJobId": "INDEXED_VALUE_TYPE_KEYWORD"; both are understood.
attribute_type() {
  list_attributes |
    grep -o -e "\"name\":\"$1\",\"type\":\"[A-Za-z_]*\"" -e "\"$1\":\"[A-Za-z_]*\"" |
    head -n 1 | sed 's/.*:"\([A-Za-z_]*\)"$/\1/' | tr '[:lower:]' '[:upper:]' |
    sed 's/^INDEXED_VALUE_TYPE_//'
}

# True when attribute $1 exists with type $2.
has_attribute() {
  [ "$(attribute_type "$1")" = "$(echo "$2" | tr '[:lower:]' '[:upper:]')" ]
}

for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%:*}"
  type="${pair#*:}"
  existing=$(attribute_type "$name")
  if [ "$existing" = "$(echo "$type" | tr '[:lower:]' '[:upper:]')" ]; then
    echo "Search attribute $name ($type) exists"
  elif [ -n "$existing" ]; then
    # A type cannot be changed in place; the workflow would fail to upsert it, so stop here.
    echo "Search attribute $name exists with type $existing, not $type: remove it or use another namespace" >&2
    exit 1
  else
    echo "Registering search attribute $name ($type)"
    retry temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
      --name "$name" --type "$type" --address "$TEMPORAL_ADDRESS"
  fi
done

for pair in $SEARCH_ATTRIBUTES; do
  retry has_attribute "${pair%%:*}" "${pair#*:}"
done
echo "Namespace $TEMPORAL_NAMESPACE is ready with search attributes: $SEARCH_ATTRIBUTES"
