# make image: the adjudicator's OCI image (FROM scratch, deploy/Containerfile),
# built with Debian's podman or buildah (installed when missing, as root).
# Works included from the Makefile or alone: make -f mk/deploy.mk image.
# IMAGE and TAG name the result (default localhost/tierspayant/adjudicator:<git describe>).

image: ## OCI image FROM scratch: static adjudicator, non-root, CA bundle, OCI labels (podman/buildah)
	@scripts/image.sh

deploy-check: ## build the image, run it against a private redis-server, probe /healthz and /readyz; check compose and k8s manifests
	@scripts/ensure-redis.sh
	go test -count=1 -v ./deploy/

.PHONY: image deploy-check
