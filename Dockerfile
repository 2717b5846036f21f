# registry-redirector container image.
#
#   buildah bud --storage-driver vfs --isolation chroot --layers -t registry-redirector .
#   (or: docker build -t registry-redirector .)
#
# Both stages start from the same Debian 12 image so that the shared libraries
# the binary was linked against are exactly the ones the runtime stage
# installs. Where no registry is reachable, scripts/container-smoke.sh imports a
# debootstrap-made bookworm under this very name first.
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# --- build ------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

# The Debian 12 packages the CMake project finds (see CMakeLists.txt);
# libboost1.81-dev, not libboost-dev (1.74 lacks Beast's message_generator);
# openssl, the command, with which the tests make their CA and certificates.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      cmake ninja-build g++ \
      libboost1.81-dev libboost-json1.81-dev libyaml-cpp-dev libspdlog-dev libfmt-dev prometheus-cpp-dev zlib1g-dev libssl-dev libbz2-dev \
      libgtest-dev libgmock-dev libbenchmark-dev \
      openssl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# Which ctest labels to run before the binary is allowed into the image:
# "unit" (default, a few seconds), "all" (adds the integration tests, which
# start the binary on loopback inside the build container) or "none".
ARG RUN_TESTS=unit
# The git commit (the context has no .git): registry_redirector_build_info and
# --version report it. scripts/container-smoke.sh passes it.
ARG REVISION=unknown
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DREDIRECTOR_BUILD_BENCH=OFF -DREDIRECTOR_REVISION="$REVISION" \
      -DREDIRECTOR_BUILD_TESTS=$([ "$RUN_TESTS" = none ] && echo OFF || echo ON) \
 && cmake --build build -j"$(nproc)" \
 && case "$RUN_TESTS" in \
      none) ;; \
      all)  ctest --test-dir build --output-on-failure -j"$(nproc)" ;; \
      *)    ctest --test-dir build --output-on-failure -j"$(nproc)" -L "$RUN_TESTS" ;; \
    esac \
 && install -D -m 0755 -s build/registry-redirector /out/registry-redirector

# --- runtime ----------------------------------------------------------------
FROM ${BASE_IMAGE}

# Only the shared libraries `ldd registry-redirector` lists (libstdc++6,
# libgcc-s1 and libc6 are already in the base). No shell tools, curl or CA
# certificates: the server makes no outbound connections and the kubelet, not
# the container, runs the probes.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libboost-json1.81.0 libyaml-cpp0.7 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 zlib1g libbz2-1.0 libssl3 libstdc++6 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log

COPY --from=build /out/registry-redirector /usr/local/bin/registry-redirector

# The whole shipped configuration: redirector.yaml, asns/ (one file per
# provider) and prefixes/. Paths in redirector.yaml are relative to this
# folder, so Kubernetes can mount a ConfigMap over asns/ (or redirector.yaml)
# and keep the baked-in prefix table.
COPY config/ /etc/registry-redirector/

# Fail the build, not the rollout, if a library is missing or the shipped
# configuration does not load.
RUN /usr/local/bin/registry-redirector --version \
 && /usr/local/bin/registry-redirector check --config /etc/registry-redirector/redirector.yaml > /dev/null

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="registry-redirector" \
      org.opencontainers.image.description="Answers every request with a 302 to the registry or artifact mirror of the cloud provider the client's IP address belongs to." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# A numeric UID (no passwd entry needed) lets Kubernetes verify runAsNonRoot
# without a runAsUser in the pod. The server writes nothing to disk, so the
# root filesystem can be mounted read-only.
USER 65532:65532

# 8080: redirects. 9090: admin (/healthz, /readyz, /metrics); keep it off the
# public Service.
EXPOSE 8080 9090

# SIGTERM drains: /readyz turns 503 at once, requests are served for
# shutdown_delay, then in-flight ones finish within shutdown_timeout.
STOPSIGNAL SIGTERM

ENTRYPOINT ["/usr/local/bin/registry-redirector", "serve", "--config", "/etc/registry-redirector/redirector.yaml"]
