// Package money holds the project's one rounding rule for amounts in euros.
package money

import "github.com/shopspring/decimal"

// Cents rounds an amount to the cent, half away from zero: the rounding of
// every amount the engine, the payment rules and the organisms' shares compute
// (docs/rules.md#rounding). shopspring's Round rounds half away from zero.
func Cents(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// IsCents reports whether d has no more than two decimals.
func IsCents(d decimal.Decimal) bool { return d.Exponent() >= -2 || d.Equal(d.Round(2)) }
