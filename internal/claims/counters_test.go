package claims

import (
	"time"

	"testing"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

func TestCounters(t *testing.T) {
	e := newEngine(t)
	care := d("2025-03-10")
	st := franchise.State{Year: 2025, PFYear: eur("48.00"), PFYearCount: 24, FranchiseYear: eur("51.00"),
		FranchiseDay: map[franchise.DayKey]decimal.Decimal{{CareDate: care, Kind: franchise.KindTransport}: eur("3.00")},
		PFCount:      map[franchise.ProDayKey]int{{Professional: "P1", CareDate: care}: 3}}
	for _, tc := range []struct {
		name                    string
		adj                     string
		pfCountCap, pfCountLeft int
		pfCap, pfLeft           string // "" when no amount cap
		frUsed, frLeft          string
	}{
		// D160-6: 25 participations from 2025, no amount cap; D160-10: 50.00,
		// used beyond it (a counter is never negative in what is left).
		{"2025", "2025-07-15", 25, 1, "", "", "51.00", "0.00"},
		// 2024 had an amount cap besides the count; st's counters are 2025's,
		// so 2024's read as zero.
		{"other year", "2024-12-31", 50, 50, "50.00", "50.00", "0.00", "50.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := e.Counters(st, d(tc.adj), []time.Time{care}, "P1")
			if err != nil {
				t.Fatal(err)
			}
			if v.PF.CountCap != tc.pfCountCap || v.PF.CountLeft != tc.pfCountLeft {
				t.Errorf("PF count: %d left of %d, want %d of %d", v.PF.CountLeft, v.PF.CountCap, tc.pfCountLeft, tc.pfCountCap)
			}
			if got := fixedOr(v.PF.HasCap, v.PF.Cap); got != tc.pfCap {
				t.Errorf("PF amount cap %q, want %q", got, tc.pfCap)
			}
			if got := fixedOr(v.PF.HasCap, v.PF.Left); got != tc.pfLeft {
				t.Errorf("PF amount left %q, want %q", got, tc.pfLeft)
			}
			if !v.Franchise.HasCap || v.Franchise.Used.StringFixed(2) != tc.frUsed || v.Franchise.Left.StringFixed(2) != tc.frLeft {
				t.Errorf("franchise %+v, want used %s left %s", v.Franchise, tc.frUsed, tc.frLeft)
			}
			if len(v.Franchise.ParamIDs) != 1 || v.Franchise.ParamIDs[0] != "P-FR-6" {
				t.Errorf("franchise cap parameter %v", v.Franchise.ParamIDs)
			}
		})
	}
	v, err := e.Counters(st, d("2025-07-15"), []time.Time{care}, "P1")
	if err != nil {
		t.Fatal(err)
	}
	dv := v.Daily[0]
	if len(dv.Franchise) != 3 || dv.Franchise[1].Kind != franchise.KindTransport || dv.Franchise[1].Used.StringFixed(2) != "3.00" {
		t.Fatalf("daily franchise %+v", dv.Franchise)
	}
	// D160-11 from 2024-03-31: 8.00 a day for transports.
	if tr := dv.Franchise[1]; !tr.HasCap || tr.Cap.StringFixed(2) != "8.00" || tr.Left.StringFixed(2) != "5.00" {
		t.Errorf("transport daily cap %+v", tr)
	}
	// D160-8: 4 participations per professional and day.
	if dv.PFCount != 3 || dv.PFCountCap != 4 || dv.PFCountLeft != 1 {
		t.Errorf("PF daily count %+v", dv)
	}
	if v, err := e.Counters(st, d("2025-07-15"), []time.Time{care}, ""); err != nil || v.Daily[0].PFCountCap != 0 {
		t.Errorf("no professional, no participation count: %+v %v", v.Daily, err)
	}
}

func fixedOr(has bool, v decimal.Decimal) string {
	if !has {
		return ""
	}
	return v.StringFixed(2)
}
