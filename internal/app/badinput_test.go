package app_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
	"github.com/tierspayant/tierspayant/internal/testutil/redistest"
)

// startPrivate starts the server on a private redis-server, so the test can
// see every key written.
func startPrivate(t *testing.T, mutate func(*config.Config)) (*grpc.ClientConn, *redis.Client) {
	t.Helper()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr, cfg.Auth, cfg.Clock = "127.0.0.1:0", "127.0.0.1:0", "open", clock
	cfg.RedisAddrs, cfg.HMACSecret = []string{srv.Addr}, strings.Repeat("h", 40)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg, logging.New(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); a.Shutdown() })
	conn, err := grpc.NewClient(a.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, srv.Client(t)
}

func keys(t *testing.T, rdb *redis.Client) []string {
	t.Helper()
	ks, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestBadInput: malformed or hostile claims are answered INVALID_ARGUMENT
// with a BadRequest naming the field, the error never echoes the NIR, and
// nothing is written to Redis.
func TestBadInput(t *testing.T) {
	conn, rdb := startPrivate(t, nil)
	cc := tpv1.NewClaimServiceClient(conn)
	ctx := context.Background()
	before := len(keys(t, rdb))
	many := func(n int) []*tpv1.ClaimLine {
		ls := make([]*tpv1.ClaimLine, n)
		for i := range ls {
			ls[i] = &tpv1.ClaimLine{LineId: "L" + itoa(i), Code: "G", Category: tpv1.Category_CATEGORY_PHYSICIAN, CareDate: "2025-03-10", UnitPrice: "30.00", Quantity: 1, Parcours: tpv1.Parcours_PARCOURS_RESPECTED}
		}
		return ls
	}
	cases := []struct {
		name  string
		edit  func(c *tpv1.Claim)
		field string
	}{
		{"NIR with a wrong key", func(c *tpv1.Claim) { c.Nir = "185057800608492" }, "claim.nir"},
		{"NIR too short", func(c *tpv1.Claim) { c.Nir = "18505780060849" }, "claim.nir"},
		{"NIR too long", func(c *tpv1.Claim) { c.Nir = "1850578006084911" }, "claim.nir"},
		{"NIR with letters", func(c *tpv1.Claim) { c.Nir = "1850578OO608491" }, "claim.nir"},
		{"NIR missing", func(c *tpv1.Claim) { c.Nir = "" }, "claim.nir"},
		{"unknown category", func(c *tpv1.Claim) { c.Lines[0].Category = 99 }, "claim.lines[0].category"},
		{"unspecified category", func(c *tpv1.Claim) { c.Lines[0].Category = 0 }, "claim.lines[0].category"},
		{"negative amount", func(c *tpv1.Claim) { c.Lines[0].UnitPrice = "-30.00" }, "claim.lines[0].unit_price"},
		{"non-numeric amount", func(c *tpv1.Claim) { c.Lines[0].UnitPrice = "trente" }, "claim.lines[0].unit_price"},
		{"10-decimal amount", func(c *tpv1.Claim) { c.Lines[0].UnitPrice = "30.0000000001" }, "claim.lines[0].unit_price"},
		{"amount with an exponent", func(c *tpv1.Claim) { c.Lines[0].UnitPrice = "3e1" }, "claim.lines[0].unit_price"},
		{"absurd amount", func(c *tpv1.Claim) { c.Lines[0].UnitPrice = "99999999" }, "claim.lines[0].unit_price"},
		{"absurd quantity", func(c *tpv1.Claim) { c.Lines[0].Quantity = 1000000 }, "claim.lines[0].quantity"},
		{"zero quantity", func(c *tpv1.Claim) { c.Lines[0].Quantity = 0 }, "claim.lines[0].quantity"},
		{"negative quantity", func(c *tpv1.Claim) { c.Lines[0].Quantity = -3 }, "claim.lines[0].quantity"},
		{"10 000 lines", func(c *tpv1.Claim) { c.Lines = many(10000) }, "claim.lines"},
		{"no line", func(c *tpv1.Claim) { c.Lines = nil }, "claim.lines"},
		{"care date in the future", func(c *tpv1.Claim) { c.Lines[0].CareDate = "2025-03-12" }, "claim.lines[0].care_date"},
		{"care date before 1945", func(c *tpv1.Claim) { c.Lines[0].CareDate = "1944-12-31" }, "claim.lines[0].care_date"},
		{"care date not a date", func(c *tpv1.Claim) { c.Lines[0].CareDate = "2025-02-30" }, "claim.lines[0].care_date"},
		{"care date in another format", func(c *tpv1.Claim) { c.Lines[0].CareDate = "10/03/2025" }, "claim.lines[0].care_date"},
		{"empty claim id", func(c *tpv1.Claim) { c.ClaimId = "" }, "claim.claim_id"},
		{"claim id too long", func(c *tpv1.Claim) { c.ClaimId = strings.Repeat("X", 65) }, "claim.claim_id"},
		{"claim id breaking a hash tag", func(c *tpv1.Claim) { c.ClaimId = "P1}{b:victim" }, "claim.claim_id"},
		{"duplicate line ids", func(c *tpv1.Claim) { c.Lines = append(c.Lines, c.Lines[0]) }, "claim.lines[1].line_id"},
		{"empty line id", func(c *tpv1.Claim) { c.Lines[0].LineId = "" }, "claim.lines[0].line_id"},
		{"unknown identification kind", func(c *tpv1.Claim) { c.Identification.Kind = 42 }, "claim.identification.kind"},
		{"missing identification", func(c *tpv1.Claim) { c.Identification = nil }, "claim.identification.kind"},
		{"card without its serial", func(c *tpv1.Claim) { c.Identification.Value = "" }, "claim.identification.value"},
		{"identifier with a separator", func(c *tpv1.Claim) { c.Identification.Value = "123;456" }, "claim.identification.value"},
		{"unknown insurance nature", func(c *tpv1.Claim) { c.Nature = 7 }, "claim.nature"},
		{"unspecified tiers-payant mode", func(c *tpv1.Claim) { c.Mode = 0 }, "claim.mode"},
		{"professional id with a separator", func(c *tpv1.Claim) { c.Professional.Id = "100;pf=0" }, "claim.professional.id"},
		{"missing professional", func(c *tpv1.Claim) { c.Professional = nil }, "claim.professional.id"},
		{"unknown profession", func(c *tpv1.Claim) { c.Professional.Profession = 50 }, "claim.professional.profession"},
		{"missing creation time", func(c *tpv1.Claim) { c.CreatedAt = nil }, "claim.created_at"},
		{"invalid creation time", func(c *tpv1.Claim) { c.CreatedAt = &timestamppb.Timestamp{Seconds: -1 << 62} }, "claim.created_at"},
		{"negative billed amount", func(c *tpv1.Claim) { c.Lines[0].BilledAmount = "-1" }, "claim.lines[0].billed_amount"},
		{"medicine without its rate", func(c *tpv1.Claim) { c.Lines[0].Category = tpv1.Category_CATEGORY_MEDICINE }, "claim.lines[0].product_rate"},
		{"rate on a physician line", func(c *tpv1.Claim) { c.Lines[0].ProductRate = "0.65" }, "claim.lines[0].product_rate"},
		{"medicine rate not allowed", func(c *tpv1.Claim) {
			c.Lines[0].Category, c.Lines[0].ProductRate = tpv1.Category_CATEGORY_MEDICINE, "0.50"
		}, "claim.lines[0].product_rate"},
		{"unknown parcours", func(c *tpv1.Claim) { c.Lines[0].Parcours = 9 }, "claim.lines[0].parcours"},
		{"negative coefficient", func(c *tpv1.Claim) { c.Lines[0].Coefficient = "-60" }, "claim.lines[0].coefficient"},
		{"non-numeric generic price", func(c *tpv1.Claim) { c.Lines[0].HighestGenericPrice = "cher" }, "claim.lines[0].highest_generic_price"},
		{"no claim at all", func(c *tpv1.Claim) { *c = tpv1.Claim{} }, "claim."},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		c := gpClaim("BAD-1")
		tc.edit(c)
		for _, call := range []func() error{
			func() error { _, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: c}); return err },
			func() error { _, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: c}); return err },
		} {
			err := call()
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Errorf("%s: %v, want INVALID_ARGUMENT", tc.name, err)
				continue
			}
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if !contains(fields, tc.field) {
				t.Errorf("%s: fields %v, want %s", tc.name, fields, tc.field)
			}
			if c.GetNir() != "" && strings.Contains(st.Message()+strings.Join(fields, ""), c.GetNir()) {
				t.Errorf("%s: the error echoes the NIR", tc.name)
			}
		}
	}
	if after := keys(t, rdb); len(after) != before {
		t.Fatalf("bad input wrote to Redis: %d keys before, %v after", before, after)
	}
}

func contains(fields []string, want string) bool {
	for _, f := range fields {
		if f == want || (strings.HasSuffix(want, ".") && strings.HasPrefix(f, want)) {
			return true
		}
	}
	return false
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(digits[i%10]) + s
	}
	return s
}

// TestLimits: per-client rate limit, maximum message size, maximum lines per
// claim and maximum claims per stream, each refused with its code and hint.
func TestLimits(t *testing.T) {
	conn, _ := startPrivate(t, func(c *config.Config) {
		c.RateLimit, c.RateBurst, c.MaxStreamClaims, c.MaxRecvMsgBytes = 5, 5, 3, 64<<10
	})
	cc := tpv1.NewClaimServiceClient(conn)
	ctx := context.Background()

	// Message size: 64 KiB allowed; a bigger claim is INVALID_ARGUMENT naming the request.
	big := gpClaim("BIG-1")
	big.Lines[0].Code = strings.Repeat("X", 100<<10)
	_, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: big})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "request") {
		t.Errorf("oversize message: %v", err)
	}
	huge := gpClaim("BIG-2")
	huge.Lines[0].Code = strings.Repeat("X", 1<<20)
	if _, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: huge}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("message over 4× the limit is refused by gRPC itself: %v", err)
	}

	// Stream length: the 4th claim of a stream ends it.
	st, err := cc.AdjudicateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		_ = st.Send(&tpv1.AdjudicateStreamRequest{Claim: gpClaim("STREAM-" + itoa(i))})
	}
	_ = st.CloseSend()
	answers := 0
	for {
		_, err := st.Recv()
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("stream over its limit: %v", err)
			}
			break
		}
		answers++
	}
	if answers != 3 {
		t.Errorf("%d answers before the stream limit, want 3", answers)
	}

	// Rate: the client (all these calls come from 127.0.0.1) gets RESOURCE_EXHAUSTED with a retry hint once the burst is spent.
	time.Sleep(1200 * time.Millisecond) // refill the shared peer bucket (everything here comes from 127.0.0.1)
	limited := 0
	for i := 0; i < 12; i++ {
		_, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: gpClaim("RATE-" + itoa(i))})
		if status.Code(err) == codes.ResourceExhausted {
			limited++
			var delay time.Duration
			for _, d := range status.Convert(err).Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					delay = ri.GetRetryDelay().AsDuration()
				}
			}
			// At 5 calls per second the next token comes within 200 ms;
			// the hint is never under the 100 ms floor.
			if delay < 100*time.Millisecond || delay > 200*time.Millisecond {
				t.Errorf("rate limited with a RetryInfo delay of %v, want 100-200 ms: %v", delay, err)
			}
		}
	}
	if limited < 5 || limited > 8 {
		t.Errorf("%d of 12 calls rate limited at 5/s with a burst of 5, want about 7", limited)
	}
	// A client that honours the hint is served.
	_, err = cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: gpClaim("RATE-X")})
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			time.Sleep(ri.GetRetryDelay().AsDuration())
		}
	}
	if _, err := cc.Simulate(ctx, &tpv1.SimulateRequest{Claim: gpClaim("RATE-Y")}); err != nil {
		t.Errorf("call after the RetryInfo delay: %v", err)
	}
}

// TestDeadlinePropagated: the caller's deadline reaches Redis
// (ContextTimeoutEnabled): with Redis paused, a call with a 300 ms deadline
// ends in about that time, not after the 500 ms Redis timeout or later.
func TestDeadlinePropagated(t *testing.T) {
	conn, rdb := startPrivate(t, func(c *config.Config) { c.RedisTimeout = 5 * time.Second })
	cc := tpv1.NewClaimServiceClient(conn)
	if _, err := cc.Simulate(context.Background(), &tpv1.SimulateRequest{Claim: gpClaim("DL-0")}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(context.Background(), "CLIENT", "PAUSE", "3000", "ALL").Err(); err != nil {
		t.Fatal(err)
	}
	defer rdb.Do(context.Background(), "CLIENT", "UNPAUSE")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := cc.Adjudicate(ctx, &tpv1.AdjudicateRequest{Claim: gpClaim("DL-1")})
	took := time.Since(began)
	if code := status.Code(err); code != codes.DeadlineExceeded && code != codes.Unavailable {
		t.Fatalf("paused Redis: %v", err)
	}
	if took > time.Second {
		t.Fatalf("the call took %v with a 300 ms deadline and a 5 s Redis timeout: the deadline did not reach Redis", took)
	}
}
