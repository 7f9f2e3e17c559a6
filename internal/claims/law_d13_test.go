package claims

import (
	"testing"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

// TestHorsParcoursD13 covers RULEBOOK 0.6 D13′ (docs/rules.md#hors-parcours):
// the hors-parcours majoration is P-TM-2 (40 %) of the base on top of the
// TM, capped per act by P-TM-2-CAP from 2025, from age 16, borne by the
// patient under the CSS, never for AME, never for ALD-protocol care, never
// with a direct-access specialist (D162-1-7), on top of a heavy act's flat
// amount.
func TestHorsParcoursD13(t *testing.T) {
	t.Parallel()
	hp := func(care, price string) Line {
		return with(gp(care, price), func(l *Line) { l.Parcours = ParcoursHors })
	}
	specialist := func(c Claim, s Specialty) Claim { c.Professional.Specialty = s; return c }
	ald := func(r Rights) Rights { r.ALD = []Period{{From: d("2020-01-01")}}; return r }
	css := func(r Rights) Rights { r.CSS = []Period{{From: d("2020-01-01")}}; return r }
	ame := func(r Rights) Rights { r.AME = []Period{{From: d("2020-01-01")}}; return r }
	runExamples(t, []exampleCase{
		{name: "D13′ GP 30.00 hors parcours (Ex. 7): majoration 12.00, AMO 9.00, TM 21.00",
			in:   input(claim(hp("2025-03-10", "30.00")), adult(), "2025-03-11"),
			want: want{amo: "9.00", tm: "21.00", pf: "2.00", reasons: []string{ReasonHorsParcours}}},
		{name: "D13′ cap 2025: specialist act of 50.00: 40 % is 20.00, capped at 12.00",
			in:   input(claim(hp("2025-03-10", "50.00")), adult(), "2025-03-11"),
			want: want{amo: "23.00", tm: "27.00"}},
		{name: "D13′ cap applies per act: 2 acts of 50.00, capped at 2 × 12.00",
			in:   input(claim(with(hp("2025-03-10", "50.00"), func(l *Line) { l.Quantity, l.BilledAmount = 2, eur("100.00") })), adult(), "2025-03-11"),
			want: want{amo: "46.00", tm: "54.00"}},
		{name: "D13′ no cap in force in 2024: 50.00 act, majoration 20.00",
			in:   input(claim(hp("2024-03-11", "50.00")), adult(), "2024-03-12"),
			want: want{amo: "15.00", tm: "35.00"}},
		{name: "D13′ age: 16 on the care date bears it",
			in:   input(claim(hp("2025-03-10", "30.00")), rights("2009-03-10"), "2025-03-11"),
			want: want{amo: "9.00", reasons: []string{ReasonHorsParcours}}},
		{name: "D13′ age: 15 the day before the 16th birthday does not",
			in:   input(claim(hp("2025-03-10", "30.00")), rights("2009-03-11"), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ emergency: no majoration",
			in:   input(claim(with(hp("2025-03-10", "30.00"), func(l *Line) { l.Emergency = true })), adult(), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ CSS: the CSS pays the TM but not the majoration, which is the patient share",
			in:   input(claim(hp("2025-03-10", "30.00")), css(adult()), "2025-03-11"),
			want: want{amo: "9.00", tm: "21.00", share: "12.00", pf: "0.00"}},
		{name: "D13′ AME: never a majoration",
			in:   input(claim(hp("2025-03-10", "30.00")), ame(adult()), "2025-03-11"),
			want: want{amo: "30.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ ALD protocol care: no majoration (D162-1-6 3°)",
			in:   input(claim(with(hp("2025-03-10", "30.00"), func(l *Line) { l.ALDRelated = true })), ald(adult()), "2025-03-11"),
			want: want{amo: "30.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ ALD patient, care outside the protocol: the majoration applies (R160-6)",
			in:   input(claim(hp("2025-03-10", "30.00")), ald(adult()), "2025-03-11"),
			want: want{amo: "9.00", reasons: []string{ReasonHorsParcours}}},
		{name: "D13′ direct access: ophthalmologist",
			in:   input(specialist(claim(hp("2025-03-10", "30.00")), SpecialtyOphthalmology), adult(), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ direct access: gynaecologist",
			in:   input(specialist(claim(hp("2025-03-10", "30.00")), SpecialtyGynaecology), adult(), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ direct access: psychiatrist, 40-year-old patient (D162-1-7 has no age band)",
			in:   input(specialist(claim(hp("2025-03-10", "30.00")), SpecialtyPsychiatry), adult(), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ stomatologist: not a direct-access specialty of D162-1-7, majoration applies",
			in:   input(specialist(claim(hp("2025-03-10", "30.00")), SpecialtyStomatology), adult(), "2025-03-11"),
			want: want{amo: "9.00", reasons: []string{ReasonHorsParcours}}},
		{name: "D13′ legal exception marked on the line: no majoration",
			in: input(claim(with(gp("2025-03-10", "30.00"), func(l *Line) {
				l.Parcours, l.ParcoursException = ParcoursException, ExceptionAwayFromHome
			})), adult(), "2025-03-11"),
			want: want{amo: "21.00", noReasons: []string{ReasonHorsParcours}}},
		{name: "D13′ heavy act hors parcours: flat 24.00 plus the capped majoration 12.00",
			in:   input(claim(hp("2025-03-10", "150.00")), adult(), "2025-03-11"),
			want: want{amo: "114.00", tm: "36.00", reasons: []string{ReasonHeavyActFlat, ReasonHorsParcours}}},
	})
	// The decision shows the majoration on the line and in the totals.
	e := newEngine(t)
	dec, _ := mustAdjudicate(t, e, input(claim(hp("2025-03-10", "30.00"), gp("2025-03-10", "30.00")), adult(), "2025-03-11"), franchise.State{})
	eqAmount(t, "line majoration", dec.Lines[0].HorsParcoursMajoration, "12.00")
	eqAmount(t, "respected line majoration", dec.Lines[1].HorsParcoursMajoration, "0.00")
	eqAmount(t, "total majoration", dec.Totals.HorsParcoursMajoration, "12.00")
}
