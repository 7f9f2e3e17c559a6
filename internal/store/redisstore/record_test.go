package redisstore

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/service"
)

func randomRecord(r *rand.Rand) beneficiaryRecord {
	day := func() time.Time {
		if r.IntN(5) == 0 {
			return time.Time{}
		}
		return time.Date(1900+r.IntN(200), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	}
	periods := func() []claims.Period {
		var ps []claims.Period
		for i := r.IntN(4); i > 0; i-- {
			ps = append(ps, claims.Period{From: day(), To: day()})
		}
		return ps
	}
	rec := beneficiaryRecord{Rights: claims.Rights{BirthDate: day(), Open: periods(), CSS: periods(), AME: periods(), ALD: periods(),
		DirectDebitAuthorised: r.IntN(2) == 0}, HasMedecinTraitant: r.IntN(2) == 0}
	for i := r.IntN(3); i > 0; i-- {
		rec.Rights.Pregnancies = append(rec.Rights.Pregnancies, claims.Pregnancy{ExpectedDelivery: day(), ActualDelivery: day()})
	}
	for i := r.IntN(3); i > 0; i-- {
		rec.Attachments = append(rec.Attachments, service.Attachment{Organism: []string{"CPAM75", "MUT-É", ""}[r.IntN(3)],
			Period: claims.Period{From: day(), To: day()}})
	}
	if r.IntN(2) == 0 {
		rec.AMCContract = "AMC-" + string(rune('A'+r.IntN(26)))
	}
	if r.IntN(3) == 0 { // version 2: statuses and régime local periods
		for i := r.IntN(3); i > 0; i-- {
			rec.Rights.Statuses = append(rec.Rights.Statuses, claims.StatusPeriod{Kind: claims.StatusKind(1 + r.IntN(5)), Period: claims.Period{From: day(), To: day()}})
		}
		rec.Rights.RegimeLocal = periods()
	}
	return rec
}

// Every record survives the binary form, and a record stored as JSON by an
// earlier version reads back the same.
func TestRecordRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 5000; i++ {
		rec := randomRecord(r)
		got, err := decodeRecord(string(encodeRecord(rec)))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("record %d: binary round trip\n got %+v\nwant %+v", i, got, rec)
		}
		old, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err = decodeRecord(string(old))
		if err != nil {
			t.Fatalf("record %d (JSON): %v", i, err)
		}
		if !got.Rights.Debt.IsZero() {
			t.Fatalf("record %d (JSON): debt %s, want none", i, got.Rights.Debt)
		}
		got.Rights.Debt = decimal.Decimal{} // JSON reads "0" into a non-nil zero
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("record %d: JSON form\n got %+v\nwant %+v", i, got, rec)
		}
	}
}

// A truncated, extended or corrupted record is an error, never a panic or
// a silently different beneficiary.
func TestRecordMalformed(t *testing.T) {
	rec := randomRecord(rand.New(rand.NewPCG(1, 1)))
	rec.Attachments = append(rec.Attachments, service.Attachment{Organism: "CPAM75"})
	good := string(encodeRecord(rec))
	for n := 0; n < len(good); n++ {
		if _, err := decodeRecord(good[:n]); err == nil {
			t.Errorf("record cut at %d of %d bytes decoded without error", n, len(good))
		}
	}
	for _, bad := range []string{good + "x", "\x02" + good[1:], "{not json", "\x01\x02"} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("%q decoded without error", bad)
		}
	}
}

// FuzzDecodeRecord: any bytes either fail to decode or decode to a record
// whose binary form decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < 8; i++ {
		f.Add(encodeRecord(randomRecord(r)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(string(data))
		if err != nil {
			return
		}
		again, err := decodeRecord(string(encodeRecord(rec)))
		if err != nil || !reflect.DeepEqual(again, rec) {
			t.Fatalf("decoded record does not survive a round trip: %v", err)
		}
	})
}

// BenchmarkRecordDecode compares, in the same run, reading a beneficiary
// stored as JSON (earlier versions) and in the binary form.
func BenchmarkRecordDecode(b *testing.B) {
	rec := randomRecord(rand.New(rand.NewPCG(9, 9)))
	bin := string(encodeRecord(rec))
	js, _ := json.Marshal(rec)
	for _, c := range []struct{ name, raw string }{{"json", string(js)}, {"binary", bin}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := decodeRecord(c.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
