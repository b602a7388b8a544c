#!/usr/bin/env bash
# The egress gateway's image archive: the program (NativeAOT, linux-x64) and what it loads at run
# time from this machine: the C library and the dynamic loader, OpenSSL for TLS to the model API,
# and the CA certificates that check it. The engine imports it as is (no registry, no base image).
#   image.sh <published program> <output archive>
set -euo pipefail
program=$1
out=$2
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$program" "$root/claude-gateway"
libs=$(ldd "$program" | awk '/=>/ { print $3 } /ld-linux/ && !/=>/ { print $1 }')
for ssl in libssl.so.3 libcrypto.so.3; do
  libs="$libs $(ldconfig -p | awk -v name="$ssl" '$1 == name && /x86-64/ { print $NF; exit }')"
done
for lib in $libs; do
  [ -n "$lib" ] || continue
  install -D -m 0755 "$(readlink -f "$lib")" "$root/lib/x86_64-linux-gnu/$(basename "$lib")"
done
mkdir -p "$root/lib64"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
mkdir -p "$(dirname "$out")"
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf "$out.tmp" .
mv "$out.tmp" "$out"
