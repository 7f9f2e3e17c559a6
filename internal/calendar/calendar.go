// Package calendar computes French public holidays and counts jours ouvrés
// (working days: Monday to Friday minus public holidays) for the payment
// deadline of CSS art. D161-13-3 and the penalty scale of art. D161-13-4.
//
// A Calendar is a small value: the national calendar (Code du travail
// art. L3133-1), the Alsace-Moselle one, which adds Good Friday and
// 26 December (Code du travail art. L3134-13), or an overseas one, which adds
// the territory's day commemorating the abolition of slavery (Code du travail
// art. L3422-2; loi n° 83-550 du 30 juin 1983, décret n° 83-1003 du
// 23 novembre 1983). Each paying organism has its own calendar, chosen by the
// département where it sits (ForDepartement; docs/rules.md#calendar).
//
// The holiday list is calendar law, not a money parameter, so it lives here in
// code with its articles rather than in internal/legal.
//
// Dates are civil days. Every function reads the calendar date of its
// argument in the argument's own location (year, month, day) and ignores the
// time of day; returned dates are at 00:00 UTC. Callers convert instants to
// Europe/Paris before calling (docs/rules.md#dates). The package is pure: no
// clock, no I/O.
package calendar

import (
	"sort"
	"strings"
	"time"
)

// Region is the territory whose public holidays a Calendar applies.
type Region int

// Regions. The zero value is the national calendar.
const (
	// RegionNational is metropolitan France outside Alsace-Moselle
	// (Code du travail art. L3133-1).
	RegionNational Region = iota
	// RegionAlsaceMoselle is the Bas-Rhin (67), Haut-Rhin (68) and Moselle (57),
	// which keep two extra holidays under local law (Code du travail art. L3134-13).
	RegionAlsaceMoselle
	// The overseas territories of Code du travail art. L3422-2, each with its
	// day commemorating the abolition of slavery on top of the national
	// holidays: Guadeloupe (971), Martinique (972), Guyane (973),
	// La Réunion (974), Mayotte (976), Saint-Barthélemy (977) and
	// Saint-Martin (978).
	RegionGuadeloupe
	RegionMartinique
	RegionGuyane
	RegionLaReunion
	RegionMayotte
	RegionSaintBarthelemy
	RegionSaintMartin
)

// regionNames are the regions' stable names, used in traces, API answers and
// stored payment tracking (Named reads them back).
var regionNames = [...]string{
	RegionNational:        "national",
	RegionAlsaceMoselle:   "alsace-moselle",
	RegionGuadeloupe:      "guadeloupe",
	RegionMartinique:      "martinique",
	RegionGuyane:          "guyane",
	RegionLaReunion:       "la-reunion",
	RegionMayotte:         "mayotte",
	RegionSaintBarthelemy: "saint-barthelemy",
	RegionSaintMartin:     "saint-martin",
}

// String returns the region's stable name ("national", "alsace-moselle",
// "guadeloupe", "martinique", "guyane", "la-reunion", "mayotte",
// "saint-barthelemy", "saint-martin"), "unknown" for any other value.
func (r Region) String() string {
	if r < 0 || int(r) >= len(regionNames) {
		return "unknown"
	}
	return regionNames[r]
}

// abolition is a territory's day commemorating the abolition of slavery, a
// public holiday there (Code du travail art. L3422-2), from the year its date
// was fixed.
type abolition struct {
	month time.Month
	day   int
	from  int // first year the day is a holiday
}

// abolitionDay returns the region's abolition day, if it has one. The dates
// are those of Code du travail art. L3422-2 (in force 2018-01-01), the same as
// the décret n° 83-1003 du 23 novembre 1983 taken under the loi n° 83-550 du
// 30 juin 1983; Saint-Barthélemy and Saint-Martin were added by the décret
// n° 2012-553 du 23 avril 2012, in force 2012-04-26, before both of their days.
func abolitionDay(r Region) (abolition, bool) {
	switch r {
	case RegionMayotte:
		return abolition{time.April, 27, 1983}, true
	case RegionMartinique:
		return abolition{time.May, 22, 1983}, true
	case RegionGuadeloupe:
		return abolition{time.May, 27, 1983}, true
	case RegionSaintMartin:
		return abolition{time.May, 27, 2012}, true
	case RegionGuyane:
		return abolition{time.June, 10, 1983}, true
	case RegionSaintBarthelemy:
		return abolition{time.October, 9, 2012}, true
	case RegionLaReunion:
		return abolition{time.December, 20, 1983}, true
	}
	return abolition{}, false
}

// Calendar is a holiday calendar used to count jours ouvrés. It is a
// comparable value type; the zero value is the national calendar.
type Calendar struct {
	name   string
	region Region
}

// National returns the national calendar: the eleven public holidays of
// Code du travail art. L3133-1.
func National() Calendar {
	return Calendar{name: RegionNational.String(), region: RegionNational}
}

// AlsaceMoselle returns the calendar of départements 57, 67 and 68: the
// national holidays plus Good Friday and 26 December (Code du travail
// art. L3134-13; docs/rules.md#calendar).
func AlsaceMoselle() Calendar {
	return Calendar{name: RegionAlsaceMoselle.String(), region: RegionAlsaceMoselle}
}

// ForRegion returns the calendar of a region; an unknown region gives the
// national calendar.
func ForRegion(r Region) Calendar {
	if r < 0 || int(r) >= len(regionNames) {
		return National()
	}
	return Calendar{name: r.String(), region: r}
}

// Named returns the calendar whose Name is name, and false (with the
// national calendar) for a name no calendar has. It reads back a stored Name.
func Named(name string) (Calendar, bool) {
	for r, n := range regionNames {
		if n == name {
			return ForRegion(Region(r)), true
		}
	}
	return National(), false
}

// ForDepartement returns the calendar of a paying organism located in the
// given département code ("57", "2A", "971"). Organisms in Moselle (57),
// Bas-Rhin (67) and Haut-Rhin (68) use the Alsace-Moselle calendar; those in
// Guadeloupe (971), Martinique (972), Guyane (973), La Réunion (974),
// Mayotte (976), Saint-Barthélemy (977) and Saint-Martin (978) their
// territory's calendar; all others, Saint-Pierre-et-Miquelon (975) included,
// the national one (docs/rules.md#calendar). Surrounding spaces are ignored.
func ForDepartement(dep string) Calendar {
	switch strings.TrimSpace(dep) {
	case "57", "67", "68":
		return AlsaceMoselle()
	case "971":
		return ForRegion(RegionGuadeloupe)
	case "972":
		return ForRegion(RegionMartinique)
	case "973":
		return ForRegion(RegionGuyane)
	case "974":
		return ForRegion(RegionLaReunion)
	case "976":
		return ForRegion(RegionMayotte)
	case "977":
		return ForRegion(RegionSaintBarthelemy)
	case "978":
		return ForRegion(RegionSaintMartin)
	default:
		return National()
	}
}

// Name returns the calendar's name, for traces ("national", "alsace-moselle",
// "guadeloupe"…: Region.String).
func (c Calendar) Name() string {
	if c.name == "" {
		return c.region.String()
	}
	return c.name
}

// Region returns the territory whose holidays the calendar applies.
func (c Calendar) Region() Region {
	return c.region
}

// String returns the calendar's name.
func (c Calendar) String() string {
	return c.Name()
}

// Easter returns Easter Sunday of the Gregorian year, at 00:00 UTC, by the
// anonymous Gregorian algorithm (Meeus/Jones/Butcher). The movable holidays
// of L3133-1 and L3134-13 are fixed offsets from it.
func Easter(year int) time.Time {
	a := year % 19
	b := year / 100
	c := year % 100
	d := b / 4
	e := b % 4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i := c / 4
	k := c % 4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// fixedNational are the fixed-date holidays of Code du travail art. L3133-1:
// 1 January, 1 May, 8 May, 14 July, 15 August, 1 November, 11 November and
// 25 December.
var fixedNational = [...]struct {
	month time.Month
	day   int
}{
	{time.January, 1}, {time.May, 1}, {time.May, 8}, {time.July, 14},
	{time.August, 15}, {time.November, 1}, {time.November, 11}, {time.December, 25},
}

// Offsets from Easter Sunday, in days, of the movable holidays.
const (
	// Code du travail art. L3133-1: Easter Monday, Ascension (the Thursday
	// 39 days after Easter) and Whit Monday (50 days after Easter).
	easterMonday = 1
	ascension    = 39
	whitMonday   = 50
	// Code du travail art. L3134-13 (Alsace-Moselle): Good Friday.
	goodFriday = -2
)

// Holidays returns the calendar's public holidays of the year, sorted, at
// 00:00 UTC: the eleven days of Code du travail art. L3133-1; for
// Alsace-Moselle, Good Friday and 26 December (art. L3134-13); overseas, the
// territory's abolition day (art. L3422-2). Holidays that fall on a weekend
// are listed too.
func (c Calendar) Holidays(year int) []time.Time {
	out := make([]time.Time, 0, len(fixedNational)+5)
	for _, f := range fixedNational {
		out = append(out, time.Date(year, f.month, f.day, 0, 0, 0, 0, time.UTC))
	}
	easter := Easter(year)
	for _, off := range []int{easterMonday, ascension, whitMonday} {
		out = append(out, easter.AddDate(0, 0, off))
	}
	if c.region == RegionAlsaceMoselle {
		out = append(out,
			easter.AddDate(0, 0, goodFriday),
			time.Date(year, time.December, 26, 0, 0, 0, 0, time.UTC))
	}
	if a, ok := abolitionDay(c.region); ok && year >= a.from {
		out = append(out, time.Date(year, a.month, a.day, 0, 0, 0, 0, time.UTC))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// IsHoliday reports whether day is a public holiday of the calendar.
func (c Calendar) IsHoliday(day time.Time) bool {
	day = Day(day)
	y, m, d := day.Date()
	for _, f := range fixedNational {
		if f.month == m && f.day == d {
			return true
		}
	}
	if c.region == RegionAlsaceMoselle && m == time.December && d == 26 {
		return true
	}
	if a, ok := abolitionDay(c.region); ok && a.month == m && a.day == d && y >= a.from {
		return true
	}
	// Movable holidays fall between March (Good Friday) and June (Whit Monday).
	if m < time.March || m > time.June {
		return false
	}
	off := int(day.Sub(Easter(y)) / (24 * time.Hour))
	switch off {
	case easterMonday, ascension, whitMonday:
		return true
	case goodFriday:
		return c.region == RegionAlsaceMoselle
	}
	return false
}

// IsWorkingDay reports whether day is a jour ouvré: Monday to Friday and not a
// public holiday of the calendar. Saturdays are not working days (jours
// ouvrés, not jours ouvrables: docs/rules.md#calendar).
func (c Calendar) IsWorkingDay(day time.Time) bool {
	day = Day(day)
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !c.IsHoliday(day)
}

// AddWorkingDays returns the n-th working day after day, counting day itself
// as day 0 whether or not it is a working day (the receipt day is day 0:
// docs/rules.md#due-date).
// For n = 0 it returns day. For a negative n it returns the |n|-th working day
// before day.
func (c Calendar) AddWorkingDays(day time.Time, n int) time.Time {
	day = Day(day)
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		day = day.AddDate(0, 0, step)
		if c.IsWorkingDay(day) {
			n--
		}
	}
	return day
}

// WorkingDaysBetween returns the working-day index of to, counted from from as
// day 0: the number of working days d with from < d <= to. A payment made on
// a weekend or holiday therefore carries the index of the last working day
// before it. When to is before from the result is negative: minus the number
// of working days d with to <= d < from. For working days,
// AddWorkingDays(from, WorkingDaysBetween(from, to)) == to.
func (c Calendar) WorkingDaysBetween(from, to time.Time) int {
	from, to = Day(from), Day(to)
	if to.Before(from) {
		n := 0
		for d := to; d.Before(from); d = d.AddDate(0, 0, 1) {
			if c.IsWorkingDay(d) {
				n++
			}
		}
		return -n
	}
	n := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}

// Day returns the calendar date of t, read in t's own location, at 00:00
// UTC: the form of every legal date in the engine, the counters' keys and the
// store. It is the one such helper of the project.
func Day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
