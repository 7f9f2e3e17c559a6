package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// identConn is the server end of an in-process connection from the gateway:
// it carries the TLS state of the HTTP client the connection is for.
type identConn struct {
	net.Conn
	state tls.ConnectionState
}

// pipeListener is the in-process listener the gRPC server serves for the
// gateway; only the gateway can open a connection to it.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial opens a connection whose server end carries state.
func (l *pipeListener) dial(ctx context.Context, state tls.ConnectionState) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- &identConn{Conn: server, state: state}:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errors.New("gateway: the gRPC server stopped")
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "gateway" }

// ServerCredentials wraps the gRPC server's transport credentials (TLS, or
// insecure for plaintext): a connection from the gateway's in-process
// listener skips the handshake and carries, as its TLS information, the
// verified client certificate the HTTP client presented to the gateway (none
// when it presented none), so the authenticator sees the same identity as
// over a direct mutual-TLS connection. Every other connection is handed to
// inner unchanged; an identConn cannot come from the network.
func ServerCredentials(inner credentials.TransportCredentials) credentials.TransportCredentials {
	return serverCreds{inner}
}

type serverCreds struct {
	credentials.TransportCredentials
}

func (c serverCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if ic, ok := conn.(*identConn); ok {
		return conn, credentials.TLSInfo{State: ic.state,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c serverCreds) Clone() credentials.TransportCredentials {
	return serverCreds{c.TransportCredentials.Clone()}
}

// maxIdentities bounds the connections kept, one per client certificate
// (plus one for callers without one).
const maxIdentities = 256

// router is the gateway's gRPC client: each call goes over the in-process
// connection of its HTTP client's certificate.
type router struct {
	lis   *pipeListener
	mu    sync.Mutex
	conns map[[sha256.Size]byte]*routed
}

type routed struct {
	conn *grpc.ClientConn
	used time.Time
}

type stateKey struct{}

// withClientState records the HTTP request's verified TLS state for the
// router.
func withClientState(ctx context.Context, st *tls.ConnectionState) context.Context {
	if st == nil || len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return ctx
	}
	return context.WithValue(ctx, stateKey{}, st)
}

func (r *router) conn(ctx context.Context) (*grpc.ClientConn, error) {
	var state tls.ConnectionState
	var key [sha256.Size]byte
	if st, ok := ctx.Value(stateKey{}).(*tls.ConnectionState); ok {
		// Only what the authenticator reads: the verified chains.
		state = tls.ConnectionState{VerifiedChains: st.VerifiedChains, PeerCertificates: st.PeerCertificates,
			HandshakeComplete: true, Version: st.Version, CipherSuite: st.CipherSuite}
		key = sha256.Sum256(st.VerifiedChains[0][0].Raw)
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.conns[key]; e != nil {
		e.used = now
		return e.conn, nil
	}
	if len(r.conns) >= maxIdentities {
		r.evictOldest()
	}
	cc, err := grpc.NewClient("passthrough:///gateway",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return r.lis.dial(ctx, state) }),
		grpc.WithIdleTimeout(5*time.Minute))
	if err != nil {
		return nil, err
	}
	r.conns[key] = &routed{conn: cc, used: now}
	return cc, nil
}

func (r *router) evictOldest() {
	var oldest [sha256.Size]byte
	var at time.Time
	for k, e := range r.conns {
		if at.IsZero() || e.used.Before(at) {
			oldest, at = k, e.used
		}
	}
	if e := r.conns[oldest]; e != nil {
		e.conn.Close()
		delete(r.conns, oldest)
	}
}

func (r *router) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	cc, err := r.conn(ctx)
	if err != nil {
		return err
	}
	return cc.Invoke(ctx, method, args, reply, opts...)
}

func (r *router) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cc, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	return cc.NewStream(ctx, desc, method, opts...)
}

func (r *router) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, e := range r.conns {
		e.conn.Close()
		delete(r.conns, k)
	}
}
