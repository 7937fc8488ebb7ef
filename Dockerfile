# syntax=docker/dockerfile:1
# outflow in a container: the static binary (CGO_ENABLED=0) on an empty
# base, running as an unprivileged user. One image for every command:
#
#   docker build -t outflow .
#   docker run --rm outflow --version
#   docker run --rm -v "$PWD:/data" outflow scan /data/capture.pcap
#
# Ports (publish the ones the command you run listens on):
#   53/udp, 53/tcp   outflow resolve        (DNS; needs NET_BIND_SERVICE, see compose.yaml)
#   8080/tcp         outflow serve          (dashboard and API; serve --listen 0.0.0.0:8080)
#   2055/udp         outflow sensor         (NetFlow v5/v9)
#   4739/udp         outflow sensor         (IPFIX)
#   9108, 9153/tcp   Prometheus metrics of the sensor and the resolver
# Volumes:
#   /var/lib/outflow the store (SQLite) and the resolver's query log; owned by 65532
#   /etc/outflow     configuration (resolver.yaml, sensor.yaml, serve.yaml), read-only
# packaging/compose.yaml runs the resolver, the sensor, the dashboard and ClickHouse.

ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=v0.0.0-docker
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/outflow-dev/outflow/internal/version.Release=${VERSION}" \
      -o /out/outflow ./cmd/outflow \
 && mkdir -p /out/var/lib/outflow /out/etc/outflow /out/tmp \
 && cp packaging/etc/*.yaml /out/etc/outflow/ \
 && printf 'outflow:x:65532:65532:outflow:/var/lib/outflow:/sbin/nologin\n' >/out/passwd \
 && printf 'outflow:x:65532:\n' >/out/group

# Nothing but the binary, CA certificates (for DNS over TLS/HTTPS
# upstreams, webhooks), time zones, a user and the directories it writes.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=65532:65532 --chmod=0750 /out/var/lib/outflow /var/lib/outflow
COPY --from=build --chown=65532:65532 --chmod=1777 /out/tmp /tmp
COPY --from=build /out/etc/outflow /etc/outflow
COPY --from=build /out/outflow /usr/bin/outflow
USER 65532:65532
WORKDIR /var/lib/outflow
ENV XDG_DATA_HOME=/var/lib
VOLUME ["/var/lib/outflow"]
EXPOSE 53/udp 53/tcp 8080/tcp 2055/udp 4739/udp 9108/tcp 9153/tcp
ENTRYPOINT ["/usr/bin/outflow"]
CMD ["--help"]
