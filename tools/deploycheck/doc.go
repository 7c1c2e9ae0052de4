// Package deploycheck holds the deploy files (docker-compose.yml, the compose
// ClickHouse users, the Kubernetes manifests as kustomize renders them) to the
// exposure rules of deploy/README.md, "Running in production". It has only tests.
package deploycheck
