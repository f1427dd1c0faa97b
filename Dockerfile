# chorus agent image: `bash packaging/docker-build.sh` builds it on this kind of
# machine (local base image, host network); see packaging/README.md.
#
#   docker run -d --network host -e CHORUS_RPC_ADDR=10.0.0.5:7373 chorus \
#     -node=n1 -bind=10.0.0.5 -join=10.0.0.4
#
# Stage 1 builds the Debian package (the same CPack .deb as
# packaging/build-deb.sh); stage 2 installs it on bookworm-slim, so the
# runtime holds only the shared libraries its dependencies name.
FROM debian:bookworm AS builder
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config dpkg-dev file help2man \
      libasio-dev libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libmsgpack-cxx-dev libsodium-dev libhttp-parser-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG JOBS=2
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHORUS_TESTS=OFF \
 && ninja -C /build -j "$JOBS" chorus chorus-man \
 && cd /build && cpack -G DEB

FROM debian:bookworm-slim
COPY --from=builder /build/packages/ /tmp/packages/
# The package's postinst creates the unprivileged chorus user and /var/lib/chorus.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/packages/chorus_*.deb \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/packages
COPY packaging/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# The agent's RPC address; the CLI (and so the health check) reads it too.
ENV CHORUS_RPC_ADDR=127.0.0.1:7373
USER chorus
WORKDIR /var/lib/chorus
EXPOSE 7946/tcp 7946/udp 7373/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["chorus", "info"]
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD []
