package grpcapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tierspayant/tierspayant/internal/access"
)

func tokensFile(entries ...string) []byte {
	return []byte("[" + strings.Join(entries, ",") + "]")
}

func entry(id, sha, role, org string) string {
	return fmt.Sprintf(`{"id":%q,"sha256":%q,"role":%q,"organism":%q}`, id, sha, role, org)
}

func TestTokensFileRefusals(t *testing.T) {
	good := entry("admin", TokenHash("s3cret"), "admin", "")
	for _, tc := range []struct {
		name string
		file []byte
		want string // part of the error; empty: accepted
	}{
		{"one good entry", tokensFile(good), ""},
		{"hash of the empty string", tokensFile(good, entry("ops", TokenHash(""), "operator", "MUT01")), "entry 1 (ops): sha256 is the hash of the empty string"},
		{"hash of the empty string in capitals", tokensFile(entry("ops", strings.ToUpper(TokenHash("")), "admin", "")), "hash of the empty string"},
		{"the same hash twice", tokensFile(good, entry("ops", TokenHash("s3cret"), "operator", "MUT01")), "entries 0 and 1: the same sha256"},
		{"the same hash in another case", tokensFile(good, entry("ops", strings.ToUpper(TokenHash("s3cret")), "operator", "MUT01")), "the same sha256"},
		{"the same id twice", tokensFile(good, entry("admin", TokenHash("other"), "admin", "")), `entries 0 and 1: the same id "admin"`},
		{"no id", tokensFile(entry("", TokenHash("other"), "admin", "")), "entry 0: id is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewAuthenticator(false, tc.file)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func bearer(tok string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
}

func TestEmptyBearerTokenIsNoOne(t *testing.T) {
	a, err := NewAuthenticator(false, tokensFile(entry("admin", TokenHash("s3cret"), "admin", "")))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", " ", "\t"} {
		if _, err := a.Authenticate(bearer(tok)); status.Code(err) != codes.Unauthenticated {
			t.Errorf("bearer %q: %v, want UNAUTHENTICATED", tok, err)
		}
	}
	ctx, err := a.Authenticate(bearer("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := access.From(ctx); p.Role != access.RoleAdmin || p.ID != "admin" {
		t.Fatalf("principal %+v, want the admin", p)
	}
}

func withCert(subject pkix.Name) context.Context {
	cert := &x509.Certificate{Subject: subject}
	state := tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: state}})
}

func TestCertificateNamesOneRoleAndOneTenant(t *testing.T) {
	a, err := NewAuthenticator(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		subject pkix.Name
		role    access.Role // 0: refused
	}{
		{"one OU, one O", pkix.Name{CommonName: "op1", OrganizationalUnit: []string{"operator"}, Organization: []string{"MUT01"}}, access.RoleOperator},
		{"two OUs", pkix.Name{CommonName: "op1", OrganizationalUnit: []string{"operator", "admin"}, Organization: []string{"MUT01"}}, 0},
		{"two OUs, the weaker first", pkix.Name{CommonName: "op1", OrganizationalUnit: []string{"professional", "admin"}, Organization: []string{"10000000009"}}, 0},
		{"two Os", pkix.Name{CommonName: "op1", OrganizationalUnit: []string{"operator"}, Organization: []string{"MUT01", "MUT02"}}, 0},
		{"no OU", pkix.Name{CommonName: "op1", Organization: []string{"MUT01"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, err := a.Authenticate(withCert(tc.subject))
			if tc.role == 0 {
				if status.Code(err) != codes.Unauthenticated {
					t.Fatalf("%v, want UNAUTHENTICATED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := access.From(ctx); p.Role != tc.role {
				t.Fatalf("role %v, want %v", p.Role, tc.role)
			}
		})
	}
}
