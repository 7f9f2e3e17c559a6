package calendar_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/calendar"
)

// d parses an ISO date at 00:00 UTC.
func d(t *testing.T, s string) time.Time {
	t.Helper()
	day, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("bad test date %q: %v", s, err)
	}
	return day
}

// easterSundays is an independent table of Gregorian Easter Sundays, written
// from published tables (and cross-checked against python-dateutil's
// easter()), not computed by the code under test.
var easterSundays = map[int]string{
	2016: "2016-03-27", 2017: "2017-04-16", 2018: "2018-04-01", 2019: "2019-04-21",
	2020: "2020-04-12", 2021: "2021-04-04", 2022: "2022-04-17", 2023: "2023-04-09",
	2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
	2028: "2028-04-16", 2029: "2029-04-01", 2030: "2030-04-21", 2031: "2031-04-13",
	2032: "2032-03-28", 2033: "2033-04-17", 2034: "2034-04-09", 2035: "2035-03-25",
}

func TestEaster(t *testing.T) {
	t.Parallel()
	cases := map[int]string{
		// Extremes of the Gregorian computus: earliest (22 March) and latest (25 April).
		1818: "1818-03-22", 2285: "2285-03-22", 2038: "2038-04-25", 1943: "1943-04-25",
		2100: "2100-03-28", 1961: "1961-04-02",
	}
	for y, s := range easterSundays {
		cases[y] = s
	}
	for year, want := range cases {
		t.Run(want, func(t *testing.T) {
			t.Parallel()
			got := calendar.Easter(year)
			if !got.Equal(d(t, want)) {
				t.Errorf("Easter(%d) = %s, want %s", year, got.Format(time.DateOnly), want)
			}
			if got.Weekday() != time.Sunday {
				t.Errorf("Easter(%d) = %s is a %s", year, got.Format(time.DateOnly), got.Weekday())
			}
		})
	}
}

// expectedHolidays builds the holiday list of a year from the independent
// Easter table: L3133-1 for every calendar, plus L3134-13 for Alsace-Moselle.
func expectedHolidays(t *testing.T, year int, alsaceMoselle bool) []time.Time {
	t.Helper()
	easter := d(t, easterSundays[year])
	date := func(m time.Month, day int) time.Time { return time.Date(year, m, day, 0, 0, 0, 0, time.UTC) }
	out := []time.Time{
		date(time.January, 1),    // Jour de l'an
		easter.AddDate(0, 0, 1),  // Lundi de Pâques
		date(time.May, 1),        // Fête du travail
		date(time.May, 8),        // Victoire 1945
		easter.AddDate(0, 0, 39), // Ascension
		easter.AddDate(0, 0, 50), // Lundi de Pentecôte
		date(time.July, 14),      // Fête nationale
		date(time.August, 15),    // Assomption
		date(time.November, 1),   // Toussaint
		date(time.November, 11),  // Armistice 1918
		date(time.December, 25),  // Noël
	}
	if alsaceMoselle {
		out = append(out,
			easter.AddDate(0, 0, -2), // Vendredi saint
			date(time.December, 26),  // Saint-Étienne
		)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

func TestHolidays_EveryYear2016To2035(t *testing.T) {
	t.Parallel()
	cals := []struct {
		name string
		cal  calendar.Calendar
		am   bool
	}{
		{"national (L3133-1)", calendar.National(), false},
		{"Alsace-Moselle (L3133-1 + L3134-13)", calendar.AlsaceMoselle(), true},
	}
	for _, c := range cals {
		for year := 2016; year <= 2035; year++ {
			t.Run(c.name+"/"+time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
				t.Parallel()
				want := expectedHolidays(t, year, c.am)
				got := c.cal.Holidays(year)
				if !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Fatalf("Holidays(%d):\n got  %v\n want %v", year, fmtDays(got), fmtDays(want))
				}
				// Every day of the year: IsHoliday agrees with the list, and
				// IsWorkingDay is Mon-Fri minus the list.
				set := map[time.Time]bool{}
				for _, h := range want {
					set[h] = true
				}
				for day := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() == year; day = day.AddDate(0, 0, 1) {
					if got := c.cal.IsHoliday(day); got != set[day] {
						t.Errorf("IsHoliday(%s) = %v, want %v", day.Format(time.DateOnly), got, set[day])
					}
					weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
					if got, want := c.cal.IsWorkingDay(day), !weekend && !set[day]; got != want {
						t.Errorf("IsWorkingDay(%s) = %v, want %v", day.Format(time.DateOnly), got, want)
					}
				}
			})
		}
	}
}

func fmtDays(days []time.Time) []string {
	out := make([]string, len(days))
	for i, day := range days {
		out[i] = day.Format(time.DateOnly)
	}
	return out
}

// TestHolidays2025_ExamplesTable checks the 2025 holidays listed in
// docs/rules.md#examples.
func TestHolidays2025_ExamplesTable(t *testing.T) {
	t.Parallel()
	national := []string{
		"2025-01-01", "2025-04-21", "2025-05-01", "2025-05-08", "2025-05-29", "2025-06-09",
		"2025-07-14", "2025-08-15", "2025-11-01", "2025-11-11", "2025-12-25",
	}
	am := append(slices.Clone(national), "2025-04-18", "2025-12-26")
	slices.Sort(am)
	tests := []struct {
		name string
		cal  calendar.Calendar
		want []string
	}{
		{"national 2025, docs/rules.md#examples", calendar.National(), national},
		{"Alsace-Moselle 2025: Good Friday 18 Apr and 26 Dec added", calendar.AlsaceMoselle(), am},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := fmtDays(tt.cal.Holidays(2025)); !slices.Equal(got, tt.want) {
				t.Errorf("Holidays(2025) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsWorkingDay(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name string
		cal  calendar.Calendar
		day  time.Time
		want bool
	}{
		{"ordinary Thursday", calendar.National(), d(t, "2025-04-24"), true},
		{"Saturday is not a jour ouvré (P-CAL-4)", calendar.National(), d(t, "2025-04-26"), false},
		{"Sunday", calendar.National(), d(t, "2025-04-27"), false},
		{"1 May 2025, Thursday", calendar.National(), d(t, "2025-05-01"), false},
		{"Good Friday 2025, national: worked", calendar.National(), d(t, "2025-04-18"), true},
		{"Good Friday 2025, Alsace-Moselle: off (L3134-13)", calendar.AlsaceMoselle(), d(t, "2025-04-18"), false},
		{"26 Dec 2025, national: worked", calendar.National(), d(t, "2025-12-26"), true},
		{"26 Dec 2025, Alsace-Moselle: off (L3134-13)", calendar.AlsaceMoselle(), d(t, "2025-12-26"), false},
		{"Whit Monday 2025", calendar.National(), d(t, "2025-06-09"), false},
		{"zero Calendar is national: Good Friday worked", calendar.Calendar{}, d(t, "2025-04-18"), true},
		{"1 May 00:30 Paris time is 1 May (date read in its own location)", calendar.National(),
			time.Date(2025, 5, 1, 0, 30, 0, 0, paris), false},
		{"2 May 00:30 Paris time is a working Friday", calendar.National(),
			time.Date(2025, 5, 2, 0, 30, 0, 0, paris), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cal.IsWorkingDay(tt.day); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.day, got, tt.want)
			}
		})
	}
}

func TestForDepartement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dep  string
		want calendar.Calendar
	}{
		{"57", calendar.AlsaceMoselle()}, // Moselle
		{"67", calendar.AlsaceMoselle()}, // Bas-Rhin
		{"68", calendar.AlsaceMoselle()}, // Haut-Rhin
		{" 67 ", calendar.AlsaceMoselle()},
		{"75", calendar.National()},
		{"54", calendar.National()}, // Meurthe-et-Moselle is not Moselle
		{"2A", calendar.National()},
		{"971", calendar.ForRegion(calendar.RegionGuadeloupe)}, // overseas: overseas_test.go
		{"974", calendar.ForRegion(calendar.RegionLaReunion)},
		{"975", calendar.National()}, // Saint-Pierre-et-Miquelon: no abolition day in L3422-2
		{"", calendar.National()},
	}
	for _, tt := range tests {
		t.Run("dep "+tt.dep, func(t *testing.T) {
			t.Parallel()
			got := calendar.ForDepartement(tt.dep)
			if got != tt.want {
				t.Errorf("ForDepartement(%q) = %v, want %v", tt.dep, got, tt.want)
			}
		})
	}
	if calendar.National().Region() != calendar.RegionNational || calendar.AlsaceMoselle().Region() != calendar.RegionAlsaceMoselle {
		t.Error("constructors return the wrong region")
	}
	if calendar.National().Name() != "national" || calendar.AlsaceMoselle().Name() != "alsace-moselle" || (calendar.Calendar{}).Name() != "national" {
		t.Error("unexpected calendar names")
	}
}

// TestAddWorkingDays_WorkedExamples checks every due date of the worked
// examples of docs/rules.md#examples (receipt = day 0, due date = day 7, or
// day 30 under a fraud regime).
func TestAddWorkingDays_WorkedExamples(t *testing.T) {
	t.Parallel()
	nat, am := calendar.National(), calendar.AlsaceMoselle()
	tests := []struct {
		name    string
		cal     calendar.Calendar
		receipt string
		n       int
		want    string
	}{
		{"day 0 is the receipt day itself", nat, "2025-04-24", 0, "2025-04-24"},
		// 5-A: bridge of holidays, received Thu 24 Apr 2025.
		{"5-A day 1", nat, "2025-04-24", 1, "2025-04-25"},
		{"5-A day 2 (weekend skipped)", nat, "2025-04-24", 2, "2025-04-28"},
		{"5-A day 3", nat, "2025-04-24", 3, "2025-04-29"},
		{"5-A day 4", nat, "2025-04-24", 4, "2025-04-30"},
		{"5-A day 5 (1 May skipped)", nat, "2025-04-24", 5, "2025-05-02"},
		{"5-A day 6", nat, "2025-04-24", 6, "2025-05-05"},
		{"5-A day 7 = due Tue 6 May 2025", nat, "2025-04-24", 7, "2025-05-06"},
		{"5-A day 8", nat, "2025-04-24", 8, "2025-05-07"},
		{"5-A day 9 (8 May skipped)", nat, "2025-04-24", 9, "2025-05-09"},
		{"5-A day 10", nat, "2025-04-24", 10, "2025-05-12"},
		// 5-B: Easter week, received Mon 14 Apr 2025.
		{"5-B national day 4 = Good Friday", nat, "2025-04-14", 4, "2025-04-18"},
		{"5-B national due Thu 24 Apr (Easter Monday skipped)", nat, "2025-04-14", 7, "2025-04-24"},
		{"5-B A-M due Fri 25 Apr (Good Friday also skipped)", am, "2025-04-14", 7, "2025-04-25"},
		// 5-C: year end, received Fri 19 Dec 2025.
		{"5-C national day 4 = 26 Dec", nat, "2025-12-19", 4, "2025-12-26"},
		{"5-C national due Wed 31 Dec 2025", nat, "2025-12-19", 7, "2025-12-31"},
		{"5-C A-M due Fri 2 Jan 2026 (26 Dec and 1 Jan skipped)", am, "2025-12-19", 7, "2026-01-02"},
		{"5-C national day 9 = Mon 5 Jan 2026", nat, "2025-12-19", 9, "2026-01-05"},
		// 5-D: fraud regime, received Mon 2 Jun 2025.
		{"5-D normal due Thu 12 Jun (Whit Monday skipped)", nat, "2025-06-02", 7, "2025-06-12"},
		{"5-D regime due Wed 16 Jul (day 30, 14 Jul skipped)", nat, "2025-06-02", 30, "2025-07-16"},
		// 5-E: small invoice, received Mon 1 Dec 2025.
		{"5-E due Wed 10 Dec 2025", nat, "2025-12-01", 7, "2025-12-10"},
		{"5-E day 10 = Mon 15 Dec", nat, "2025-12-01", 10, "2025-12-15"},
		// Adjudication examples: docs/rules.md#ex-1, docs/rules.md#ex-3,
		// docs/rules.md#ex-10.
		{"Ex.1 received Tue 11 Mar 2025, due Thu 20 Mar", nat, "2025-03-11", 7, "2025-03-20"},
		{"Ex.3 received Tue 15 Apr 2025, national due Fri 25 Apr", nat, "2025-04-15", 7, "2025-04-25"},
		{"Ex.3 A-M due Mon 28 Apr", am, "2025-04-15", 7, "2025-04-28"},
		{"Ex.10 received Wed 11 Jun 2025, due Fri 20 Jun", nat, "2025-06-11", 7, "2025-06-20"},
		// Other situations.
		{"receipt on a Saturday: day 1 is Monday", nat, "2025-04-26", 1, "2025-04-28"},
		{"receipt on a holiday (1 May): day 1 is Fri 2 May", nat, "2025-05-01", 1, "2025-05-02"},
		{"negative n: 1 working day before Fri 2 May is Wed 30 Apr", nat, "2025-05-02", -1, "2025-04-30"},
		{"negative n: 7 working days before Tue 6 May is Thu 24 Apr", nat, "2025-05-06", -7, "2025-04-24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.cal.AddWorkingDays(d(t, tt.receipt), tt.n)
			if !got.Equal(d(t, tt.want)) {
				t.Errorf("AddWorkingDays(%s, %d) [%s] = %s (%s), want %s",
					tt.receipt, tt.n, tt.cal, got.Format(time.DateOnly), got.Weekday(), tt.want)
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	t.Parallel()
	nat, am := calendar.National(), calendar.AlsaceMoselle()
	tests := []struct {
		name     string
		cal      calendar.Calendar
		from, to string
		want     int
	}{
		{"same day is day 0", nat, "2025-04-24", "2025-04-24", 0},
		{"5-A paid Tue 6 May: day 7", nat, "2025-04-24", "2025-05-06", 7},
		{"5-A paid Wed 7 May: day 8", nat, "2025-04-24", "2025-05-07", 8},
		{"5-A paid Thu 8 May (holiday): still day 8", nat, "2025-04-24", "2025-05-08", 8},
		{"5-A paid Fri 9 May: day 9", nat, "2025-04-24", "2025-05-09", 9},
		{"5-A paid Sat 10 May: still day 9", nat, "2025-04-24", "2025-05-10", 9},
		{"5-A paid Mon 12 May: day 10", nat, "2025-04-24", "2025-05-12", 10},
		{"5-B paid Fri 25 Apr, national: day 8", nat, "2025-04-14", "2025-04-25", 8},
		{"5-B paid Fri 25 Apr, A-M: day 7", am, "2025-04-14", "2025-04-25", 7},
		{"5-C paid Mon 5 Jan 2026, national: day 9", nat, "2025-12-19", "2026-01-05", 9},
		{"5-C paid Mon 5 Jan 2026, A-M: day 8", am, "2025-12-19", "2026-01-05", 8},
		{"5-D paid Fri 11 Jul 2025: day 28", nat, "2025-06-02", "2025-07-11", 28},
		{"5-E paid Mon 15 Dec 2025: day 10", nat, "2025-12-01", "2025-12-15", 10},
		{"receipt Saturday, paid Monday: day 1", nat, "2025-04-26", "2025-04-28", 1},
		{"to before from: negative", nat, "2025-05-06", "2025-04-24", -7},
		{"whole year 2025, national: 251 working days", nat, "2024-12-31", "2025-12-31", 251},
		{"whole year 2025, A-M: 249 working days", am, "2024-12-31", "2025-12-31", 249},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.cal.WorkingDaysBetween(d(t, tt.from), d(t, tt.to)); got != tt.want {
				t.Errorf("WorkingDaysBetween(%s, %s) [%s] = %d, want %d", tt.from, tt.to, tt.cal, got, tt.want)
			}
		})
	}
}

// TestAddAndBetweenAreInverse is a property test: for any start day and any
// n, the n-th working day after it has working-day index n, is a working day
// (n != 0), and the index is non-decreasing day by day.
func TestAddAndBetweenAreInverse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	base := d(t, "2016-01-01")
	for _, cal := range []calendar.Calendar{calendar.National(), calendar.AlsaceMoselle()} {
		for range 2000 {
			from := base.AddDate(0, 0, rng.IntN(20*366))
			n := rng.IntN(81) - 40
			to := cal.AddWorkingDays(from, n)
			if got := cal.WorkingDaysBetween(from, to); got != n {
				t.Fatalf("%s: WorkingDaysBetween(%s, AddWorkingDays(%s, %d) = %s) = %d",
					cal, from.Format(time.DateOnly), from.Format(time.DateOnly), n, to.Format(time.DateOnly), got)
			}
			if n != 0 && !cal.IsWorkingDay(to) {
				t.Fatalf("%s: AddWorkingDays(%s, %d) = %s is not a working day", cal, from.Format(time.DateOnly), n, to.Format(time.DateOnly))
			}
		}
		from := base
		prev := 0
		for day := from; day.Before(d(t, "2018-01-01")); day = day.AddDate(0, 0, 1) {
			got := cal.WorkingDaysBetween(from, day)
			if got < prev || got > prev+1 {
				t.Fatalf("%s: index jumps from %d to %d on %s", cal, prev, got, day.Format(time.DateOnly))
			}
			prev = got
		}
	}
}
