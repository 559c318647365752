// SPDX-License-Identifier: Apache-2.0

// Command ztp-server is the reference HTTPS server hosting the libztp
// verifier with Go's net/http and crypto/tls.
//
//	ztp-server --config ztp-verify.json --tls-cert server.pem \
//	           --tls-key server.key [--listen 127.0.0.1:8443]
//
// The verifier is configured from the same JSON file as ztp-verify
// (ztp-verify.json(5)). Requests POST /ztp/v1/<endpoint> are passed to
// Verifier.Handle together with the certificate the client presented in
// the TLS handshake; the verifier makes every identity decision.
//
// TLS: version 1.2 or later. Client certificates are requested but
// optional. A certificate that is presented must chain to one of the CAs
// that can sign device certificates (the manufacturer trust anchors and
// issuing CAs and the device CA named in the configuration, or those given
// with --client-ca). That check only keeps strangers out of the handshake:
// the verifier repeats the real identity check for every request.
//
// Slow clients: the TLS handshake, and each request whole (headers and
// body), must arrive within --request-timeout seconds each; a kept-alive
// connection may wait --idle-timeout seconds for its next request; at most
// --max-connections connections are open at once, at most
// --max-per-address of them from one client address, and connections over
// either cap are closed as soon as they are accepted. See doc/SECURITY.md
// for what these do not stop.
//
// POST /ztp/v1/ocsp (an application/ocsp-request body) and GET
// /ztp/v1/ocsp/<base64 of the request, URL-encoded> answer OCSP requests
// for the device CA (ztp_verifier_ocsp(3)).
//
// GET /metrics answers ztp_verifier_metrics(3) (Prometheus text format
// 0.0.4). With --metrics-listen HOST:PORT it is served there instead, over
// plain HTTP and without client certificates, for a scraper on an
// operator network; the device-facing listener then answers 404.
//
// Logs: one JSON object per line, on standard error (--log stderr, the
// default) or to syslog (--log syslog, facility daemon; --log none or
// --quiet: nothing): {"kind":"request","request_id":…,"remote":…,
// "method":…,"endpoint":…,"status":N,"code":…,"device_id":…,
// "latency_ms":…} for every request (code: the wire code of an error
// answer, "ok" otherwise; device_id: the device the verifier's event named,
// else a valid device_id of the request), {"kind":"event","request_id":…,
// …} for every decision event of the verifier, and {"kind":"connection",…}
// for refused connections. The request ID is also sent as X-Request-ID.
// Request bodies, certificates, nonces, claim codes and keys are never
// logged.
//
// On start it prints "listening on HOST:PORT" on stdout (port 0 picks a
// free port), then "metrics on HOST:PORT" with --metrics-listen. SIGTERM
// and SIGINT stop it gracefully.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/syslog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/libztp/libztp/bindings/go/ztp"
)

const (
	defaultMaxBody        = 65536
	defaultMaxConnections = 256
	defaultMaxPerAddress  = 16
	defaultRequestTimeout = 20
	defaultIdleTimeout    = 10
	// Time to write an answer, from the end of the request's headers.
	writeTimeout = 30 * time.Second
)

var endpointPath = regexp.MustCompile(`^/ztp/v1/([a-z][a-z0-9_]{0,31})$`)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func errorBody(code, message string) []byte {
	b, _ := json.Marshal(map[string]interface{}{
		"error": map[string]string{"code": code, "message": message},
	})
	return b
}

// jsonLog writes one JSON object per line; a nil *jsonLog logs nothing.
type jsonLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *jsonLog) write(obj map[string]interface{}) {
	if l == nil {
		return
	}
	obj["ts"] = time.Now().UTC().Format("2006-01-02T15:04:05Z")
	line, err := json.Marshal(obj)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(line, '\n'))
}

// Write makes a jsonLog the net/http servers' error log: each line an
// object of kind "http" (TLS handshake failures and the like).
func (l *jsonLog) Write(p []byte) (int, error) {
	l.write(map[string]interface{}{"kind": "http", "message": strings.TrimSpace(string(p))})
	return len(p), nil
}

func (l *jsonLog) errorLog() *log.Logger {
	if l == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(l, "", 0)
}

// reqState is what the log line of one request collects. The verifier's
// event callback runs on the OS thread of the ztp_verifier_handle() call
// that decided it, which the handler locks for the call: requests are
// found by thread ID.
type reqState struct {
	id, device string
}

type reqTable struct {
	mu   sync.Mutex
	byOS map[int]*reqState
}

func (t *reqTable) enter(st *reqState) int {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	t.mu.Lock()
	t.byOS[tid] = st
	t.mu.Unlock()
	return tid
}

func (t *reqTable) leave(tid int) {
	t.mu.Lock()
	delete(t.byOS, tid)
	t.mu.Unlock()
	runtime.UnlockOSThread()
}

func (t *reqTable) current() *reqState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byOS[syscall.Gettid()]
}

func newRequestID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "unknown"
	}
	return hex.EncodeToString(b)
}

// statusWriter remembers the status and body of an answer for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 300 && len(w.body) < 4096 {
		w.body = append(w.body, b...)
	}
	return w.ResponseWriter.Write(b)
}

// requestDeviceID is the request's device_id when it is a valid
// identifier (IDs are public names; the rest of the body is never logged).
func requestDeviceID(body []byte) string {
	var doc struct {
		DeviceID string `json:"device_id"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.DeviceID == "" ||
		ztp.ValidateID(doc.DeviceID) != nil {
		return ""
	}
	return doc.DeviceID
}

type server struct {
	v       *ztp.Verifier
	maxBody int64
	quiet   bool
	log     *jsonLog
	reqs    *reqTable
	// noMetrics: GET /metrics is served on its own listener
	// (--metrics-listen), not here.
	noMetrics bool
}

const ocspGetPrefix = "/ztp/v1/ocsp/"

// sendOCSP answers with ztp_verifier_ocsp(3): HTTP 200 whatever the OCSP
// status (a bad request gets an OCSP error response), RFC 6960 A.1.
func (s *server) sendOCSP(w http.ResponseWriter, req []byte) {
	resp, err := s.v.OCSP(req)
	if err != nil {
		log.Printf("ocsp: %v", err)
		s.send(w, http.StatusInternalServerError, errorBody("internal_error", "verifier failure"), nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/ocsp-response")
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
}

// metricsHandler answers GET /metrics with ztp_verifier_metrics(3).
type metricsHandler struct{ v *ztp.Verifier }

func (h metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	text, err := h.v.Metrics()
	if err != nil {
		log.Printf("metrics: %v", err)
		http.Error(w, "metrics unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(text)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = io.WriteString(w, text)
	}
}

func (s *server) send(w http.ResponseWriter, status int, body []byte, retryAfter *int) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	if retryAfter != nil {
		h.Set("Retry-After", strconv.Itoa(*retryAfter))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &reqState{id: newRequestID()}
	w.Header().Set("X-Request-ID", st.id)
	sw := &statusWriter{ResponseWriter: w}
	start := time.Now()
	endpoint := s.serve(sw, r, st)
	code := "ok"
	if sw.status >= 300 {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		code = fmt.Sprintf("http_%d", sw.status)
		if json.Unmarshal(sw.body, &e) == nil && e.Error.Code != "" {
			code = e.Error.Code
		}
	}
	var dev interface{}
	if st.device != "" {
		dev = st.device
	}
	var ep interface{}
	if endpoint != "" {
		ep = endpoint
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.log.write(map[string]interface{}{
		"kind": "request", "request_id": st.id, "remote": host,
		"method": r.Method, "endpoint": ep, "status": sw.status,
		"code": code, "device_id": dev,
		"latency_ms": float64(time.Since(start).Microseconds()) / 1000,
	})
}

// onEvent logs a verifier event with the request it was decided in.
func (s *server) onEvent(ev map[string]interface{}) {
	st := s.reqs.current()
	if st != nil {
		ev["request_id"] = st.id
		if d, ok := ev["device_id"].(string); ok {
			st.device = d
		}
	}
	ev["kind"] = "event"
	s.log.write(ev)
}

// serve answers the request; it returns the endpoint's name for the log.
func (s *server) serve(w http.ResponseWriter, r *http.Request, st *reqState) string {
	if r.URL.Path == "/metrics" && !s.noMetrics {
		metricsHandler{s.v}.ServeHTTP(w, r)
		return "metrics"
	}
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.EscapedPath(), ocspGetPrefix) {
		// base64 of the DER, URL-encoded; what does not decode is
		// passed on empty, and answered malformedRequest.
		text, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), ocspGetPrefix))
		var req []byte
		if err == nil {
			req, _ = base64.StdEncoding.Strict().DecodeString(text)
		}
		s.sendOCSP(w, req)
		return "ocsp"
	}
	m := endpointPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.URL.RawQuery != "" {
		s.send(w, http.StatusNotFound, errorBody("unknown_endpoint", "no such endpoint"), nil)
		return ""
	}
	ep := m[1]
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		s.send(w, http.StatusMethodNotAllowed, errorBody("method_not_allowed", "use POST"), nil)
		return ep
	}
	if r.ContentLength < 0 {
		w.Header().Set("Connection", "close")
		s.send(w, http.StatusLengthRequired, errorBody("malformed_request", "Content-Length required"), nil)
		return ep
	}
	// Refuse before reading: the body is never buffered past the cap.
	if r.ContentLength > s.maxBody {
		w.Header().Set("Connection", "close")
		s.send(w, http.StatusRequestEntityTooLarge,
			errorBody("request_too_large", fmt.Sprintf("request body over %d bytes", s.maxBody)), nil)
		return ep
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return ep
	}
	if ep == "challenge" || ep == "bootstrap" {
		st.device = requestDeviceID(body)
	}
	if ep == "ocsp" {
		s.sendOCSP(w, body)
		return ep
	}
	var peer []byte
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		peer = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.TLS.PeerCertificates[0].Raw})
	}
	tid := s.reqs.enter(st)
	resp, err := s.v.Handle(ep, body, peer)
	s.reqs.leave(tid)
	if err != nil {
		log.Printf("%s: verifier: %v", r.RemoteAddr, err)
		s.send(w, http.StatusInternalServerError, errorBody("internal_error", "verifier failure"), nil)
		return ep
	}
	var retryAfter *int
	if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
		if e := resp.Error(); e != nil {
			retryAfter = e.RetryAfter
		}
	}
	s.send(w, resp.Status, resp.Body, retryAfter)
	return ep
}

// capListener closes accepted connections over its caps at once: at most
// maxTotal open in all, at most maxPerAddr from one client IP address.
// net/http itself bounds neither.
type capListener struct {
	net.Listener
	maxTotal, maxPerAddr int
	log                  *jsonLog

	mu      sync.Mutex
	total   int
	perAddr map[string]int
}

type capConn struct {
	net.Conn
	l    *capListener
	host string
	once sync.Once
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := c.RemoteAddr().String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		l.mu.Lock()
		ok := l.total < l.maxTotal && l.perAddr[host] < l.maxPerAddr
		if ok {
			l.total++
			l.perAddr[host]++
		}
		l.mu.Unlock()
		if ok {
			return &capConn{Conn: c, l: l, host: host}, nil
		}
		l.log.write(map[string]interface{}{"kind": "connection", "remote": host,
			"message": "refused: over the connection caps"})
		_ = c.Close()
	}
}

func (c *capConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		l.total--
		if l.perAddr[c.host]--; l.perAddr[c.host] == 0 {
			delete(l.perAddr, c.host)
		}
		l.mu.Unlock()
	})
	return err
}

// clientCAsFromConfig lists the CA files a device certificate may chain to,
// from the verifier configuration (relative to the file's directory).
func clientCAsFromConfig(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		TrustAnchors string `json:"trust_anchors"`
		Issuers      string `json:"issuers"`
		DeviceCA     struct {
			Cert  string `json:"cert"`
			Chain string `json:"chain"`
		} `json:"device_ca"`
		// A device-CA rollover: the CAs still accepted besides device_ca.
		DeviceCAPrevious []string `json:"device_ca_previous"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	base := filepath.Dir(path)
	var files []string
	for _, f := range append([]string{cfg.TrustAnchors, cfg.Issuers, cfg.DeviceCA.Cert, cfg.DeviceCA.Chain}, cfg.DeviceCAPrevious...) {
		if f == "" {
			continue
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(base, f)
		}
		files = append(files, f)
	}
	return files, nil
}

func maxRequestSize(path string) int64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return defaultMaxBody
	}
	var cfg struct {
		MaxRequestSize int64 `json:"max_request_size"`
	}
	if json.Unmarshal(raw, &cfg) != nil || cfg.MaxRequestSize <= 0 {
		return defaultMaxBody
	}
	return cfg.MaxRequestSize
}

// tlsConfig requests a client certificate and, when one is presented,
// verifies it against the self-signed CAs in the bundles as roots and the
// others as intermediates, like the OpenSSL-based servers do.
func tlsConfig(certFile, keyFile string, caFiles []string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	n := 0
	for _, f := range caFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for {
			var b *pem.Block
			b, raw = pem.Decode(raw)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if c.CheckSignatureFrom(c) == nil {
				roots.AddCert(c)
			} else {
				inter.AddCert(c)
			}
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("no client CA certificates")
	}
	verify := func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
		if len(rawCerts) == 0 {
			return nil
		}
		certs := make([]*x509.Certificate, len(rawCerts))
		for i, raw := range rawCerts {
			c, err := x509.ParseCertificate(raw)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		pool := inter.Clone()
		for _, c := range certs[1:] {
			pool.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: pool,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		return err
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS12,
		Certificates:          []tls.Certificate{cert},
		ClientAuth:            tls.RequestClientCert,
		VerifyPeerCertificate: verify,
	}, nil
}

// webhookHook is an approval hook that POSTs the context to an HTTPS
// webhook and returns the verdict it answers (status 200, a JSON object);
// anything else is an error, and the verifier denies (approval_failed).
func webhookHook(url, caFile string, timeout time.Duration) (ztp.HookFunc, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, errors.New(caFile + ": no certificates")
		}
		tc.RootCAs = pool
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tc}}
	return func(ctx map[string]interface{}) (map[string]interface{}, error) {
		body, err := json.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("webhook answered %d", resp.StatusCode)
		}
		var verdict map[string]interface{}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4097)).Decode(&verdict); err != nil {
			return nil, err
		}
		return verdict, nil
	}, nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("ztp-server: ")
	var clientCAs multiFlag
	config := flag.String("config", "", "verifier configuration (ztp-verify.json(5))")
	listen := flag.String("listen", "127.0.0.1:8443", "address to listen on (port 0 picks a free port)")
	certFile := flag.String("tls-cert", "", "server certificate chain (PEM)")
	keyFile := flag.String("tls-key", "", "server private key (PEM)")
	maxBody := flag.Int64("max-body", 0, "largest request body read (default: the configuration's max_request_size, else 65536)")
	quiet := flag.Bool("quiet", false, "log nothing (as --log none)")
	logTo := flag.String("log", "stderr", "where the JSON log lines go: stderr, syslog or none")
	maxConns := flag.Int("max-connections", defaultMaxConnections, "connections open at once; more are closed when accepted")
	maxPerAddr := flag.Int("max-per-address", defaultMaxPerAddress, "connections open at once from one client address; more are closed when accepted")
	requestTimeout := flag.Float64("request-timeout", defaultRequestTimeout, "seconds for the TLS handshake, and for each whole request (headers and body)")
	idleTimeout := flag.Float64("idle-timeout", defaultIdleTimeout, "seconds a kept-alive connection may wait for its next request")
	metricsListen := flag.String("metrics-listen", "", "serve GET /metrics on this address, over plain HTTP without client certificates, instead of on --listen")
	flag.Var(&clientCAs, "client-ca", "CA bundle for client certificates (repeatable; default: the CAs in the configuration)")
	webhook := flag.String("approval-webhook", "", "ask this HTTPS URL to approve every bootstrap, credentials and claim (ztp_verifier_set_hook(3))")
	webhookCA := flag.String("approval-ca", "", "CA bundle the webhook's certificate must chain to (default: the system's)")
	webhookMS := flag.Int("approval-timeout-ms", 2000, "the webhook's time to answer; the hook's budget is 500 ms more")
	flag.Parse()
	if *webhook != "" && !strings.HasPrefix(*webhook, "https://") {
		log.Printf("--approval-webhook must be an https:// URL")
		os.Exit(2)
	}
	if *webhookMS < 1 || *webhookMS > 60000 {
		log.Printf("--approval-timeout-ms must be 1..60000")
		os.Exit(2)
	}
	if *config == "" || *certFile == "" || *keyFile == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, t := range []*float64{requestTimeout, idleTimeout} {
		if !(*t > 0 && *t <= 3600) {
			log.Printf("timeouts are seconds in (0, 3600], not %g", *t)
			os.Exit(2)
		}
	}
	if *maxConns < 1 {
		*maxConns = 1
	}
	if *maxPerAddr < 1 {
		*maxPerAddr = 1
	}

	v, err := ztp.LoadVerifier(*config)
	if err != nil {
		log.Fatalf("%s: %v", *config, err)
	}
	defer v.Close()
	if *webhook != "" {
		// Fail closed: the client's timeout is within the hook's budget,
		// so a slow webhook is a refusal, never a late approval.
		to := time.Duration(*webhookMS) * time.Millisecond
		hook, err := webhookHook(*webhook, *webhookCA, to)
		if err != nil {
			log.Fatalf("--approval-ca: %v", err)
		}
		if err := v.SetHook(hook, to+500*time.Millisecond); err != nil {
			log.Fatalf("approval hook: %v", err)
		}
	}
	if *maxBody <= 0 {
		*maxBody = maxRequestSize(*config)
	}
	cas := []string(clientCAs)
	if len(cas) == 0 {
		if cas, err = clientCAsFromConfig(*config); err != nil {
			log.Fatalf("%s: %v", *config, err)
		}
	}
	tc, err := tlsConfig(*certFile, *keyFile, cas)
	if err != nil {
		log.Fatalf("TLS setup: %v", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	var jl *jsonLog
	switch {
	case *quiet || *logTo == "none":
	case *logTo == "stderr":
		jl = &jsonLog{w: os.Stderr}
	case *logTo == "syslog":
		sw, err := syslog.New(syslog.LOG_INFO|syslog.LOG_DAEMON, "ztp-server")
		if err != nil {
			log.Fatalf("syslog: %v", err)
		}
		jl = &jsonLog{w: sw}
	default:
		log.Fatalf("--log: stderr, syslog or none, not %q", *logTo)
	}
	srvState := &server{v: v, maxBody: *maxBody, quiet: *quiet, log: jl,
		reqs: &reqTable{byOS: make(map[int]*reqState)}, noMetrics: *metricsListen != ""}
	if jl != nil {
		if err := v.SetEventCallback(srvState.onEvent); err != nil {
			log.Fatalf("event callback: %v", err)
		}
	}
	ln = &capListener{Listener: ln, maxTotal: *maxConns, maxPerAddr: *maxPerAddr,
		log: jl, perAddr: make(map[string]int)}
	// ReadTimeout bounds a whole request, headers and body, from its first
	// byte (net/http sets the deadline once per request, not per read);
	// the TLS handshake gets the shortest of the timeouts below.
	reqTO := time.Duration(*requestTimeout * float64(time.Second))
	srv := &http.Server{
		Handler:           srvState,
		TLSConfig:         tc,
		ReadHeaderTimeout: reqTO,
		ReadTimeout:       reqTO,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       time.Duration(*idleTimeout * float64(time.Second)),
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          jl.errorLog(),
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	var msrv *http.Server
	if *metricsListen != "" {
		mln, err := net.Listen("tcp", *metricsListen)
		if err != nil {
			log.Fatalf("metrics listen: %v", err)
		}
		msrv = &http.Server{
			Handler:           metricsHandler{v},
			ReadHeaderTimeout: reqTO,
			ReadTimeout:       reqTO,
			WriteTimeout:      writeTimeout,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          jl.errorLog(),
		}
		fmt.Printf("metrics on %s\n", mln.Addr())
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Fatalf("metrics serve: %v", err)
			}
		}()
	}

	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if msrv != nil {
			_ = msrv.Shutdown(ctx)
		}
		close(done)
	}()
	if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serve: %v", err)
	}
	<-done
}
