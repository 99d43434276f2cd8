#!/usr/bin/env bash
# Builds the Debian base image that docker/Dockerfile starts FROM, from the Debian mirror alone, and tags it
# under the official image's name, so the same Dockerfile builds where Docker Hub cannot be reached.
# Usage: docker/debian-base.sh ENGINE IMAGE SUITE TAR   (e.g. podman docker.io/library/debian:trixie-slim trixie
# /var/cache/gpu-lenet/trixie.tar); TAR is kept, so a rerun after the image was removed only imports it.
set -euo pipefail
engine=$1 image=$2 suite=$3 tar=$4
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Like the official slim images: the apt sources in deb822 form (docker/Dockerfile adds components there),
# no manuals, no translations, and only the copyright files of /usr/share/doc.
sources="Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main contrib non-free non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

if [ ! -s "$tar" ]; then
  mkdir -p "$(dirname "$tar")"
  mmdebstrap --variant=minbase --format=tar \
    --components="main contrib non-free non-free-firmware" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='rm -f "$1/etc/apt/sources.list"' \
    --customize-hook="printf '%s\n' '$sources' > \"\$1/etc/apt/sources.list.d/debian.sources\"" \
    --customize-hook='rm -rf "$1/var/lib/apt/lists/"* "$1/var/cache/apt/"*.bin' \
    "$suite" "$tar.tmp" "$mirror"
  mv "$tar.tmp" "$tar"
else
  echo "debian-base: importing $tar, written by an earlier run (delete it for a fresh one)" >&2
fi
"$engine" import --change 'CMD ["bash"]' "$tar" "$image"
