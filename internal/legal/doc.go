// Package legal holds the dated legal parameters of the adjudication (rates,
// flat amounts, caps, ages, delays) and looks them up by day.
//
// Each parameter is one YAML file under params/<domain>/<name>.yaml, embedded
// in the binary. A file describes one series: its identifier (the project's
// parameter id, e.g. "P-FR-1", listed in docs/rules.md#parameters), a
// description, a unit, the date that selects its value (selected_by), its
// legal basis, the rule of docs/rules.md it feeds (documentation, not read by
// the loader) and its dated values. Keys of "values" are effective dates
// (entrée en vigueur); a value holds until the next key, or until its
// optional explicit "to" date (inclusive). "value: null" means the parameter
// has no value from that date (repealed, or not yet set).
//
// Series whose value is long-standing (no known entrée en vigueur) start at
// the table horizon, 2005-01-01: the oldest date any admissible claim can
// need. Their history before that date is not encoded; a lookup before a
// series' first key returns ErrNoValueAt, never a guess.
//
// Identifiers: one id per quantity; when one quantity has several dated
// values from different sources (P-PF-1 / P-PF-1c), the series takes the
// primary id and each dated value names its own sub-id in its reference.
// Quantities that belong to a numbered one take its id with a suffix
// (P-TM-2-AGE, P-TM-11-TARIFF, P-TM-11-COEF, P-TM-12-REDUCED, P-FR-10-DAILY,
// P-MAT-1-BEFORE, P-MAT-1-AFTER, P-PAY-2-DAYS, P-PAY-3-FLOOR,
// P-PAY-9-DIRECT). Two series are not set: P-TP-DEBT, the direct-debit
// threshold (docs/rules.md#direct-debit), and P-TM-PHARMACIST, the rate of
// pharmacist services (docs/rules.md#pharmacist-services); both are null
// until a sourced value is added.
//
// Each series carries a confidence mark (H: read in the law; M: consistent
// secondary sources; L: weak, to confirm; M-H), which a dated value may
// override. Open questions stay in the files as "# TODO(legal): …" comments.
// Every change of a file gets an entry in CHANGELOG.md.
//
// The package is pure: the only package-level state is the embedded file
// system. Load parses and validates it; the returned *Table is immutable and
// safe for concurrent use.
package legal
