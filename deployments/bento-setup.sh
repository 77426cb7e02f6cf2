#!/bin/sh
# Runs as root at the end of the service image's build (bentofile.yaml, docker.setup_script).
# BentoML installs build-essential, gnupg2 and git into every Debian image (~640 MB) so that
# packages can compile; every package of this bento is a wheel, so they go again here, with the
# test suites that wheels carry. curl stays: container engines run health checks with it
# (`podman kube play` turns a Kubernetes httpGet probe into `curl -f …`).
# The space comes back only when the build squashes its layers:
#   bentoml containerize … --backend podman --opt squash     (or buildah; docker: --squash)
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -q -y --no-install-recommends curl
apt-mark manual curl ca-certificates >/dev/null
apt-get purge -q -y -o APT::AutoRemove::RecommendsImportant=false \
  -o APT::AutoRemove::SuggestsImportant=false --auto-remove build-essential gnupg2 git >/dev/null
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
# uv's download cache, unless the build mounted it (a BuildKit cache or a host directory).
if ! mountpoint -q /root/.cache && ! mountpoint -q /root/.cache/uv; then rm -rf /root/.cache; fi
site=$(/app/.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for pkg in pandas numpy scipy pyarrow; do
  rm -rf "$site/$pkg/tests" "$site/$pkg/"*/tests
done
# pyarrow's Arrow Flight RPC libraries and its C++/Cython build headers: the service only writes
# Parquet (the capture) and never imports pyarrow.flight or builds against pyarrow (~38 MB).
rm -rf "$site/pyarrow/include" "$site/pyarrow/"*flight* "$site/pyarrow/"*.pyx "$site/pyarrow/"*.pxd \
  "$site/pyarrow/"*.pxi "$site/pyarrow/includes"
# botocore's API models of every AWS service (~27 MB): the service's lake client (s3fs) calls S3
# only, and credentials may come through STS or SSO; the other services' models go.
for model in "$site/botocore/data"/*/; do
  case "$(basename "$model")" in s3 | sts | sso | sso-oidc) ;; *) rm -rf "$model" ;; esac
done
