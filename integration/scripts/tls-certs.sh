#!/usr/bin/env bash
# Throwaway TLS material for the addon tests' TLS servers (PostgreSQL, Redis, MariaDB).
#   tls-certs.sh DIR  — writes into DIR (once; an existing complete set is kept):
#     ca.crt ca.key          the test CA
#     server.crt server.key  server certificate signed by it, SAN IP:127.0.0.1 and DNS:localhost
#                            (SERVER_SAN=… replaces that list, e.g. DNS:db.stash.test: a
#                            certificate that does not name the address clients dial)
#     client.crt client.key  client certificate signed by it (CN=postgres, the tests' user)
#     other-ca.crt           an unrelated CA (the "wrong CA" the tests expect to be rejected)
# Keys are EC P-256 (fast to make; every client here speaks ECDSA). Valid 30 days: the set is
# made fresh per test run, nothing should outlive it.
set -euo pipefail
DIR="${1:?usage: $0 DIR}"
mkdir -p "$DIR"
cd "$DIR"
if [ -s ca.crt ] && [ -s server.crt ] && [ -s client.crt ] && [ -s other-ca.crt ]; then exit 0; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # key crt CN
  key "$1"
  openssl req -x509 -new -key "$1" -sha256 -days 30 -subj "/CN=$3" -out "$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name CN extendedKeyUsage [subjectAltName]
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$tmp/$1.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$3"
    [ -n "${4:-}" ] && echo "subjectAltName=$4"
  } >"$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -CAserial "$tmp/ca.srl" \
    -days 30 -sha256 -extfile "$tmp/$1.ext" -out "$1.crt" 2>/dev/null
}

ca ca.key ca.crt "stash test CA"
leaf server "localhost" serverAuth "${SERVER_SAN:-IP:127.0.0.1,DNS:localhost}"
leaf client "postgres" clientAuth
ca "$tmp/other-ca.key" other-ca.crt "unrelated test CA"
chmod 600 ./*.key
echo "tls-certs: CA, server and client certificates in $DIR"
