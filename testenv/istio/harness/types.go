// Package harness runs Istio's own config generator (pilot) and its traffic simulator
// (pilot/pkg/simulation) over a set of Istio objects, walks each request through the client
// sidecar and then the egress gateway, and reports the chain and the outcome as JSON.
//
// It is a test oracle for Egress Console's simulator: it answers what Istio's generated Envoy
// configuration does with a request, not what the objects appear to intend.
package harness

// Input is the whole job: several independent worlds, each with its own objects and requests.
type Input struct {
	Worlds []World `json:"worlds"`
}

// World is one mesh: Istio objects, the Kubernetes objects around them, the mesh's outbound
// mode, the egress gateway's identity, and the requests to walk.
type World struct {
	ID       string    `json:"id"`
	Config   string    `json:"config"`   // Istio objects, multi-document YAML
	Kube     string    `json:"kube"`     // Namespaces, the gateway Service, other Services
	MeshMode string    `json:"meshMode"` // REGISTRY_ONLY | ALLOW_ANY
	Gateway  Gateway   `json:"gateway"`
	Requests []Request `json:"requests"`
}

// Gateway is the egress gateway: its Service hostname, port -> targetPort map, and pod.
type Gateway struct {
	Service     string         `json:"service"` // e.g. egressgateway.istio-system.svc.cluster.local
	TargetPorts map[string]int `json:"targetPorts"`
	Pod         Workload       `json:"pod"`
}

// Workload is a pod with a sidecar (or the gateway's pod).
type Workload struct {
	Namespace      string            `json:"namespace"`
	Labels         map[string]string `json:"labels"`
	IP             string            `json:"ip"`
	ServiceAccount string            `json:"serviceAccount"`
}

// Request is what an application in Source sends: scheme http (plain HTTP) or https (TLS
// with SNI = Host), to Host:Port, connecting to Address (the external IP its DNS gave it).
type Request struct {
	ID      string   `json:"id"`
	Source  Workload `json:"source"`
	Scheme  string   `json:"scheme"`
	Host    string   `json:"host"`
	Port    int      `json:"port"`
	Path    string   `json:"path"`
	Method  string   `json:"method"`
	Address string   `json:"address"`
}

// Output mirrors Input: one result per world.
type Output struct {
	Worlds []WorldResult `json:"worlds"`
}

// WorldResult holds Istio's validation verdict on each object and the per-request results.
type WorldResult struct {
	ID       string      `json:"id"`
	Rejected []Rejection `json:"rejected"`
	Warnings []Rejection `json:"warnings"`
	Error    string      `json:"error,omitempty"`
	Results  []Result    `json:"results"`
}

// Rejection is an object Istio's validation (the webhook's and istioctl's) refuses or warns on.
type Rejection struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Message   string `json:"message"`
}

// Result is the outcome of one request: the status the client sees (an HTTP status, or
// "reset" when it gets no HTTP response), what the external server receives, and each hop.
type Result struct {
	ID       string    `json:"id"`
	Status   any       `json:"status"`
	Body     string    `json:"body,omitempty"`
	Upstream *Upstream `json:"upstream"`
	Hops     []Hop     `json:"hops"`
	Reason   string    `json:"reason"`
}

// Upstream is the request as the external server receives it.
type Upstream struct {
	Scheme   string `json:"scheme"`   // http | https
	Host     string `json:"host"`     // Host header (HTTP) or SNI (TLS)
	Port     int    `json:"port"`     // the endpoint port
	Path     string `json:"path"`     // the request path
	Endpoint string `json:"endpoint"` // the address the proxy connected to (DNS name or IP)
	TLSBy    string `json:"tlsBy"`    // "app" (the client's own TLS), "sidecar", "gateway" or ""
}

// Hop is one proxy's decision, as Envoy names it.
type Hop struct {
	Proxy        string            `json:"proxy"` // sidecar | gateway
	Listener     string            `json:"listener"`
	FilterChain  string            `json:"filterChain"`
	RouteConfig  string            `json:"routeConfig,omitempty"`
	VirtualHost  string            `json:"virtualHost,omitempty"`
	Route        string            `json:"route,omitempty"`
	Cluster      string            `json:"cluster,omitempty"`
	UpstreamTLS  *TLSSettings      `json:"upstreamTLS,omitempty"`
	AddedHeaders map[string]string `json:"addedHeaders,omitempty"`
	RBAC         string            `json:"rbac,omitempty"`
	Error        string            `json:"error,omitempty"`
}

// TLSSettings is what a proxy's cluster sends when it originates TLS.
type TLSSettings struct {
	Mode    string   `json:"mode"` // ISTIO_MUTUAL | SIMPLE
	Sni     string   `json:"sni"`
	AutoSni bool     `json:"autoSni"`
	Alpn    []string `json:"alpn"`
	Verify  bool     `json:"verify"` // the server certificate is checked against a CA
}
