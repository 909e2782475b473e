#!/bin/sh
# Writes the secrets deploy/compose.yaml reads (secrets/<name>, one value per file), each freshly
# generated with openssl. Files that exist are kept, so running it again changes nothing; delete
# a file to generate it anew (then restart the services that read it). Guide:
# docs/operations/deploy.md#secrets.
#
#   secrets/postgres-password   the database password (the postgres service)
#   secrets/database-url        AGENTRY_DATABASE_URL_FILE: postgres://agentry:<password>@postgres:5432/agentry
#   secrets/api-keys            AGENTRY_API_KEYS_FILE: an admin key and a viewer key for Prometheus
#   secrets/internal-secret     AGENTRY_INTERNAL_SECRET_FILE: workers sign their gateway calls with it
#   secrets/admin-key           the admin key alone, for you (agentry smoke, curl); no service reads it
#   secrets/metrics-key         the viewer key alone, for Prometheus (/metrics)
set -eu
cd "$(dirname "$0")"
command -v openssl >/dev/null 2>&1 || { echo 'make-secrets.sh: openssl is needed' >&2; exit 1; }

umask 077
mkdir -p secrets
chmod 0700 secrets

# write <name> <value>: a new file only; the directory stays private, the file readable by the
# containers' users (compose bind-mounts it as it is: uid, gid and mode of a file secret are not applied).
write() {
  if [ -e "secrets/$1" ]; then
    echo "kept      secrets/$1"
  else
    printf '%s\n' "$2" >"secrets/$1"
    chmod 0644 "secrets/$1"
    echo "generated secrets/$1"
  fi
}
random() { openssl rand -hex 32; }

write postgres-password "$(random)"
write database-url "postgres://agentry:$(cat secrets/postgres-password)@postgres:5432/agentry"
write admin-key "$(random)"
write metrics-key "$(random)"
write api-keys "admin:$(cat secrets/admin-key):admin;prometheus:$(cat secrets/metrics-key):viewer"
write internal-secret "$(random)"
