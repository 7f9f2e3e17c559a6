#!/usr/bin/env bash
# make image: the adjudicator's OCI image, FROM scratch (deploy/Containerfile).
#
# Stages a build context in .tmp/image/ctx.* (a static binary built with
# CGO_ENABLED=0 and the host's CA bundle), then builds with Debian's podman
# (or buildah), installing podman with apt-get when neither is there and we
# are root. Overlay storage when it works, vfs otherwise (sandboxes, nested
# containers); STORAGE_DRIVER=vfs forces vfs.
#
# Environment: IMAGE (repository, default localhost/tierspayant/adjudicator),
# TAG (default: the version below), CA_BUNDLE (default
# /etc/ssl/certs/ca-certificates.crt), IMAGE_FROM (a commit, e.g. HEAD: build
# that commit's tree, exported with git archive, instead of the working tree).
# Prints the image reference last.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

IMAGE=${IMAGE:-localhost/tierspayant/adjudicator}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

ensure_builder() {
  if command -v podman >/dev/null 2>&1; then
    # runc too: sandboxes that refuse crun's rlimits or cgroups run the image
    # with it (deploy/deploy_test.go tries it second).
    if ! command -v runc >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq runc >&2 || true
    fi
    echo podman; return
  fi
  if command -v buildah >/dev/null 2>&1; then echo buildah; return; fi
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "image: neither podman nor buildah is installed: install Debian's podman package (apt-get install podman)" >&2
    exit 1
  fi
  echo "image: installing podman (Debian package)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq podman runc >&2
  echo podman
}
builder=$(ensure_builder)

# Storage: the configured driver (overlay on Debian) when it answers, vfs
# otherwise. The same choice is made by deploy/deploy_test.go.
storage=()
if [ "${STORAGE_DRIVER:-}" = vfs ]; then
  storage=(--storage-driver vfs)
elif ! "$builder" info >/dev/null 2>&1; then
  echo "image: default container storage unavailable, using vfs" >&2
  storage=(--storage-driver vfs)
fi

if [ ! -r "$CA_BUNDLE" ]; then
  echo "image: no CA bundle at $CA_BUNDLE (install Debian's ca-certificates package, or set CA_BUNDLE)" >&2
  exit 1
fi

# Temporary folders removed on exit.
cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT
src=.
buildvcs=auto
if [ -n "${IMAGE_FROM:-}" ]; then
  version=$(git describe --tags --always "$IMAGE_FROM")
  revision=$(git rev-parse "$IMAGE_FROM^{commit}")
  # Outside the repository, so that the build does not stamp the working
  # tree's VCS state on a binary built from a commit.
  src=$(mktemp -d)
  cleanup+=("$src")
  git archive "$revision" | tar -x -C "$src"
  buildvcs=false
else
  version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
  revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
fi
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
TAG=${TAG:-$version}

# A context of its own per build: make image and the test may run at once.
mkdir -p .tmp/image
ctx=$(mktemp -d .tmp/image/ctx.XXXXXX)
cleanup+=("$root/$ctx")
echo "image: building the static binary ($version)" >&2
(cd "$src" && CGO_ENABLED=0 go build -trimpath -buildvcs=$buildvcs -ldflags='-s -w' -o "$root/$ctx/adjudicator" ./cmd/adjudicator)
cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"

args=(--file deploy/Containerfile --tag "$IMAGE:$TAG"
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created")
# No RUN step in the Containerfile, so chroot isolation is enough everywhere.
case "$builder" in
  podman) podman "${storage[@]}" build --isolation chroot --format oci "${args[@]}" "$ctx" >&2 ;;
  buildah) buildah "${storage[@]}" bud --isolation chroot --format oci "${args[@]}" "$ctx" >&2 ;;
esac
if [ "$TAG" != latest ]; then
  "$builder" "${storage[@]}" tag "$IMAGE:$TAG" "$IMAGE:latest" >&2
fi
echo "$IMAGE:$TAG"
