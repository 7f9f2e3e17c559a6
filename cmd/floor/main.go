// Command floor is the load test's floor server: the same proto and messages
// as the adjudicator, answering Adjudicate with a precomputed decision and
// doing no work, so that `make loadtest` can tell what the service costs over
// gRPC itself on the same machine, with the same client and flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/types/known/timestamppb"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
)

type floor struct {
	tpv1.UnimplementedClaimServiceServer
	decision *tpv1.Decision
}

// Adjudicate answers the precomputed decision (shared, read-only: marshalling
// it concurrently is safe).
func (f *floor) Adjudicate(context.Context, *tpv1.AdjudicateRequest) (*tpv1.AdjudicateResponse, error) {
	return &tpv1.AdjudicateResponse{Decision: f.decision}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50061", "listen address")
	flag.Parse()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	d := &tpv1.Decision{Status: tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED, Guarantee: tpv1.Guarantee_GUARANTEE_GUARANTEED,
		ReceivedAt: timestamppb.Now(), AdjudicationDate: "2026-11-23", DueDate: "2026-12-02", ManagingOrganism: "CPAM75", DebtBalance: "4.00",
		Totals: &tpv1.DecisionTotals{Base: "71.12", Amo: "62.40", TicketModerateur: "8.72", ParticipationForfaitaire: "0.00", Franchise: "4.00",
			Excess: "0.00", PayableToProfessional: "62.40", PayableToPatient: "0.00", PatientShare: "8.72", PatientDebt: "4.00"}}
	for i, base := range []string{"8.40", "12.15", "4.37"} {
		d.Lines = append(d.Lines, &tpv1.LineDecision{LineId: fmt.Sprint(i + 1), Status: tpv1.DecisionStatus_DECISION_STATUS_ACCEPTED,
			TiersPayant: true, Base: base, Rate: "0.65", Amo: "5.46", TicketModerateur: "2.94", ParticipationForfaitaire: "0.00",
			Franchise: "1.00", Excess: "0.00", PayableToProfessional: "5.46", PayableToPatient: "0.00", PatientShare: "2.94", PatientDebt: "1.00"})
		for _, a := range []string{"base", "rate", "amo", "ticket_moderateur", "franchise", "payable_to_professional", "patient_share", "patient_debt"} {
			d.Trace = append(d.Trace, &tpv1.Trace{LineId: fmt.Sprint(i + 1), Amount: a, Value: "1.00", Rule: "RULE", Article: "CSS art. L160-13", ParameterId: "P-TM-7", ParameterValue: "0.65"})
		}
	}
	s := grpc.NewServer()
	tpv1.RegisterClaimServiceServer(s, &floor{decision: d})
	h := health.NewServer()
	h.SetServingStatus("tierspayant.v1.ClaimService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, h)
	reflection.Register(s)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); s.Stop() }()
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
	}
}
