package service

import (
	"context"
	"errors"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/organism"
)

// caller returns the authenticated caller; none means denied.
func caller(ctx context.Context) (access.Principal, error) {
	p, ok := access.From(ctx)
	if !ok || p.Role == access.RoleNone {
		return p, access.ErrDenied
	}
	return p, nil
}

// operatorMay checks that an operator acts for org and that org may carry out
// op on day (its convention, for a délégataire). An unregistered organism has
// no operator.
func (s *Service) operatorMay(ctx context.Context, p access.Principal, org string, op organism.Operation, day time.Time) error {
	if p.Organism == "" || p.Organism != org {
		return access.ErrDenied
	}
	if err := s.organisms.ensure(ctx); err != nil {
		return err
	}
	o, ok := s.organisms.cached(org)
	if !ok {
		return access.ErrDenied
	}
	return o.Permits(op, day)
}

// adminOnly lets only national administrators through.
func adminOnly(ctx context.Context) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if p.Role != access.RoleAdmin {
		return access.ErrDenied
	}
	return nil
}

// mayReadClaim: the professional who sent it, an operator of the organism it
// is attributed to (within its convention), an administrator.
func (s *Service) mayReadClaim(ctx context.Context, m ClaimMeta, op organism.Operation) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	switch p.Role {
	case access.RoleAdmin:
		return nil
	case access.RoleProfessional:
		if p.Professional != "" && p.Professional == m.Professional {
			return nil
		}
	case access.RoleOperator:
		return s.operatorMay(ctx, p, m.Organism, op, s.Today())
	}
	return access.ErrDenied
}

// hideMissing turns "not found" into "denied" for everyone but
// administrators, so that nobody learns whether another tenant's object
// exists.
func hideMissing(ctx context.Context, err error) error {
	if errors.Is(err, ErrNotFound) {
		if p, _ := access.From(ctx); p.Role != access.RoleAdmin {
			return access.ErrDenied
		}
	}
	return err
}

// MayManageOppositions: administrators, and operators whose organism may
// manage the opposition list.
func (s *Service) MayManageOppositions(ctx context.Context) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	return s.mayOperate(ctx, p.Organism, organism.OperationManageOppositions)
}

// MayRead: any authenticated caller (opposition checks and watch, legal
// parameters).
func (s *Service) MayRead(ctx context.Context) error {
	_, err := caller(ctx)
	return err
}

// mayOperate: an administrator, or an operator of org allowed op today.
func (s *Service) mayOperate(ctx context.Context, org string, op organism.Operation) error {
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	switch p.Role {
	case access.RoleAdmin:
		return nil
	case access.RoleOperator:
		return s.operatorMay(ctx, p, org, op, s.Today())
	}
	return access.ErrDenied
}

// attachedTo reports whether the beneficiary was ever managed by org.
func attachedTo(b Beneficiary, org string) bool {
	for _, a := range b.Attachments {
		if a.Organism == org {
			return true
		}
	}
	return false
}
