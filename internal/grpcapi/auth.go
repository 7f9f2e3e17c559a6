package grpcapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tierspayant/tierspayant/internal/access"
)

// Authenticator turns a call's client certificate or bearer token into an
// access.Principal.
type Authenticator struct {
	open   bool
	tokens map[string]access.Principal // by hex SHA-256 of the token
}

// TokenEntry is one line of the tokens file: the token itself is never
// stored, only its SHA-256.
type TokenEntry struct {
	ID           string `json:"id"`
	SHA256       string `json:"sha256"`
	Role         string `json:"role"`
	Organism     string `json:"organism,omitempty"`
	Professional string `json:"professional,omitempty"`
}

// NewAuthenticator returns an authenticator. open lets every call through as
// an administrator (the embedded try-out mode); tokensJSON is the content of
// the tokens file, a JSON array of TokenEntry (may be empty).
func NewAuthenticator(open bool, tokensJSON []byte) (*Authenticator, error) {
	a := &Authenticator{open: open, tokens: map[string]access.Principal{}}
	if len(tokensJSON) == 0 {
		return a, nil
	}
	var entries []TokenEntry
	if err := json.Unmarshal(tokensJSON, &entries); err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	ids := map[string]int{}
	hashes := map[string]int{}
	for i, e := range entries {
		p, err := principal(e.ID, e.Role, e.Organism, e.Professional)
		if err != nil {
			return nil, fmt.Errorf("tokens file, entry %d: %w", i, err)
		}
		if e.ID == "" {
			// Every state change records who made it: a caller without an
			// id could not be told from another.
			return nil, fmt.Errorf("tokens file, entry %d: id is required", i)
		}
		if j, dup := ids[e.ID]; dup {
			return nil, fmt.Errorf("tokens file, entries %d and %d: the same id %q", j, i, e.ID)
		}
		h := strings.ToLower(e.SHA256)
		if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
			return nil, fmt.Errorf("tokens file, entry %d: sha256 must be 64 hex digits", i)
		}
		if h == emptyTokenHash {
			// What `printf %s "$UNSET" | sha256sum` gives: it would make a
			// bare "Bearer " header that role.
			return nil, fmt.Errorf("tokens file, entry %d (%s): sha256 is the hash of the empty string, not of a token", i, e.ID)
		}
		if j, dup := hashes[h]; dup {
			// One token, two principals: which one a call gets would be a
			// matter of map order.
			return nil, fmt.Errorf("tokens file, entries %d and %d: the same sha256", j, i)
		}
		ids[e.ID], hashes[h] = i, i
		a.tokens[h] = p
	}
	return a, nil
}

// emptyTokenHash is the SHA-256 of the empty string.
var emptyTokenHash = TokenHash("")

func principal(id, role, org, pro string) (access.Principal, error) {
	r, err := access.ParseRole(role)
	if err != nil {
		return access.Principal{}, err
	}
	p := access.Principal{ID: id, Role: r}
	switch r {
	case access.RoleOperator:
		if org == "" {
			return p, fmt.Errorf("an operator needs an organism")
		}
		p.Organism = org
	case access.RoleProfessional:
		if pro == "" {
			return p, fmt.Errorf("a professional needs its identifier")
		}
		p.Professional = pro
	}
	return p, nil
}

// TokenHash is the hex SHA-256 of a bearer token, as the tokens file holds it.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

var errUnauthenticated = status.Error(codes.Unauthenticated, "authentication required: a client certificate from the trusted CA or a bearer token")

// Authenticate is the go-grpc-middleware auth function.
func (a *Authenticator) Authenticate(ctx context.Context) (context.Context, error) {
	if a.open {
		return access.With(ctx, access.Open), nil
	}
	if pr, ok := peer.FromContext(ctx); ok {
		if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 && len(ti.State.VerifiedChains[0]) > 0 {
			c := ti.State.VerifiedChains[0][0]
			if len(c.Subject.OrganizationalUnit) > 1 || len(c.Subject.Organization) > 1 {
				// One certificate, one role and one tenant: with several, which
				// one applies would be the order of the subject's attributes.
				return nil, status.Error(codes.Unauthenticated, "client certificate names several roles (OU) or tenants (O): it must name exactly one of each")
			}
			var role, tenant string
			if len(c.Subject.OrganizationalUnit) > 0 {
				role = c.Subject.OrganizationalUnit[0]
			}
			if len(c.Subject.Organization) > 0 {
				tenant = c.Subject.Organization[0]
			}
			p, err := principal(c.Subject.CommonName, role, tenant, tenant)
			if err != nil {
				return nil, status.Error(codes.Unauthenticated, "client certificate does not name a role and tenant")
			}
			return access.With(ctx, p), nil
		}
	}
	tok, err := grpcauth.AuthFromMD(ctx, "bearer")
	if err != nil || strings.TrimSpace(tok) == "" {
		return nil, errUnauthenticated
	}
	p, ok := a.tokens[TokenHash(tok)]
	if !ok {
		return nil, errUnauthenticated
	}
	return access.With(ctx, p), nil
}

// NeedsAuth is the selector of the auth interceptor: health and reflection
// stay reachable for probes and tools.
func NeedsAuth(_ context.Context, c interceptors.CallMeta) bool {
	return c.Service != "grpc.health.v1.Health" && !strings.HasPrefix(c.Service, "grpc.reflection.")
}
