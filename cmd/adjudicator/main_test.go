package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/tierspayant/tierspayant/internal/app"
	"github.com/tierspayant/tierspayant/internal/platform/config"
	"github.com/tierspayant/tierspayant/internal/platform/logging"
)

func TestParamsCommand(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"params", "--at", "2024-04-01"}, noEnv, &out, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"parameters in force on 2024-04-01", "P-PF-1", "P-FR-1"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// 1 April 2024: franchise per medicine pack 1.00 (from 31 March), PF still 1.00 (2.00 from 15 May).
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "P-FR-1" || f[0] == "P-PF-1") && f[1] != "1.00" {
			t.Errorf("%s = %s on 2024-04-01, want 1.00", f[0], f[1])
		}
	}
}

func TestParamsCommandBadDate(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"params", "--at", "01/04/2024"}, noEnv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--at") {
		t.Fatalf("want an error naming --at, got %v", err)
	}
}

func TestConfigErrorsListed(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ADJ_REDIS_ADDRS": "127.0.0.1:1", "ADJ_LOG_LEVEL": "loud", "ADJ_REDIS_TIMEOUT": "soon"}
	var out bytes.Buffer
	err := run(context.Background(), nil, mapEnv(env), &out, &out)
	if err == nil {
		t.Fatal("want a configuration error")
	}
	for _, want := range []string{"ADJ_LOG_LEVEL", "ADJ_REDIS_TIMEOUT", "ADJ_HMAC_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

func TestReportDelaysCommand(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.GRPCAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Start(ctx, cfg, logging.New(io.Discard, "error"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown()
	var out bytes.Buffer
	err = run(ctx, []string{"report", "delays", "--organism", "CPAM75", "--quarter", "2026Q3", "--server", a.GRPCAddr},
		noEnv, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "organism,quarter,profession,claims,paid_within_deadline") {
		t.Fatalf("CSV header: %q", out.String())
	}
	err = run(ctx, []string{"report", "delays", "--organism", "CPAM75", "--quarter", "2026-3", "--server", a.GRPCAddr},
		noEnv, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "quarter") {
		t.Fatalf("bad quarter: %v", err)
	}
}
