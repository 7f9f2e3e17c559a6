package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// imageRepo is the repository `make image` tags by default (scripts/image.sh).
const imageRepo = "localhost/tierspayant/adjudicator"

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// checkADJ fails on an ADJ_* name that config.Variables does not declare,
// and checks that a listen address keeps the default's port (the probes,
// the Service and the scrape configuration name that port).
func checkADJ(t *testing.T, where string, env map[string]string) {
	t.Helper()
	for k, v := range env {
		if !strings.HasPrefix(k, "ADJ_") {
			continue
		}
		if !knownVariable(k) {
			t.Errorf("%s: %s is not in config.Variables", where, k)
			continue
		}
		if k == "ADJ_GRPC_ADDR" || k == "ADJ_ADMIN_ADDR" {
			if _, port, err := net.SplitHostPort(v); err != nil || port != defaultPort(t, k) {
				t.Errorf("%s: %s=%q: want the default port %s", where, k, v, defaultPort(t, k))
			}
		}
	}
}

type composeService struct {
	Image       string
	Command     []string
	Environment map[string]string
	Volumes     []string
	Ports       []string
	Secrets     []string
	User        string
	ReadOnly    bool      `yaml:"read_only"`
	DependsOn   yaml.Node `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string
	}
}

type composeFile struct {
	Services map[string]composeService
	Volumes  map[string]any
	Secrets  map[string]struct{ File string }
}

// mounts maps a service's container paths to their sources.
func (s composeService) mounts() map[string]string {
	m := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			m[parts[1]] = parts[0]
		}
	}
	return m
}

// arg returns the value following flag in a command line.
func arg(cmd []string, flag string) (string, bool) {
	i := slices.Index(cmd, flag)
	if i < 0 || i+1 >= len(cmd) {
		return "", false
	}
	return cmd[i+1], true
}

func TestCompose(t *testing.T) {
	var c composeFile
	readYAML(t, "compose.yaml", &c)
	for _, name := range []string{"redis", "adjudicator", "prometheus", "grafana"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("compose.yaml: no %s service", name)
		}
	}

	redis := c.Services["redis"]
	if v, _ := arg(redis.Command, "--appendonly"); v != "yes" {
		t.Errorf("redis: --appendonly %q, want yes (AOF)", v)
	}
	if v, _ := arg(redis.Command, "--appendfsync"); v != "everysec" {
		t.Errorf("redis: --appendfsync %q, want everysec", v)
	}
	data, ok := redis.mounts()["/data"]
	if _, named := c.Volumes[data]; !ok || !named {
		t.Errorf("redis: /data is %q, want a named volume declared under volumes", data)
	}
	if redis.Healthcheck == nil || !slices.Contains(redis.Healthcheck.Test, "ping") {
		t.Error("redis: no healthcheck pinging it (the adjudicator waits for it)")
	}

	adj := c.Services["adjudicator"]
	if repo, _, _ := strings.Cut(adj.Image, ":"); repo != imageRepo && !strings.HasPrefix(adj.Image, imageRepo+":") {
		t.Errorf("adjudicator image %q, want the one make image builds (%s)", adj.Image, imageRepo)
	}
	var deps map[string]struct{ Condition string }
	if err := adj.DependsOn.Decode(&deps); err != nil || deps["redis"].Condition != "service_healthy" {
		t.Errorf("adjudicator: depends_on redis must have condition service_healthy (%v)", err)
	}
	checkADJ(t, "compose adjudicator", adj.Environment)
	if _, ok := adj.Environment["ADJ_HMAC_SECRET"]; ok {
		t.Error("adjudicator: ADJ_HMAC_SECRET in plain environment: use ADJ_HMAC_SECRET_FILE and a secret")
	}
	secretFile := adj.Environment["ADJ_HMAC_SECRET_FILE"]
	name := strings.TrimPrefix(secretFile, "/run/secrets/")
	if name == secretFile || !slices.Contains(adj.Secrets, name) || c.Secrets[name].File == "" {
		t.Errorf("adjudicator: ADJ_HMAC_SECRET_FILE=%q must be /run/secrets/<a secret of the service, declared with a file>", secretFile)
	}
	if host, _, ok := strings.Cut(adj.Environment["ADJ_REDIS_ADDRS"], ":"); !ok || host != "redis" {
		t.Errorf("adjudicator: ADJ_REDIS_ADDRS=%q, want the redis service", adj.Environment["ADJ_REDIS_ADDRS"])
	}
	published := map[string]bool{}
	for _, p := range adj.Ports {
		parts := strings.Split(p, ":")
		published[parts[len(parts)-1]] = true
		if len(parts) != 3 || parts[0] != "127.0.0.1" {
			t.Errorf("adjudicator: port %q, want it published on loopback only (127.0.0.1:host:container)", p)
		}
	}
	for _, v := range []string{"ADJ_GRPC_ADDR", "ADJ_ADMIN_ADDR"} {
		if !published[defaultPort(t, v)] {
			t.Errorf("adjudicator: container port %s (%s) not published", defaultPort(t, v), v)
		}
	}
	if uid, _, _ := strings.Cut(adj.User, ":"); uid == "" || uid == "0" || !adj.ReadOnly {
		t.Errorf("adjudicator: user %q read_only %v, want non-root and a read-only root", adj.User, adj.ReadOnly)
	}

	prom := c.Services["prometheus"]
	promDir, ok := prom.mounts()["/etc/prometheus"]
	if !ok || filepath.Clean(promDir) != "prometheus" {
		t.Errorf("prometheus: /etc/prometheus must mount ./prometheus, got %q", promDir)
	}
	if v := promFlag(prom.Command, "--config.file"); v != "/etc/prometheus/prometheus.yml" {
		t.Errorf("prometheus: --config.file=%q", v)
	}
	checkPrometheusConfig(t)

	graf := c.Services["grafana"]
	if src := graf.mounts()["/etc/grafana/provisioning"]; filepath.Clean(src) != "grafana/provisioning" {
		t.Errorf("grafana: /etc/grafana/provisioning mounts %q, want ./grafana/provisioning", src)
	}
	if src := graf.mounts()["/var/lib/grafana/dashboards"]; filepath.Clean(src) != "grafana/dashboards" {
		t.Errorf("grafana: /var/lib/grafana/dashboards mounts %q, want ./grafana/dashboards", src)
	}
	checkGrafanaProvisioning(t)
}

func promFlag(cmd []string, flag string) string {
	for _, a := range cmd {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func checkPrometheusConfig(t *testing.T) {
	var p struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &p)
	if !slices.Contains(p.RuleFiles, "/etc/prometheus/alerts.yaml") {
		t.Errorf("prometheus.yml: rule_files %q, want /etc/prometheus/alerts.yaml", p.RuleFiles)
	}
	want := "adjudicator:" + defaultPort(t, "ADJ_ADMIN_ADDR")
	found := false
	for _, sc := range p.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			if slices.Contains(s.Targets, want) {
				found = true
				if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
					t.Errorf("prometheus.yml: job %s scrapes %s, want /metrics", sc.JobName, sc.MetricsPath)
				}
			}
		}
	}
	if !found {
		t.Errorf("prometheus.yml: no scrape target %s (the admin port)", want)
	}
	// promtool (Debian's prometheus package), when installed, checks the
	// whole file and the rules it loads, read from this folder.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: prometheus.yml checked by its fields only")
		return
	}
	b, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := filepath.Abs("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(local, bytes.ReplaceAll(b, []byte("/etc/prometheus/alerts.yaml"), []byte(alerts)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", local).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

func checkGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct{ Type, URL string }
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("grafana data source: %+v, want the compose Prometheus", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		}
	}
	readYAML(t, "grafana/provisioning/dashboards/tierspayant.yaml", &dp)
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || dp.Providers[0].Options.Path != "/var/lib/grafana/dashboards" {
		t.Errorf("grafana dashboard provider: %+v, want files in /var/lib/grafana/dashboards", dp.Providers)
	}
}

// manifest is one Kubernetes object, decoded twice: its kind and name, and
// the whole document for the checks of its kind.
type manifest struct {
	file string
	doc  yaml.Node
	head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string
		Metadata   struct {
			Name   string
			Labels map[string]string
		}
	}
}

func (m manifest) decode(t *testing.T, v any) {
	t.Helper()
	if err := m.doc.Decode(v); err != nil {
		t.Fatalf("%s: %s %s: %v", m.file, m.head.Kind, m.head.Metadata.Name, err)
	}
}

func readManifests(t *testing.T) map[string][]manifest {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	byKind := map[string][]manifest{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			m := manifest{file: f}
			if err := dec.Decode(&m.doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if err := m.doc.Decode(&m.head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.head.Kind == "" || m.head.APIVersion == "" {
				t.Errorf("%s: a document without apiVersion and kind", f)
				continue
			}
			if m.head.Kind != "Kustomization" && m.head.Metadata.Name == "" {
				t.Errorf("%s: %s without metadata.name", f, m.head.Kind)
			}
			byKind[m.head.Kind] = append(byKind[m.head.Kind], m)
		}
	}
	return byKind
}

func one(t *testing.T, byKind map[string][]manifest, kind string) manifest {
	t.Helper()
	if n := len(byKind[kind]); n != 1 {
		t.Fatalf("k8s/: %d %s, want one", n, kind)
	}
	return byKind[kind][0]
}

type probe struct {
	HTTPGet *struct {
		Path string
		Port yaml.Node
	} `yaml:"httpGet"`
}

type container struct {
	Name  string
	Image string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Env []struct {
		Name  string
		Value string
	}
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	LivenessProbe   *probe `yaml:"livenessProbe"`
	ReadinessProbe  *probe `yaml:"readinessProbe"`
	StartupProbe    *probe `yaml:"startupProbe"`
	Resources       struct{ Requests, Limits map[string]string }
	SecurityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
}

type deployment struct {
	Spec struct {
		Replicas int
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     struct {
				SecurityContext struct {
					RunAsNonRoot *bool `yaml:"runAsNonRoot"`
					RunAsUser    int   `yaml:"runAsUser"`
				} `yaml:"securityContext"`
				Containers []container
				Volumes    []struct {
					Name   string
					Secret *struct {
						SecretName string `yaml:"secretName"`
					}
				}
			}
		}
	}
}

type service struct {
	Metadata struct{ Labels map[string]string }
	Spec     struct {
		Selector map[string]string
		Ports    []struct {
			Name       string
			Port       int
			TargetPort yaml.Node `yaml:"targetPort"`
		}
	}
}

// subset reports whether every label of sel is in labels (and sel is not
// empty: an empty selector selects everything).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// resolvePort gives the container port a probe or a Service's targetPort
// names, by number or by the container's port name.
func resolvePort(n yaml.Node, c container) int {
	if p, err := strconv.Atoi(n.Value); err == nil {
		return p
	}
	for _, p := range c.Ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	return 0
}

func TestKubernetes(t *testing.T) {
	byKind := readManifests(t)
	dm := one(t, byKind, "Deployment")
	var d deployment
	dm.decode(t, &d)
	pod := d.Spec.Template
	if !subset(d.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("Deployment selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, pod.Metadata.Labels)
	}
	if d.Spec.Replicas < 2 {
		t.Errorf("Deployment: %d replicas, want at least 2 (the PDB keeps one)", d.Spec.Replicas)
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("Deployment: %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if !strings.HasPrefix(c.Image, imageRepo+":") {
		t.Errorf("container image %q, want %s:<tag> (make image)", c.Image, imageRepo)
	}
	adminPort, _ := strconv.Atoi(defaultPort(t, "ADJ_ADMIN_ADDR"))
	grpcPort, _ := strconv.Atoi(defaultPort(t, "ADJ_GRPC_ADDR"))
	for _, pr := range []struct {
		name, path string
		p          *probe
	}{{"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
		if pr.p == nil || pr.p.HTTPGet == nil {
			t.Errorf("container: no HTTP %s", pr.name)
			continue
		}
		if pr.p.HTTPGet.Path != pr.path {
			t.Errorf("%s: path %q, want %s", pr.name, pr.p.HTTPGet.Path, pr.path)
		}
		if got := resolvePort(pr.p.HTTPGet.Port, c); got != adminPort {
			t.Errorf("%s: port %q is %d, want the admin port %d (ADJ_ADMIN_ADDR)", pr.name, pr.p.HTTPGet.Port.Value, got, adminPort)
		}
	}
	if sp := c.StartupProbe; sp != nil && (sp.HTTPGet == nil || resolvePort(sp.HTTPGet.Port, c) != adminPort) {
		t.Error("startupProbe: want HTTP on the admin port")
	}
	ports := map[int]bool{}
	for _, p := range c.Ports {
		ports[p.ContainerPort] = true
	}
	if !ports[adminPort] || !ports[grpcPort] {
		t.Errorf("container ports %v, want %d (gRPC) and %d (admin)", c.Ports, grpcPort, adminPort)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("container: resources need a %s request and limit (%+v)", r, c.Resources)
		}
	}
	sc := c.SecurityContext
	nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (pod.Spec.SecurityContext.RunAsNonRoot != nil && *pod.Spec.SecurityContext.RunAsNonRoot)
	if !nonRoot || !sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container securityContext %+v: want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation", sc)
	}
	if pod.Spec.SecurityContext.RunAsUser == 0 {
		t.Error("pod securityContext: runAsUser must be the image's non-root uid")
	}

	// The environment: the ConfigMap envFrom names, plus env.
	env := map[string]string{}
	cms := map[string]map[string]string{}
	for _, m := range byKind["ConfigMap"] {
		var cm struct{ Data map[string]string }
		m.decode(t, &cm)
		cms[m.head.Metadata.Name] = cm.Data
		checkADJ(t, "ConfigMap "+m.head.Metadata.Name, cm.Data)
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		data, ok := cms[ef.ConfigMapRef.Name]
		if !ok {
			t.Errorf("envFrom: no ConfigMap %q in k8s/", ef.ConfigMapRef.Name)
		}
		for k, v := range data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	checkADJ(t, "container env", env)
	for _, v := range []string{"ADJ_GRPC_ADDR", "ADJ_ADMIN_ADDR", "ADJ_REDIS_ADDRS", "ADJ_HMAC_SECRET_FILE"} {
		if env[v] == "" {
			t.Errorf("container env: %s unset", v)
		}
	}
	if _, ok := env["ADJ_HMAC_SECRET"]; ok {
		t.Error("ADJ_HMAC_SECRET in the environment: mount it from a Secret (ADJ_HMAC_SECRET_FILE)")
	}
	// ADJ_HMAC_SECRET_FILE lies in a mount of a Secret volume.
	secretVolumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName != "" {
			secretVolumes[v.Name] = true
		}
	}
	inSecret := false
	for _, vm := range c.VolumeMounts {
		if secretVolumes[vm.Name] && path.Dir(env["ADJ_HMAC_SECRET_FILE"]) == path.Clean(vm.MountPath) {
			inSecret = true
		}
	}
	if !inSecret {
		t.Errorf("ADJ_HMAC_SECRET_FILE=%q is not in a mounted Secret volume", env["ADJ_HMAC_SECRET_FILE"])
	}

	// The Service selects the pods; its ports reach the container's.
	svm := one(t, byKind, "Service")
	var svc service
	svm.decode(t, &svc)
	if !subset(svc.Spec.Selector, pod.Metadata.Labels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pod.Metadata.Labels)
	}
	svcPorts := map[string]int{}
	for _, p := range svc.Spec.Ports {
		svcPorts[p.Name] = resolvePort(p.TargetPort, c)
		if p.TargetPort.Value == "" {
			svcPorts[p.Name] = p.Port
		}
	}

	pm := one(t, byKind, "PodDisruptionBudget")
	var pdb struct {
		Spec struct {
			MinAvailable   any `yaml:"minAvailable"`
			MaxUnavailable any `yaml:"maxUnavailable"`
			Selector       struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
		}
	}
	pm.decode(t, &pdb)
	if !subset(pdb.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector.MatchLabels)
	}
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		t.Error("PodDisruptionBudget: neither minAvailable nor maxUnavailable")
	}

	mm := one(t, byKind, "ServiceMonitor")
	var sm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			}
			Endpoints []struct{ Port, Path string }
		}
	}
	mm.decode(t, &sm)
	if !subset(sm.Spec.Selector.MatchLabels, svc.Metadata.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the Service (labels %v)", sm.Spec.Selector.MatchLabels, svc.Metadata.Labels)
	}
	if len(sm.Spec.Endpoints) == 0 {
		t.Fatal("ServiceMonitor: no endpoints")
	}
	for _, e := range sm.Spec.Endpoints {
		got, ok := svcPorts[e.Port]
		if !ok {
			t.Errorf("ServiceMonitor port %q is not a port name of the Service (%v)", e.Port, svcPorts)
		} else if got != adminPort {
			t.Errorf("ServiceMonitor port %q reaches container port %d, want the admin port %d", e.Port, got, adminPort)
		}
		if e.Path != "" && e.Path != "/metrics" {
			t.Errorf("ServiceMonitor path %q, want /metrics", e.Path)
		}
	}

	// The kustomization lists every manifest file.
	if ks := byKind["Kustomization"]; len(ks) == 1 {
		var k struct{ Resources []string }
		ks[0].decode(t, &k)
		files, _ := filepath.Glob("k8s/*.yaml")
		for _, f := range files {
			if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(k.Resources, b) {
				t.Errorf("kustomization.yaml does not list %s", b)
			}
		}
	}
}
