# The proxy's image, in two stages on Debian 12.
# build:   exactly what CI runs on a fresh machine: tools/setup (the Debian packages), then
#          tools/build (tests off: the image needs only the binary).
# runtime: Debian 12 slim with the shared libraries the binary links (ldd build/proxy, owners
#          from dpkg -S; test/integration/test_compose.py keeps this list complete) and the
#          binary. Configs live in /etc/proxy; CONFIG_FILE picks one (see docker-compose.yml).
FROM debian:12 AS build
WORKDIR /src
# tools/setup alone first, so the package layer is reused when only sources change.
COPY tools/setup tools/setup
RUN tools/setup
COPY . .
RUN tools/build build -DPROXY_BUILD_TESTS=OFF

FROM debian:12-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpocofoundation80 libpoconet80 libpocoutil80 libpocoxml80 libpocojson80 \
       libyaml-cpp0.7 libprometheus-cpp-core1.0 libssl3 ca-certificates \
       libstdc++6 libgcc-s1 libpcre3 zlib1g libexpat1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/proxy /usr/local/bin/proxy
WORKDIR /etc/proxy
COPY config/config.yml config/config-docker.yml ./
ENV CONFIG_FILE=config-docker.yml
# HTTP, TCP and the admin API of config-docker.yml.
EXPOSE 8020 8021 42007
# The proxy drains on SIGTERM (docker stop) within shutdown_timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/proxy"]
