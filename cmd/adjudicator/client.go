package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// clientOpts are the connection options every client sub-command takes: the
// same flags, with their defaults from the ADJ_CLIENT_* variables.
type clientOpts struct {
	server, tlsCA, cert, key, token, tokenFile string
}

// clientFlags adds the connection flags to fs.
func clientFlags(fs *flag.FlagSet, o *clientOpts, e env) {
	get := func(name, def string) string {
		if v, ok := e.lookup(name); ok && v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.server, "server", get("ADJ_CLIENT_SERVER", "127.0.0.1:50051"), "adjudicator gRPC address (ADJ_CLIENT_SERVER)")
	fs.StringVar(&o.tlsCA, "tls-ca", get("ADJ_CLIENT_TLS_CA", ""), "CA file of the server certificate; TLS when set (ADJ_CLIENT_TLS_CA)")
	fs.StringVar(&o.cert, "cert", get("ADJ_CLIENT_CERT", ""), "client certificate file, mutual TLS (ADJ_CLIENT_CERT)")
	fs.StringVar(&o.key, "key", get("ADJ_CLIENT_KEY", ""), "client private key file (ADJ_CLIENT_KEY)")
	fs.StringVar(&o.token, "token", get("ADJ_CLIENT_TOKEN", ""), "bearer token (ADJ_CLIENT_TOKEN); visible in the process list: prefer --token-file")
	fs.StringVar(&o.tokenFile, "token-file", get("ADJ_CLIENT_TOKEN_FILE", ""), "file holding the bearer token (ADJ_CLIENT_TOKEN_FILE)")
}

// clientFlagSet is a flag set with the connection flags alone, for --help.
func clientFlagSet(o *clientOpts, e env) *flag.FlagSet {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	clientFlags(fs, o, e)
	return fs
}

// dial connects to the adjudicator with the options.
func (o clientOpts) dial() (*grpc.ClientConn, error) {
	if (o.cert == "") != (o.key == "") {
		return nil, usagef("--cert and --key go together")
	}
	if o.cert != "" && o.tlsCA == "" {
		return nil, usagef("--cert needs --tls-ca (mutual TLS runs over TLS)")
	}
	if o.token != "" && o.tokenFile != "" {
		return nil, usagef("--token and --token-file: give one")
	}
	token := o.token
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: cannot read %q", o.tokenFile)
		}
		token = strings.TrimSpace(string(b))
		if token == "" {
			return nil, fmt.Errorf("--token-file: %q is empty", o.tokenFile)
		}
	}
	var opts []grpc.DialOption
	secure := o.tlsCA != ""
	if secure {
		pemCA, err := os.ReadFile(o.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: cannot read %q", o.tlsCA)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCA) {
			return nil, fmt.Errorf("--tls-ca: no certificate in %q", o.tlsCA)
		}
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if o.cert != "" {
			c, err := tls.LoadX509KeyPair(o.cert, o.key)
			if err != nil {
				return nil, fmt.Errorf("--cert/--key: %w", err)
			}
			tc.Certificates = []tls.Certificate{c}
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if token != "" {
		if !secure && !loopback(o.server) {
			return nil, usagef("--token over plaintext to %s: give --tls-ca (a token travels in clear otherwise); plaintext is allowed to a loopback address only", o.server)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: token, secure: secure}))
	}
	return grpc.NewClient(o.server, opts...)
}

// loopback reports whether addr (host:port) names this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bearer sends the token as "authorization: Bearer …".
type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for the loopback case dial allows.
func (b bearer) RequireTransportSecurity() bool { return b.secure }
