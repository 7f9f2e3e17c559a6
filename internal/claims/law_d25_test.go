package claims

import (
	"testing"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

// TestRegimeLocalD25 covers RULEBOOK 0.6 D25 (L325-1, D325-7): the local
// complement is paid with the AMO amount at the régime's global rate, shown
// apart; PF and franchise stay due. By hand in each comment.
func TestRegimeLocalD25(t *testing.T) {
	t.Parallel()
	const day = "2025-06-10"
	local := adult()
	local.RegimeLocal = []Period{{From: d("2010-01-01")}}
	aldLocal := local
	aldLocal.ALD = []Period{{From: d("2020-01-01")}}
	e := newEngine(t)
	for _, tc := range []struct {
		name       string
		in         Input
		w          want
		lineLocal  []string
		totalLocal string
	}{
		// GP 30.00: general 70 % = 21.00, global 90 % = 27.00, local 6.00;
		// TM 3.00; PF 2.00 still due.
		{"D25 a régime-local GP visit", input(claim(gp(day, "30.00")), local, day),
			want{amo: "27.00", tm: "3.00", pf: "2.00", pro: "27.00"}, []string{"6.00"}, "6.00"},
		// 65 % pack 10.00: 6.50 + 2.50 (90 %); its fee 1.02: 0.66, global
		// 0.918 → 0.92, local 0.26; 30 % pack 10.00: 3.00 + 5.00 (80 %);
		// 15 % pack 10.00: 1.50, no complement. Franchise 3 × 1.00.
		{"D25 a régime-local pharmacy invoice", input(pharmacy(named("A", med(day, "10.00", "0.65")), fee(day, "1.02", "A"),
			med(day, "10.00", "0.30"), med(day, "10.00", "0.15")), local, day),
			want{amo: "19.42", fr: "3.00", lineAMO: []string{"9.00", "0.92", "8.00", "1.50"}}, []string{"2.50", "0.26", "5.00", "0.00"}, "7.76"},
		// An ALD line at 100 % gets no complement.
		{"D25 a line at 100 % gets no complement", input(claim(with(gp(day, "30.00"), func(l *Line) { l.ALDRelated = true })), aldLocal, day),
			want{amo: "30.00"}, []string{"0.00"}, "0.00"},
		{"D25 outside the régime local period: none", input(claim(gp("2009-12-31", "30.00")), local, "2010-01-05"),
			want{}, nil, ""},
		// A nurse's act 6.30: 3.78 + 1.89 (90 % = 5.67), franchise 1.00.
		{"D25 an auxiliary act", input(nurseRound(line(CategoryAuxiliary, day, "6.30", 1)), local, day),
			want{amo: "5.67", fr: "1.00"}, []string{"1.89"}, "1.89"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runExamples(t, []exampleCase{{name: "amounts", in: tc.in, want: tc.w}})
			dec, _ := mustAdjudicate(t, e, tc.in, franchise.State{})
			for i, w := range tc.lineLocal {
				eqAmount(t, "régime local of line "+dec.Lines[i].LineID, dec.Lines[i].RegimeLocal, w)
			}
			eqAmount(t, "régime local total", dec.Totals.RegimeLocal, tc.totalLocal)
		})
	}
}
