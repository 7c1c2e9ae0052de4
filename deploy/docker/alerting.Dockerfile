# syntax=docker/dockerfile:1
# tokenmeter alerting — build from the repository root:
#   docker build -f deploy/docker/alerting.Dockerfile -t tokenmeter/alerting .
ARG GO_VERSION=1.27.3

# grpc_health_probe for compose/k8s exec health checks (own stage: cached independently).
FROM golang:${GO_VERSION} AS probe
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go install -ldflags="-s -w" github.com/grpc-ecosystem/grpc-health-probe@v0.4.61

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0
# Module metadata first so the download layer is reused until a go.mod/go.sum changes.
# (go.* globs tolerate modules without a go.sum.)
COPY go.work* ./
COPY proto/go.* proto/
COPY libs/go.* libs/
COPY libs/testkit/go.* libs/testkit/
COPY services/ingestion/go.* services/ingestion/
COPY services/ledger/go.* services/ledger/
COPY services/reporting/go.* services/reporting/
COPY services/alerting/go.* services/alerting/
COPY tools/go.* tools/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/alerting ./services/alerting/cmd/alerting

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=probe /go/bin/grpc-health-probe /bin/grpc_health_probe
COPY --from=build /out/alerting /bin/alerting
ENV TOKENMETER_LISTEN=:7073
EXPOSE 7073
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=5 \
    CMD ["/bin/grpc_health_probe", "-addr=:7073"]
ENTRYPOINT ["/bin/alerting"]
