// Package deploy holds the adjudicator's deployment recipes and their tests:
// the OCI image (Containerfile, built by `make image`), a Compose file with
// Redis (AOF), Prometheus and Grafana, and Kubernetes manifests in k8s/.
//
// It has no code of its own: deploy_test.go builds the image and, where the
// machine lets a container run, starts it against a real redis-server and
// probes /healthz and /readyz; manifests_test.go parses compose.yaml and
// every manifest and checks them against internal/platform/config. See
// docs/deploy.md.
package deploy
