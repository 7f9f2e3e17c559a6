// Package claims is the pure adjudication engine of tiers-payant claims: it
// validates a claim, prices each line (reimbursement base, AMO rate, ticket
// modérateur, participation forfaitaire, franchise), decides the payment
// guarantee and the claim status, and explains every amount in a trace.
//
// The engine has no clock, context, logger, I/O or global state: every input
// is explicit (the claim, the beneficiary's rights, the opposition verdict,
// the receipt instant, the cap counters) and every legal number comes from
// the dated table of internal/legal. Adjudication runs in three steps so that
// the store can consume caps atomically between them:
//
//	p, err := engine.Price(in)                       // validation, pricing, requests
//	grants, inc := franchise.Consume(state, p.Requests) // or the store's script
//	decision := engine.Finish(p, grants)              // deductions, debt, totals
//
// Engine.Adjudicate chains the three for simulations and tests.
//
// # Rules applied
//
// docs/rules.md states every rule with its legal basis and its deviations;
// each reason and trace cites one of its anchors. In short:
//
//   - docs/rules.md#rounding: amounts are computed per line and rounded to the
//     cent, half away from zero; totals are sums of line amounts.
//   - docs/rules.md#dates: the care date selects rates, amounts, exemptions,
//     maternity, ALD and rights; the adjudication date (calendar date of the
//     receipt instant in its own location, Europe/Paris for the service)
//     selects the year of the annual counters and the annual caps.
//   - docs/rules.md#guarantee: GUARANTEED for a card or app not opposed, of
//     a known beneficiary (lines with rights closed are then paid and carry
//     AmountToRecover); else NONE, whatever the other proof. An opposed identifier rejects the claim
//     (lines priced for information, nothing payable, nothing consumed:
//     docs/rules.md#opposition).
//   - docs/rules.md#time-bar: a line received after the second anniversary
//     of the first day of the quarter following its care quarter is
//     TIME_BARRED (L160-11); the anniversary day itself is admissible.
//   - docs/rules.md#pf, docs/rules.md#franchise, docs/rules.md#order:
//     participation forfaitaire on physician and biology lines, franchise on
//     medicine, auxiliary, transport and pharmacist-service lines, consumed in
//     line order against the caps (package franchise).
//   - docs/rules.md#patient-debt, docs/rules.md#direct-debit: under tiers
//     payant the deductions become the beneficiary's debt and never reduce
//     the professional's payment; out of tiers payant they reduce the
//     patient's reimbursement. Above the direct-debit threshold (P-TP-DEBT,
//     unset by default) without authorisation the claim is out of tiers
//     payant.
//   - docs/rules.md#hors-parcours: hors parcours physician lines (patient aged
//     16 or more on the care date, not an emergency) take the P-TM-2 rate.
//   - docs/rules.md#maternity: inside the maternity period every line is at
//     100 % without deductions; outside it, compulsory pregnancy exams and
//     lines of a claim billed to maternity are at 100 % without deductions.
//   - docs/rules.md#ald: ALD-related lines with a recognised ALD are at
//     100 %, deductions still due; without a recognised ALD the ordinary rate
//     applies and the reason ALD_NOT_RECOGNISED says so.
//   - docs/rules.md#exemptions: no deductions for minors (age on 1 January of
//     the care year), CSS and AME beneficiaries, emergency transport, and
//     care during a hospital stay as far as L160-13 excludes it (the
//     participation forfaitaire, the franchise on medicines and auxiliaries'
//     acts; not the franchise on transports or pharmacist services); AME at
//     100 %; under CSS the ticket modérateur is not the patient's share.
//   - docs/rules.md#heavy-act: on physician, midwife, dentist, auxiliary and
//     biology lines not already at 100 %, a unit price or coefficient at the
//     threshold replaces the ticket modérateur by the flat amount (P-TM-11).
//   - docs/rules.md#medicines, docs/rules.md#generic: medicines take their
//     product rate, checked against P-TM-7; a refused generic takes the line
//     out of tiers payant and limits its base to the highest generic price
//     when given and lower.
//   - docs/rules.md#insurance-nature: AT/MP claims return
//     ErrNatureNotSupported.
//
// # Reason codes
//
// Reason.Code is stable. Claim-level reasons have Line −1. Their table, with
// the rule each one belongs to, is docs/rules.md#reason-codes.
//
//	CARD_IN_OPPOSITION         identifier opposed at creation: claim rejected (L161-36-3)
//	DIRECT_DEBIT_REQUIRED      debt above P-TP-DEBT without authorisation: out of tiers payant (L161-36-4 2°)
//	TIME_BARRED                line time-barred (L160-11)
//	RIGHTS_CLOSED              no open rights on the care date
//	GENERIC_REFUSED            refused generic: line out of tiers payant (L162-16-7)
//	GENERIC_BASE_LIMIT         base limited to the group's highest generic or biosimilar price (L162-16 III, V)
//	TFR_BASE                   base limited to the group's tarif forfaitaire de responsabilité (L162-16 II)
//	ALD_NOT_RECOGNISED         ALD-related line without recognised ALD: ordinary rate
//	HORS_PARCOURS              increased ticket modérateur (L162-5-3)
//	HEAVY_ACT_FLAT             heavy-act session: one participation of at most P-TM-11 (R160-16 I)
//	HEAVY_ACT_IMAGING          imaging act at the heavy-act threshold: no participation (R160-16 II)
//	EXEMPT_MATERNITY           no deductions: maternity insurance (L160-9)
//	EXEMPT_AME                 no deductions: AME
//	EXEMPT_CSS                 no deductions: CSS (L160-15)
//	EXEMPT_HOSPITAL_STAY       no deductions: care during a hospital stay
//	EXEMPT_MINOR               no deductions: under 18 on 1 January (L160-15, R160-20)
//	PF_LIMITED_TO_AMO          participation forfaitaire limited to the line's AMO amount
//	PF_DAILY_COUNT_CAP         participations per professional and care date exhausted
//	PF_ANNUAL_CAP              participation forfaitaire annual cap reached
//	FRANCHISE_LIMITED_TO_AMO   franchise limited to the line's AMO amount
//	FRANCHISE_DAILY_CAP        franchise daily cap reached for the category
//	FRANCHISE_ANNUAL_CAP       franchise annual cap reached
//
// # Glossary (FR → EN)
//
//	AMO (assurance maladie obligatoire)    compulsory health insurance; its share of a line
//	AMC (assurance maladie complémentaire) complementary health insurance
//	ALD (affection de longue durée)        long-term illness giving 100 % for related care
//	AME (aide médicale de l'État)          State medical aid, 100 %, no deductions
//	AT/MP                                  work injury / occupational disease (not supported)
//	Auxiliaire médical                     nurse, physiotherapist, speech therapist…
//	Base de remboursement (BR)             reimbursement base (regulated tariff)
//	Biologie                               laboratory tests
//	Carte Vitale / ApCV                    health-insurance card / its mobile app
//	CSS (complémentaire santé solidaire)   means-tested complementary cover
//	Dépassement                            excess fee above the base
//	Franchise médicale                     flat deductible per pack, auxiliary act, transport leg
//	Hors parcours                          outside the coordinated-care pathway
//	Médecin traitant                       declared referring doctor
//	NIR                                    social-security number (13 characters and a key)
//	Opposition (liste d'opposition)        block list of lost or stolen identifiers
//	Participation forfaitaire (PF)         flat co-payment per doctor act or lab act
//	Prescription                           time bar (2 years, L160-11)
//	Sage-femme                             midwife
//	Ticket modérateur (TM)                 coinsurance: base minus AMO amount
//	Tiers payant (TP)                      third-party payment: the insurer pays the professional
//	Transport d'urgence (SAMU)             emergency transport requested by the SAMU
package claims

// ReasonCreationBounded says the claim declared a creation older than
// P-OPP-1 allows and the opposition list was judged at that bound
// (docs/rules.md#opposition).
const ReasonCreationBounded = "CREATION_BOUNDED"

// ReasonRightsClosedToRecover says a line was paid under the card's
// guarantee although the registry shows the rights closed on its care date:
// the amount is to be recovered from the insured (docs/rules.md#guarantee).
const ReasonRightsClosedToRecover = "RIGHTS_CLOSED_TO_RECOVER"

// Reason codes (see the package documentation).
const (
	ReasonCardInOpposition      = "CARD_IN_OPPOSITION"
	ReasonDirectDebitRequired   = "DIRECT_DEBIT_REQUIRED"
	ReasonTimeBarred            = "TIME_BARRED"
	ReasonRightsClosed          = "RIGHTS_CLOSED"
	ReasonGenericRefused        = "GENERIC_REFUSED"
	ReasonGenericBaseLimit      = "GENERIC_BASE_LIMIT"
	ReasonTFRBase               = "TFR_BASE"
	ReasonALDNotRecognised      = "ALD_NOT_RECOGNISED"
	ReasonHorsParcours          = "HORS_PARCOURS"
	ReasonHeavyActFlat          = "HEAVY_ACT_FLAT"
	ReasonHeavyActImaging       = "HEAVY_ACT_IMAGING"
	ReasonExemptMaternity       = "EXEMPT_MATERNITY"
	ReasonExemptAME             = "EXEMPT_AME"
	ReasonExemptCSS             = "EXEMPT_CSS"
	ReasonExemptHospitalStay    = "EXEMPT_HOSPITAL_STAY"
	ReasonExemptMinor           = "EXEMPT_MINOR"
	ReasonExemptTerrorism       = "EXEMPT_TERRORISM"
	ReasonExemptWarPension      = "EXEMPT_WAR_PENSION"
	ReasonAMENotCovered         = "AME_NOT_COVERED"
	ReasonPFLimitedToAMO        = "PF_LIMITED_TO_AMO"
	ReasonPFDailyCount          = "PF_DAILY_COUNT_CAP"
	ReasonPFAnnualCap           = "PF_ANNUAL_CAP"
	ReasonFranchiseLimitedToAMO = "FRANCHISE_LIMITED_TO_AMO"
	ReasonFranchiseDailyCap     = "FRANCHISE_DAILY_CAP"
	ReasonFranchiseAnnualCap    = "FRANCHISE_ANNUAL_CAP"
	ReasonFeePackRejected       = "FEE_PACK_REJECTED"
	ReasonFeeComplexNotMet      = "FEE_COMPLEX_NOT_MET"
	ReasonExonerationNotApplies = "EXONERATION_NOT_APPLICABLE"
	ReasonExonerationKeepsTM    = "EXONERATION_KEEPS_TM"
)
