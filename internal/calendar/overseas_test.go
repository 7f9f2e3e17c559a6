package calendar_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tierspayant/tierspayant/internal/calendar"
)

// overseas is an independent table of the days commemorating the abolition
// of slavery, written from Code du travail art. L3422-2 (1° to 6°), with the
// first year each is a holiday (décret n° 83-1003; décret n° 2012-553 for
// Saint-Barthélemy and Saint-Martin, in force 2012-04-26).
var overseas = []struct {
	dep    string
	region calendar.Region
	name   string
	month  time.Month
	day    int
	from   int
}{
	{"971", calendar.RegionGuadeloupe, "guadeloupe", time.May, 27, 1983},
	{"972", calendar.RegionMartinique, "martinique", time.May, 22, 1983},
	{"973", calendar.RegionGuyane, "guyane", time.June, 10, 1983},
	{"974", calendar.RegionLaReunion, "la-reunion", time.December, 20, 1983},
	{"976", calendar.RegionMayotte, "mayotte", time.April, 27, 1983},
	{"977", calendar.RegionSaintBarthelemy, "saint-barthelemy", time.October, 9, 2012},
	{"978", calendar.RegionSaintMartin, "saint-martin", time.May, 27, 2012},
}

// TestOverseas_EveryYear2016To2035: each overseas calendar is the national
// list plus its abolition day, every year, and IsHoliday and IsWorkingDay
// agree with that list on every day of the year.
func TestOverseas_EveryYear2016To2035(t *testing.T) {
	t.Parallel()
	for _, o := range overseas {
		cal := calendar.ForDepartement(o.dep)
		if cal.Region() != o.region || cal.Name() != o.name {
			t.Fatalf("ForDepartement(%q) = %v (region %d), want %s", o.dep, cal, cal.Region(), o.name)
		}
		for year := 2016; year <= 2035; year++ {
			t.Run(o.name+"/"+strconv.Itoa(year), func(t *testing.T) {
				t.Parallel()
				want := append(expectedHolidays(t, year, false), time.Date(year, o.month, o.day, 0, 0, 0, 0, time.UTC))
				slices.SortFunc(want, func(a, b time.Time) int { return a.Compare(b) })
				got := cal.Holidays(year)
				if !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Fatalf("Holidays(%d):\n got  %v\n want %v", year, fmtDays(got), fmtDays(want))
				}
				set := map[time.Time]bool{}
				for _, h := range want {
					set[h] = true
				}
				for day := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() == year; day = day.AddDate(0, 0, 1) {
					if got := cal.IsHoliday(day); got != set[day] {
						t.Errorf("IsHoliday(%s) = %v, want %v", day.Format(time.DateOnly), got, set[day])
					}
					weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
					if got, want := cal.IsWorkingDay(day), !weekend && !set[day]; got != want {
						t.Errorf("IsWorkingDay(%s) = %v, want %v", day.Format(time.DateOnly), got, want)
					}
				}
			})
		}
	}
}

// TestOverseas_AbolitionDays pins each abolition day on a weekday, where it
// changes the count of working days, and the years before Saint-Barthélemy's
// and Saint-Martin's days were fixed.
func TestOverseas_AbolitionDays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		dep, day string
		holiday  bool
	}{
		{"971", "2025-05-27", true},  // Tuesday
		{"972", "2025-05-22", true},  // Thursday
		{"973", "2025-06-10", true},  // Tuesday, the day after Whit Monday
		{"974", "2024-12-20", true},  // Friday
		{"976", "2026-04-27", true},  // Monday
		{"977", "2025-10-09", true},  // Thursday
		{"977", "2009-10-09", false}, // Friday, before décret 2012-553
		{"977", "2012-10-09", true},  // Tuesday, first year
		{"978", "2011-05-27", false}, // Friday, before décret 2012-553
		{"978", "2013-05-27", true},  // Monday
		{"971", "2025-05-22", false}, // Martinique's day is not Guadeloupe's
		{"972", "2025-05-27", false},
		{"975", "2025-05-27", false}, // Saint-Pierre-et-Miquelon: national
		{"75", "2025-05-22", false},
		{"57", "2024-12-20", false},
	}
	for _, tc := range cases {
		t.Run(tc.dep+"/"+tc.day, func(t *testing.T) {
			t.Parallel()
			cal, day := calendar.ForDepartement(tc.dep), d(t, tc.day)
			if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				t.Fatalf("%s is a %s: pick a weekday", tc.day, day.Weekday())
			}
			if got := cal.IsHoliday(day); got != tc.holiday {
				t.Errorf("%s: IsHoliday(%s) = %v, want %v", cal, tc.day, got, tc.holiday)
			}
			if got := cal.IsWorkingDay(day); got == tc.holiday {
				t.Errorf("%s: IsWorkingDay(%s) = %v, want %v", cal, tc.day, got, !tc.holiday)
			}
			if got := slices.ContainsFunc(cal.Holidays(day.Year()), day.Equal); got != tc.holiday {
				t.Errorf("%s: %s in Holidays = %v, want %v", cal, tc.day, got, tc.holiday)
			}
		})
	}
}

// TestOverseas_DueDates: the 7th working day after receipt (receipt day 0,
// docs/rules.md#due-date) moves by one day when the abolition day falls in
// between. Dates counted by hand.
func TestOverseas_DueDates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, dep, receipt, national, local string
	}{
		{"Martinique, 22 May 2025 (Thu)", "972", "2025-05-19", "2025-05-28", "2025-05-30"},
		{"Guadeloupe, 27 May 2025 (Tue), Ascension on the 29th", "971", "2025-05-19", "2025-05-28", "2025-05-30"},
		{"Guyane, 10 June 2025 (Tue) after Whit Monday", "973", "2025-06-02", "2025-06-12", "2025-06-13"},
		{"La Réunion, 20 December 2024 (Fri)", "974", "2024-12-12", "2024-12-23", "2024-12-24"},
		{"Mayotte, 27 April 2026 (Mon), 1 and 8 May in the count", "976", "2026-04-24", "2026-05-06", "2026-05-07"},
		{"Saint-Barthélemy, 9 October 2025 (Thu)", "977", "2025-10-06", "2025-10-15", "2025-10-16"},
		{"Saint-Martin, 27 May 2013 (Mon)", "978", "2013-05-21", "2013-05-30", "2013-05-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			receipt := d(t, tc.receipt)
			if got := calendar.National().AddWorkingDays(receipt, 7); !got.Equal(d(t, tc.national)) {
				t.Errorf("national: due %s, want %s", got.Format(time.DateOnly), tc.national)
			}
			cal := calendar.ForDepartement(tc.dep)
			got := cal.AddWorkingDays(receipt, 7)
			if !got.Equal(d(t, tc.local)) {
				t.Errorf("%s: due %s, want %s", cal, got.Format(time.DateOnly), tc.local)
			}
			if n := cal.WorkingDaysBetween(receipt, got); n != 7 {
				t.Errorf("%s: WorkingDaysBetween(receipt, due) = %d, want 7", cal, n)
			}
			// Paid on the national due date: still on time overseas.
			if n := cal.WorkingDaysBetween(receipt, d(t, tc.national)); n != 6 {
				t.Errorf("%s: national due date is working day %d, want 6", cal, n)
			}
		})
	}
}

// TestNamedAndForRegion: every calendar's name reads back to the same
// calendar (stored payment tracking keeps the name), and unknown names and
// regions give the national calendar.
func TestNamedAndForRegion(t *testing.T) {
	t.Parallel()
	all := []calendar.Calendar{calendar.National(), calendar.AlsaceMoselle()}
	for _, o := range overseas {
		all = append(all, calendar.ForRegion(o.region))
	}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.Name()] {
			t.Errorf("name %q used twice", c.Name())
		}
		seen[c.Name()] = true
		back, ok := calendar.Named(c.Name())
		if !ok || back != c {
			t.Errorf("Named(%q) = %v, %v; want %v, true", c.Name(), back, ok, c)
		}
		if calendar.ForRegion(c.Region()) != c {
			t.Errorf("ForRegion(%d) = %v, want %v", c.Region(), calendar.ForRegion(c.Region()), c)
		}
	}
	if calendar.ForRegion(calendar.RegionAlsaceMoselle) != calendar.AlsaceMoselle() || calendar.ForRegion(calendar.RegionNational) != calendar.National() {
		t.Error("ForRegion differs from the constructors")
	}
	for _, name := range []string{"", "unknown", "Martinique", "971"} {
		if c, ok := calendar.Named(name); ok || c != calendar.National() {
			t.Errorf("Named(%q) = %v, %v; want national, false", name, c, ok)
		}
	}
	for _, r := range []calendar.Region{-1, 99} {
		if c := calendar.ForRegion(r); c != calendar.National() {
			t.Errorf("ForRegion(%d) = %v, want national", r, c)
		}
		if r.String() != "unknown" {
			t.Errorf("Region(%d).String() = %q, want unknown", r, r.String())
		}
	}
}
