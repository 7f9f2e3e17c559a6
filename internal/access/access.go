// Package access names who is calling: a professional's billing software, an
// organism's operator (a caisse or a délégataire under its convention,
// L160-17, R160-26) or a national administrator. The transport authenticates
// the caller (mutual TLS or bearer token) and puts the Principal in the
// context; the service decides what it may read or change.
package access

import (
	"context"
	"errors"
	"fmt"
)

// Role of a caller.
type Role int

// Roles.
const (
	RoleNone Role = iota
	// RoleProfessional is a professional's billing software: it submits and
	// reads its own claims and payments.
	RoleProfessional
	// RoleOperator is an organism's operator: it manages and reads what its
	// organism manages, within its convention for a délégataire.
	RoleOperator
	// RoleAdmin is a national administrator.
	RoleAdmin
)

// String returns the role's name as written in certificates and token files.
func (r Role) String() string {
	switch r {
	case RoleProfessional:
		return "professional"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch s {
	case "professional":
		return RoleProfessional, nil
	case "operator", "delegataire":
		return RoleOperator, nil
	case "admin":
		return RoleAdmin, nil
	}
	return RoleNone, fmt.Errorf("unknown role %q (professional, operator, admin)", s)
}

// Principal is an authenticated caller.
type Principal struct {
	ID           string // certificate common name or token id: for the logs
	Role         Role
	Organism     string // operator: the organism it acts for
	Professional string // professional: its RPPS/ADELI/FINESS identifier
}

// Open is the principal of a server running without authentication (the
// embedded try-out default): everything is allowed.
var Open = Principal{ID: "open-mode", Role: RoleAdmin}

type key struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context { return context.WithValue(ctx, key{}, p) }

// From returns the caller; a context without one is refused by the checks.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(key{}).(Principal)
	return p, ok
}

// ErrDenied: the caller may not do this, or the object is not its to see
// (the answer never says whether the object exists).
var ErrDenied = errors.New("permission denied")

// ClauseError: the operation is outside the délégataire's convention — not
// delegated, or the convention is not valid on that date (R160-26).
type ClauseError struct {
	Clause  string // e.g. "R160-26 III 2°"
	Message string
}

func (e *ClauseError) Error() string { return e.Clause + ": " + e.Message }
