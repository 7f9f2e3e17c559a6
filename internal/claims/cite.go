package claims

// Citations put in Reason.Article and Trace.Article: the legal basis of the
// rule, then the anchor of docs/rules.md that states how the engine applies
// it. TestRulesDocCitations checks that every anchor cited exists.
const (
	citeOpposition         = "CSS art. L161-36-3; L162-16-3-1; docs/rules.md#opposition"
	citeOppositionNoDeduct = "CSS art. L161-36-3; docs/rules.md#opposition"
	citeCreationBound      = "CSS art. L161-31 I; R161-47 I 1° b; docs/rules.md#opposition"
	citeDirectDebit        = "CSS art. L161-36-4 2°; docs/rules.md#direct-debit"
	citeTimeBar            = "CSS art. L160-11; docs/rules.md#time-bar"
	citeRightsClosed       = "CSS art. L160-1; L161-31 I; docs/rules.md#rights"
	citeRights             = "CSS art. L160-1; docs/rules.md#rights"

	citeBaseTariff   = "CSS art. L162-1-7; L162-14-1 I 1°; docs/rules.md#base-tariff"
	citeBaseMedicine = "CSS art. L162-16 I; docs/rules.md#base-tariff"
	citeGenericLimit = "CSS art. L162-16 III; docs/rules.md#generic"
	citeGeneric      = "CSS art. L162-16-7; docs/rules.md#generic"
	citeExcessFees   = "CSS art. L162-14-1 I 1°; L160-13 I; docs/rules.md#excess-fees"

	citeRate            = "CSS art. L160-13 I; R160-5; docs/rules.md#tm-rate"
	citeRateUNCAM       = "CSS art. L160-13 I; docs/rules.md#tm-rate"
	citeAMO             = "CSS art. L160-13 I; docs/rules.md#tm-rate"
	citeDental          = "CSS art. L160-13 I; R160-5; docs/rules.md#dental"
	citeMedicineRate    = "CSS art. L160-13 I; docs/rules.md#medicines"
	citePharmacistRate  = "CSS art. L160-13 I; R160-5; docs/rules.md#pharmacist-services"
	citePharmacistFr    = "CSS art. L160-13 III 4°; docs/rules.md#pharmacist-services"
	citeEmergency       = "CSS art. L160-14; LFSS 2023; docs/rules.md#emergency-transport"
	citeEmergencyNoFr   = "CSS art. L160-13 III 3°; docs/rules.md#emergency-transport"
	citeHorsParcours    = "CSS art. L162-5-3; docs/rules.md#hors-parcours"
	citeHeavyAct        = "CSS art. R160-16; docs/rules.md#heavy-act"
	citeALD             = "CSS art. L160-14 3°, 4°; docs/rules.md#ald"
	citeMaternityPeriod = "CSS art. L160-9; D160-3; docs/rules.md#maternity"
	citeMaternity       = "CSS art. L160-9; docs/rules.md#maternity"
	citeAME             = "CASF art. L251-2; docs/rules.md#ame"
	citeCSS             = "CSS art. L160-15; docs/rules.md#css"
	citeMinor           = "CSS art. L160-15; R160-20; docs/rules.md#minors"
	citeHospitalPF      = "CSS art. L160-13 II; docs/rules.md#hospital-stay"
	citeHospitalFr      = "CSS art. L160-13 III 1°, 2°; docs/rules.md#hospital-stay"
	citePatientShare    = "CSS art. L160-13 I; L861-3; docs/rules.md#patient-share"
	citePayable         = "CSS art. L161-36-3; L160-13 II; docs/rules.md#payable"

	citePF                 = "CSS art. L160-13 II; docs/rules.md#pf"
	citePFLineLimit        = "CSS art. L160-13 II; docs/rules.md#pf-line-limit"
	citePFDailyCount       = "CSS art. L160-13 II, 3rd para.; D160-8; docs/rules.md#pf-daily-count-cap"
	citePFAnnualCap        = "CSS art. L160-13 II, 2nd para.; D160-6; docs/rules.md#pf-annual-cap"
	citeFranchise          = "CSS art. L160-13 III; D160-9; docs/rules.md#franchise"
	citeFranchiseNotScope  = "CSS art. L160-13 III; docs/rules.md#franchise"
	citeFranchiseLineLimit = "CSS art. L160-13 III; D160-9; docs/rules.md#franchise-line-limit"
	citeFranchiseDailyCap  = "CSS art. L160-13 III; D160-11; docs/rules.md#franchise-daily-cap"
	citeFranchiseAnnualCap = "CSS art. L160-13 III; D160-10; docs/rules.md#franchise-annual-cap"
	citePayableToPatient   = "CSS art. L160-13 II; docs/rules.md#patient-debt"
	citePatientDebt        = "CSS art. L160-13 II, last para.; docs/rules.md#patient-debt"
)
