package payment_test

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/payment"
)

var loadTable = sync.OnceValues(legal.Load)

// table returns the real embedded parameter table.
func table(t *testing.T) *legal.Table {
	t.Helper()
	tb, err := loadTable()
	if err != nil {
		t.Fatalf("legal.Load: %v", err)
	}
	return tb
}

// variant returns the real table with some files replaced (path relative to
// params/, e.g. "paiement/penalite_plancher.yaml").
func variant(t *testing.T, replace map[string]string) *legal.Table {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(legal.Files(), ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		data, err := fs.ReadFile(legal.Files(), p)
		if err != nil {
			return err
		}
		m[p] = &fstest.MapFile{Data: data}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range replace {
		if _, ok := m[p]; !ok {
			t.Fatalf("variant: no file %s in the real table", p)
		}
		m[p] = &fstest.MapFile{Data: []byte(data)}
	}
	tb, err := legal.LoadFS(m)
	if err != nil {
		t.Fatalf("variant table: %v", err)
	}
	return tb
}

func d(t *testing.T, s string) time.Time {
	t.Helper()
	day, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("bad test date %q: %v", s, err)
	}
	return day
}

func eur(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	v, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("bad amount %q: %v", s, err)
	}
	return v
}

// regime5D is the fraud regime of docs/rules.md#ex-pay-d: notified 15 May 2025
// for 3 months (through 14 Aug 2025), 30 working days.
func regime5D(t *testing.T) *payment.FraudRegime {
	t.Helper()
	return &payment.FraudRegime{
		Start: d(t, "2025-05-15"), End: d(t, "2025-08-14"),
		MaxWorkingDays: 30, DecisionRef: "CPAM-2025-05-15-001",
	}
}

func TestParamsAt(t *testing.T) {
	t.Parallel()
	tb := table(t)
	p, err := payment.ParamsAt(tb, d(t, "2025-04-24"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Deadline != 7 || p.FlatDays != 2 || p.FraudDeadline != 30 ||
		!p.FlatAmount.Equal(eur(t, "1.00")) || !p.Rate.Equal(eur(t, "0.10")) || !p.Floor.Equal(eur(t, "0.00")) {
		t.Errorf("ParamsAt(2025-04-24) = %+v", p)
	}
	ids := []string{}
	for _, v := range p.Values {
		ids = append(ids, v.ID)
	}
	slices.Sort(ids)
	if want := []string{"P-PAY-1", "P-PAY-2", "P-PAY-2-DAYS", "P-PAY-3", "P-PAY-3-FLOOR", "P-PAY-6"}; !slices.Equal(ids, want) {
		t.Errorf("values read = %v, want %v", ids, want)
	}

	// 2023: the deadline rules are in force, the fraud regime is not yet.
	p, err = payment.ParamsAt(tb, d(t, "2023-06-01"))
	if err != nil || p.Deadline != 7 || p.FraudDeadline != 0 {
		t.Errorf("ParamsAt(2023-06-01) = %+v, %v; want deadline 7, no fraud deadline", p, err)
	}
	// Invoices received before 1 Jul 2016: D161-13-3 did not apply.
	if _, err := payment.ParamsAt(tb, d(t, "2016-06-30")); !errors.Is(err, legal.ErrNoValueAt) {
		t.Errorf("ParamsAt(2016-06-30) error = %v, want ErrNoValueAt", err)
	}
	if _, err := payment.ParamsAt(tb, d(t, "2016-07-01")); err != nil {
		t.Errorf("ParamsAt(2016-07-01, first day of D161-13-3) error = %v", err)
	}
}

func TestDueDate(t *testing.T) {
	t.Parallel()
	tb := table(t)
	nat, am := calendar.National(), calendar.AlsaceMoselle()
	r := regime5D(t)
	tests := []struct {
		name    string
		receipt string
		cal     calendar.Calendar
		fraud   *payment.FraudRegime
		want    string
	}{
		{"5-A bridge of holidays: due Tue 6 May 2025", "2025-04-24", nat, nil, "2025-05-06"},
		{"5-B Easter week, national: Thu 24 Apr", "2025-04-14", nat, nil, "2025-04-24"},
		{"5-B Easter week, A-M: Fri 25 Apr", "2025-04-14", am, nil, "2025-04-25"},
		{"5-C year end, national: Wed 31 Dec 2025", "2025-12-19", nat, nil, "2025-12-31"},
		{"5-C year end, A-M: Fri 2 Jan 2026", "2025-12-19", am, nil, "2026-01-02"},
		{"5-D without regime: Thu 12 Jun 2025", "2025-06-02", nat, nil, "2025-06-12"},
		{"5-D under regime: Wed 16 Jul 2025 (day 30)", "2025-06-02", nat, r, "2025-07-16"},
		{"5-E small invoice: Wed 10 Dec 2025", "2025-12-01", nat, nil, "2025-12-10"},
		{"Ex.1: Thu 20 Mar 2025", "2025-03-11", nat, nil, "2025-03-20"},
		{"Ex.3 national: Fri 25 Apr 2025", "2025-04-15", nat, nil, "2025-04-25"},
		{"Ex.3 A-M: Mon 28 Apr 2025", "2025-04-15", am, nil, "2025-04-28"},
		{"Ex.10: Fri 20 Jun 2025", "2025-06-11", nat, nil, "2025-06-20"},
		{"regime: receipt the day before its start is not covered", "2025-05-14", nat, r, "2025-05-23"},
		{"regime: receipt on its start day is covered", "2025-05-15", nat, r, "2025-06-30"},
		{"regime: receipt on its last day is covered", "2025-08-14", nat, r, "2025-09-26"},
		{"regime: receipt the day after its end is not covered", "2025-08-15", nat, r, "2025-08-26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			receipt := d(t, tt.receipt)
			p, err := payment.ParamsAt(tb, receipt)
			if err != nil {
				t.Fatal(err)
			}
			got := payment.DueDate(p, receipt, tt.cal, tt.fraud)
			if !got.Equal(d(t, tt.want)) {
				t.Errorf("DueDate = %s (%s), want %s", got.Format(time.DateOnly), got.Weekday(), tt.want)
			}
		})
	}
}

func TestDueDate_RegimeNeverShortensAndIsCapped(t *testing.T) {
	t.Parallel()
	receipt := d(t, "2025-06-02")
	p, err := payment.ParamsAt(table(t), receipt)
	if err != nil {
		t.Fatal(err)
	}
	short := &payment.FraudRegime{Start: d(t, "2025-05-15"), End: d(t, "2025-08-14"), MaxWorkingDays: 3, DecisionRef: "x"}
	if got := payment.DueDate(p, receipt, calendar.National(), short); !got.Equal(d(t, "2025-06-12")) {
		t.Errorf("short regime: DueDate = %s, want the normal 2025-06-12", got.Format(time.DateOnly))
	}
	long := &payment.FraudRegime{Start: d(t, "2025-05-15"), End: d(t, "2025-08-14"), MaxWorkingDays: 45, DecisionRef: "x"}
	if got := payment.DueDate(p, receipt, calendar.National(), long); !got.Equal(d(t, "2025-07-16")) {
		t.Errorf("over-long regime: DueDate = %s, want capped at P-PAY-6: 2025-07-16", got.Format(time.DateOnly))
	}
}

type want struct {
	amount     string
	day        int
	due        string
	rule       string
	halfYear   string
	paramIDs   []string
	fraud      bool
	deadlineWD int
}

var (
	idsOnTime      = []string{"P-PAY-1"}
	idsFlat        = []string{"P-PAY-1", "P-PAY-2-DAYS", "P-PAY-2"}
	idsProp        = []string{"P-PAY-1", "P-PAY-2-DAYS", "P-PAY-3", "P-PAY-3-FLOOR"}
	idsFraudOnTime = []string{"P-PAY-1", "P-PAY-6", "P-PAY-7"}
	idsFraudFlat   = []string{"P-PAY-1", "P-PAY-6", "P-PAY-7", "P-PAY-2-DAYS", "P-PAY-2"}
	idsFraudProp   = []string{"P-PAY-1", "P-PAY-6", "P-PAY-7", "P-PAY-2-DAYS", "P-PAY-3", "P-PAY-3-FLOOR"}
)

func TestPenalty(t *testing.T) {
	t.Parallel()
	tb := table(t)
	nat, am := calendar.National(), calendar.AlsaceMoselle()
	r := regime5D(t)
	tests := []struct {
		name            string
		receipt, paidOn string
		cal             calendar.Calendar
		amo             string
		fraud           *payment.FraudRegime
		want            want
	}{
		// docs/rules.md#ex-pay-a: GP claim, AMO 21.00, received Thu 24 Apr 2025.
		{"5-A paid Tue 6 May, day 7: on time", "2025-04-24", "2025-05-06", nat, "21.00", nil,
			want{"0.00", 7, "2025-05-06", payment.RuleOnTime, "", idsOnTime, false, 7}},
		{"5-A paid Wed 7 May, day 8: 1.00, paid in 2025H2", "2025-04-24", "2025-05-07", nat, "21.00", nil,
			want{"1.00", 8, "2025-05-06", payment.RuleLateFlat, "2025H2", idsFlat, false, 7}},
		{"5-A paid Fri 9 May, day 9 (8 May skipped): 1.00", "2025-04-24", "2025-05-09", nat, "21.00", nil,
			want{"1.00", 9, "2025-05-06", payment.RuleLateFlat, "2025H2", idsFlat, false, 7}},
		{"5-A paid Mon 12 May, day 10: 10 % = 2.10, paid in 2025H2", "2025-04-24", "2025-05-12", nat, "21.00", nil,
			want{"2.10", 10, "2025-05-06", payment.RuleLateProportional, "2025H2", idsProp, false, 7}},
		{"5-A paid on the holiday Thu 8 May: still day 8", "2025-04-24", "2025-05-08", nat, "21.00", nil,
			want{"1.00", 8, "2025-05-06", payment.RuleLateFlat, "2025H2", idsFlat, false, 7}},
		{"5-A paid Sat 10 May: still day 9", "2025-04-24", "2025-05-10", nat, "21.00", nil,
			want{"1.00", 9, "2025-05-06", payment.RuleLateFlat, "2025H2", idsFlat, false, 7}},
		{"paid on the receipt day: day 0", "2025-04-24", "2025-04-24", nat, "21.00", nil,
			want{"0.00", 0, "2025-05-06", payment.RuleOnTime, "", idsOnTime, false, 7}},

		// docs/rules.md#ex-pay-b: Easter week, received Mon 14 Apr 2025, paid Fri 25 Apr.
		{"5-B national: day 8, 1.00", "2025-04-14", "2025-04-25", nat, "21.00", nil,
			want{"1.00", 8, "2025-04-24", payment.RuleLateFlat, "2025H2", idsFlat, false, 7}},
		{"5-B A-M: day 7, on time", "2025-04-14", "2025-04-25", am, "21.00", nil,
			want{"0.00", 7, "2025-04-25", payment.RuleOnTime, "", idsOnTime, false, 7}},

		// docs/rules.md#ex-pay-c: year end, received Fri 19 Dec 2025. Boundaries 7-10
		// across the year end in both calendars.
		{"5-C national, Wed 31 Dec 2025 day 7: on time", "2025-12-19", "2025-12-31", nat, "21.00", nil,
			want{"0.00", 7, "2025-12-31", payment.RuleOnTime, "", idsOnTime, false, 7}},
		{"5-C national, Fri 2 Jan 2026 day 8: 1.00 paid 2026H2", "2025-12-19", "2026-01-02", nat, "21.00", nil,
			want{"1.00", 8, "2025-12-31", payment.RuleLateFlat, "2026H2", idsFlat, false, 7}},
		{"5-C national, Mon 5 Jan 2026 day 9: 1.00 paid 2026H2", "2025-12-19", "2026-01-05", nat, "21.00", nil,
			want{"1.00", 9, "2025-12-31", payment.RuleLateFlat, "2026H2", idsFlat, false, 7}},
		{"5-C national, Tue 6 Jan 2026 day 10: 2.10", "2025-12-19", "2026-01-06", nat, "21.00", nil,
			want{"2.10", 10, "2025-12-31", payment.RuleLateProportional, "2026H2", idsProp, false, 7}},
		{"5-C A-M, Wed 31 Dec 2025 day 6: on time", "2025-12-19", "2025-12-31", am, "21.00", nil,
			want{"0.00", 6, "2026-01-02", payment.RuleOnTime, "", idsOnTime, false, 7}},
		{"5-C A-M, Fri 2 Jan 2026 day 7: on time", "2025-12-19", "2026-01-02", am, "21.00", nil,
			want{"0.00", 7, "2026-01-02", payment.RuleOnTime, "", idsOnTime, false, 7}},
		{"5-C A-M, Mon 5 Jan 2026 day 8: 1.00", "2025-12-19", "2026-01-05", am, "21.00", nil,
			want{"1.00", 8, "2026-01-02", payment.RuleLateFlat, "2026H2", idsFlat, false, 7}},
		{"5-C A-M, Tue 6 Jan 2026 day 9: 1.00", "2025-12-19", "2026-01-06", am, "21.00", nil,
			want{"1.00", 9, "2026-01-02", payment.RuleLateFlat, "2026H2", idsFlat, false, 7}},
		{"5-C A-M, Wed 7 Jan 2026 day 10: 2.10", "2025-12-19", "2026-01-07", am, "21.00", nil,
			want{"2.10", 10, "2026-01-02", payment.RuleLateProportional, "2026H2", idsProp, false, 7}},

		// docs/rules.md#ex-pay-d: regime notified 15 May 2025, claim received Mon 2 Jun 2025.
		{"5-D under regime, paid Fri 11 Jul (day 28): no penalty", "2025-06-02", "2025-07-11", nat, "21.00", r,
			want{"0.00", 28, "2025-07-16", payment.RuleOnTime, "", idsFraudOnTime, true, 30}},
		{"5-D without regime, same payment: day 28, 10 %", "2025-06-02", "2025-07-11", nat, "21.00", nil,
			want{"2.10", 28, "2025-06-12", payment.RuleLateProportional, "2026H1", idsProp, false, 7}},
		{"5-D under regime, Wed 16 Jul day 30: due date, no penalty", "2025-06-02", "2025-07-16", nat, "21.00", r,
			want{"0.00", 30, "2025-07-16", payment.RuleOnTime, "", idsFraudOnTime, true, 30}},
		{"5-D under regime, Thu 17 Jul day 31: 1.00", "2025-06-02", "2025-07-17", nat, "21.00", r,
			want{"1.00", 31, "2025-07-16", payment.RuleLateFlat, "2026H1", idsFraudFlat, true, 30}},
		{"5-D under regime, Fri 18 Jul day 32: 1.00", "2025-06-02", "2025-07-18", nat, "21.00", r,
			want{"1.00", 32, "2025-07-16", payment.RuleLateFlat, "2026H1", idsFraudFlat, true, 30}},
		{"5-D under regime, Mon 21 Jul day 33: 10 %", "2025-06-02", "2025-07-21", nat, "21.00", r,
			want{"2.10", 33, "2025-07-16", payment.RuleLateProportional, "2026H1", idsFraudProp, true, 30}},
		{"regime not active on receipt (after its end): normal scale", "2025-08-15", "2025-08-27", nat, "21.00", r,
			want{"1.00", 8, "2025-08-26", payment.RuleLateFlat, "2026H1", idsFlat, false, 7}},

		// docs/rules.md#ex-pay-e: nurse, AMO 4.80, received Mon 1 Dec 2025.
		{"5-E paid Wed 10 Dec, day 7: on time", "2025-12-01", "2025-12-10", nat, "4.80", nil,
			want{"0.00", 7, "2025-12-10", payment.RuleOnTime, "", idsOnTime, false, 7}},
		{"5-E paid Fri 12 Dec, day 9: 1.00", "2025-12-01", "2025-12-12", nat, "4.80", nil,
			want{"1.00", 9, "2025-12-10", payment.RuleLateFlat, "2026H1", idsFlat, false, 7}},
		{"5-E paid Mon 15 Dec, day 10: 0.48 (literal rule, no floor)", "2025-12-01", "2025-12-15", nat, "4.80", nil,
			want{"0.48", 10, "2025-12-10", payment.RuleLateProportional, "2026H1", idsProp, false, 7}},

		// Rounding (half away from zero, docs/rules.md#rounding) and edge amounts.
		{"10 % of 21.05 = 2.105 rounds to 2.11", "2025-04-24", "2025-05-12", nat, "21.05", nil,
			want{"2.11", 10, "2025-05-06", payment.RuleLateProportional, "2025H2", idsProp, false, 7}},
		{"10 % of 21.04 = 2.104 rounds to 2.10", "2025-04-24", "2025-05-12", nat, "21.04", nil,
			want{"2.10", 10, "2025-05-06", payment.RuleLateProportional, "2025H2", idsProp, false, 7}},
		{"AMO 0.00 paid late: nothing owed, no half-year", "2025-04-24", "2025-06-30", nat, "0.00", nil,
			want{"0.00", 43, "2025-05-06", payment.RuleLateProportional, "", idsProp, false, 7}},
		{"late payment on 30 Jun: paid in 2025H2", "2025-06-11", "2025-06-30", nat, "21.00", nil,
			want{"2.10", 13, "2025-06-20", payment.RuleLateProportional, "2025H2", idsProp, false, 7}},
		{"late payment on 1 Jul: paid in 2026H1", "2025-06-11", "2025-07-01", nat, "21.00", nil,
			want{"2.10", 14, "2025-06-20", payment.RuleLateProportional, "2026H1", idsProp, false, 7}},
		{"first day of D161-13-3 (receipt 1 Jul 2016)", "2016-07-01", "2016-07-13", nat, "21.00", nil,
			want{"1.00", 8, "2016-07-12", payment.RuleLateFlat, "2017H1", idsFlat, false, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := payment.Penalty(tb, d(t, tt.receipt), d(t, tt.paidOn), tt.cal, eur(t, tt.amo), tt.fraud)
			if err != nil {
				t.Fatalf("Penalty: %v", err)
			}
			w := tt.want
			if !got.Amount.Equal(eur(t, w.amount)) {
				t.Errorf("Amount = %s, want %s", got.Amount.StringFixed(2), w.amount)
			}
			if got.WorkingDay != w.day {
				t.Errorf("WorkingDay = %d, want %d", got.WorkingDay, w.day)
			}
			if !got.DueDate.Equal(d(t, w.due)) {
				t.Errorf("DueDate = %s, want %s", got.DueDate.Format(time.DateOnly), w.due)
			}
			if got.DeadlineDays != w.deadlineWD {
				t.Errorf("DeadlineDays = %d, want %d", got.DeadlineDays, w.deadlineWD)
			}
			if got.Rule != w.rule {
				t.Errorf("Rule = %s, want %s", got.Rule, w.rule)
			}
			if got.HalfYear != w.halfYear {
				t.Errorf("HalfYear = %q, want %q", got.HalfYear, w.halfYear)
			}
			if !slices.Equal(got.ParamIDs, w.paramIDs) {
				t.Errorf("ParamIDs = %v, want %v", got.ParamIDs, w.paramIDs)
			}
			if got.FraudRegime != w.fraud {
				t.Errorf("FraudRegime = %v, want %v", got.FraudRegime, w.fraud)
			}
			if got.Calendar != tt.cal.Name() || got.Article == "" {
				t.Errorf("Calendar = %q, Article = %q", got.Calendar, got.Article)
			}
		})
	}
}

func TestPenalty_Errors(t *testing.T) {
	t.Parallel()
	tb := table(t)
	nat := calendar.National()
	tooLong := &payment.FraudRegime{Start: d(t, "2025-05-15"), End: d(t, "2025-08-15"), MaxWorkingDays: 30, DecisionRef: "x"}
	tests := []struct {
		name            string
		receipt, paidOn string
		amo             string
		fraud           *payment.FraudRegime
		want            error
	}{
		{"paid before receipt", "2025-04-24", "2025-04-23", "21.00", nil, payment.ErrPaidBeforeReceipt},
		{"negative AMO", "2025-04-24", "2025-05-12", "-1.00", nil, payment.ErrNegativeAMO},
		{"receipt before 1 Jul 2016: no deadline in force", "2016-06-30", "2016-07-30", "21.00", nil, legal.ErrNoValueAt},
		{"active regime longer than 3 months is refused", "2025-06-02", "2025-07-11", "21.00", tooLong, payment.ErrInvalidFraudRegime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := payment.Penalty(tb, d(t, tt.receipt), d(t, tt.paidOn), nat, eur(t, tt.amo), tt.fraud)
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
		})
	}
	// An invalid regime that is not active on the receipt date is ignored.
	if _, err := payment.Penalty(tb, d(t, "2025-09-01"), d(t, "2025-09-02"), nat, eur(t, "21.00"), tooLong); err != nil {
		t.Errorf("inactive invalid regime: error = %v, want nil", err)
	}
}

func TestFraudRegime_Validate(t *testing.T) {
	t.Parallel()
	tb := table(t)
	reg := func(start, end string, days int, ref string) payment.FraudRegime {
		return payment.FraudRegime{Start: d(t, start), End: d(t, end), MaxWorkingDays: days, DecisionRef: ref}
	}
	kind := func(r payment.FraudRegime, k payment.FraudRegimeKind) payment.FraudRegime { r.Kind = k; return r }
	tests := []struct {
		name string
		r    payment.FraudRegime
		want error // nil: valid
	}{
		{"5-D: 15 May to 14 Aug 2025, 30 days", reg("2025-05-15", "2025-08-14", 30, "D1"), nil},
		{"shorter measure, 20 days", reg("2025-05-15", "2025-06-30", 20, "D1"), nil},
		{"one day past 3 months (P-PAY-7)", reg("2025-05-15", "2025-08-15", 30, "D1"), payment.ErrInvalidFraudRegime},
		{"31 working days exceeds P-PAY-6", reg("2025-05-15", "2025-08-14", 31, "D1"), payment.ErrInvalidFraudRegime},
		{"zero working days", reg("2025-05-15", "2025-08-14", 0, "D1"), payment.ErrInvalidFraudRegime},
		{"end before start", reg("2025-05-15", "2025-05-14", 30, "D1"), payment.ErrInvalidFraudRegime},
		{"no decision reference", reg("2025-05-15", "2025-08-14", 30, ""), payment.ErrInvalidFraudRegime},
		{"no dates", payment.FraudRegime{MaxWorkingDays: 30, DecisionRef: "D1"}, payment.ErrInvalidFraudRegime},
		{"30 Nov + 3 months: through 28 Feb 2026 (no 30 Feb)", reg("2025-11-30", "2026-02-28", 30, "D1"), nil},
		{"30 Nov + 3 months: 1 Mar 2026 is too late", reg("2025-11-30", "2026-03-01", 30, "D1"), payment.ErrInvalidFraudRegime},
		{"30 Nov 2027 + 3 months: through 29 Feb 2028 (leap year)", reg("2027-11-30", "2028-02-29", 30, "D1"), nil},
		{"1 Feb + 3 months: through 30 Apr", reg("2025-02-01", "2025-04-30", 30, "D1"), nil},
		{"1 Feb + 3 months: 1 May is too late", reg("2025-02-01", "2025-05-01", 30, "D1"), payment.ErrInvalidFraudRegime},
		{"notified 15 Oct: through 14 Jan of the next year", reg("2025-10-15", "2026-01-14", 30, "D1"), nil},
		{"notified before the decree (2023): no parameter", reg("2023-12-01", "2024-02-29", 30, "D1"), legal.ErrNoValueAt},
		{"D5′ initial: 3 months", kind(reg("2025-05-15", "2025-08-14", 30, "D1"), payment.FraudRegimeInitial), nil},
		{"D5′ initial: 4 months refused", kind(reg("2025-05-15", "2025-09-14", 30, "D1"), payment.FraudRegimeInitial), payment.ErrInvalidFraudRegime},
		{"D5′ maintenance: 6 months (P-PAY-7-MAINTENANCE)", kind(reg("2025-08-15", "2026-02-14", 30, "D2"), payment.FraudRegimeMaintenance), nil},
		{"D5′ maintenance: one day past 6 months refused", kind(reg("2025-08-15", "2026-02-15", 30, "D2"), payment.FraudRegimeMaintenance), payment.ErrInvalidFraudRegime},
		{"D5′ maintenance: still at most 30 working days", kind(reg("2025-08-15", "2026-02-14", 31, "D2"), payment.FraudRegimeMaintenance), payment.ErrInvalidFraudRegime},
		{"D5′ judicial: no maximum length", kind(reg("2025-08-15", "2027-08-14", 30, "D3"), payment.FraudRegimeJudicial), nil},
		{"D5′ unknown kind", kind(reg("2025-05-15", "2025-08-14", 30, "D1"), payment.FraudRegimeKind(9)), payment.ErrInvalidFraudRegime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.r.Validate(tb)
			if tt.want == nil && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPenalty_ParametersAreData changes table values (not code) and checks
// the result follows: a 1.00 floor removes the 5-E anomaly, and a deadline
// change applies by receipt date.
func TestPenalty_ParametersAreData(t *testing.T) {
	t.Parallel()
	floor := variant(t, map[string]string{"paiement/penalite_plancher.yaml": `id: P-PAY-3-FLOOR
description: test variant, floor 1.00
unit: EUR
selected_by: payment_date
confidence: L
legal_basis:
  - title: test
    href: https://www.legifrance.gouv.fr/test
values:
  2016-07-01:
    value: "1.00"
    reference:
      - title: test
        href: https://www.legifrance.gouv.fr/test
`})
	got, err := payment.Penalty(floor, d(t, "2025-12-01"), d(t, "2025-12-15"), calendar.National(), eur(t, "4.80"), nil)
	if err != nil || !got.Amount.Equal(eur(t, "1.00")) {
		t.Errorf("5-E with a 1.00 floor = %v, %v; want 1.00", got.Amount, err)
	}

	deadline := variant(t, map[string]string{"paiement/delai.yaml": `id: P-PAY-1
description: test variant, deadline 10 from 1 May 2025
unit: working_days
selected_by: receipt_date
confidence: L
legal_basis:
  - title: test
    href: https://www.legifrance.gouv.fr/test
values:
  2016-07-01:
    value: "7"
    reference:
      - title: test
        href: https://www.legifrance.gouv.fr/test
  2025-05-01:
    value: "10"
    reference:
      - title: test
        href: https://www.legifrance.gouv.fr/test
`})
	// Received before the change, paid after it: the receipt date selects 7.
	got, err = payment.Penalty(deadline, d(t, "2025-04-24"), d(t, "2025-05-07"), calendar.National(), eur(t, "21.00"), nil)
	if err != nil || !got.Amount.Equal(eur(t, "1.00")) || got.DeadlineDays != 7 {
		t.Errorf("received 24 Apr, paid 7 May = %+v, %v; want 1.00 under the 7-day deadline", got, err)
	}
	// Received after the change: day 8 is on time under a 10-day deadline.
	got, err = payment.Penalty(deadline, d(t, "2025-05-02"), d(t, "2025-05-14"), calendar.National(), eur(t, "21.00"), nil)
	if err != nil || !got.Amount.IsZero() || got.DeadlineDays != 10 || !got.DueDate.Equal(d(t, "2025-05-19")) {
		t.Errorf("received 2 May, paid 14 May = %+v, %v; want on time, due 19 May", got, err)
	}
}

// TestPenalty_MonotoneInPaymentDate is a property test: for a fixed receipt,
// a later payment never moves to an earlier rule, and never owes less as long
// as the proportional penalty is at least the flat amount (AMO >= flat/rate,
// 10.00 € today). Below that, the literal reading of D161-13-4
// (docs/rules.md#late-penalty) is not monotone: see
// TestPenalty_SmallInvoiceAnomaly.
func TestPenalty_MonotoneInPaymentDate(t *testing.T) {
	t.Parallel()
	tb := table(t)
	rng := rand.New(rand.NewPCG(7, 11))
	rank := map[string]int{payment.RuleOnTime: 0, payment.RuleLateFlat: 1, payment.RuleLateProportional: 2}
	cals := []calendar.Calendar{calendar.National(), calendar.AlsaceMoselle()}
	first, last := d(t, "2016-07-01"), d(t, "2035-10-31")
	span := int(last.Sub(first).Hours() / 24)
	for i := range 400 {
		receipt := first.AddDate(0, 0, rng.IntN(span))
		cal := cals[i%2]
		p, err := payment.ParamsAt(tb, receipt)
		if err != nil {
			t.Fatal(err)
		}
		var fraud *payment.FraudRegime
		if i%3 == 0 && !receipt.Before(d(t, "2024-01-01")) {
			start := receipt.AddDate(0, 0, -rng.IntN(30))
			if start.Before(d(t, "2024-01-01")) {
				start = d(t, "2024-01-01")
			}
			fraud = &payment.FraudRegime{Start: start, End: start.AddDate(0, 2, 0), MaxWorkingDays: 8 + rng.IntN(p.FraudDeadline-7), DecisionRef: "P"}
		}
		// AMO between 0.00 and 300.00, in cents.
		amo := decimal.New(int64(rng.IntN(30001)), -2)
		monotoneAmount := amo.Mul(p.Rate).GreaterThanOrEqual(p.FlatAmount)
		var prev payment.Assessment
		for k := 0; k <= 90; k++ {
			paid := receipt.AddDate(0, 0, k)
			got, err := payment.Penalty(tb, receipt, paid, cal, amo, fraud)
			if err != nil {
				t.Fatalf("Penalty(%s, %s): %v", receipt.Format(time.DateOnly), paid.Format(time.DateOnly), err)
			}
			if k > 0 {
				if got.WorkingDay < prev.WorkingDay || rank[got.Rule] < rank[prev.Rule] {
					t.Fatalf("receipt %s %s: paid %s gives day %d %s after day %d %s",
						receipt.Format(time.DateOnly), cal, paid.Format(time.DateOnly), got.WorkingDay, got.Rule, prev.WorkingDay, prev.Rule)
				}
				if monotoneAmount && got.Amount.LessThan(prev.Amount) {
					t.Fatalf("receipt %s %s AMO %s: paid %s owes %s, less than %s the day before",
						receipt.Format(time.DateOnly), cal, amo, paid.Format(time.DateOnly), got.Amount, prev.Amount)
				}
			}
			if !got.DueDate.Equal(payment.DueDate(p, receipt, cal, fraud)) {
				t.Fatalf("Assessment.DueDate %s differs from DueDate", got.DueDate.Format(time.DateOnly))
			}
			prev = got
		}
	}
}

// TestPenalty_SmallInvoiceAnomaly pins the anomaly of the literal reading of
// D161-13-4 (no floor, docs/rules.md#late-penalty): for AMO 4.80, day 10 owes
// less than day 9.
func TestPenalty_SmallInvoiceAnomaly(t *testing.T) {
	t.Parallel()
	tb := table(t)
	day9, err := payment.Penalty(tb, d(t, "2025-12-01"), d(t, "2025-12-12"), calendar.National(), eur(t, "4.80"), nil)
	if err != nil {
		t.Fatal(err)
	}
	day10, err := payment.Penalty(tb, d(t, "2025-12-01"), d(t, "2025-12-15"), calendar.National(), eur(t, "4.80"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !day9.Amount.Equal(eur(t, "1.00")) || !day10.Amount.Equal(eur(t, "0.48")) {
		t.Errorf("5-E: day 9 = %s, day 10 = %s; want 1.00 then 0.48", day9.Amount, day10.Amount)
	}
}

// TestFraudRegime_ValidateSequence covers RULEBOOK D5′ (D161-13-6 2°): a
// maintenance continues a measure the day after it ends, and is renewable
// once; a judicial maintenance continues any measure.
func TestFraudRegime_ValidateSequence(t *testing.T) {
	t.Parallel()
	tb := table(t)
	reg := func(k payment.FraudRegimeKind, start, end string) payment.FraudRegime {
		return payment.FraudRegime{Kind: k, Start: d(t, start), End: d(t, end), MaxWorkingDays: 30, DecisionRef: "D"}
	}
	initial := reg(payment.FraudRegimeInitial, "2025-01-10", "2025-04-09")
	m1 := reg(payment.FraudRegimeMaintenance, "2025-04-10", "2025-10-09")
	m2 := reg(payment.FraudRegimeMaintenance, "2025-10-10", "2026-04-09")
	m3 := reg(payment.FraudRegimeMaintenance, "2026-04-10", "2026-10-09")
	jud := reg(payment.FraudRegimeJudicial, "2026-04-10", "2027-04-09")
	tests := []struct {
		name   string
		r      payment.FraudRegime
		others []payment.FraudRegime
		ok     bool
	}{
		{"an initial measure needs nothing before it", initial, nil, true},
		{"a maintenance the day after the initial measure", m1, []payment.FraudRegime{initial}, true},
		{"a maintenance with no measure before it", m1, nil, false},
		{"a maintenance with a gap of one day", reg(payment.FraudRegimeMaintenance, "2025-04-11", "2025-10-10"), []payment.FraudRegime{initial}, false},
		{"the one renewal of the maintenance", m2, []payment.FraudRegime{initial, m1}, true},
		{"a second renewal is refused (renouvelable une fois)", m3, []payment.FraudRegime{initial, m1, m2}, false},
		{"a judicial maintenance after the renewals", jud, []payment.FraudRegime{initial, m1, m2}, true},
		{"a judicial maintenance with no measure before it", jud, nil, false},
		{"a maintenance after a judicial one is refused", reg(payment.FraudRegimeMaintenance, "2027-04-10", "2027-10-09"),
			[]payment.FraudRegime{initial, m1, m2, jud}, false},
		{"replacing the renewal itself (same start) is checked against the others", m2, []payment.FraudRegime{initial, m1, m2}, true},
		{"a legacy regime without kind counts as initial", m1, []payment.FraudRegime{reg(payment.FraudRegimeUnspecified, "2025-01-10", "2025-04-09")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.r.ValidateSequence(tb, tt.others)
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, payment.ErrInvalidFraudRegime)) {
				t.Errorf("ValidateSequence() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
