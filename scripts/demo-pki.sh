#!/usr/bin/env bash
# A throwaway PKI for the demo, made on the spot (never committed): a demo root CA, an empty CRL,
# and one signing certificate per agency whose subject carries UID=<OrganId> (the binding rule
# of DESIGN.md §5). Production uses the national CA instead.
#   scripts/demo-pki.sh <dir> <OrganId>...
set -euo pipefail
dir="$1"; shift
[ -f "$dir/ca.crt" ] && [ -f "$dir/ca.crl" ] && exit 0
mkdir -p "$dir/ca-db"; cd "$dir"
: > ca-db/index.txt; echo 1000 > ca-db/crlnumber
cat > ca.cnf <<'CNF'
[ca]
default_ca = demo
[demo]
database = ca-db/index.txt
crlnumber = ca-db/crlnumber
default_md = sha256
default_crl_days = 30
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_agency]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
  -subj "/C=VN/O=VDXP demo/CN=VDXP demo root CA" -config ca.cnf -extensions v3_ca 2>/dev/null
openssl ca -gencrl -config ca.cnf -keyfile ca.key -cert ca.crt -out ca.crl 2>/dev/null
for organ in "$@"; do
  openssl req -newkey rsa:2048 -nodes -keyout "$organ.key" -out "$organ.csr" \
    -subj "/C=VN/O=VDXP demo/UID=$organ/CN=$organ" 2>/dev/null
  openssl x509 -req -in "$organ.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile ca.cnf -extensions v3_agency -out "$organ.crt" 2>/dev/null
done
chmod 600 ./*.key
