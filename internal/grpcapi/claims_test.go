package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/shopspring/decimal"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/access"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/service"
)

// testClaimServer is a ClaimServer whose service has a clock (2025-03-11 in
// Paris) and nothing else: enough for every claim refused before the store.
func testClaimServer(t *testing.T) *ClaimServer {
	t.Helper()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 11, 9, 0, 0, 0, paris)
	return NewClaimServer(service.New(service.Deps{Clock: func() time.Time { return now }, Zone: paris}), 0)
}

// badRequest returns the field names of the status's BadRequest, failing
// unless the status is INVALID_ARGUMENT with exactly one BadRequest.
func badRequest(t *testing.T, err error) (*status.Status, []string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("%v, want INVALID_ARGUMENT", err)
	}
	var fields []string
	n := 0
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			n++
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d BadRequest details, want 1: %v", n, st.Details())
	}
	return st, fields
}

// TestEveryProblemInOneBadRequest: decoding problems (a malformed unit price)
// and rule problems (invalid NIR key, empty claim id, quantity 0) are named
// together in one BadRequest, by Adjudicate and Simulate alike, each once.
func TestEveryProblemInOneBadRequest(t *testing.T) {
	s := testClaimServer(t)
	c := seedClaim()
	c.Lines[0].UnitPrice = "huit euros"
	c.Nir = "185057800608492" // key 91 expected
	c.ClaimId = ""
	c.Lines[1].Quantity = 0
	want := []string{"claim.claim_id", "claim.nir", "claim.lines[0].unit_price", "claim.lines[1].quantity"}
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Adjudicate": func() error { _, err := s.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c}); return err },
		"Simulate":   func() error { _, err := s.Simulate(ctx, &tpv1.SimulateRequest{Claim: c}); return err },
	} {
		st, fields := badRequest(t, call())
		if !slices.Equal(fields, want) {
			t.Errorf("%s: fields %v, want %v", name, fields, want)
		}
		if !strings.Contains(st.Message(), "4 problems") || strings.Contains(st.Message(), c.Nir) {
			t.Errorf("%s: message %q", name, st.Message())
		}
	}
}

// TestBadRequestBound: a claim with more problems than MaxFieldViolations
// gets the first MaxFieldViolations, claim-level problems first, and a
// message that gives the total and says the list is truncated.
func TestBadRequestBound(t *testing.T) {
	received := func() time.Time { return time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC) }
	c := seedClaim()
	c.Nir = "0"
	c.Lines = nil
	for i := range claims.MaxLines {
		c.Lines = append(c.Lines, &tpv1.ClaimLine{LineId: "L" + strconv.Itoa(i), Category: tpv1.Category_CATEGORY_PHYSICIAN,
			CareDate: "10/03/2025", UnitPrice: "-1", Quantity: 1}) // three decoding problems a line
	}
	_, err := decodeClaim(c, received)
	var total int
	if ve := (*claims.ValidationError)(nil); errors.As(err, &ve) {
		total = len(ve.Fields)
	}
	if total != 1+3*claims.MaxLines {
		t.Fatalf("%d violations decoded, want %d: %v", total, 1+3*claims.MaxLines, err)
	}
	st, fields := badRequest(t, toStatus(err))
	if len(fields) != MaxFieldViolations {
		t.Fatalf("%d field violations, want the bound %d", len(fields), MaxFieldViolations)
	}
	if fields[0] != "claim.nir" || fields[1] != "claim.lines[0].care_date" {
		t.Errorf("claim-level problems first, then line by line: %v", fields[:4])
	}
	if m := st.Message(); !strings.Contains(m, strconv.Itoa(total)+" problems") || !strings.Contains(m, "truncated") ||
		!strings.Contains(m, strconv.Itoa(MaxFieldViolations)) {
		t.Errorf("message does not say the list is truncated: %q", m)
	}

	// At the bound exactly, nothing is cut.
	vs := make([]claims.FieldViolation, MaxFieldViolations)
	for i := range vs {
		vs[i] = claims.FieldViolation{Field: fmt.Sprintf("f%d", i), Description: "bad"}
	}
	st, fields = badRequest(t, invalid(vs...))
	if len(fields) != MaxFieldViolations || strings.Contains(st.Message(), "truncated") {
		t.Errorf("at the bound: %d fields, message %q", len(fields), st.Message())
	}
}

// TestDecodeClaimViolations: the parcours is required on physician lines
// only, and merging never names a field twice nor reports a product rate on
// a line whose category could not be decoded.
func TestDecodeClaimViolations(t *testing.T) {
	received := func() time.Time { return time.Date(2025, 3, 11, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name string
		edit func(c *tpv1.Claim)
		want []string // nil: accepted
	}{
		{"seed", func(c *tpv1.Claim) {}, nil},
		{"physician line without parcours", func(c *tpv1.Claim) { c.Lines[1].Parcours = tpv1.Parcours_PARCOURS_UNSPECIFIED },
			[]string{"claim.lines[1].parcours"}},
		{"physician line hors parcours", func(c *tpv1.Claim) { c.Lines[1].Parcours = tpv1.Parcours_PARCOURS_HORS }, nil},
		{"medicine line with a parcours", func(c *tpv1.Claim) { c.Lines[0].Parcours = tpv1.Parcours_PARCOURS_EXCEPTION }, nil},
		{"unknown parcours on a medicine line", func(c *tpv1.Claim) { c.Lines[0].Parcours = 7 }, []string{"claim.lines[0].parcours"}},
		{"unset enums named once", func(c *tpv1.Claim) {
			c.Nature, c.Mode, c.Lines[1].Category = 0, 0, 0
		}, []string{"claim.nature", "claim.mode", "claim.lines[1].category"}},
		{"no product-rate knock-on of a bad category", func(c *tpv1.Claim) { c.Lines[0].Category = 42 },
			[]string{"claim.lines[0].category"}},
		{"bad date named once", func(c *tpv1.Claim) { c.Lines[0].CareDate = "2025-02-30" }, []string{"claim.lines[0].care_date"}},
		{"medicine line with its generic group", func(c *tpv1.Claim) {
			c.Lines[0].GenericGroup = &tpv1.GenericGroup{Published: "2015-01-01", Tfr: "3.10"}
		}, nil},
		{"generic group without its publication, with a bad TFR", func(c *tpv1.Claim) {
			c.Lines[0].GenericGroup = &tpv1.GenericGroup{Tfr: "3.1O"}
		}, []string{"claim.lines[0].generic_group.published", "claim.lines[0].generic_group.tfr"}},
		{"refused generic with a non-substitutable justification", func(c *tpv1.Claim) {
			c.Lines[0].GenericRefused, c.Lines[0].NonSubstitution = true, tpv1.NonSubstitution_NON_SUBSTITUTION_MTE
		}, []string{"claim.lines[0].generic_refused"}},
		{"generic group on a physician line", func(c *tpv1.Claim) {
			c.Lines[1].GenericGroup = &tpv1.GenericGroup{Published: "2015-01-01"}
		}, []string{"claim.lines[1].generic_group"}},
		{"bad created_at named once", func(c *tpv1.Claim) { c.CreatedAt = nil; c.Nir = "1" },
			[]string{"claim.created_at", "claim.nir"}},
	}
	for _, tc := range cases {
		c := seedClaim()
		tc.edit(c)
		dc, err := decodeClaim(c, received)
		if err == nil {
			// What the service checks next, as Adjudicate reports it.
			err = inClaim(claims.Validate(dc, received()))
		}
		var got []string
		if err != nil {
			var ve *claims.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%s: %v is not a ValidationError", tc.name, err)
			}
			for _, f := range ve.Fields {
				got = append(got, f.Field)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: fields %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReasonAndTraceLineIDs: reasons and traces name their line by the
// client's line_id, a claim-level one by "".
func TestReasonAndTraceLineIDs(t *testing.T) {
	d := claims.Decision{
		ClaimID: "C1",
		Lines:   []claims.LineDecision{{LineID: "first"}, {LineID: "second"}},
		Reasons: []claims.Reason{{Code: "HORS_PARCOURS", Line: 1}, {Code: "BENEFICIARY_UNKNOWN", Line: -1}},
		Trace:   []claims.Trace{{Line: 0, Amount: "base"}, {Line: -1, Amount: "debt_balance"}},
	}
	out := decisionToProto(d, time.Now(), false)
	if got := []string{out.GetReasons()[0].GetLineId(), out.GetReasons()[1].GetLineId()}; !slices.Equal(got, []string{"second", ""}) {
		t.Errorf("reason line ids %q", got)
	}
	if got := []string{out.GetTrace()[0].GetLineId(), out.GetTrace()[1].GetLineId()}; !slices.Equal(got, []string{"first", ""}) {
		t.Errorf("trace line ids %q", got)
	}
}

// TestDecisionAmountsEncoded: the amounts added for issue 13 reach the wire.
func TestDecisionAmountsEncoded(t *testing.T) {
	d := claims.Decision{
		Lines:  []claims.LineDecision{{LineID: "1", HorsParcoursMajoration: decimal.RequireFromString("12"), AmountToRecover: decimal.RequireFromString("9")}},
		Totals: claims.Totals{HorsParcoursMajoration: decimal.RequireFromString("12"), AmountToRecover: decimal.RequireFromString("9")},
	}
	out := decisionToProto(d, time.Now(), false)
	l, tot := out.GetLines()[0], out.GetTotals()
	if l.GetHorsParcoursMajoration() != "12.00" || tot.GetHorsParcoursMajoration() != "12.00" ||
		l.GetAmountToRecover() != "9.00" || tot.GetAmountToRecover() != "9.00" {
		t.Errorf("encoded: line %q/%q, totals %q/%q", l.GetHorsParcoursMajoration(), l.GetAmountToRecover(),
			tot.GetHorsParcoursMajoration(), tot.GetAmountToRecover())
	}
}

// TestStreamErrorIsTheUnaryStatus: over a real gRPC connection, a claim
// refused in AdjudicateStream carries exactly the google.rpc.Status (code,
// message, details) that a unary Adjudicate of the same claim fails with: a
// BadRequest for a malformed claim, an ErrorInfo for an AT/MP claim.
func TestStreamErrorIsTheUnaryStatus(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	admin := func(ctx context.Context) context.Context { return access.With(ctx, access.Open) }
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(admin(ctx), req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, &principalStream{ServerStream: ss, ctx: admin(ss.Context())})
		}))
	tpv1.RegisterClaimServiceServer(srv, testClaimServer(t))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cc := tpv1.NewClaimServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	malformed := seedClaim()
	malformed.ClaimId, malformed.Lines[0].UnitPrice, malformed.Nir = "S-BAD", "8,40", "185057800608400"
	atmp := seedClaim()
	atmp.ClaimId, atmp.Nature = "S-ATMP", tpv1.InsuranceNature_INSURANCE_NATURE_AT_MP
	want := map[string]*tpv1.Claim{malformed.ClaimId: malformed, atmp.ClaimId: atmp}

	stream, err := cc.AdjudicateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*tpv1.Claim{malformed, atmp} {
		if err := stream.Send(&tpv1.AdjudicateStreamRequest{Claim: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	for range len(want) {
		r, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		c, ok := want[r.GetClaimId()]
		if !ok {
			t.Fatalf("answer for unknown claim %q", r.GetClaimId())
		}
		delete(want, r.GetClaimId())
		if r.GetDecision() != nil || r.GetError() == nil {
			t.Fatalf("%s: want an error and no decision: %v", c.ClaimId, r)
		}
		_, unaryErr := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c})
		unary := status.Convert(unaryErr).Proto()
		if !proto.Equal(r.GetError(), unary) {
			t.Errorf("%s: stream error\n%v\nunary error\n%v", c.ClaimId, r.GetError(), unary)
		}
		if len(unary.GetDetails()) == 0 {
			t.Errorf("%s: unary status without details: %v", c.ClaimId, unary)
		}
		st := status.FromProto(r.GetError())
		switch c {
		case malformed:
			if st.Code() != codes.InvalidArgument || !hasDetail[*errdetails.BadRequest](st) {
				t.Errorf("malformed claim: %v %v", st.Code(), st.Details())
			}
		case atmp:
			if st.Code() != codes.FailedPrecondition || !hasDetail[*errdetails.ErrorInfo](st) {
				t.Errorf("AT/MP claim: %v %v", st.Code(), st.Details())
			}
		}
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

func hasDetail[T any](st *status.Status) bool {
	for _, d := range st.Details() {
		if _, ok := d.(T); ok {
			return true
		}
	}
	return false
}
