package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/grpc/metadata"

	tpv1 "github.com/tierspayant/tierspayant/gen/tierspayant/v1"
	"github.com/tierspayant/tierspayant/internal/claims"
	"github.com/tierspayant/tierspayant/internal/claims/explain"
)

// languageHeaders carry the caller's language: the gRPC metadata
// "accept-language", or the HTTP header Accept-Language as the gateway
// forwards it (grpc-gateway passes the permanent HTTP headers with its
// "grpcgateway-" prefix). docs/http.md, README.
var languageHeaders = []string{"accept-language", "grpcgateway-accept-language"}

// languageOf is the language of the explanations for the caller of ctx:
// French unless its Accept-Language prefers English.
func languageOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, h := range languageHeaders {
		if v := md.Get(h); len(v) > 0 {
			return explain.Language(strings.Join(v, ","))
		}
	}
	return explain.French
}

// reasonToProto is a reason with its explanation in lang.
func reasonToProto(r claims.Reason, lineID, lang string) *tpv1.Reason {
	return &tpv1.Reason{Code: r.Code, LineId: lineID, Article: r.Article, Message: r.Message, Explanation: explain.Text(r.Code, lang)}
}
