#!/bin/sh
# Writes the control API token of the compose emulator to APS_EMULATOR_ADMIN_TOKEN_FILE, on a
# volume that only the emulator mounts (read-only): APS_EMULATOR_ADMIN_TOKEN when it is set, else
# 32 random bytes in hex, generated on the first run and kept on later ones. The emulator binds
# 0.0.0.0 in compose, and refuses to start there without a token.
#
# The token is never printed. Read it with
#   docker compose exec emulator cat /run/aps-emulator/admin-token
set -eu

file="${APS_EMULATOR_ADMIN_TOKEN_FILE:?set APS_EMULATOR_ADMIN_TOKEN_FILE to the path of the token file}"
umask 077

write() {
  printf '%s\n' "$1" >"$file.new"
  mv -f "$file.new" "$file"
}

if [ -n "${APS_EMULATOR_ADMIN_TOKEN:-}" ]; then
  write "$APS_EMULATOR_ADMIN_TOKEN"
  echo "emulator admin token: taken from APS_EMULATOR_ADMIN_TOKEN"
elif [ -s "$file" ]; then
  echo "emulator admin token: kept from an earlier run"
else
  token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  if [ "${#token}" -ne 64 ]; then
    echo "emulator admin token: could not read 32 random bytes from /dev/urandom" >&2
    exit 1
  fi
  write "$token"
  echo "emulator admin token: generated"
fi

# Run as root to write into the fresh (root-owned) volume; the emulator runs as the image's user
# `node` (APS_EMULATOR_TOKEN_OWNER), which alone may read the file.
if [ "$(id -u)" = 0 ]; then
  chown "${APS_EMULATOR_TOKEN_OWNER:-node:node}" "$file"
fi
chmod 0400 "$file"
