package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/devcerts"
	"github.com/tierspayant/tierspayant/internal/grpcapi"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// The claim of docs/http.md (the README walk-through's), as billing software
// would send it with curl.
const httpClaim = `{"claim":{"claim_id":"10000000009-H0001","created_at":"2025-03-10T10:00:00Z",
  "professional":{"id":"10000000009","id_kind":"PROFESSIONAL_ID_KIND_RPPS","profession":"PROFESSION_PHYSICIAN","departement":"75"},
  "identification":{"kind":"IDENTIFICATION_KIND_VITALE_CARD","value":"1234567890"},
  "nir":"185057800608491","nature":"INSURANCE_NATURE_MALADIE","mode":"TIERS_PAYANT_MODE_AMO_ONLY",
  "lines":[{"line_id":"1","code":"G","category":"CATEGORY_PHYSICIAN","care_date":"2025-03-10",
  "unit_price":"30.00","quantity":1,"parcours":"PARCOURS_RESPECTED"}]}}`

const httpBeneficiary = `{"beneficiary":{"nir":"185057800608491","birth_date":"1985-05-20",
  "rights":[{"start":"2020-01-01"}],"organisms":[{"organism_code":"CPAM75","period":{"start":"2020-01-01"}}],
  "has_medecin_traitant":true}}`

// startHTTP starts the service with the gateway on, bearer tokens required
// (admin-token: administrator; pro-token: another professional than the
// claim's).
func startHTTP(t *testing.T, redisAddr string) *app.App {
	t.Helper()
	tf := filepath.Join(t.TempDir(), "tokens.json")
	entries := fmt.Sprintf(`[{"id":"admin","sha256":%q,"role":"admin"},{"id":"pro","sha256":%q,"role":"professional","professional":"10000000017"}]`,
		grpcapi.TokenHash("admin-token"), grpcapi.TokenHash("pro-token"))
	if err := os.WriteFile(tf, []byte(entries), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ := startWith(t, redisAddr, func(c *config.Config) {
		c.HTTPAddr, c.TokensFile, c.Auth = "127.0.0.1:0", tf, "on"
	})
	if a.HTTPAddr == "" {
		t.Fatal("ADJ_HTTP_ADDR given: the gateway should listen")
	}
	return a
}

// call sends one HTTP request and decodes the JSON answer.
func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v\n%s", method, url, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

func TestHTTPGatewayEmbedded(t *testing.T) { httpScenario(t, startHTTP(t, "")) }

func TestHTTPGatewayRedis(t *testing.T) {
	httpScenario(t, startHTTP(t, redistest.Shared(t).Addr))
}

func httpScenario(t *testing.T, a *app.App) {
	base := "http://" + a.HTTPAddr

	// The OpenAPI document lists the REST paths.
	code, doc := call(t, "GET", base+"/openapi.json", "", "")
	paths, _ := doc["paths"].(map[string]any)
	if code != http.StatusOK || doc["swagger"] != "2.0" {
		t.Fatalf("/openapi.json: %d %v", code, doc["swagger"])
	}
	for _, p := range []string{"/v1/claims:adjudicate", "/v1/claims/{claimId}", "/v1/claims:simulate", "/v1/claims/{claimId}:cancel",
		"/v1/oppositions/{identifier}:check", "/tierspayant.v1.BeneficiaryService/UpsertBeneficiary"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("/openapi.json lacks %s", p)
		}
	}

	// Authentication is the gRPC listener's: no token, a wrong token, a
	// caller without the right.
	for _, tc := range []struct {
		token string
		want  int
		code  float64
	}{{"", http.StatusUnauthorized, 16}, {"wrong-token", http.StatusUnauthorized, 16}, {"pro-token", http.StatusForbidden, 7}} {
		code, body := call(t, "POST", base+"/v1/claims:adjudicate", tc.token, httpClaim)
		if code != tc.want || body["code"] != tc.code {
			t.Errorf("token %q: %d %v, want %d with code %v", tc.token, code, body, tc.want, tc.code)
		}
	}

	// The unbound form of a method without a REST path.
	code, body := call(t, "POST", base+"/tierspayant.v1.BeneficiaryService/UpsertBeneficiary", "admin-token", httpBeneficiary)
	if code != http.StatusOK || body["beneficiaryRef"] == "" {
		t.Fatalf("upsert beneficiary: %d %v", code, body)
	}

	// Adjudicate, then read the decision back.
	code, body = call(t, "POST", base+"/v1/claims:adjudicate", "admin-token", httpClaim)
	d, _ := body["decision"].(map[string]any)
	if code != http.StatusOK || d["status"] != "DECISION_STATUS_ACCEPTED" || d["claimId"] != "10000000009-H0001" {
		t.Fatalf("adjudicate: %d %v", code, body)
	}
	if tot, _ := d["totals"].(map[string]any); tot["amo"] != "21.00" || tot["patientDebt"] != "2.00" {
		t.Errorf("adjudicate totals: %v", d["totals"])
	}
	code, body = call(t, "GET", base+"/v1/claims/10000000009-H0001", "admin-token", "")
	d, _ = body["decision"].(map[string]any)
	if code != http.StatusOK || d["claimId"] != "10000000009-H0001" || body["cancelled"] != false {
		t.Fatalf("get claim: %d %v", code, body)
	}
	code, body = call(t, "GET", base+"/v1/claims/10000000009-NONE", "admin-token", "")
	if code != http.StatusNotFound || body["code"] != float64(5) {
		t.Errorf("unknown claim: %d %v, want 404 with code 5", code, body)
	}

	// A malformed claim: 400 with the BadRequest of the gRPC status.
	bad := strings.Replace(strings.Replace(httpClaim, `"nir":"185057800608491",`, "", 1), `"unit_price":"30.00"`, `"unit_price":"-1"`, 1)
	code, body = call(t, "POST", base+"/v1/claims:adjudicate", "admin-token", bad)
	if code != http.StatusBadRequest || body["code"] != float64(3) {
		t.Fatalf("malformed claim: %d %v, want 400 with code 3", code, body)
	}
	fields := map[string]bool{}
	details, _ := body["details"].([]any)
	for _, det := range details {
		m, _ := det.(map[string]any)
		if m["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
			continue
		}
		vs, _ := m["fieldViolations"].([]any)
		for _, v := range vs {
			fv, _ := v.(map[string]any)
			fields[fmt.Sprint(fv["field"])] = fv["description"] != ""
		}
	}
	if len(fields) < 2 {
		t.Errorf("malformed claim: want the BadRequest field violations of nir and unit_price in the JSON body, got %v", body)
	}
	for f := range fields {
		if !strings.Contains(f, "nir") && !strings.Contains(f, "unit_price") {
			t.Errorf("unexpected violation %q", f)
		}
	}

	// A misspelt field is refused, not dropped.
	code, body = call(t, "POST", base+"/v1/claims:adjudicate", "admin-token", strings.Replace(httpClaim, `"nature"`, `"natur"`, 1))
	if code != http.StatusBadRequest {
		t.Errorf("unknown field: %d %v, want 400", code, body)
	}
}

// TestHTTPGatewayMutualTLS: over HTTPS, the client certificate an HTTP client
// presents authenticates it as over gRPC; bearer tokens still work; a
// certificate from another CA fails the handshake.
func TestHTTPGatewayMutualTLS(t *testing.T) {
	dir := t.TempDir()
	if err := devcerts.WriteDevSet(dir, time.Now(), devcerts.DefaultClients()); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(tf, []byte(fmt.Sprintf(`[{"id":"admin","sha256":%q,"role":"admin"}]`, grpcapi.TokenHash("admin-token"))), 0o600); err != nil {
		t.Fatal(err)
	}
	a, _ := startWith(t, "", func(c *config.Config) {
		c.HTTPAddr, c.TokensFile, c.Auth = "127.0.0.1:0", tf, "on"
		c.TLSCert, c.TLSKey, c.TLSClientCA = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem")
	})
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	client := func(name string) *http.Client {
		tc := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}
		if name != "" {
			cert, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr := &http.Transport{TLSClientConfig: tc}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	base := "https://" + a.HTTPAddr
	do := func(c *http.Client, method, path, token, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	admin, pro, none := client("admin"), client("professional-10000000009"), client("")
	if code := do(none, "GET", "/openapi.json", "", ""); code != http.StatusOK {
		t.Errorf("/openapi.json over HTTPS: %d", code)
	}
	if code := do(admin, "POST", "/tierspayant.v1.BeneficiaryService/UpsertBeneficiary", "", httpBeneficiary); code != http.StatusOK {
		t.Fatalf("admin certificate, upsert beneficiary: %d", code)
	}
	if code := do(pro, "POST", "/v1/claims:adjudicate", "", httpClaim); code != http.StatusOK {
		t.Fatalf("professional certificate, own claim: %d", code)
	}
	if code := do(pro, "GET", "/v1/claims/10000000009-H0001", "", ""); code != http.StatusOK {
		t.Errorf("professional certificate, reading its claim: %d", code)
	}
	other := strings.ReplaceAll(httpClaim, "10000000009", "10000000058")
	if code := do(pro, "POST", "/v1/claims:simulate", "", other); code != http.StatusForbidden {
		t.Errorf("professional certificate, another's claim: %d, want 403", code)
	}
	if code := do(none, "GET", "/v1/claims/10000000009-H0001", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no certificate, no token: %d, want 401", code)
	}
	if code := do(none, "GET", "/v1/claims/10000000009-H0001", "admin-token", ""); code != http.StatusOK {
		t.Errorf("no certificate, admin token: %d, want 200", code)
	}
	// An expired certificate fails the handshake; one from another CA is
	// not even sent (the server names its CA), so the call is
	// unauthenticated.
	for _, bad := range []string{"expired", "foreign"} {
		req, _ := http.NewRequest("GET", base+"/v1/claims/10000000009-H0001", nil)
		resp, err := client(bad).Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s certificate: %d, want the handshake refused or 401", bad, resp.StatusCode)
			}
		} else if bad == "foreign" {
			t.Logf("foreign certificate: %v", err)
		}
		if bad == "expired" && err == nil {
			t.Errorf("expired certificate: the handshake should fail")
		}
	}
}

// TestGatewayOverhead measures GetClaim over gRPC and through the gateway
// (embedded store, authentication off); it only logs (go test -v -run
// TestGatewayOverhead ./internal/app/).
func TestGatewayOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	a, conn := startWith(t, "", func(c *config.Config) { c.HTTPAddr = "127.0.0.1:0" })
	base := "http://" + a.HTTPAddr
	if code, body := call(t, "POST", base+"/tierspayant.v1.BeneficiaryService/UpsertBeneficiary", "", httpBeneficiary); code != http.StatusOK {
		t.Fatalf("upsert: %d %v", code, body)
	}
	if code, body := call(t, "POST", base+"/v1/claims:adjudicate", "", httpClaim); code != http.StatusOK {
		t.Fatalf("adjudicate: %d %v", code, body)
	}
	const n = 500
	cc := tpv1.NewClaimServiceClient(conn)
	ctx := context.Background()
	begin := time.Now()
	for range n {
		if _, err := cc.GetClaim(ctx, &tpv1.GetClaimRequest{ClaimId: "10000000009-H0001"}); err != nil {
			t.Fatal(err)
		}
	}
	grpcPer := time.Since(begin) / n
	begin = time.Now()
	for range n {
		resp, err := http.Get(base + "/v1/claims/10000000009-H0001")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatal(resp.Status)
		}
	}
	httpPer := time.Since(begin) / n
	t.Logf("GetClaim, %d sequential calls: gRPC %v per call, HTTP gateway %v per call", n, grpcPer, httpPer)
}
