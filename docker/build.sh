#!/usr/bin/env bash
# Builds the image of docker/Dockerfile (make docker) with whichever engine works here: a running Docker
# daemon, else Podman (installed with apt-get when missing, its settings from docker/containers.conf through
# CONTAINERS_CONF). When the Dockerfile's Debian base can be neither found nor pulled, docker/debian-base.sh
# builds it from the Debian mirror with mmdebstrap, under the same name.
# Environment: IMAGE (default gpu-lenet), ENGINE (docker|podman: skip the choice), BUILD_NETWORK (passed to
# --network for the build's RUN steps, which reach the Debian mirror and Maven Central; e.g. host where the
# engine's own network cannot), CUDNN=1 (adds cuDNN, see the Dockerfile). Prints the engine's name last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
image=${IMAGE:-gpu-lenet}

apt_install() {
  [ "$(id -u)" = 0 ] || { echo "docker-build: $* missing, and installing it needs root" >&2; exit 1; }
  echo "docker-build: installing $* with apt-get" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}

engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  else
    engine=podman
  fi
fi
if [ "$engine" = podman ]; then
  missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/docker/containers.conf}
fi

base=$(sed -n 's/^ARG DEBIAN_IMAGE=//p' docker/Dockerfile)
if "$engine" image inspect "$base" >/dev/null 2>&1; then
  echo "docker-build: base $base is here" >&2
elif "$engine" pull "$base" >&2 2>/dev/null; then
  echo "docker-build: pulled $base" >&2
else
  echo "docker-build: $base cannot be pulled; building it from the Debian mirror with mmdebstrap" >&2
  command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
  suite=${base##*:}
  start=$SECONDS
  docker/debian-base.sh "$engine" "$base" "${suite%-slim}" "/var/cache/gpu-lenet/debian-$suite.tar" >&2
  echo "docker-build: base $base built in $((SECONDS - start)) s" >&2
fi

version=$(sed -n 's:^  <version>\(.*\)</version>:\1:p' pom.xml | head -n 1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
start=$SECONDS
# The certificate authorities added to this host (Debian's place for them), for a TLS-inspecting proxy on
# the way to Maven Central; none elsewhere.
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
"$engine" build ${BUILD_NETWORK:+--network="$BUILD_NETWORK"} -f docker/Dockerfile -t "$image" \
  --label org.opencontainers.image.version="$version" --label org.opencontainers.image.revision="$revision" \
  --build-arg CUDNN="${CUDNN:-0}" \
  --build-arg EXTRA_CA_CERTS="$extra_ca" . >&2
echo "docker-build: $image built by $engine in $((SECONDS - start)) s" >&2
echo "$engine"
