package service

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func per(from, to string) claims.Period {
	p := claims.Period{From: day(from)}
	if to != "" {
		p.To = day(to)
	}
	return p
}

// moved is a beneficiary managed by A from 2020 to 2023, by B since 2024.
func moved() Beneficiary {
	return Beneficiary{
		Rights: claims.Rights{
			BirthDate:   day("1975-01-20"),
			Open:        []claims.Period{per("2020-01-01", "")},
			ALD:         []claims.Period{per("2022-06-01", "2024-05-31")},
			Pregnancies: []claims.Pregnancy{{ExpectedDelivery: day("2021-03-01")}, {ExpectedDelivery: day("2025-03-01")}},
		},
		Attachments: []Attachment{
			{Organism: "A", Period: per("2020-01-01", "2023-12-31")},
			{Organism: "B", Period: per("2024-01-01", "")},
		},
		HasMedecinTraitant: true,
		AMCContract:        "B-CONTRACT",
	}
}

var today = day("2025-07-15")

// TestOperatorViewIsClipped (issue 14.1): the former organism reads its own
// period only, and none of the current manager's undated facts.
func TestOperatorViewIsClipped(t *testing.T) {
	v := operatorView(moved(), "A", today)
	want := Beneficiary{Rights: claims.Rights{
		BirthDate:   day("1975-01-20"),
		Open:        []claims.Period{per("2020-01-01", "2023-12-31")},
		ALD:         []claims.Period{per("2022-06-01", "2023-12-31")},
		Pregnancies: []claims.Pregnancy{{ExpectedDelivery: day("2021-03-01")}},
	}, Attachments: []Attachment{{Organism: "A", Period: per("2020-01-01", "2023-12-31")}}}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("A's view\n got %+v\nwant %+v", v, want)
	}
	b := operatorView(moved(), "B", today)
	if !b.HasMedecinTraitant || b.AMCContract != "B-CONTRACT" || len(b.Rights.Pregnancies) != 1 ||
		!reflect.DeepEqual(b.Rights.Open, []claims.Period{per("2024-01-01", "")}) {
		t.Errorf("B's view %+v", b)
	}
}

// TestOperatorWriteStaysInItsPeriods (issue 14.1): the former organism closes
// the rights and adds an ALD; only its period changes.
func TestOperatorWriteStaysInItsPeriods(t *testing.T) {
	old := moved()
	sent := operatorView(old, "A", today)
	sent.Rights.Open = []claims.Period{per("2020-01-01", "2020-12-31")} // rights closed
	sent.Rights.ALD = []claims.Period{per("2019-01-01", "")}            // ALD from anywhere to forever
	sent.Rights.Pregnancies = nil                                       // its pregnancy removed
	sent.HasMedecinTraitant, sent.AMCContract = false, "A-CONTRACT"     // not A's to change
	sent.Rights.BirthDate = day("1980-01-01")                           // nor this
	got, err := operatorWrite(old, sent, "A", today)
	if err != nil {
		t.Fatal(err)
	}
	if want := []claims.Period{per("2020-01-01", "2020-12-31"), per("2024-01-01", "")}; !reflect.DeepEqual(got.Rights.Open, want) {
		t.Errorf("rights %+v, want %+v", got.Rights.Open, want)
	}
	if want := []claims.Period{per("2020-01-01", "2024-05-31")}; !reflect.DeepEqual(got.Rights.ALD, want) {
		t.Errorf("ALD %+v, want %+v (B's part kept, A's part within 2020-2023)", got.Rights.ALD, want)
	}
	if len(got.Rights.Pregnancies) != 1 || !got.Rights.Pregnancies[0].ExpectedDelivery.Equal(day("2025-03-01")) {
		t.Errorf("pregnancies %+v: B's must stay", got.Rights.Pregnancies)
	}
	if !got.HasMedecinTraitant || got.AMCContract != "B-CONTRACT" || !got.Rights.BirthDate.Equal(day("1975-01-20")) {
		t.Errorf("undated facts changed by a former organism: %+v", got)
	}
	if !reflect.DeepEqual(got.Attachments, old.Attachments) {
		t.Errorf("attachments %+v", got.Attachments)
	}
	// The current manager changes its own period and the undated facts.
	sentB := operatorView(old, "B", today)
	sentB.Rights.Open = []claims.Period{per("2024-01-01", "2025-06-30")}
	sentB.AMCContract = "B2"
	gotB, err := operatorWrite(old, sentB, "B", today)
	if err != nil {
		t.Fatal(err)
	}
	if want := []claims.Period{per("2020-01-01", "2025-06-30")}; !reflect.DeepEqual(gotB.Rights.Open, want) || gotB.AMCContract != "B2" {
		t.Errorf("B's write: %+v", gotB)
	}
}

// TestOperatorCannotTransfer (issue 14.1): attachments are the
// administrator's once registered, and a new beneficiary is the operator's
// own organism's only (the one-day attachment of 1990 to reach B's member).
func TestOperatorCannotTransfer(t *testing.T) {
	old := moved()
	for name, atts := range map[string][]Attachment{
		"takes the current period": {{Organism: "A", Period: per("2020-01-01", "")}},
		"adds a day in 1990":       {{Organism: "A", Period: per("1990-01-01", "1990-01-01")}, {Organism: "A", Period: per("2020-01-01", "2023-12-31")}},
		"gives it to B earlier":    {{Organism: "A", Period: per("2020-01-01", "2022-12-31")}},
	} {
		sent := operatorView(old, "A", today)
		sent.Attachments = atts
		if _, err := operatorWrite(old, sent, "A", today); !errors.Is(err, errTransfer) {
			t.Errorf("%s: %v, want the transfer denial", name, err)
		}
	}
	// The full list unchanged is accepted too.
	sent := operatorView(old, "A", today)
	sent.Attachments = old.Attachments
	if _, err := operatorWrite(old, sent, "A", today); err != nil {
		t.Errorf("full attachments unchanged: %v", err)
	}
	created := Beneficiary{Attachments: []Attachment{{Organism: "A", Period: per("1990-01-01", "1990-01-01")}, {Organism: "B", Period: per("1990-01-02", "")}}}
	if err := operatorCreates(created, "A"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("creation attached to B: %v", err)
	}
	if err := operatorCreates(Beneficiary{Attachments: []Attachment{{Organism: "A", Period: per("2020-01-01", "")}}}, "A"); err != nil {
		t.Errorf("own creation: %v", err)
	}
}

// TestPeriodArithmetic: complement and intersection over inclusive days.
func TestPeriodArithmetic(t *testing.T) {
	ws := mergeSpans([]span{spanOf(per("2020-01-01", "2020-12-31")), spanOf(per("2021-01-01", "2021-06-30")), spanOf(per("2023-01-01", ""))})
	if len(ws) != 2 {
		t.Fatalf("touching periods not merged: %+v", ws)
	}
	out := intersect([]claims.Period{per("2019-06-01", "")}, complement(ws))
	want := []claims.Period{per("2019-06-01", "2019-12-31"), per("2021-07-01", "2022-12-31")}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("outside %+v, want %+v", out, want)
	}
	if got := intersect([]claims.Period{per("2022-01-01", "2022-01-01")}, ws); got != nil {
		t.Errorf("a day outside intersected: %+v", got)
	}
}

// TestOperatorStatusesAndRegimeLocal (issue 15): the R160-10 statuses and the
// régime local periods are dated facts like the others: clipped to the
// operator's periods on read, merged within them on write.
func TestOperatorStatusesAndRegimeLocal(t *testing.T) {
	b := moved()
	b.Rights.Statuses = []claims.StatusPeriod{{Kind: claims.StatusInvalidityPension, Period: per("2021-01-01", "")}}
	b.Rights.RegimeLocal = []claims.Period{per("2020-01-01", "")}
	v := operatorView(b, "A", today)
	if want := []claims.StatusPeriod{{Kind: claims.StatusInvalidityPension, Period: per("2021-01-01", "2023-12-31")}}; !reflect.DeepEqual(v.Rights.Statuses, want) {
		t.Errorf("A's statuses %+v, want %+v", v.Rights.Statuses, want)
	}
	if want := []claims.Period{per("2020-01-01", "2023-12-31")}; !reflect.DeepEqual(v.Rights.RegimeLocal, want) {
		t.Errorf("A's régime local %+v, want %+v", v.Rights.RegimeLocal, want)
	}
	// A sends its view without the status: only its part goes.
	v.Rights.Statuses = nil
	w, err := operatorWrite(b, v, "A", today)
	if err != nil {
		t.Fatal(err)
	}
	if want := []claims.StatusPeriod{{Kind: claims.StatusInvalidityPension, Period: per("2024-01-01", "")}}; !reflect.DeepEqual(w.Rights.Statuses, want) {
		t.Errorf("after A's write %+v, want %+v (B's part kept)", w.Rights.Statuses, want)
	}
	if !reflect.DeepEqual(w.Rights.RegimeLocal, b.Rights.RegimeLocal) {
		t.Errorf("régime local %+v, want unchanged %+v", w.Rights.RegimeLocal, b.Rights.RegimeLocal)
	}
}
