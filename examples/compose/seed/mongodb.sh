#!/bin/bash
# The storefront's MongoDB data. Run once by the mongo image (/docker-entrypoint-initdb.d) on a
# fresh volume, with the root user it has just made.
set -euo pipefail
mongoimport --quiet --db storefront --collection carts --jsonArray --file /seed/carts.json \
  --username "$MONGO_INITDB_ROOT_USERNAME" --password "$MONGO_INITDB_ROOT_PASSWORD" \
  --authenticationDatabase admin
