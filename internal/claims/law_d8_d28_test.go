package claims

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/franchise"
)

// Time bar (L160-11; CPC art. 641; docs/rules.md#time-bar): two years from
// the first day of the quarter following the care quarter, the period ending
// at the end of its anniversary day. Each case gives the care date and the
// anniversary day, and the engine is asked on the day before, the day itself
// and the day after.
func TestTimeBarBoundaries(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	cases := []struct {
		name, care, lastDay string
	}{
		{"Ex9 care 10 Jan 2023 (Q1): quarter after starts 1 Apr 2023", "2023-01-10", "2025-04-01"},
		{"first day of Q1", "2023-01-01", "2025-04-01"},
		{"last day of Q1", "2023-03-31", "2025-04-01"},
		{"first day of Q2", "2023-04-01", "2025-07-01"},
		{"care 2 Apr 2023 (Q2)", "2023-04-02", "2025-07-01"},
		{"last day of Q3", "2023-09-30", "2025-10-01"},
		{"first day of Q4: the next quarter starts the next year", "2023-10-01", "2026-01-01"},
		{"last day of Q4", "2023-12-31", "2026-01-01"},
		{"care on 29 February 2024 (Q1): the period starts 1 April 2024", "2024-02-29", "2026-04-01"},
		{"care on 28 February 2023 (common year)", "2023-02-28", "2025-04-01"},
	}
	for _, tc := range cases {
		last := d(tc.lastDay)
		if got := timeBarLimit(d(tc.care), 2); !got.Equal(last) {
			t.Errorf("%s: timeBarLimit(%s) = %s, want %s", tc.name, tc.care, got.Format(time.DateOnly), tc.lastDay)
		}
		for _, rc := range []struct {
			when   string
			day    time.Time
			barred bool
		}{
			{"the day before", last.AddDate(0, 0, -1), false},
			{"the anniversary day", last, false},
			{"the day after", last.AddDate(0, 0, 1), true},
		} {
			t.Run(tc.name+"/"+rc.when, func(t *testing.T) {
				t.Parallel()
				in := input(claim(gp(tc.care, "25.00")), adult(), rc.day.Format(time.DateOnly))
				dec, _ := mustAdjudicate(t, e, in, franchise.State{Year: in.ReceivedAt.Year()})
				if got := hasReason(dec, ReasonTimeBarred); got != rc.barred {
					t.Fatalf("care %s received %s: TIME_BARRED = %v, want %v (reasons %+v)",
						tc.care, rc.day.Format(time.DateOnly), got, rc.barred, dec.Reasons)
				}
				if rc.barred {
					if dec.Status != StatusRejected || !dec.Totals.AMO.IsZero() || !dec.Totals.PayableToProfessional.IsZero() {
						t.Errorf("barred line: status %v, AMO %s, payable %s; want rejected with 0.00",
							dec.Status, dec.Totals.AMO.StringFixed(2), dec.Totals.PayableToProfessional.StringFixed(2))
					}
				} else if dec.Status != StatusAccepted || dec.Totals.AMO.IsZero() {
					t.Errorf("admissible line: status %v, AMO %s; want accepted and priced", dec.Status, dec.Totals.AMO.StringFixed(2))
				}
			})
		}
	}
}

// TestTimeBarEndOfTheAnniversaryDay: the receipt date is the calendar day of
// the receipt instant in Paris (docs/rules.md#dates): a claim received at
// 23:59:59 on the anniversary day is admissible, one received at midnight is
// not, even though it is still the anniversary day in UTC.
func TestTimeBarEndOfTheAnniversaryDay(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	cest := time.FixedZone("CEST", 2*60*60) // Paris in April 2025
	for _, tc := range []struct {
		name   string
		at     time.Time
		barred bool
	}{
		{"2025-04-01 23:59:59 in Paris", time.Date(2025, 4, 1, 23, 59, 59, 0, cest), false},
		{"2025-04-02 00:00:00 in Paris (2025-04-01 22:00 UTC)", time.Date(2025, 4, 2, 0, 0, 0, 0, cest), true},
		{"2025-04-02 00:30 in Paris (2025-04-01 22:30 UTC)", time.Date(2025, 4, 1, 22, 30, 0, 0, time.UTC).In(cest), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := Input{Claim: claim(gp("2023-01-10", "25.00")), Rights: adult(), ReceivedAt: tc.at}
			dec, _ := mustAdjudicate(t, e, in, franchise.State{Year: 2025})
			if got := hasReason(dec, ReasonTimeBarred); got != tc.barred {
				t.Errorf("TIME_BARRED = %v, want %v", got, tc.barred)
			}
		})
	}
}

// TestAnniversary: a period in years expires on the day of the same number
// (CPC art. 641, 2nd paragraph), or the last day of the month when there is
// none: the anniversary of 29 February in a common year is 28 February, not
// 1 March (time.AddDate's normalisation).
func TestAnniversary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		start string
		years int
		want  string
	}{
		{"2024-02-29", 1, "2025-02-28"},
		{"2024-02-29", 2, "2026-02-28"},
		{"2024-02-29", 3, "2027-02-28"},
		{"2024-02-29", 4, "2028-02-29"},
		{"2024-02-29", 0, "2024-02-29"},
		{"2023-02-28", 1, "2024-02-28"}, // not the last day of February 2024
		{"2023-03-01", 1, "2024-03-01"},
		{"2023-04-01", 2, "2025-04-01"},
		{"2023-12-31", 2, "2025-12-31"},
		{"2096-02-29", 4, "2100-02-28"}, // 2100 is not a leap year
	}
	for _, tc := range cases {
		if got := anniversary(d(tc.start), tc.years); !got.Equal(d(tc.want)) {
			t.Errorf("anniversary(%s, %d) = %s, want %s", tc.start, tc.years, got.Format(time.DateOnly), tc.want)
		}
	}
	if got := d("2024-02-29").AddDate(1, 0, 0); !got.Equal(d("2025-03-01")) {
		t.Errorf("time.AddDate(2024-02-29, 1 year) = %s: the contrast above no longer holds", got.Format(time.DateOnly))
	}
}

// TestTimeBarLimitEveryDay: for every care date of 2023 and 2024, the last
// admissible day is the first day of the quarter after the care quarter, two
// years later (read from an independent table of quarter starts).
func TestTimeBarLimitEveryDay(t *testing.T) {
	t.Parallel()
	next := map[time.Month]string{
		time.January: "04-01", time.February: "04-01", time.March: "04-01",
		time.April: "07-01", time.May: "07-01", time.June: "07-01",
		time.July: "10-01", time.August: "10-01", time.September: "10-01",
	}
	for care := d("2023-01-01"); care.Before(d("2025-01-01")); care = care.AddDate(0, 0, 1) {
		want := d(itoa4(care.Year()+3) + "-01-01") // care in Q4
		if md, ok := next[care.Month()]; ok {
			want = d(itoa4(care.Year()+2) + "-" + md)
		}
		if got := timeBarLimit(care, 2); !got.Equal(want) {
			t.Fatalf("timeBarLimit(%s) = %s, want %s", care.Format(time.DateOnly), got.Format(time.DateOnly), want.Format(time.DateOnly))
		}
	}
}

func itoa4(y int) string { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

// NIR (docs/rules.md#identifiers): first digit 1 or 2 (7 or 8 temporary),
// month 01–12 or 20–99, département 01–99, 2A or 2B, key 97 − (number mod 97).
// Every key below was computed for its number.
func TestNIRFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, nir string
		ok        bool
		problem   string // a word of the description, for invalid ones
	}{
		{"man born May 1985 in Yvelines", "185057800608491", true, ""},
		{"woman born December 1990", "290127512345684", true, ""},
		{"temporary number, first digit 7", "785059912304521", true, ""},
		{"temporary number, first digit 8", "885059912304568", true, ""},
		{"first digit 0 (key matching)", "085057800608444", false, "first digit"},
		{"first digit 3 (key matching)", "385057800608488", false, "first digit"},
		{"first digit 4 (key matching)", "485057800608438", false, "first digit"},
		{"first digit 5 (key matching)", "585057800608485", false, "first digit"},
		{"first digit 6 (key matching)", "685057800608435", false, "first digit"},
		{"first digit 9 (key matching)", "985057800608479", false, "first digit"},
		{"month 00", "185007800608411", false, "month"},
		{"month 01", "185017800608427", true, ""},
		{"month 12", "185127800608409", true, ""},
		{"month 13", "185137800608425", false, "month"},
		{"month 19", "185197800608424", false, "month"},
		{"month 20 (conventional)", "185207800608440", true, ""},
		{"month 21 (conventional)", "185217800608456", true, ""},
		{"month 42 (conventional)", "185427800608404", true, ""},
		{"month 50 (conventional)", "185507800608435", true, ""},
		{"month 99 (conventional)", "185997800608443", true, ""},
		{"département 00", "185050000608463", false, "département"},
		{"département 01", "185050100608436", true, ""},
		{"département 99 (born abroad)", "185059900608409", true, ""},
		{"born in Guadeloupe (971)", "185059710123470", true, ""},
		{"Corsica 2A", "290122A12345644", true, ""},
		{"Corsica 2B", "290122B12345671", true, ""},
		{"Corsica 2A with the key of 2B", "290122A12345671", false, "key"},
		{"wrong key", "185057800608492", false, "key"},
		{"key 00 never matches", "185057800608400", false, "key"},
		{"14 characters", "18505780060849", false, "13 characters"},
		{"letters in the key", "1850578006084AB", false, "13 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidNIR(tc.nir); got != tc.ok {
				t.Fatalf("ValidNIR = %v, want %v", got, tc.ok)
			}
			c := claim(gp("2025-03-10", "30.00"))
			c.NIR = tc.nir
			err := Validate(c, receivedOn("2025-03-11"))
			if tc.ok {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "nir" {
				t.Fatalf("Validate = %v, want one violation on nir", err)
			}
			desc := ve.Fields[0].Description
			if !strings.Contains(desc, tc.problem) {
				t.Errorf("description %q does not name the %s", desc, tc.problem)
			}
			if strings.Contains(err.Error(), tc.nir) || strings.Contains(err.Error(), tc.nir[:13]) {
				t.Errorf("the error %q contains the NIR", err.Error())
			}
		})
	}
}

// Professional identifiers by kind (docs/rules.md#identifiers). Luhn keys
// computed for each number; 79927398713 is the textbook Luhn example.
func TestProfessionalIDByKind(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kind ProfessionalIDKind
		id   string
		ok   bool
	}{
		{"RPPS 1000000000 key 9", ProfessionalIDRPPS, "10000000009", true},
		{"RPPS 1010101010 key 5", ProfessionalIDRPPS, "10101010105", true},
		{"RPPS 1012345678 key 1", ProfessionalIDRPPS, "10123456781", true},
		{"RPPS 1099999999 key 7", ProfessionalIDRPPS, "10999999997", true},
		{"RPPS textbook Luhn number", ProfessionalIDRPPS, "79927398713", true},
		{"RPPS textbook number, wrong key", ProfessionalIDRPPS, "79927398710", false},
		{"RPPS former fixture 10000000001: wrong key", ProfessionalIDRPPS, "10000000001", false},
		{"RPPS key off by one", ProfessionalIDRPPS, "10000000008", false},
		{"RPPS 10 digits", ProfessionalIDRPPS, "1000000000", false},
		{"RPPS 12 digits", ProfessionalIDRPPS, "100000000090", false},
		{"RPPS with a letter", ProfessionalIDRPPS, "1000000000A", false},
		{"RPPS with a space", ProfessionalIDRPPS, " 10000000009", false},
		{"RPPS non-ASCII digit", ProfessionalIDRPPS, "１0000000009", false},
		{"RPPS empty", ProfessionalIDRPPS, "", false},
		{"ADELI 9 digits", ProfessionalIDADELI, "751234567", true},
		{"ADELI 8 digits", ProfessionalIDADELI, "75123456", false},
		{"ADELI 10 digits", ProfessionalIDADELI, "7512345678", false},
		{"ADELI with a letter", ProfessionalIDADELI, "75123456X", false},
		{"ADELI with 2A in front", ProfessionalIDADELI, "2A1234567", false},
		{"FINESS 9 digits", ProfessionalIDFINESS, "750712184", true},
		{"FINESS Corsica 2A", ProfessionalIDFINESS, "2A0000123", true},
		{"FINESS Corsica 2B", ProfessionalIDFINESS, "2B0000123", true},
		{"FINESS 2C", ProfessionalIDFINESS, "2C0000123", false},
		{"FINESS 2A with 6 digits", ProfessionalIDFINESS, "2A000012", false},
		{"FINESS letter at the end", ProfessionalIDFINESS, "75071218A", false},
		{"FINESS 10 digits", ProfessionalIDFINESS, "7507121840", false},
		{"FINESS lower-case 2a", ProfessionalIDFINESS, "2a0000123", false},
		{"unspecified kind: not checked beyond presence", ProfessionalIDUnspecified, "PH12", true},
		{"unspecified kind, blank", ProfessionalIDUnspecified, "  ", false},
		{"unknown kind", ProfessionalIDKind(9), "10000000009", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidProfessionalID(tc.kind, tc.id); got != tc.ok {
				t.Errorf("ValidProfessionalID(%d, %q) = %v, want %v", tc.kind, tc.id, got, tc.ok)
			}
			if desc := professionalIDProblem(tc.kind, tc.id); tc.id != "" && strings.TrimSpace(tc.id) != "" && strings.Contains(desc, tc.id) {
				t.Errorf("description %q contains the identifier", desc)
			}
		})
	}
}

// TestRPPSKeyCatchesEverySingleDigitError: the Luhn key detects any one
// wrong digit of an RPPS number.
func TestRPPSKeyCatchesEverySingleDigitError(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"10000000009", "10123456781", "79927398713"} {
		for i := range len(good) {
			for c := byte('0'); c <= '9'; c++ {
				if c == good[i] {
					continue
				}
				bad := good[:i] + string(c) + good[i+1:]
				if ValidProfessionalID(ProfessionalIDRPPS, bad) {
					t.Errorf("%s (from %s) accepted", bad, good)
				}
			}
		}
	}
}
