package harness

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xdstest"
	"istio.io/istio/pkg/config/host"
)

const (
	blackHole   = "BlackHoleCluster"
	passthrough = "PassthroughCluster"
	reset       = "reset"
)

// stream is the request as one proxy receives it.
type stream struct {
	call    simulation.Call
	headers http.Header // Host, :method, :path and added headers (HTTP only)
	peer    string      // the downstream's mesh identity when it arrives over mTLS
	appTLS  bool        // the bytes are the application's own TLS
	appSni  string      // the SNI of the application's TLS (kept inside the mesh's mTLS)
	source  Workload
}

// decision is what one proxy does with a stream.
type decision struct {
	hop      Hop
	http     bool // an HTTP connection manager handled it
	status   int  // a response the proxy sends itself (direct response, 403, 404, ...)
	body     string
	reset    bool // the proxy closed the connection
	reason   string
	cluster  string
	forwards http.Header // headers sent upstream (HTTP)
}

func (w *walker) walk(r Request) Result {
	res := Result{ID: r.ID, Hops: []Hop{}}
	in := clientStream(r)
	side := w.decide(w.simulation(r.Source, false), "sidecar", in)
	res.Hops = append(res.Hops, side.hop)
	if side.terminal() {
		return side.finish(res)
	}
	next := w.forward(w.simulation(r.Source, false), side, in, "sidecar")
	res.Hops = append(res.Hops, next.hops...)
	return next.finish(res, side.http)
}

func clientStream(r Request) stream {
	port := r.Port
	hostHeader := r.Host
	if !(r.Scheme == "http" && port == 80) && !(r.Scheme == "https" && port == 443) {
		hostHeader = fmt.Sprintf("%s:%d", r.Host, port)
	}
	address := r.Address
	if address == "" {
		address = "203.0.113.7"
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	call := simulation.Call{
		Address: address, Port: port, Path: path, Protocol: simulation.HTTP,
		HostHeader: hostHeader, CallMode: simulation.CallModeOutbound,
	}
	s := stream{call: call, headers: http.Header{}, source: r.Source}
	s.headers.Set(":authority", hostHeader)
	s.headers.Set(":method", method)
	s.headers.Set(":path", path)
	s.headers.Set(":scheme", "http")
	if r.Scheme == "https" {
		s.call.TLS = simulation.TLS
		s.call.Sni = r.Host
		s.appTLS, s.appSni = true, r.Host
	}
	return s
}

func (d decision) terminal() bool { return d.reset || d.status != 0 }

func (d decision) finish(res Result) Result {
	res.Reason = d.reason
	if d.reset {
		res.Status = reset
		return res
	}
	res.Status = d.status
	res.Body = d.body
	return res
}

// decide runs pilot's simulation for one proxy, then finishes what it leaves out: header
// matches, header mutations, direct responses and RBAC.
func (w *walker) decide(sim *simulation.Simulation, proxy string, in stream) decision {
	r := sim.Run(in.call)
	d := decision{hop: Hop{
		Proxy: proxy, Listener: r.ListenerMatched, FilterChain: chainName(r.FilterChainMatched),
		RouteConfig: r.RouteConfigMatched, VirtualHost: r.VirtualHostMatched,
	}}
	if r.Error != nil {
		d.hop.Error = r.Error.Error()
	}
	switch {
	case errors.Is(r.Error, simulation.ErrMultipleFilterChain):
		fail("%s: several filter chains match %+v", proxy, in.call)
	case r.Error == nil, errors.Is(r.Error, simulation.ErrNoRoute), errors.Is(r.Error, simulation.ErrNoVirtualHost):
	case errors.Is(r.Error, simulation.ErrTLSRedirect):
		d.status, d.reason = 301, proxy+": the virtual host requires TLS"
		return d
	default:
		d.reset = true
		d.reason = fmt.Sprintf("%s: %v on listener %s", proxy, r.Error, r.ListenerMatched)
		return d
	}
	fc := w.filterChain(sim, r)
	if denied, why := w.networkRBAC(fc, in); denied {
		d.hop.RBAC, d.reset, d.reason = why, true, proxy+": "+why
		return d
	}
	if hcm := xdstest.ExtractHTTPConnectionManager(w.t, fc); hcm != nil {
		d.http = true
		if denied, why := w.httpRBAC(hcm, in); denied {
			d.hop.RBAC, d.status, d.body, d.reason = why, 403, "RBAC: access denied", proxy+": "+why
			return d
		}
		if r.Error != nil {
			d.status, d.reason = 404, fmt.Sprintf("%s: %v (Envoy answers 404, NR)", proxy, r.Error)
			return d
		}
		w.routeHTTP(sim, r, in, &d)
		return d
	}
	if tcp := xdstest.ExtractTCPProxy(w.t, fc); tcp != nil {
		d.cluster = tcpCluster(tcp)
		d.hop.Cluster = d.cluster
		return d
	}
	fail("%s: filter chain %q has neither an HTTP connection manager nor a TCP proxy", proxy, fc.GetName())
	return d
}

// filterChain finds the chain pilot's simulation matched (by listener and chain name).
func (w *walker) filterChain(sim *simulation.Simulation, r simulation.Result) *listener.FilterChain {
	l := xdstest.ExtractListener(r.ListenerMatched, sim.Listeners)
	chains := append([]*listener.FilterChain{}, l.GetFilterChains()...)
	if l.GetDefaultFilterChain() != nil {
		chains = append(chains, l.GetDefaultFilterChain())
	}
	for _, fc := range chains {
		if fc.GetName() == r.FilterChainMatched {
			return fc
		}
	}
	fail("filter chain %q not found on %s", r.FilterChainMatched, r.ListenerMatched)
	return nil
}

// fail stops the walk of one world; RunWorld reports the message as the world's error.
func fail(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

func (w *walker) routeHTTP(sim *simulation.Simulation, r simulation.Result, in stream, d *decision) {
	rc := xdstest.ExtractRouteConfigurations(sim.Routes)[r.RouteConfigMatched]
	if rc == nil {
		fc := w.filterChain(sim, r)
		rc = xdstest.ExtractHTTPConnectionManager(w.t, fc).GetRouteConfig()
	}
	var vh *route.VirtualHost
	for _, v := range rc.GetVirtualHosts() {
		if v.GetName() == r.VirtualHostMatched {
			vh = v
		}
	}
	rt := matchRoute(vh, in.headers)
	if rt == nil {
		d.status, d.reason = 404, d.hop.Proxy+": no route of virtual host "+vh.GetName()+" matches (Envoy answers 404, NR)"
		return
	}
	d.hop.Route = rt.GetName()
	switch action := rt.GetAction().(type) {
	case *route.Route_DirectResponse:
		d.status = int(action.DirectResponse.GetStatus())
		d.body = action.DirectResponse.GetBody().GetInlineString()
		d.reason = fmt.Sprintf("%s: route %q of virtual host %q answers %d itself", d.hop.Proxy, rt.GetName(), vh.GetName(), d.status)
	case *route.Route_Redirect:
		d.status = redirectStatus(action.Redirect)
		d.reason = d.hop.Proxy + ": route " + rt.GetName() + " redirects"
	case *route.Route_Route:
		d.cluster = routeCluster(action.Route)
		d.hop.Cluster = d.cluster
		d.forwards = mutateHeaders(in.headers, rc, vh, rt)
		if rewrite := action.Route.GetHostRewriteLiteral(); rewrite != "" {
			d.forwards.Set(":authority", rewrite)
		}
		d.hop.AddedHeaders = addedHeaders(rt, vh, rc)
	default:
		fail("route %q: unsupported action %T", rt.GetName(), action)
	}
}

func redirectStatus(r *route.RedirectAction) int {
	switch r.GetResponseCode() {
	case route.RedirectAction_FOUND:
		return 302
	case route.RedirectAction_SEE_OTHER:
		return 303
	case route.RedirectAction_TEMPORARY_REDIRECT:
		return 307
	case route.RedirectAction_PERMANENT_REDIRECT:
		return 308
	}
	return 301
}

// onward is what happens past a proxy's decision: the next hops and how it ends.
type onward struct {
	hops     []Hop
	status   int
	body     string
	reset    bool // the connection past the first proxy failed
	upstream *Upstream
	reason   string
}

func (o onward) finish(res Result, clientHTTP bool) Result {
	res.Upstream = o.upstream
	res.Reason = o.reason
	switch {
	case o.reset && clientHTTP:
		// The client's HTTP connection ends at its sidecar, which answers for a failed upstream.
		res.Status = 503
		res.Reason += " (the sidecar answers 503: upstream connect error or reset before headers)"
		res.Upstream = nil
	case o.reset:
		res.Status = reset
		res.Upstream = nil
	default:
		res.Status = o.status
		res.Body = o.body
	}
	return res
}

// forward follows a decision's cluster: the egress gateway, an external endpoint, the
// original destination, or nowhere.
func (w *walker) forward(sim *simulation.Simulation, d decision, in stream, proxy string) onward {
	switch d.cluster {
	case blackHole:
		if d.http {
			return onward{status: 503, reason: proxy + ": route to BlackHoleCluster (no healthy upstream, UH)"}
		}
		return onward{reset: true, reason: proxy + ": BlackHoleCluster closes the connection (UH)"}
	case passthrough:
		ep := fmt.Sprintf("%s:%d", in.call.Address, in.call.Port)
		return w.external(in, d, ep, in.call.Port, nil, proxy, proxy+": PassthroughCluster to the original destination "+ep)
	}
	c := xdstest.ExtractClusters(sim.Clusters)[d.cluster]
	if c == nil {
		if d.http {
			return onward{status: 503, reason: proxy + ": cluster " + d.cluster + " does not exist (NC)"}
		}
		return onward{reset: true, reason: proxy + ": cluster " + d.cluster + " does not exist"}
	}
	_, _, svcHost, svcPort := model.ParseSubsetKey(d.cluster)
	endpoint, endpointPort, meta := w.endpoint(sim, c)
	if c.GetType() == cluster.Cluster_ORIGINAL_DST {
		// resolution NONE: Envoy connects to the address the application connected to.
		endpoint, endpointPort = in.call.Address, in.call.Port
	}
	tls := upstreamTLS(c, meta)
	if string(svcHost) == w.world.Gateway.Service {
		return w.toGateway(d, in, svcPort, tls, proxy)
	}
	if endpoint == "" {
		if d.http {
			return onward{status: 503, reason: proxy + ": cluster " + d.cluster + " has no endpoints (UH)"}
		}
		return onward{reset: true, reason: proxy + ": cluster " + d.cluster + " has no endpoints"}
	}
	return w.external(in, d, endpoint, endpointPort, tls, proxy, proxy+": cluster "+d.cluster+" to "+fmt.Sprintf("%s:%d", endpoint, endpointPort))
}

// toGateway sends the stream over the sidecar's cluster to the egress gateway pod and lets
// the gateway decide.
func (w *walker) toGateway(d decision, in stream, svcPort int, tls *TLSSettings, proxy string) onward {
	target := w.world.Gateway.TargetPorts[strconv.Itoa(svcPort)]
	if target == 0 {
		return onward{reset: true, reason: fmt.Sprintf("%s: the gateway Service has no port %d", proxy, svcPort)}
	}
	call := simulation.Call{
		Address: w.world.Gateway.Pod.IP, Port: target, Path: in.call.Path,
		CallMode: simulation.CallModeGateway, Protocol: simulation.TCP,
	}
	headers := d.forwards
	if headers == nil {
		// A TCP chain forwards the application's bytes, HTTP included, unchanged.
		headers = in.headers
	}
	next := stream{call: call, headers: headers, appTLS: in.appTLS, appSni: in.appSni, source: in.source}
	if d.http {
		call.Protocol = simulation.HTTP
		call.HostHeader = d.forwards.Get(":authority")
	}
	if tls != nil {
		call.Sni = tls.Sni
		if len(tls.Alpn) > 0 {
			call.Alpn = tls.Alpn[0]
		}
		call.TLS = simulation.TLS
		if tls.Mode == "ISTIO_MUTUAL" {
			call.TLS = simulation.MTLS
			next.peer = in.source.spiffeID()
		}
	} else if in.appTLS {
		// Raw application TLS reaches the gateway: its SNI is what the gateway sees.
		call.TLS = simulation.TLS
		call.Sni = in.appSni
	}
	next.call = call
	if d.http && tls == nil {
		next.headers = d.forwards
	}
	gw := w.decide(w.gateway, "gateway", next)
	hops := []Hop{gw.hop}
	if gw.terminal() {
		if gw.reset {
			return onward{hops: hops, reset: true, reason: gw.reason}
		}
		return onward{hops: hops, status: gw.status, body: gw.body, reason: gw.reason}
	}
	if gw.http && gw.forwards == nil {
		gw.forwards = next.headers
	}
	after := w.forward(w.gateway, gw, next, "gateway")
	after.hops = append(hops, after.hops...)
	if after.reset && gw.http {
		// The gateway's HTTP connection manager answers for its failed upstream.
		after.reset, after.status = false, 503
		after.reason += " (the gateway answers 503)"
		after.upstream = nil
	}
	return after
}

// external is the last hop: the request leaves the mesh for endpoint:port.
func (w *walker) external(in stream, d decision, endpoint string, port int, tls *TLSSettings, proxy, why string) onward {
	headers := in.headers
	if d.http && d.forwards != nil {
		headers = d.forwards // the HTTP route's header mutations and host rewrite
	}
	up := &Upstream{Scheme: "http", Host: stripPort(headers.Get(":authority")), Port: port, Path: in.call.Path, Endpoint: endpoint}
	switch {
	case in.appTLS && tls != nil:
		return onward{reset: true, reason: why + "; " + proxy + " wraps the application's TLS in TLS of its own, which no server accepts"}
	case in.appTLS:
		up.Scheme, up.Host, up.TLSBy = "https", in.appSni, "app"
		if !w.serves(endpoint, in.appSni) {
			return onward{reset: true, reason: why + fmt.Sprintf("; the application's TLS for %s reaches %s, whose certificate the client refuses", in.appSni, endpoint)}
		}
	case tls != nil:
		up.Scheme, up.TLSBy = "https", proxy
		sni := tls.Sni
		if sni == "" && tls.AutoSni {
			sni = up.Host
		}
		if tls.Verify && !w.serves(endpoint, sni) {
			return onward{reset: true, reason: why + fmt.Sprintf("; %s verifies the server certificate, and %s does not serve %s", proxy, endpoint, sni)}
		}
	}
	return onward{status: 200, upstream: up, reason: why + "; the external server answers 200"}
}

// serves says whether the servers behind endpoint (a DNS name or an IP) hold a certificate
// for name: the same host, or a host listed beside it in one ServiceEntry.
func (w *walker) serves(endpoint, name string) bool {
	if endpoint == name || isIP(strings.Split(endpoint, ":")[0]) {
		return true // NB: an IP is the address the application itself resolved and chose
	}
	for _, h := range w.hostGroups[endpoint] {
		if host.Name(name).Matches(host.Name(h)) {
			return true
		}
	}
	return false
}

func isIP(s string) bool {
	return strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789.") == ""
}

func stripPort(authority string) string {
	if i := strings.LastIndex(authority, ":"); i > 0 && !strings.Contains(authority[i:], "]") {
		return authority[:i]
	}
	return authority
}

// spiffeID is the workload's mesh identity, as its sidecar's certificate carries it.
func (wl Workload) spiffeID() string {
	sa := wl.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	return fmt.Sprintf("spiffe://cluster.local/ns/%s/sa/%s", wl.Namespace, sa)
}

// endpoint is the first endpoint of a cluster: its address, port and metadata.
func (w *walker) endpoint(sim *simulation.Simulation, c *cluster.Cluster) (string, int, map[string]string) {
	cla := c.GetLoadAssignment()
	if cla == nil {
		for _, e := range w.server.Endpoints(w.proxies[sim]) {
			if e.GetClusterName() == c.GetName() {
				cla = e
			}
		}
	}
	for _, locality := range cla.GetEndpoints() {
		for _, lb := range locality.GetLbEndpoints() {
			sa := lb.GetEndpoint().GetAddress().GetSocketAddress()
			meta := map[string]string{}
			if m := lb.GetMetadata().GetFilterMetadata()["envoy.transport_socket_match"]; m != nil {
				for k, v := range m.GetFields() {
					meta[k] = v.GetStringValue()
				}
			}
			return sa.GetAddress(), int(sa.GetPortValue()), meta
		}
	}
	return "", 0, nil
}
