package claims

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/franchise"
)

// CounterView is a beneficiary's counters of the flat deductions of CSS art.
// L160-13 with the caps in force: what was used, the cap and what is left
// (docs/rules.md#counters).
type CounterView struct {
	// Year is the adjudication year of the annual counters (D160-6, D160-10).
	Year      int
	PF        AnnualView // participation forfaitaire (L160-13 II)
	Franchise AnnualView // franchise, all categories (L160-13 III)
	Daily     []DailyView
	// Debt is the beneficiary's outstanding PF and franchise debt (L160-13
	// II, last paragraph); the caller fills it.
	Debt decimal.Decimal
}

// AnnualView is one annual counter. Left is Cap − Used floored at 0 when
// HasCap; CountLeft is CountCap − CountUsed floored at 0 when CountCap > 0.
type AnnualView struct {
	Used      decimal.Decimal
	HasCap    bool
	Cap, Left decimal.Decimal
	CountUsed int
	CountCap  int
	CountLeft int
	// ParamIDs are the parameters of the caps (their dated sub-ids).
	ParamIDs []string
}

// DailyFranchiseView is the franchise counter of one category on one care
// date (D160-11).
type DailyFranchiseView struct {
	Kind      franchise.Kind
	Used      decimal.Decimal
	HasCap    bool
	Cap, Left decimal.Decimal
}

// DailyView holds the daily counters of one care date: the franchise of each
// category with a daily cap, and the participations of one professional
// (L160-13 II, 3rd paragraph; D160-8).
type DailyView struct {
	CareDate     time.Time
	Franchise    []DailyFranchiseView
	Professional string // empty: no participations counted
	PFCount      int
	PFCountCap   int // 0: no daily number in force
	PFCountLeft  int
}

// DailyKinds are the franchise categories with a daily counter, in the
// order the views list them (L160-13 III 2° to 4°).
var DailyKinds = []franchise.Kind{franchise.KindActeParamedical, franchise.KindTransport, franchise.KindPrestationPharmacien}

// dailyCapOf is the parameter of a category's daily cap.
func dailyCapOf(k franchise.Kind) string {
	switch k {
	case franchise.KindActeParamedical:
		return pFRDailyAuxiliary
	case franchise.KindTransport:
		return pFRDailyTransport
	case franchise.KindPrestationPharmacien:
		return pFRDailyPharmacist
	}
	return ""
}

// Counters reads the counters of st against the caps of the legal table:
// the annual caps in force on adj (the adjudication date whose year st's
// annual counters belong to: selected_by adjudication_date), the daily caps
// on each care date. professional names whose participations the daily
// views count (empty: none). It is pure: the caller reads st.
func (e *Engine) Counters(st franchise.State, adj time.Time, careDates []time.Time, professional string) (CounterView, error) {
	adj = calendar.Day(adj)
	st = st.ForYear(adj.Year())
	v := CounterView{Year: adj.Year()}
	v.PF = AnnualView{Used: st.PFYear, CountUsed: st.PFYearCount}
	count, ok, err := e.table.Lookup(pPFAnnualCount, adj)
	if err != nil {
		return CounterView{}, err
	}
	if ok {
		v.PF.CountCap, v.PF.CountLeft = count.Int(), max(count.Int()-st.PFYearCount, 0)
		v.PF.ParamIDs = append(v.PF.ParamIDs, count.RefID)
	}
	amount, ok, err := e.table.Lookup(pPFAnnualAmount, adj)
	if err != nil {
		return CounterView{}, err
	}
	if ok {
		v.PF.HasCap, v.PF.Cap, v.PF.Left = true, amount.Decimal, floorZero(amount.Decimal.Sub(st.PFYear))
		v.PF.ParamIDs = append(v.PF.ParamIDs, amount.RefID)
	}
	v.Franchise = AnnualView{Used: st.FranchiseYear}
	frCap, ok, err := e.table.Lookup(pFRAnnualCap, adj)
	if err != nil {
		return CounterView{}, err
	}
	if ok {
		v.Franchise.HasCap, v.Franchise.Cap, v.Franchise.Left = true, frCap.Decimal, floorZero(frCap.Decimal.Sub(st.FranchiseYear))
		v.Franchise.ParamIDs = []string{frCap.RefID}
	}
	for _, d := range careDates {
		care := calendar.Day(d)
		dv := DailyView{CareDate: care, Professional: professional}
		for _, k := range DailyKinds {
			f := DailyFranchiseView{Kind: k, Used: st.FranchiseDay[franchise.DayKey{CareDate: care, Kind: k}]}
			c, ok, err := e.table.Lookup(dailyCapOf(k), care)
			if err != nil {
				return CounterView{}, err
			}
			if ok {
				f.HasCap, f.Cap, f.Left = true, c.Decimal, floorZero(c.Decimal.Sub(f.Used))
			}
			dv.Franchise = append(dv.Franchise, f)
		}
		if professional != "" {
			dv.PFCount = st.PFCount[franchise.ProDayKey{Professional: professional, CareDate: care}]
			c, ok, err := e.table.Lookup(pPFDailyCount, care)
			if err != nil {
				return CounterView{}, err
			}
			if ok {
				dv.PFCountCap, dv.PFCountLeft = c.Int(), max(c.Int()-dv.PFCount, 0)
			}
		}
		v.Daily = append(v.Daily, dv)
	}
	return v, nil
}

func floorZero(d decimal.Decimal) decimal.Decimal {
	if d.Sign() < 0 {
		return decimal.Zero
	}
	return d
}
