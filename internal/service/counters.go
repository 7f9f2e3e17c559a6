package service

import (
	"context"
	"slices"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/organism"
)

// SnapshotReader reads a beneficiary's state as one claim would, in one
// round trip (ClaimLedger.Read): the counters inquiry and the rights check
// need nothing else, and change nothing.
type SnapshotReader interface {
	Read(ctx context.Context, r ReadRequest) (Snapshot, error)
}

var _ SnapshotReader = ClaimLedger(nil)

// CountersQuery asks for a beneficiary's counters (docs/rules.md#counters).
type CountersQuery struct {
	NIR string
	// Year of the annual counters; 0: the current adjudication year.
	Year int
	// CareDate selects the daily counters; zero: none.
	CareDate time.Time
	// Professional whose participations of CareDate to count; a
	// professional caller counts its own.
	Professional string
}

// earliestCounterYear is the first year the table holds caps for (its
// horizon, docs/rules.md#parameters): a bound of the service.
const earliestCounterYear = 2005

// GetCounters returns the beneficiary's reference and counters: the annual
// ones of q.Year with the caps in force, the daily ones of q.CareDate, and
// the outstanding debt. A professional reads them by presenting the NIR, as
// for a claim (never by listing); an operator of the organism managing the
// beneficiary today; an administrator (docs/rules.md#counters).
func (s *Service) GetCounters(ctx context.Context, q CountersQuery) (string, claims.CounterView, error) {
	today := s.Today()
	if vs := s.CountersProblems(q); len(vs) > 0 {
		return "", claims.CounterView{}, &claims.ValidationError{Fields: vs}
	}
	if q.Year == 0 {
		q.Year = today.Year()
	}
	p, err := caller(ctx)
	if err != nil {
		return "", claims.CounterView{}, err
	}
	if p.Role == access.RoleProfessional {
		if p.Professional == "" || q.Professional != "" && q.Professional != p.Professional {
			return "", claims.CounterView{}, access.ErrDenied // its own participations only
		}
		q.Professional = p.Professional
	}
	rr := ReadRequest{NIR: q.NIR, Year: q.Year}
	var dates []time.Time
	if !q.CareDate.IsZero() {
		dates = []time.Time{q.CareDate}
		rr.DayKeys, rr.ProDays = dayKeys(q.CareDate, q.Professional)
	}
	snap, err := s.snapshots.Read(ctx, rr)
	if err != nil {
		return "", claims.CounterView{}, err
	}
	if err := s.mayReadBeneficiary(ctx, p, snap, today); err != nil {
		return "", claims.CounterView{}, err
	}
	v, err := s.engine.Counters(snap.Counters, s.counterDate(q.Year, today), dates, q.Professional)
	if err != nil {
		return "", claims.CounterView{}, err
	}
	v.Debt = snap.Beneficiary.Rights.Debt
	return snap.BeneficiaryRef, v, nil
}

// CountersProblems lists what is wrong with a counters query, on the
// request's field names.
func (s *Service) CountersProblems(q CountersQuery) []claims.FieldViolation {
	today := s.Today()
	var vs []claims.FieldViolation
	if !claims.ValidNIR(q.NIR) {
		vs = append(vs, claims.FieldViolation{Field: "nir", Description: "not a valid NIR (13 characters and a matching 2-digit key)"})
	}
	if q.Year != 0 && (q.Year < earliestCounterYear || q.Year > today.Year()) {
		vs = append(vs, claims.FieldViolation{Field: "year", Description: "an adjudication year from 2005 to the current year, or 0"})
	}
	if q.CareDate.After(today) {
		vs = append(vs, claims.FieldViolation{Field: "care_date", Description: "after today"})
	}
	return vs
}

// mayReadBeneficiary: a professional presenting the NIR, an operator of the
// organism managing the beneficiary on day (within its convention), an
// administrator. A beneficiary the registry does not know is not found, and
// that is denied to all but administrators (hideMissing).
func (s *Service) mayReadBeneficiary(ctx context.Context, p access.Principal, snap Snapshot, day time.Time) error {
	if !snap.Known {
		return hideMissing(ctx, ErrNotFound)
	}
	switch p.Role {
	case access.RoleAdmin, access.RoleProfessional:
		return nil
	case access.RoleOperator:
		org := snap.Beneficiary.OrganismOn(day)
		if org == "" || org != p.Organism {
			return access.ErrDenied
		}
		return s.operatorMay(ctx, p, org, organism.OperationManageBeneficiaries, s.Today())
	}
	return access.ErrDenied
}

// counterDate is the date whose caps apply to the counters of year: today
// in the current year, the year's last day for a past one (annual caps are
// selected by the adjudication date, docs/rules.md#dates).
func (s *Service) counterDate(year int, today time.Time) time.Time {
	if year == today.Year() {
		return today
	}
	return time.Date(year, time.December, 31, 0, 0, 0, 0, time.UTC)
}

// dayKeys are the daily counters of one care date: the franchise of each
// category with a daily cap and, with a professional, its participations.
func dayKeys(care time.Time, professional string) ([]franchise.DayKey, []franchise.ProDayKey) {
	var days []franchise.DayKey
	for _, k := range claims.DailyKinds {
		days = append(days, franchise.DayKey{CareDate: care, Kind: k})
	}
	var pros []franchise.ProDayKey
	if professional != "" {
		pros = []franchise.ProDayKey{{Professional: professional, CareDate: care}}
	}
	return days, pros
}

// claimCounters is what Simulate shows of the counters: as they stand
// before the claim, the daily ones of each of its care dates for its
// professional.
func (s *Service) claimCounters(c claims.Claim, snap Snapshot, day time.Time) (claims.CounterView, error) {
	var dates []time.Time
	for _, l := range c.Lines {
		if !slices.ContainsFunc(dates, l.CareDate.Equal) {
			dates = append(dates, l.CareDate)
		}
	}
	v, err := s.engine.Counters(snap.Counters, day, dates, c.Professional.ID)
	v.Debt = snap.Beneficiary.Rights.Debt
	return v, err
}
