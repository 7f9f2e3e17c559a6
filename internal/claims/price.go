package claims

import (
	"errors"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tierspayant/tierspayant/internal/calendar"
	"github.com/tierspayant/tierspayant/internal/franchise"
	"github.com/tierspayant/tierspayant/internal/legal"
	"github.com/tierspayant/tierspayant/internal/money"
)

// Names of the traced amounts (Trace.Amount).
const (
	AmountBase                  = "base"
	AmountRate                  = "rate"
	AmountAMO                   = "amo"
	AmountTicketModerateur      = "ticket_moderateur"
	AmountPF                    = "participation_forfaitaire"
	AmountFranchise             = "franchise"
	AmountExcess                = "excess"
	AmountPayableToProfessional = "payable_to_professional"
	AmountPayableToPatient      = "payable_to_patient"
	AmountPatientShare          = "patient_share"
	AmountPatientDebt           = "patient_debt"
	AmountDebtBalance           = "debt_balance"
	AmountAmountToRecover       = "amount_to_recover"
	AmountHorsParcours          = "hors_parcours_majoration"
	AmountRegimeLocal           = "regime_local"
	// AmountOppositionJudgedOn is a claim-level trace without an amount: the
	// day the opposition list was judged at, when the declared creation was
	// older than P-OPP-1 allows (its Parameter holds the date).
	AmountOppositionJudgedOn = "opposition_judged_on"
)

const traceEntriesPerLine = 11

// Parameter ids read by the engine (internal/legal/params).
const (
	pTMPhysician       = "P-TM-1"
	pTMHorsParcours    = "P-TM-2"
	pTMHorsParcoursAge = "P-TM-2-AGE"
	pTMHorsParcoursCap = "P-TM-2-CAP"
	pTMPsychiatryAge   = "P-TM-2-PSY-AGE"
	pAMEBasket         = "P-AME-BASKET"
	pTMAuxiliary       = "P-TM-3"
	pTMBiology         = "P-TM-4"
	pTMDentist         = "P-TM-5"
	pTMDentalListed    = "P-TM-5-LISTED"
	pTMDentalMTDents   = "P-TM-5-MTDENTS"
	pTMDevice          = "P-TM-10"
	pTMFee             = "P-TM-FEE"
	pFeeComplex        = "P-FEE-COMPLEX"
	pTMR160_18         = "P-TM-R160-18"
	pContraceptionAge  = "P-EXO-CONTRACEPTION-AGE"
	pReversionAge      = "P-EXO-REVERSION-AGE"
	pRLPractitioner    = "P-RL-PRACTITIONER"
	pRLMedicine65      = "P-RL-MEDICINE-65"
	pRLMedicine30      = "P-RL-MEDICINE-30"
	pRLTransport       = "P-RL-TRANSPORT"
	pTMMidwife         = "P-TM-6"
	pTMMedicineRates   = "P-TM-7"
	pTMTransport       = "P-TM-8"
	pTMEmergency       = "P-TM-8c"
	pTMPharmacist      = "P-TM-PHARMACIST"
	pHeavyFlat         = "P-TM-11"
	pHeavyTariff       = "P-TM-11-TARIFF"
	pHeavyCoef         = "P-TM-11-COEF"
	pPFUnit            = "P-PF-1"
	pPFAnnualCount     = "P-PF-2"
	pPFAnnualAmount    = "P-PF-2-AMOUNT"
	pPFDailyCount      = "P-PF-3"
	pPFAge             = "P-PF-5"
	pFRMedicine        = "P-FR-1"
	pFRAuxiliary       = "P-FR-2"
	pFRTransport       = "P-FR-3"
	pFRDailyAuxiliary  = "P-FR-4"
	pFRDailyTransport  = "P-FR-5"
	pFRAnnualCap       = "P-FR-6"
	pFRAge             = "P-FR-9"
	pFRPharmacist      = "P-FR-10"
	pFRDailyPharmacist = "P-FR-10-DAILY"
	pMatBefore         = "P-MAT-1-BEFORE"
	pMatAfter          = "P-MAT-1-AFTER"
	pTimeBar           = "P-LIM-1"
	pDebtThreshold     = "P-TP-DEBT"
)

// pricer carries the state of one Price call.
type pricer struct {
	e          *Engine
	in         *Input
	out        *Priced
	adj        time.Time // adjudication date (docs/rules.md#dates)
	outOfTP    bool      // the whole claim is out of tiers payant (opposition, direct debit)
	violations []FieldViolation
	timeBar    legal.Value // P-LIM-1 on the receipt date

	// annual caps, looked up once per claim at the adjudication date
	pfCount, pfAmount, frCap legal.Value
	pfAmountSet              bool // an annual PF amount cap is in force (2024)
	pfCapOK, frCapOK         bool

	// heavy acts (docs/rules.md#heavy-act): per line, and the claim's sessions
	heavy    []heavyLine
	sessions []heavySession
}

func (p *pricer) reason(line int, code, article, msg string) {
	p.out.Decision.Reasons = append(p.out.Decision.Reasons, Reason{Code: code, Line: line, Article: article, Message: msg})
}

func (p *pricer) trace(t Trace) {
	p.out.Decision.Trace = append(p.out.Decision.Trace, t)
}

// claimLevel applies the rules that concern the whole claim: the opposition
// list (docs/rules.md#opposition) and the direct-debit threshold
// (docs/rules.md#direct-debit).
func (p *pricer) claimLevel() error {
	// The time bar in force on the receipt date (P-LIM-1, selected_by
	// receipt_date), for every line.
	bar, err := p.e.table.At(pTimeBar, p.adj)
	if err != nil {
		return err
	}
	p.timeBar = bar
	if !p.in.OppositionBound.IsZero() {
		b := p.in.OppositionBoundParam
		on := p.in.OppositionBound.Format(time.DateOnly)
		p.reason(-1, ReasonCreationBounded, citeCreationBound,
			"creation declared more than "+b.Text+" working days before receipt: the opposition list was judged as of "+on)
		p.trace(Trace{Line: -1, Amount: AmountOppositionJudgedOn, Value: decimal.Zero, Rule: ReasonCreationBounded,
			Article: citeCreationBound, ParameterID: b.RefID, Parameter: on})
	}
	if p.in.Opposed {
		// CSS art. L161-36-3 and L162-16-3-1: an opposed identifier bars
		// payment under tiers payant, for every profession.
		p.outOfTP = true
		p.reason(-1, ReasonCardInOpposition, citeOpposition,
			"identifier on the opposition list when the claim was created: no payment under tiers payant")
		return nil
	}
	// CSS art. L161-36-4 2°: above a threshold of unpaid deductions, tiers
	// payant requires the direct-debit authorisation.
	v, ok, err := p.e.table.Lookup(pDebtThreshold, p.adj)
	if err != nil || !ok {
		return err // no threshold configured (docs/rules.md#direct-debit)
	}
	if p.in.Rights.Debt.GreaterThan(v.Decimal) && !p.in.Rights.DirectDebitAuthorised {
		p.outOfTP = true
		p.reason(-1, ReasonDirectDebitRequired, citeDirectDebit,
			"unpaid participations and franchises above the threshold without a direct-debit authorisation: tiers payant refused")
	}
	return nil
}

// situation is what the engine knows of the beneficiary on a line's care date.
type situation struct {
	maternityPeriod bool   // maternity period (docs/rules.md#maternity)
	maternityExam   bool   // compulsory exam, or a claim billed to maternity
	period          string // the maternity period, for the trace
	ame, css, ald   bool
}

func (p *pricer) line(i int) error {
	l := &p.in.Claim.Lines[i]
	ld := &p.out.Decision.Lines[i]
	ld.LineID = l.ID
	care := calendar.Day(l.CareDate)
	zeroLine(ld) // a rejected line carries no amount, base included
	base := money.Cents(l.Base())

	// CSS art. L160-11: time bar (docs/rules.md#time-bar).
	bar := p.timeBar
	if p.adj.After(timeBarLimit(care, bar.Int())) {
		ld.Status = StatusRejected
		p.reason(i, ReasonTimeBarred, citeTimeBar,
			"received after the second anniversary of the first day of the quarter following the care")
		p.traceRejected(Trace{Line: i, Rule: "TIME_BARRED", Article: citeTimeBar, ParameterID: bar.RefID, Parameter: bar.Text})
		return nil
	}
	// Rights open on the care date (PUMa, or AME for its beneficiaries):
	// docs/rules.md#rights. With the card or the app not opposed, the
	// guarantee holds all the same: the line is paid and recovered from the
	// insured (L161-36-3, D161-13-2; docs/rules.md#guarantee).
	recover := false
	if !p.rightsOpen(care) {
		if !p.cardEvidence() {
			ld.Status = StatusRejected
			p.reason(i, ReasonRightsClosed, citeRightsClosed, "no open rights on the care date")
			p.traceRejected(Trace{Line: i, Rule: "RIGHTS_CLOSED", Article: citeRights})
			return nil
		}
		recover = true
		p.reason(i, ReasonRightsClosedToRecover, citeGuaranteeRecover,
			"rights closed on the care date, card or app not opposed: paid under the guarantee, to be recovered from the insured")
	}

	// CASF L251-2: the AME basket excludes 15 % medicines, spa cures and
	// medically assisted procreation (docs/rules.md#ame-basket).
	if anyContains(p.in.Rights.AME, care) {
		excl, ok, err := p.e.table.Lookup(pAMEBasket, care)
		if err != nil {
			return err
		}
		if what := ameExcluded(l, excl.Decimal); ok && what != "" {
			ld.Status = StatusRejected
			p.reason(i, ReasonAMENotCovered, citeAMEBasket, what+": not covered by the AME")
			p.traceRejected(Trace{Line: i, Rule: ReasonAMENotCovered, Article: citeAMEBasket, ParameterID: excl.RefID, Parameter: excl.Text})
			return nil
		}
	}

	if j, ok := p.packOf(l); ok && p.out.Decision.Lines[j].Status == StatusRejected && !p.in.Opposed {
		// A fee follows its pack: a pack not paid carries no fee.
		ld.Status = StatusRejected
		p.reason(i, ReasonFeePackRejected, citeFeeFollowsPack, "the pack this fee belongs to ("+l.AttachedTo+") is rejected")
		p.traceRejected(Trace{Line: i, Rule: ReasonFeePackRejected, Article: citeFeeFollowsPack})
		return nil
	}

	ld.Base = base
	ld.Status = StatusAccepted
	ld.TiersPayant = !p.outOfTP
	if p.in.Opposed {
		ld.Status = StatusRejected // priced for information only
	}

	// Base: the regulated tariff (docs/rules.md#base-tariff); medicines:
	// L162-16 II, III and V limits and the L162-16-7 refusal
	// (docs/rules.md#generic).
	baseRule, baseArticle, baseParamID, baseParam := "UNIT_PRICE_TIMES_QUANTITY", citeBaseTariff, "", ""
	if l.Category == CategoryMedicine {
		baseArticle = citeBaseMedicine
		m, err := p.medicine(l, care)
		if err != nil {
			return err
		}
		if m.limited {
			base = m.base
			ld.Base = base
			baseRule, baseArticle, baseParamID, baseParam = m.rule, m.article, m.paramID, m.param
			p.reason(i, m.reason, m.article, m.message)
		}
		if m.refusalOutOfTP {
			ld.TiersPayant = false
			p.reason(i, ReasonGenericRefused, citeGeneric,
				"generic substitution refused without a non-substitutable mention: line out of tiers payant")
		}
	}
	p.trace(Trace{Line: i, Amount: AmountBase, Value: base, Rule: baseRule, Article: baseArticle, ParameterID: baseParamID, Parameter: baseParam})

	sit, err := p.situation(l, care)
	if err != nil {
		return err
	}

	// Rate (L160-13 I, L160-9, L160-14; docs/rules.md#tm-rate).
	rt, err := p.rate(i, l, care, sit)
	if err != nil {
		return err
	}
	ld.Rate = rt.rate
	p.trace(Trace{Line: i, Amount: AmountRate, Value: rt.rate, Rule: rt.rule, Article: rt.article, ParameterID: rt.paramID, Parameter: rt.param})

	// AMO and ticket modérateur; heavy-act flat amount (docs/rules.md#heavy-act).
	amoTrace := Trace{Line: i, Amount: AmountAMO, Rule: "BASE_TIMES_RATE", Article: citeAMO, ParameterID: rt.paramID, Parameter: rt.param}
	tmTrace := Trace{Line: i, Amount: AmountTicketModerateur, Rule: "BASE_MINUS_AMO", Article: citeAMO}
	if tm, ok := p.heavyTM(i, base, rt.rate); ok {
		h := p.heavy[i]
		ld.HeavyActFlat = true
		ld.TicketModerateur = tm
		ld.AMO = base.Sub(tm)
		amoTrace.Article, tmTrace.Article = citeHeavyAct, citeHeavyAct
		amoTrace.ParameterID, amoTrace.Parameter = h.param.RefID, h.param.Text
		tmTrace.ParameterID, tmTrace.Parameter = h.param.RefID, h.param.Text
		if h.imaging {
			amoTrace.Rule, tmTrace.Rule = "HEAVY_IMAGING_BASE", "HEAVY_IMAGING_NO_PARTICIPATION"
			p.reason(i, ReasonHeavyActImaging, citeHeavyAct, "imaging act at the heavy-act threshold: no participation")
		} else {
			amoTrace.Rule, tmTrace.Rule = "HEAVY_ACT_BASE_MINUS_SHARE", "HEAVY_ACT_SESSION_SHARE"
			p.reason(i, ReasonHeavyActFlat, citeHeavyAct,
				"heavy-act session: one participation of at most "+h.param.Text+" for the session's acts, this line's share "+tm.StringFixed(2))
		}
	} else {
		ld.AMO = money.Cents(base.Mul(rt.rate))
		ld.TicketModerateur = base.Sub(ld.AMO)
	}
	// Hors parcours (L162-5-3, R160-6): the participation is increased on
	// top of the TM, the flat amount of a heavy act included.
	maj, err := p.horsParcours(i, l, care, sit, base)
	if err != nil {
		return err
	}
	if maj.Sign() > 0 {
		maj = decimal.Min(maj, ld.AMO)
		ld.HorsParcoursMajoration = maj
		ld.AMO = ld.AMO.Sub(maj)
		ld.TicketModerateur = ld.TicketModerateur.Add(maj)
		amoTrace.Rule += "_MINUS_HORS_PARCOURS"
		tmTrace.Rule += "_PLUS_HORS_PARCOURS"
	}
	// Régime local d'Alsace-Moselle (L325-1): its complement is part of
	// the AMO payment; PF and franchise stay due.
	if !ld.HeavyActFlat {
		local, t, err := p.regimeLocal(i, l, care, base, rt.rate)
		if err != nil {
			return err
		}
		if local.Sign() > 0 {
			ld.RegimeLocal = local
			ld.AMO = ld.AMO.Add(local)
			ld.TicketModerateur = ld.TicketModerateur.Sub(local)
			amoTrace.Rule += "_PLUS_REGIME_LOCAL"
			tmTrace.Rule += "_MINUS_REGIME_LOCAL"
		}
		if t != nil {
			p.trace(*t)
		}
	}
	amoTrace.Value, tmTrace.Value = ld.AMO, ld.TicketModerateur
	p.trace(amoTrace)
	p.trace(tmTrace)

	if l.BilledAmount.GreaterThan(base) {
		ld.Excess = money.Cents(l.BilledAmount.Sub(base))
	}
	p.trace(Trace{Line: i, Amount: AmountExcess, Value: ld.Excess, Rule: "BILLED_MINUS_BASE", Article: citeExcessFees})

	// The professional is paid the AMO amount under tiers payant, never
	// reduced by the deductions (docs/rules.md#payable).
	ptpRule := "AMO_UNDER_TIERS_PAYANT"
	switch {
	case ld.Status == StatusAccepted && ld.TiersPayant:
		ld.PayableToProfessional = ld.AMO
	case p.in.Opposed:
		ptpRule = "CARD_IN_OPPOSITION"
	default:
		ptpRule = "OUT_OF_TIERS_PAYANT"
	}
	p.trace(Trace{Line: i, Amount: AmountPayableToProfessional, Value: ld.PayableToProfessional, Rule: ptpRule, Article: citePayable})

	// Patient share at the counter (docs/rules.md#patient-share).
	shareRule := "TICKET_MODERATEUR_PLUS_EXCESS"
	switch {
	case !ld.TiersPayant:
		// Out of tiers payant the patient pays the professional's bill.
		ld.PatientShare = money.Cents(decimal.Max(l.BilledAmount, l.Base()))
		shareRule = "BILLED_AMOUNT_OUT_OF_TIERS_PAYANT"
	case sit.css:
		// The CSS pays the ticket modérateur as the complementary part
		// (docs/rules.md#css), but not the hors-parcours majoration
		// (L861-3: the patient bears it).
		ld.PatientShare = ld.Excess.Add(ld.HorsParcoursMajoration)
		shareRule = "CSS_PAYS_TICKET_MODERATEUR"
	default:
		ld.PatientShare = ld.TicketModerateur.Add(ld.Excess)
	}
	p.trace(Trace{Line: i, Amount: AmountPatientShare, Value: ld.PatientShare, Rule: shareRule, Article: citePatientShare})

	if recover {
		// Nothing is deducted from an insured without rights: the whole
		// payment is recovered from them.
		ld.AmountToRecover = ld.PayableToProfessional
		p.trace(Trace{Line: i, Amount: AmountAmountToRecover, Value: ld.AmountToRecover, Rule: ReasonRightsClosedToRecover, Article: citeGuaranteeRecover})
		p.traceNoDeduction(i, AmountPF, "NOT_CONSUMED_RIGHTS_CLOSED", citeGuaranteeRecover)
		p.traceNoDeduction(i, AmountFranchise, "NOT_CONSUMED_RIGHTS_CLOSED", citeGuaranteeRecover)
		return nil
	}
	return p.deductions(i, l, care, sit, ld)
}

// cardEvidence reports whether the claim carries the statutory guarantee:
// the carte Vitale or its app was used, it is not opposed, and the registry
// knows the beneficiary (L161-36-3, D161-13-2; docs/rules.md#guarantee).
func (p *pricer) cardEvidence() bool {
	if p.in.Opposed || p.in.BeneficiaryUnknown {
		return false
	}
	k := p.in.Claim.Identification.Kind
	return k == IdentificationVitaleCard || k == IdentificationVitaleApp
}

// traceRejected traces the zero amounts of a line rejected before pricing,
// each with the rule that rejected it (Finish adds the payable to the patient
// and the debt).
func (p *pricer) traceRejected(t Trace) {
	t.Value = decimal.Zero
	for _, a := range []string{AmountBase, AmountRate, AmountAMO, AmountTicketModerateur, AmountPF, AmountFranchise,
		AmountExcess, AmountPayableToProfessional, AmountPatientShare} {
		t.Amount = a
		p.trace(t)
	}
}

// zeroLine sets every amount of a line decision to an explicit 0.
func zeroLine(ld *LineDecision) {
	ld.Base, ld.Rate, ld.AMO, ld.TicketModerateur = decimal.Zero, decimal.Zero, decimal.Zero, decimal.Zero
	ld.ParticipationForfaitaire, ld.Franchise, ld.Excess = decimal.Zero, decimal.Zero, decimal.Zero
	ld.PayableToProfessional, ld.PayableToPatient = decimal.Zero, decimal.Zero
	ld.PatientShare, ld.PatientDebt = decimal.Zero, decimal.Zero
}

// timeBarLimit returns the last receipt date on which care is admissible:
// the years-th anniversary of the first day of the quarter following the care
// quarter, a period counted in years ending at the end of its anniversary day
// (L160-11; CPC art. 641; docs/rules.md#time-bar: care 2023-01-10 is
// admissible through 2025-04-01, barred from 2025-04-02).
func timeBarLimit(care time.Time, years int) time.Time {
	q := (int(care.Month()) - 1) / 3 // 0..3
	start := time.Date(care.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 3, 0)
	return anniversary(start, years)
}

// anniversary returns the day a period of the given years that starts on
// start expires (CPC art. 641, 2nd paragraph): the day of the same number in
// the same month, or the last day of the month when that day does not exist
// (a period starting on 29 February ends on 28 February of a common year,
// not on 1 March as time.AddDate would give).
func anniversary(start time.Time, years int) time.Time {
	y, m, d := start.Date()
	end := time.Date(y+years, m, d, 0, 0, 0, 0, time.UTC)
	if end.Month() != m { // the day does not exist: normalised into the next month
		end = time.Date(y+years, m+1, 0, 0, 0, 0, 0, time.UTC)
	}
	return end
}

// rightsOpen reports whether the beneficiary has open rights on day: PUMa
// rights, or the AME for its beneficiaries.
func (p *pricer) rightsOpen(day time.Time) bool {
	return anyContains(p.in.Rights.Open, day) || anyContains(p.in.Rights.AME, day)
}

func anyContains(ps []Period, day time.Time) bool {
	for _, pr := range ps {
		if (Period{From: calendar.Day(pr.From), To: dateOrZero(pr.To)}).Contains(day) {
			return true
		}
	}
	return false
}

func dateOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return calendar.Day(t)
}

func (p *pricer) situation(l *Line, care time.Time) (situation, error) {
	r := &p.in.Rights
	// TODO(legal): before the maternity period only compulsory pregnancy
	// examinations are at 100 % (L160-9 1°); a claim billed to maternity
	// insurance is also taken at 100 % without deductions on any date, as
	// L160-9 2° and 3° cover other pregnancy-related care listed by arrêté
	// and some transports whatever the date. The engine cannot check the
	// arrêté's list and trusts the nature. To confirm
	// (docs/rules.md#maternity).
	s := situation{
		ame:           anyContains(r.AME, care),
		css:           anyContains(r.CSS, care),
		ald:           l.aldRelated() && anyContains(r.ALD, care),
		maternityExam: l.MaternityExam || l.Exoneration == ExonerationMaternity || p.in.Claim.Nature == NatureMaternite,
	}
	if len(r.Pregnancies) == 0 {
		return s, nil
	}
	before, err := p.e.table.At(pMatBefore, care)
	if err != nil {
		return s, err
	}
	after, err := p.e.table.At(pMatAfter, care)
	if err != nil {
		return s, err
	}
	for _, pg := range r.Pregnancies {
		from, to := maternityPeriod(pg, before.Int(), after.Int())
		if !care.Before(from) && !care.After(to) {
			s.maternityPeriod = true
			s.period = from.Format(time.DateOnly) + "/" + to.Format(time.DateOnly)
			break
		}
	}
	return s, nil
}

// maternityPeriod returns the maternity-insurance period of a pregnancy
// (L160-9, D160-3; docs/rules.md#maternity): from the expected delivery date
// minus monthsBefore through the actual delivery date (the expected one while
// none is recorded) plus daysAfter, both ends included; a birth before that
// start opens the period on the birth date.
func maternityPeriod(pg Pregnancy, monthsBefore, daysAfter int) (from, to time.Time) {
	expected := calendar.Day(pg.ExpectedDelivery)
	from = addMonths(expected, -monthsBefore)
	end := expected
	if !pg.ActualDelivery.IsZero() {
		end = calendar.Day(pg.ActualDelivery)
		if end.Before(from) {
			from = end
		}
	}
	return from, end.AddDate(0, 0, daysAfter)
}

// addMonths moves day by n calendar months, keeping its day of the month, or
// the last day of the target month when that month is shorter (a period
// counted in months ends on the same day number or, failing it, on the last
// day of the month, as in Code de procédure civile art. 641). time.AddDate
// would instead overflow into the next month: 30 June − 4 months would give
// 2 March, not 28 February.
func addMonths(day time.Time, n int) time.Time {
	y, m, dd := day.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(dd, last), 0, 0, 0, 0, time.UTC)
}

type rateChoice struct {
	rate           decimal.Decimal
	rule, article  string
	paramID, param string
}

func (p *pricer) rate(i int, l *Line, care time.Time, s situation) (rateChoice, error) {
	full := p.e.full
	switch {
	case s.maternityPeriod:
		return rateChoice{rate: full, rule: "MATERNITY_PERIOD", article: citeMaternityPeriod, paramID: "P-MAT-1", param: s.period}, nil
	case s.ame:
		return rateChoice{rate: full, rule: "AME", article: citeAME}, nil
	case s.maternityExam:
		return rateChoice{rate: full, rule: "MATERNITY_EXAM", article: citeMaternity}, nil
	case l.Exoneration == ExonerationTerrorism:
		return rateChoice{rate: full, rule: ReasonExemptTerrorism, article: citeTerrorism}, nil
	case l.Exoneration == ExonerationWarPension:
		return rateChoice{rate: full, rule: ReasonExemptWarPension, article: citeWarPension}, nil
	}
	if l.Category == CategoryEmergencyTransport {
		v, ok, err := p.e.table.Lookup(pTMEmergency, care)
		if err != nil {
			return rateChoice{}, err
		}
		if ok {
			return rateChoice{rate: v.Decimal, rule: "EMERGENCY_TRANSPORT", article: citeEmergency, paramID: v.RefID, param: v.Text}, nil
		}
		// Before the LFSS 2023 the ordinary rules apply: ALD below, else
		// the transport rate (still without franchise, L160-13 III 3°).
	}
	if s.ald {
		return rateChoice{rate: full, rule: "ALD", article: citeALD}, nil
	}
	if l.aldRelated() {
		p.reason(i, ReasonALDNotRecognised, citeALD,
			"line marked ALD-related but no ALD recognised on the care date: ordinary rate")
	}
	if rc, ok, err := p.exonerated(i, l, care); err != nil || ok {
		return rc, err
	}
	switch l.Category {
	case CategoryDispensingFee:
		return p.feeRate(i, l, care)
	case CategoryMedicalDevice:
		// The product's rate, checked against P-TM-10 (productRates).
		v, err := p.e.table.At(pTMDevice, care)
		if err != nil {
			return rateChoice{}, err
		}
		return rateChoice{rate: l.ProductRate, rule: "DEVICE_RATE", article: citeDeviceRate, paramID: v.RefID, param: l.ProductRate.StringFixed(2)}, nil
	case CategoryMedicine:
		v, err := p.e.table.At(pTMMedicineRates, care)
		if err != nil {
			return rateChoice{}, err
		}
		if !v.Contains(l.ProductRate) {
			p.violations = append(p.violations, FieldViolation{
				Field:       "lines[" + strconv.Itoa(i) + "].product_rate",
				Description: "not a medicine reimbursement rate allowed on the care date",
			})
		}
		return rateChoice{rate: l.ProductRate, rule: "PRODUCT_RATE", article: citeMedicineRate, paramID: v.RefID, param: l.ProductRate.StringFixed(2)}, nil
	case CategoryPhysician:
		// Hors parcours is a majoration on top of this rate
		// (docs/rules.md#hors-parcours), see horsParcours.
		return p.tableRate(pTMPhysician, care, "TM_RATE_PHYSICIAN", citeRate)
	case CategoryMidwife:
		return p.tableRate(pTMMidwife, care, "TM_RATE_MIDWIFE", citeRateUNCAM)
	case CategoryAuxiliary:
		return p.tableRate(pTMAuxiliary, care, "TM_RATE_AUXILIARY", citeRate)
	case CategoryDentist:
		if l.ActFamily == ActFamilyDentalPrevention {
			v, ok, err := p.e.table.Lookup(pTMDentalMTDents, care)
			if err != nil {
				return rateChoice{}, err
			}
			if ok {
				return rateChoice{rate: v.Decimal, rule: "DENTAL_PREVENTION", article: citeDentalPrevention, paramID: v.RefID, param: v.Text}, nil
			}
			// From 2025-04-01 the exam and its care take the ordinary rate.
		}
		if l.ActFamily == ActFamilyDentalListed {
			// Before 2023-10-15 every dental act is at P-TM-5's 70 %.
			if v, ok, err := p.e.table.Lookup(pTMDentalListed, care); err != nil || ok {
				return rateChoice{rate: v.Decimal, rule: "TM_RATE_DENTAL_LISTED_ACT", article: citeDentalListed, paramID: v.RefID, param: v.Text}, err
			}
		}
		return p.tableRate(pTMDentist, care, "TM_RATE_DENTIST", citeDental)
	case CategoryBiology:
		return p.tableRate(pTMBiology, care, "TM_RATE_BIOLOGY", citeRateUNCAM)
	case CategoryTransport, CategoryEmergencyTransport:
		return p.tableRate(pTMTransport, care, "TM_RATE_TRANSPORT", citeRate)
	case CategoryPharmacistService:
		// R160-5 17°: 70 % from 2021-09-01 (docs/rules.md#pharmacist-services).
		return p.tableRate(pTMPharmacist, care, "TM_RATE_PHARMACIST_SERVICE", citePharmacistRate)
	}
	return rateChoice{}, errors.New("claims: unknown category") // unreachable after validation
}

func (p *pricer) tableRate(id string, care time.Time, rule, article string) (rateChoice, error) {
	v, err := p.e.table.At(id, care)
	if err != nil {
		return rateChoice{}, err
	}
	return rateChoice{rate: v.Decimal, rule: rule, article: article, paramID: v.RefID, param: v.Text}, nil
}

// deductions decides which of the participation forfaitaire (L160-13 II) and
// the franchise (L160-13 III) the line owes, and requests them.
func (p *pricer) deductions(i int, l *Line, care time.Time, s situation, ld *LineDecision) error {
	var ded franchise.Deduction
	var kind franchise.Kind
	switch l.Category {
	case CategoryPhysician, CategoryBiology:
		ded = franchise.DeductionPF
	case CategoryMedicine:
		ded, kind = franchise.DeductionFranchise, franchise.KindMedicament
	case CategoryAuxiliary:
		ded, kind = franchise.DeductionFranchise, franchise.KindActeParamedical
	case CategoryTransport:
		// TODO(legal): L160-13 III 3° excepts "transports d'urgence"; only
		// CategoryEmergencyTransport (SAMU/centre 15) is treated as one. A
		// CategoryTransport line with Emergency set still owes the franchise.
		ded, kind = franchise.DeductionFranchise, franchise.KindTransport
	case CategoryPharmacistService:
		ded, kind = franchise.DeductionFranchise, franchise.KindPrestationPharmacien
	case CategoryDispensingFee:
		// D22: a fee bears neither; its pack's franchise is limited by the
		// pack's and the fee's AMO together (packFeeLimits).
		p.traceNoDeduction(i, AmountPF, "PF_NOT_ON_FEE", citeFeeNoDeduct)
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_ON_FEE", citeFeeNoDeduct)
		return nil
	case CategoryMedicalDevice:
		// D23: L160-13 III names four franchise categories, devices are not
		// one; no PF either.
		p.traceNoDeduction(i, AmountPF, "PF_NOT_ON_DEVICE", citeDeviceNoDeduct)
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_ON_DEVICE", citeDeviceNoDeduct)
		return nil
	case CategoryEmergencyTransport:
		// L160-13 III 3°: no franchise on emergency transport.
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_EMERGENCY_TRANSPORT", citeEmergencyNoFr)
		p.traceNoDeduction(i, AmountPF, "PF_NOT_IN_SCOPE", citePF)
		return nil
	default:
		p.traceNoDeduction(i, AmountPF, "PF_NOT_IN_SCOPE", citePF)
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_IN_SCOPE", citeFranchiseNotScope)
		return nil
	}
	if l.Kind == LineKindComplement {
		// D27: a complement (majoration, travel allowance) is not an act:
		// it bears neither the PF nor the franchise.
		p.traceNoDeduction(i, AmountPF, "PF_NOT_ON_COMPLEMENT", citeComplementNoDeduct)
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_ON_COMPLEMENT", citeComplementNoDeduct)
		return nil
	}
	if ded == franchise.DeductionPF && l.ActFamily == ActFamilyBiologySampling {
		// D160-8, 2nd sentence: only the biology exam bears the PF, not the
		// sampling act done for it.
		p.traceNoDeduction(i, AmountPF, "PF_NOT_ON_SAMPLING", citePFSampling)
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_IN_SCOPE", citeFranchiseNotScope)
		return nil
	}
	amount, article, hospital := AmountPF, citePF, citeHospitalPF
	if ded == franchise.DeductionFranchise {
		amount, article, hospital = AmountFranchise, citeFranchise, citeHospitalFr
		p.traceNoDeduction(i, AmountPF, "PF_NOT_IN_SCOPE", citePF)
	} else {
		p.traceNoDeduction(i, AmountFranchise, "FRANCHISE_NOT_IN_SCOPE", citeFranchiseNotScope)
	}
	if ld.Status != StatusAccepted {
		// An opposed claim consumes nothing (docs/rules.md#opposition).
		p.traceNoDeduction(i, amount, "NOT_CONSUMED_CARD_IN_OPPOSITION", citeOppositionNoDeduct)
		return nil
	}

	// Exemptions (L160-9, L160-13, L160-15, CASF L251-2;
	// docs/rules.md#exemptions).
	ageID := pPFAge
	if ded == franchise.DeductionFranchise {
		ageID = pFRAge
	}
	exemption, exArticle, exParam := "", "", legal.Value{}
	switch {
	case s.maternityPeriod || s.maternityExam:
		exemption, exArticle = ReasonExemptMaternity, citeMaternity
	case s.ame:
		exemption, exArticle = ReasonExemptAME, citeAME
	case l.Exoneration == ExonerationTerrorism:
		exemption, exArticle = ReasonExemptTerrorism, citeTerrorism
	case l.Exoneration == ExonerationWarPension:
		exemption, exArticle = ReasonExemptWarPension, citeWarPension
	case s.css:
		exemption, exArticle = ReasonExemptCSS, citeCSS
	case l.DuringHospitalStay && hospitalStayExempt(ded, kind):
		exemption, exArticle = ReasonExemptHospitalStay, hospital
	default:
		age, err := p.e.table.At(ageID, care)
		if err != nil {
			return err
		}
		// R160-20: the age is assessed on 1 January of the care year.
		jan1 := time.Date(care.Year(), time.January, 1, 0, 0, 0, 0, time.UTC)
		if ageOn(p.in.Rights.BirthDate, jan1) < age.Int() {
			exemption, exArticle, exParam = ReasonExemptMinor, citeMinor, age
		}
	}
	if exemption != "" {
		p.reason(i, exemption, exArticle, exemptionMessage(exemption))
		p.trace(Trace{Line: i, Amount: amount, Value: decimal.Zero, Rule: exemption, Article: exArticle, ParameterID: exParam.RefID, Parameter: exParam.Text})
		return nil
	}

	req := franchise.Request{
		Line:         i,
		Deduction:    ded,
		Kind:         kind,
		CareDate:     care,
		Professional: p.in.Claim.Professional.ID,
		Units:        l.Quantity,
		LineLimit:    ld.AMO,
	}
	if ded == franchise.DeductionPF && l.Quantity > 1 {
		// D9′: the PF never exceeds the AMO amount of its act, one act at a
		// time: the line's AMO divided by its quantity, rounded down to the
		// cent so that the participations never add up above the line's AMO
		// (docs/rules.md#pf-line-limit).
		req.LineLimit = ld.AMO.Div(decimal.NewFromInt(int64(l.Quantity))).RoundFloor(2)
	}
	src := DeductionSource{Article: article, LineLimit: req.LineLimit.StringFixed(2)}
	if ded == franchise.DeductionPF {
		unit, err := p.e.table.At(pPFUnit, care)
		if err != nil {
			return err
		}
		req.UnitAmount, src.Unit = unit.Decimal, paramValue(unit)
		count, ok, err := p.e.table.Lookup(pPFDailyCount, care)
		if err != nil {
			return err
		}
		if ok { // no daily limit before it was introduced
			req.DailyCount, src.Daily = count.Int(), paramValue(count)
		}
		// D160-6: a number of participations a year (50, then 25 from
		// 2025), and in 2024 also an amount (docs/rules.md#pf-annual-cap).
		if !p.pfCapOK {
			if p.pfCount, err = p.e.table.At(pPFAnnualCount, p.adj); err != nil {
				return err
			}
			if p.pfAmount, p.pfAmountSet, err = p.e.table.Lookup(pPFAnnualAmount, p.adj); err != nil {
				return err
			}
			p.pfCapOK = true
		}
		req.AnnualCount, src.Annual = p.pfCount.Int(), paramValue(p.pfCount)
		if p.pfAmountSet {
			req.HasAnnualCap, req.AnnualCap, src.AnnualAmount = true, p.pfAmount.Decimal, paramValue(p.pfAmount)
		}
	} else {
		unitID, dailyID := pFRMedicine, ""
		switch kind {
		case franchise.KindActeParamedical:
			unitID, dailyID = pFRAuxiliary, pFRDailyAuxiliary
		case franchise.KindTransport:
			unitID, dailyID = pFRTransport, pFRDailyTransport
		case franchise.KindPrestationPharmacien:
			unitID, dailyID = pFRPharmacist, pFRDailyPharmacist
		}
		unit, ok, err := p.e.table.Lookup(unitID, care)
		switch {
		case err != nil:
			return err
		case !ok && kind == franchise.KindPrestationPharmacien:
			// The 4th franchise category exists from 2021-09-01 only.
			p.trace(Trace{Line: i, Amount: amount, Value: decimal.Zero, Rule: "FRANCHISE_NOT_IN_FORCE", Article: citePharmacistFr})
			return nil
		case !ok:
			_, err = p.e.table.At(unitID, care) // the ErrNoValueAt error, naming series and date
			return err
		}
		req.UnitAmount, src.Unit = unit.Decimal, paramValue(unit)
		if dailyID != "" {
			daily, ok, err := p.e.table.Lookup(dailyID, care)
			if err != nil {
				return err
			}
			if ok { // else no daily cap configured for this category
				req.HasDailyCap, req.DailyCap, src.Daily = true, daily.Decimal, paramValue(daily)
			}
		}
		if !p.frCapOK {
			if p.frCap, err = p.e.table.At(pFRAnnualCap, p.adj); err != nil {
				return err
			}
			p.frCapOK = true
		}
		req.AnnualCap, src.Annual = p.frCap.Decimal, paramValue(p.frCap)
	}
	p.out.Requests = append(p.out.Requests, req)
	p.out.Sources = append(p.out.Sources, src)
	return nil
}

// horsParcours returns the hors-parcours majoration of a line (L162-5-3,
// R160-6, D162-1-6, D162-1-7; docs/rules.md#hors-parcours): on a physician
// line marked ParcoursHors for a patient aged P-TM-2-AGE or more, P-TM-2 of
// the base, at most P-TM-2-CAP per act when a cap is in force. None in an
// emergency (a line flagged Emergency), for an AME beneficiary (outside the
// parcours de soins), for the care of a recognised ALD's protocol
// (D162-1-6 3°), under maternity insurance (no participation to increase)
// and with a direct-access specialist (D162-1-7). Beneficiaries exonerated
// under L160-14 otherwise bear it (R160-6). Every outcome is traced.
func (p *pricer) horsParcours(i int, l *Line, care time.Time, s situation, base decimal.Decimal) (decimal.Decimal, error) {
	if l.Category != CategoryPhysician || l.Parcours != ParcoursHors {
		return decimal.Zero, nil
	}
	none := func(rule, article string, v legal.Value) (decimal.Decimal, error) {
		p.trace(Trace{Line: i, Amount: AmountHorsParcours, Value: decimal.Zero, Rule: rule, Article: article, ParameterID: v.RefID, Parameter: v.Text})
		return decimal.Zero, nil
	}
	switch {
	case l.Emergency:
		return none("HORS_PARCOURS_EMERGENCY", citeHorsParcours, legal.Value{})
	case s.ame:
		return none("HORS_PARCOURS_NOT_FOR_AME", citeHorsParcoursAME, legal.Value{})
	case s.ald:
		return none("HORS_PARCOURS_ALD_PROTOCOL", citeHorsParcoursCases, legal.Value{})
	case s.maternityPeriod || s.maternityExam:
		return none("HORS_PARCOURS_MATERNITY", citeMaternity, legal.Value{})
	case l.Exoneration == ExonerationTerrorism:
		return none("HORS_PARCOURS_"+ReasonExemptTerrorism, citeTerrorism, legal.Value{})
	case l.Exoneration == ExonerationWarPension:
		return none("HORS_PARCOURS_"+ReasonExemptWarPension, citeWarPension, legal.Value{})
	}
	age, err := p.e.table.At(pTMHorsParcoursAge, care)
	if err != nil {
		return decimal.Zero, err
	}
	patientAge := ageOn(p.in.Rights.BirthDate, care)
	if patientAge < age.Int() {
		return none("HORS_PARCOURS_UNDER_AGE", citeHorsParcours, age)
	}
	switch p.in.Claim.Professional.Specialty {
	case SpecialtyGynaecology, SpecialtyOphthalmology:
		return none("HORS_PARCOURS_DIRECT_ACCESS", citeDirectAccess, legal.Value{})
	case SpecialtyPsychiatry, SpecialtyNeuropsychiatry:
		band, ok, err := p.e.table.Lookup(pTMPsychiatryAge, care)
		if err != nil {
			return decimal.Zero, err
		}
		if !ok || patientAge <= band.Int() {
			return none("HORS_PARCOURS_DIRECT_ACCESS", citeDirectAccess, band)
		}
	}
	points, err := p.e.table.At(pTMHorsParcours, care)
	if err != nil {
		return decimal.Zero, err
	}
	maj := money.Cents(base.Mul(points.Decimal))
	t := Trace{Line: i, Amount: AmountHorsParcours, Rule: "HORS_PARCOURS_MAJORATION", Article: citeHorsParcoursCap, ParameterID: points.RefID, Parameter: points.Text}
	capV, ok, err := p.e.table.Lookup(pTMHorsParcoursCap, care)
	if err != nil {
		return decimal.Zero, err
	}
	if ok {
		if c := money.Cents(capV.Decimal.Mul(decimal.NewFromInt(int64(l.Quantity)))); c.LessThan(maj) {
			maj = c
			t.Rule, t.ParameterID, t.Parameter = "HORS_PARCOURS_MAJORATION_CAPPED", capV.RefID, capV.Text
		}
	}
	t.Value = maj
	p.trace(t)
	p.reason(i, ReasonHorsParcours, citeHorsParcoursCap,
		"outside the coordinated-care pathway: ticket modérateur increased by the hors-parcours majoration")
	return maj, nil
}

// ameExcluded names what puts a line outside the AME basket (CASF L251-2;
// docs/rules.md#ame-basket), or "" when the AME covers it: a medicine at the
// excluded rate (P-AME-BASKET), a spa cure, medically assisted procreation.
func ameExcluded(l *Line, medicineRate decimal.Decimal) string {
	switch {
	case l.Category == CategoryMedicine && l.ProductRate.Equal(medicineRate):
		return "medicine at 15 %"
	case l.ActFamily == ActFamilySpaCure:
		return "spa cure"
	case l.ActFamily == ActFamilyAssistedProcreation:
		return "medically assisted procreation"
	}
	return ""
}

// hospitalStayExempt reports whether a deduction is excluded for care during
// a hospital stay. CSS art. L160-13 II excludes the participation forfaitaire
// on acts and consultations given during a hospitalisation, and III 1° and 2°
// exclude the franchise on medicines and auxiliaries' acts given during it;
// III 3° (transports) excepts emergency transports only and III 4°
// (pharmacist services) has no such exception, so those franchises stay due.
// The law prevails here over a wider reading ("no deduction on care during a
// hospital stay"); see docs/rules.md#hospital-stay.
func hospitalStayExempt(ded franchise.Deduction, kind franchise.Kind) bool {
	if ded == franchise.DeductionPF {
		// TODO(legal): II excludes hospital acts in its sentence on
		// physicians; its sentence on biology ("également cette
		// participation pour tout acte de biologie médicale") is read as
		// carrying the same exclusion (docs/rules.md#hospital-stay). To confirm.
		return true
	}
	return kind == franchise.KindMedicament || kind == franchise.KindActeParamedical
}

func (p *pricer) traceNoDeduction(i int, amount, rule, article string) {
	p.trace(Trace{Line: i, Amount: amount, Value: decimal.Zero, Rule: rule, Article: article})
}

func paramValue(v legal.Value) ParamValue {
	return ParamValue{ID: v.RefID, Value: v.Text}
}

func exemptionMessage(e string) string {
	switch e {
	case ReasonExemptMaternity:
		return "maternity insurance: no participation forfaitaire or franchise"
	case ReasonExemptAME:
		return "AME beneficiary: no participation forfaitaire or franchise"
	case ReasonExemptCSS:
		return "CSS beneficiary: no participation forfaitaire or franchise"
	case ReasonExemptHospitalStay:
		return "care during a hospital stay: no participation forfaitaire or franchise"
	case ReasonExemptMinor:
		return "under the age limit on 1 January of the care year: no participation forfaitaire or franchise"
	case ReasonExemptTerrorism:
		return "care related to an act of terrorism: no participation forfaitaire or franchise"
	case ReasonExemptWarPension:
		return "care related to a war pension: no participation forfaitaire or franchise"
	}
	return ""
}

// guarantee decides the payment guarantee (CSS art. L161-36-3; D161-13-2;
// docs/rules.md#guarantee): the card or the app, not opposed, gives it, even
// when the registry shows the rights closed (those lines are paid and
// recovered); an ADRi check, an attestation or no proof never does.
func (p *pricer) guarantee() Guarantee {
	if p.cardEvidence() {
		return GuaranteeGuaranteed
	}
	return GuaranteeNone
}

// ageOn returns the age in whole years on day of someone born on birth. A
// birthday on 29 February is reached on 1 March in common years.
func ageOn(birth, day time.Time) int {
	by, bm, bd := birth.Date()
	dy, dm, dd := day.Date()
	age := dy - by
	if dm < bm || (dm == bm && dd < bd) {
		age--
	}
	return age
}

// packOf returns the index of the pack a dispensing fee is attached to.
func (p *pricer) packOf(l *Line) (int, bool) {
	if l.Category != CategoryDispensingFee || l.AttachedTo == "" {
		return 0, false
	}
	for j := range p.in.Claim.Lines {
		if p.in.Claim.Lines[j].ID == l.AttachedTo {
			return j, true
		}
	}
	return 0, false // unreachable after validation
}

// feeRate is the rate of a dispensing fee (D22; docs/rules.md#dispensing-fee):
// its pack's, for a fee attached to one (R160-5 6° and 14° name the fee with
// its medicine; a costly irreplaceable medicine's fee is at 100 %, R160-8);
// 100 % for a complex-prescription fee when the dispensing has at least
// P-FEE-COMPLEX lines of different reimbursable specialties (R160-7) and
// for a prescription-level fee of a prescription holding a medicine at 100 %
// (R160-8); P-TM-FEE otherwise.
func (p *pricer) feeRate(i int, l *Line, care time.Time) (rateChoice, error) {
	if j, ok := p.packOf(l); ok {
		pack := &p.out.Decision.Lines[j]
		return rateChoice{rate: pack.Rate, rule: "FEE_FOLLOWS_PACK", article: citeFeeFollowsPack, param: l.AttachedTo}, nil
	}
	specialties := map[string]bool{}
	costly := false
	for j := range p.in.Claim.Lines {
		m := &p.in.Claim.Lines[j]
		if m.Category != CategoryMedicine || m.PrescriptionID != l.PrescriptionID || p.out.Decision.Lines[j].Status == StatusRejected && !p.in.Opposed {
			continue
		}
		code := m.SpecialtyCode
		if code == "" {
			code = m.Code
		}
		specialties[code] = true
		costly = costly || m.ProductRate.Equal(p.e.full)
	}
	if l.FeeKind == FeeKindComplexPrescription {
		n, ok, err := p.e.table.Lookup(pFeeComplex, care)
		if err != nil {
			return rateChoice{}, err
		}
		if ok && len(specialties) >= n.Int() {
			return rateChoice{rate: p.e.full, rule: "FEE_COMPLEX_PRESCRIPTION", article: citeFeeComplex, paramID: n.RefID, param: n.Text}, nil
		}
		have, need := strconv.Itoa(len(specialties)), "P-FEE-COMPLEX"
		if ok {
			need = n.Text
		}
		p.reason(i, ReasonFeeComplexNotMet, citeFeeComplex,
			have+" different specialties dispensed for this prescription, fewer than "+need+": ordinary fee rate")
	}
	if costly {
		return rateChoice{rate: p.e.full, rule: "FEE_COSTLY_MEDICINE", article: citeFeeCostly}, nil
	}
	return p.tableRate(pTMFee, care, "TM_RATE_DISPENSING_FEE", citeFeeRate)
}

// packFeeLimits raises the franchise limit of every pack that has a fee to
// the AMO of the pack and its fee together (D160-9 a: the franchise is due
// per pack, "comprising the medicine and its dispensing fee").
func (p *pricer) packFeeLimits() {
	for i := range p.in.Claim.Lines {
		l := &p.in.Claim.Lines[i]
		j, ok := p.packOf(l)
		if !ok {
			continue
		}
		fee := p.out.Decision.Lines[i].AMO
		for k := range p.out.Requests {
			r := &p.out.Requests[k]
			if r.Line == j && r.Deduction == franchise.DeductionFranchise {
				r.LineLimit = r.LineLimit.Add(fee)
				if k < len(p.out.Sources) {
					p.out.Sources[k].LineLimit = r.LineLimit.StringFixed(2)
					p.out.Sources[k].Article = citeFeePackLimit
					p.out.Sources[k].FeeLine = i + 1
				}
			}
		}
	}
}

// aldRelated reports whether the line claims the ALD protocol, by its flag
// or its exoneration code.
func (l *Line) aldRelated() bool { return l.ALDRelated || l.Exoneration == ExonerationALD }

// exonerated decides the exonerations that remove the ticket modérateur
// only (docs/rules.md#line-exoneration, docs/rules.md#exonerated-persons):
// the line's ground (L160-14, R160-17 I) when its conditions hold, else the
// beneficiary's R160-10 status on the care date. The 30 % and 15 %
// medicines and their fees keep their participation (R160-18). An
// exoneration whose condition fails is priced at the ordinary rate with
// EXONERATION_NOT_APPLICABLE.
func (p *pricer) exonerated(i int, l *Line, care time.Time) (rateChoice, bool, error) {
	rule, article := "", ""
	notApplicable := func(msg string) {
		p.reason(i, ReasonExonerationNotApplies, article, msg+": ordinary rate")
		rule = ""
	}
	switch l.Exoneration {
	case ExonerationInfertility:
		rule, article = "EXEMPT_INFERTILITY", citeExoInfertility
	case ExonerationOrganDonor:
		rule, article = "EXEMPT_ORGAN_DONOR", citeExoDonor
	case ExonerationIVG:
		rule, article = "EXEMPT_IVG", citeExoIVG
	case ExonerationEmergencyContraception:
		rule, article = "EXEMPT_EMERGENCY_CONTRACEPTION", citeExoEmergencyContr
		if l.Category != CategoryMedicine {
			notApplicable("emergency contraception covers the medicine")
		}
	case ExonerationPrevention:
		rule, article = "EXEMPT_PREVENTION", citeExoPrevention
	case ExonerationVaccine:
		rule, article = "EXEMPT_VACCINE", citeExoVaccine
		if l.Category != CategoryMedicine {
			notApplicable("a vaccine's exoneration covers the vaccine, not its injection")
		}
	case ExonerationContraception:
		rule, article = "EXEMPT_CONTRACEPTION", citeExoContraception
		v, ok, err := p.e.table.Lookup(pContraceptionAge, care)
		if err != nil {
			return rateChoice{}, false, err
		}
		if !ok || ageOn(p.in.Rights.BirthDate, care) >= v.Int() {
			limit := "no age limit in force on the care date"
			if ok {
				limit = "insured aged " + v.Text + " or more"
			}
			notApplicable(limit)
		}
	}
	paramID, param := "", ""
	if rule == "" {
		for _, st := range p.in.Rights.Statuses {
			if !anyContains([]Period{st.Period}, care) {
				continue
			}
			switch st.Kind {
			case StatusInvalidityPension:
				rule, article = "EXEMPT_INVALIDITY_PENSION", citeExoStatus
			case StatusL341_15_16:
				rule, article = "EXEMPT_L341_15_16", citeExoStatus
			case StatusATRentier:
				rule, article = "EXEMPT_AT_RENTIER", citeExoStatus
			case StatusATRentierDependant:
				rule, article = "EXEMPT_AT_RENTIER_DEPENDANT", citeExoATDependant
			case StatusReversionInvalidity:
				v, ok, err := p.e.table.Lookup(pReversionAge, care)
				if err != nil {
					return rateChoice{}, false, err
				}
				if ok && ageOn(p.in.Rights.BirthDate, care) >= v.Int() {
					rule, article, paramID, param = "EXEMPT_REVERSION_INVALIDITY", citeExoStatus, v.RefID, v.Text
				}
			}
			if rule != "" {
				break
			}
		}
	}
	if rule == "" {
		return rateChoice{}, false, nil
	}
	rates, ok, err := p.e.table.Lookup(pTMR160_18, care)
	if err != nil {
		return rateChoice{}, false, err
	}
	product := l.ProductRate
	if j, attached := p.packOf(l); attached {
		product = p.in.Claim.Lines[j].ProductRate
	}
	if ok && (l.Category == CategoryMedicine || l.Category == CategoryDispensingFee && l.AttachedTo != "") && rates.Contains(product) {
		p.reason(i, ReasonExonerationKeepsTM, citeExoKeepsTM,
			"medicine at "+product.StringFixed(2)+" (or its fee): the exonerated person keeps its participation")
		return rateChoice{}, false, nil
	}
	return rateChoice{rate: p.e.full, rule: rule, article: article, paramID: paramID, param: param}, true, nil
}

// regimeLocal returns the régime local complement of a line
// (docs/rules.md#regime-local): for a beneficiary under the régime local on
// the care date, the difference between the line's base at the régime's
// global rate for its kind of care and its AMO at the general rate, when
// positive. The global rates: P-RL-PRACTITIONER for physicians, midwives,
// dentists, auxiliaries and biology; P-RL-MEDICINE-65 and -30 for the 65 %
// and 30 % medicines (none for the 15 % ones), a fee following its pack;
// P-RL-TRANSPORT for transports. Other lines get none.
func (p *pricer) regimeLocal(i int, l *Line, care time.Time, base, rate decimal.Decimal) (decimal.Decimal, *Trace, error) {
	if !anyContains(p.in.Rights.RegimeLocal, care) {
		return decimal.Zero, nil, nil
	}
	product := l.ProductRate
	if j, ok := p.packOf(l); ok {
		product = p.in.Claim.Lines[j].ProductRate
	}
	id := ""
	switch l.Category {
	case CategoryPhysician, CategoryMidwife, CategoryDentist, CategoryAuxiliary, CategoryBiology:
		id = pRLPractitioner
	case CategoryTransport:
		id = pRLTransport
	case CategoryMedicine, CategoryDispensingFee:
		switch {
		case l.Category == CategoryDispensingFee && l.AttachedTo == "":
		case product.Equal(decimal.New(65, -2)):
			id = pRLMedicine65
		case product.Equal(decimal.New(30, -2)):
			id = pRLMedicine30
		}
	}
	none := &Trace{Line: i, Amount: AmountRegimeLocal, Value: decimal.Zero, Rule: "REGIME_LOCAL_NO_COMPLEMENT", Article: citeRegimeLocal}
	if id == "" {
		return decimal.Zero, none, nil
	}
	v, ok, err := p.e.table.Lookup(id, care)
	if err != nil || !ok {
		return decimal.Zero, none, err
	}
	if !v.Decimal.GreaterThan(rate) {
		none.Rule, none.ParameterID, none.Parameter = "REGIME_LOCAL_RATE_NOT_ABOVE", v.RefID, v.Text
		return decimal.Zero, none, nil
	}
	local := money.Cents(base.Mul(v.Decimal)).Sub(money.Cents(base.Mul(rate)))
	return local, &Trace{Line: i, Amount: AmountRegimeLocal, Value: local, Rule: "REGIME_LOCAL_COMPLEMENT", Article: citeRegimeLocal, ParameterID: v.RefID, Parameter: v.Text}, nil
}
