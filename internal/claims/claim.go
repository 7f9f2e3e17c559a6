package claims

import (
	"time"

	"github.com/shopspring/decimal"
)

// Category is the kind of care a claim line bills. It selects the ticket
// modérateur rate (docs/rules.md#tm-rate), whether the participation
// forfaitaire is due (CSS art. L160-13 II: doctors' acts and biology) and
// which franchise applies (CSS art. L160-13 III: medicines, auxiliaries' acts,
// transports, pharmacist services).
type Category int

// Categories of care.
const (
	CategoryUnspecified        Category = iota
	CategoryPhysician                   // doctor's consultation or act (P-TM-1, PF due)
	CategoryMidwife                     // midwife's act (P-TM-6)
	CategoryAuxiliary                   // auxiliaire médical: nurse, physiotherapist… (P-TM-3, franchise)
	CategoryDentist                     // dental care (P-TM-5)
	CategoryBiology                     // laboratory act (P-TM-4, PF due)
	CategoryMedicine                    // medicine pack, rate given by the product (P-TM-7, franchise)
	CategoryTransport                   // ambulance, VSL, taxi (P-TM-8, franchise per leg)
	CategoryEmergencyTransport          // transport requested by SAMU/centre 15 (P-TM-8c, no franchise)
	CategoryPharmacistService           // pharmacist service of L160-13 III 4° (franchise, 0.00 until set)
	CategoryDispensingFee               // honoraire de dispensation (L162-16-1 7°): follows its pack, no PF, no franchise (docs/rules.md#dispensing-fee)
	CategoryMedicalDevice               // product or service of the LPP (L165-1) at its rate, no PF, no franchise (docs/rules.md#medical-device)
)

// FeeKind says which dispensing fee a CategoryDispensingFee line is
// (docs/rules.md#dispensing-fee).
type FeeKind int

// Fee kinds.
const (
	FeeKindUnspecified         FeeKind = iota // the fee of its pack (AttachedTo), or a prescription-level fee
	FeeKindComplexPrescription                // fee for a prescription of at least P-FEE-COMPLEX lines of different specialties (R160-7)
)

// IdentificationKind is the proof of the beneficiary's identity and rights the
// professional used (CSS art. L161-31, L161-36-3; décret 2016-1069).
type IdentificationKind int

// Identification kinds.
const (
	IdentificationUnspecified IdentificationKind = iota
	IdentificationVitaleCard                     // physical carte Vitale read
	IdentificationVitaleApp                      // application carte Vitale
	IdentificationADRi                           // online rights check (ADRi)
	IdentificationAttestation                    // attestation de droits
	IdentificationNone                           // no proof (FSE dégradée)
)

// InsuranceNature is the risk the claim is billed to
// (docs/rules.md#insurance-nature).
type InsuranceNature int

// Insurance natures.
const (
	NatureUnspecified InsuranceNature = iota
	NatureMaladie
	NatureMaternite
	NatureATMP // accident du travail / maladie professionnelle: not supported
)

// TiersPayantMode says which parts the professional asks the insurer to pay.
type TiersPayantMode int

// Tiers-payant modes.
const (
	ModeUnspecified TiersPayantMode = iota
	ModeAMOOnly                     // tiers payant partiel
	ModeAMOAndAMC                   // tiers payant intégral (AMC part, L161-36-2)
)

// Parcours is the coordinated-care status of a physician line (CSS art. L162-5-3).
type Parcours int

// Parcours statuses.
const (
	ParcoursUnspecified Parcours = iota // treated as respected
	ParcoursRespected                   // médecin traitant or referral
	ParcoursHors                        // hors parcours: majoration of the ticket modérateur (docs/rules.md#hors-parcours)
	ParcoursException                   // emergency, away from home, other legal exception: no majoration
)

// LineKind says whether a line is an act or a complement of one
// (docs/rules.md#line-kind).
type LineKind int

// Line kinds.
const (
	LineKindUnspecified LineKind = iota // read as LineKindAct
	LineKindAct                         // act, consultation, pack, transport leg, service
	LineKindComplement                  // majoration, travel allowance, coordination complement: no PF, no franchise
)

// ActFamily is the family of an act where the law gives it a rule of its own.
type ActFamily int

// Act families.
const (
	ActFamilyNone                ActFamily = iota // an ordinary act of its category
	ActFamilyImaging                              // radiodiagnosis, MRI, scanner, scintigraphy, PET (R160-16)
	ActFamilyPathology                            // anatomo-cyto-pathology (excluded from R160-16)
	ActFamilyDentalProsthesis                     // dental prosthesis (excluded from R160-16)
	ActFamilyBiologySampling                      // sampling act for a biology exam: no PF (D160-8)
	ActFamilySpaCure                              // cure thermale: outside the AME basket
	ActFamilyAssistedProcreation                  // assistance médicale à la procréation: outside the AME basket
	ActFamilyDentalListed                         // dental act of the arrêté's list (acts mainly performed by physicians): P-TM-5-LISTED whoever performs it (R160-5 3° bis)
	ActFamilyDentalPrevention                     // M'T dents exam or care in the 6 months after it: P-TM-5-MTDENTS while in force (former L162-1-12)
)

// Exoneration is a ground of exoneration borne by the line itself
// (docs/rules.md#line-exoneration).
type Exoneration int

// Exonerations.
const (
	ExonerationNone       Exoneration = iota
	ExonerationTerrorism              // care related to an act of terrorism (L169-2)
	ExonerationWarPension             // care related to a war pension (CPMIVG L212-1)
	// The grounds below remove the ticket modérateur only (L160-14, R160-17
	// I); the participation forfaitaire and the franchise stay due, and the
	// 30 % and 15 % medicines keep their participation (R160-18).
	ExonerationALD                    // care under the ALD protocol: the same as ALDRelated (L160-14 3°, 4°)
	ExonerationMaternity              // compulsory pregnancy examination: the same as MaternityExam (L160-9)
	ExonerationInfertility            // diagnosis and treatment of infertility (L160-14 12°, R160-17 I 2°)
	ExonerationOrganDonor             // donor of elements of the human body (L160-14 18°, R160-17 I 3°)
	ExonerationIVG                    // voluntary termination of pregnancy (L160-14 20°, R160-17 I 4°)
	ExonerationContraception          // contraception for an insured under P-EXO-CONTRACEPTION-AGE (L160-14 21°, R160-17 I 5°)
	ExonerationEmergencyContraception // emergency contraception medicine, any age (L160-14 21°, R160-17 I 5° bis)
	ExonerationPrevention             // prevention consultation or screening of a national programme (L160-14 16°, 24°)
	ExonerationVaccine                // a vaccine of L160-14 29° to 31°: the vaccine itself, not its injection
)

// StatusKind is a beneficiary's status that removes the ticket modérateur on
// all their care (R160-10; docs/rules.md#exonerated-persons).
type StatusKind int

// Status kinds.
const (
	StatusKindUnspecified     StatusKind = iota
	StatusInvalidityPension              // holder of an invalidity pension (R160-10)
	StatusL341_15_16                     // beneficiary of L341-15 or L341-16 (R160-10)
	StatusATRentier                      // AT/MP rentier of at least 2/3 incapacity (L371-1, R160-10)
	StatusATRentierDependant             // family member of such a rentier (L160-14 14°, R160-10)
	StatusReversionInvalidity            // reversion pensioner with an invalidity, from P-EXO-REVERSION-AGE (R160-10)
)

// StatusPeriod is a status over a period.
type StatusPeriod struct {
	Kind   StatusKind
	Period Period
}

// ParcoursException names the legal exception a PARCOURS_EXCEPTION line
// relies on (L162-5-3 1° to 5°, D162-1-6).
type ParcoursExceptionReason int

// Parcours exceptions.
const (
	ExceptionUnspecified ParcoursExceptionReason = iota
	ExceptionEmergency
	ExceptionAwayFromHome
	ExceptionReferral
	ExceptionMedecinTraitantUnavailable
	ExceptionMilitary
	ExceptionOther
)

// NonSubstitution is the justification of a medicine dispensed as
// non-substitutable (arrêté du 12 novembre 2019; docs/rules.md#generic).
type NonSubstitution int

// Non-substitution justifications.
const (
	NonSubstitutionNone NonSubstitution = iota
	NonSubstitutionMTE                  // narrow therapeutic margin
	NonSubstitutionEFG                  // child under 6, no suitable generic form
	NonSubstitutionCIF                  // contraindication to an excipient
)

// GenericGroup is the generic group of a medicine line (L162-16;
// docs/rules.md#generic). The zero value means no group.
type GenericGroup struct {
	Published  time.Time       // first generic price published; zero: no group
	Biosimilar bool            // a biosimilar group (L162-16 V)
	TFR        decimal.Decimal // tarif forfaitaire de responsabilité per unit; zero: none
}

// Specialty is a physician's specialty (D162-1-7 direct access).
type Specialty int

// Specialties.
const (
	SpecialtyUnspecified Specialty = iota // general practitioner, or not a physician
	SpecialtyGeneralPractice
	SpecialtyGynaecology
	SpecialtyOphthalmology
	SpecialtyPsychiatry
	SpecialtyNeuropsychiatry
	SpecialtyStomatology
	SpecialtyOther
)

// Profession is the billing professional's profession, used for reports and
// tracking (L161-36-3 third paragraph) and for plausibility checks.
type Profession int

// Professions.
const (
	ProfessionUnspecified Profession = iota
	ProfessionPhysician
	ProfessionPharmacist
	ProfessionNurse
	ProfessionPhysiotherapist
	ProfessionOtherAuxiliary
	ProfessionDentist
	ProfessionMidwife
	ProfessionLaboratory
	ProfessionTransporter
)

// Professional is the sender of the claim.
type Professional struct {
	ID          string             // RPPS, ADELI or FINESS identifier
	IDKind      ProfessionalIDKind // register of ID; unspecified: ID not checked by kind (docs/rules.md#identifiers)
	Profession  Profession
	Departement string    // "75", "2A", "971": where it practises (the payer's calendar is the organism's, docs/rules.md#calendar)
	Specialty   Specialty // physicians: direct-access specialties of D162-1-7 (docs/rules.md#hors-parcours)
}

// Identification is the electronic identifier or other proof presented.
type Identification struct {
	Kind  IdentificationKind
	Value string // card serial or app identifier; empty for NONE
}

// Line is one billed item of a claim.
type Line struct {
	ID        string // unique within the claim
	Code      string // NGAP/CCAM/CIP/LPP code: never logged
	Category  Category
	CareDate  time.Time // date des soins, 00:00 UTC: selects every dated parameter (docs/rules.md#dates)
	UnitPrice decimal.Decimal
	Quantity  int // acts, packs or transport legs; franchise and PF units
	// BilledAmount is what the professional charges; above the base it is an
	// excess fee (dépassement), outside the AMO part.
	BilledAmount decimal.Decimal
	// Coefficient of the act in its nomenclature, when it has one (heavy act
	// threshold, docs/rules.md#heavy-act). Zero when absent.
	Coefficient decimal.Decimal
	// ProductRate is the medicine's reimbursement rate as a fraction (1, 0.65,
	// 0.30, 0.15), required for CategoryMedicine only (docs/rules.md#medicines).
	ProductRate        decimal.Decimal
	ALDRelated         bool     // care under the ALD protocol (docs/rules.md#ald)
	MaternityExam      bool     // compulsory pregnancy examination (docs/rules.md#maternity)
	Parcours           Parcours // physician lines only (docs/rules.md#hors-parcours)
	Emergency          bool     // care given as an emergency
	DuringHospitalStay bool     // care during a hospital stay (docs/rules.md#hospital-stay)
	// GenericRefused is set when the patient refused a generic substitution
	// without a "non substituable" mention (L162-16-7, docs/rules.md#generic).
	GenericRefused bool
	// HighestGenericPrice is the group's highest generic price, when known:
	// the base is limited to it when the generic was refused (L162-16 III).
	HighestGenericPrice decimal.Decimal
	Kind                LineKind                // act or complement (docs/rules.md#line-kind)
	ActFamily           ActFamily               // family with a rule of its own
	Exoneration         Exoneration             // exoneration borne by the line (docs/rules.md#line-exoneration)
	ParcoursException   ParcoursExceptionReason // with ParcoursException: which one
	NonSubstitution     NonSubstitution         // medicines: non-substitutable justification
	GenericGroup        GenericGroup            // medicines: generic group, zero when none
	// AttachedTo is, on a dispensing fee, the ID of the medicine line whose
	// pack it is the fee of; empty for a prescription-level fee.
	AttachedTo string
	// FeeKind says which fee a dispensing-fee line is.
	FeeKind FeeKind
	// PrescriptionID groups the lines dispensed for one prescription (the
	// "délivrance" of R160-7); empty: the whole claim is one.
	PrescriptionID string
	// SpecialtyCode identifies a medicine's specialty (CIS code), so that two
	// packs of one specialty count once (R160-7); empty: its Code.
	SpecialtyCode string
}

// Base is the line's reimbursement base before any generic limit: unit price
// times quantity.
func (l Line) Base() decimal.Decimal {
	return l.UnitPrice.Mul(decimal.NewFromInt(int64(l.Quantity)))
}

// Claim is a tiers-payant invoice as sent by the billing software.
type Claim struct {
	ID             string    // idempotency key (docs/rules.md#claim-id-reuse): professional id + invoice number
	CreatedAt      time.Time // creation time declared by the software (docs/rules.md#opposition)
	Professional   Professional
	Identification Identification
	NIR            string // personal health data: never logged
	Nature         InsuranceNature
	Mode           TiersPayantMode
	Lines          []Line
}

// Period is a closed range of calendar days, both ends included. A zero To
// means open-ended.
type Period struct {
	From time.Time
	To   time.Time
}

// Contains reports whether day falls within the period.
func (p Period) Contains(day time.Time) bool {
	if day.Before(p.From) {
		return false
	}
	return p.To.IsZero() || !day.After(p.To)
}

// Pregnancy is what the maternity period is computed from (L160-9,
// docs/rules.md#maternity).
type Pregnancy struct {
	ExpectedDelivery time.Time
	ActualDelivery   time.Time // zero while no delivery is recorded
}

// Rights is what the engine needs to know about a beneficiary, as in force on
// the dates of the claim. Each dated field is a list of periods.
type Rights struct {
	BirthDate   time.Time
	Open        []Period // rights open (PUMa)
	CSS         []Period // complémentaire santé solidaire
	AME         []Period // aide médicale de l'État
	ALD         []Period // affection de longue durée exonérante recognised
	Pregnancies []Pregnancy
	// DirectDebitAuthorised records the bank-debit authorisation of L160-13 II.
	DirectDebitAuthorised bool
	// Debt is the outstanding PF and franchise debt before this claim
	// (docs/rules.md#patient-debt).
	Debt decimal.Decimal
	// Organism is the managing organism on the care date (L160-17, L160-18).
	Organism string
	// Statuses are the R160-10 statuses over their periods
	// (docs/rules.md#exonerated-persons).
	Statuses []StatusPeriod
	// RegimeLocal are the periods under the régime local d'Alsace-Moselle
	// (L325-1; docs/rules.md#regime-local).
	RegimeLocal []Period
}
