package harness

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tcpproxy "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpopts "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// matchRoute is Envoy's route selection within a virtual host: the first route whose path,
// headers and query parameters all match. (pilot/pkg/simulation matches the path only.)
func matchRoute(vh *route.VirtualHost, headers http.Header) *route.Route {
	path := headers.Get(":path")
	query := ""
	if i := strings.Index(path, "?"); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	for _, r := range vh.GetRoutes() {
		if matchPath(r.GetMatch(), path) && matchHeaders(r.GetMatch().GetHeaders(), headers) && matchQuery(r.GetMatch(), query) {
			return r
		}
	}
	return nil
}

func matchPath(m *route.RouteMatch, path string) bool {
	p := path
	fold := m.GetCaseSensitive() != nil && !m.GetCaseSensitive().GetValue()
	if fold {
		p = strings.ToLower(p)
	}
	lower := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	switch spec := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		return strings.HasPrefix(p, lower(spec.Prefix))
	case *route.RouteMatch_Path:
		return p == lower(spec.Path)
	case *route.RouteMatch_PathSeparatedPrefix:
		pre := lower(spec.PathSeparatedPrefix)
		return p == pre || strings.HasPrefix(p, pre+"/")
	case *route.RouteMatch_SafeRegex:
		return regexp.MustCompile("^(?:" + spec.SafeRegex.GetRegex() + ")$").MatchString(path)
	}
	return false
}

func matchHeaders(ms []*route.HeaderMatcher, headers http.Header) bool {
	for _, m := range ms {
		if !matchHeader(m, headers) {
			return false
		}
	}
	return true
}

// matchHeader is Envoy's HeaderMatcher: a missing header fails every matcher but present:false.
func matchHeader(m *route.HeaderMatcher, headers http.Header) bool {
	values, present := headers[http.CanonicalHeaderKey(m.GetName())]
	if strings.HasPrefix(m.GetName(), ":") {
		values, present = headers[m.GetName()]
	}
	value := strings.Join(values, ",")
	var ok bool
	switch spec := m.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		ok = present == spec.PresentMatch
		if m.GetInvertMatch() {
			return !ok
		}
		return ok
	case *route.HeaderMatcher_ExactMatch:
		ok = present && value == spec.ExactMatch
	case *route.HeaderMatcher_PrefixMatch:
		ok = present && strings.HasPrefix(value, spec.PrefixMatch)
	case *route.HeaderMatcher_SuffixMatch:
		ok = present && strings.HasSuffix(value, spec.SuffixMatch)
	case *route.HeaderMatcher_ContainsMatch:
		ok = present && strings.Contains(value, spec.ContainsMatch)
	case *route.HeaderMatcher_SafeRegexMatch:
		ok = present && regexp.MustCompile("^(?:"+spec.SafeRegexMatch.GetRegex()+")$").MatchString(value)
	case *route.HeaderMatcher_StringMatch:
		ok = present && matchString(spec.StringMatch, value)
	case nil:
		ok = present
	default:
		return false
	}
	if !present {
		return false
	}
	return ok != m.GetInvertMatch()
}

// matchString is Envoy's StringMatcher.
func matchString(m *matcher.StringMatcher, value string) bool {
	if m.GetIgnoreCase() {
		value = strings.ToLower(value)
	}
	fold := func(s string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(s)
		}
		return s
	}
	switch spec := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return value == fold(spec.Exact)
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(value, fold(spec.Prefix))
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(value, fold(spec.Suffix))
	case *matcher.StringMatcher_Contains:
		return strings.Contains(value, fold(spec.Contains))
	case *matcher.StringMatcher_SafeRegex:
		return regexp.MustCompile("^(?:" + spec.SafeRegex.GetRegex() + ")$").MatchString(value)
	}
	return false
}

func matchQuery(m *route.RouteMatch, query string) bool {
	if len(m.GetQueryParameters()) == 0 {
		return true
	}
	values := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	for _, q := range m.GetQueryParameters() {
		v, ok := values[q.GetName()]
		if !ok {
			return false
		}
		if sm := q.GetStringMatch(); sm != nil && !matchString(sm, v) {
			return false
		}
	}
	return true
}

// mutateHeaders applies the route's, then the virtual host's, then the route configuration's
// header additions and removals (Envoy's default order) to a copy of the request headers.
func mutateHeaders(in http.Header, rc *route.RouteConfiguration, vh *route.VirtualHost, r *route.Route) http.Header {
	out := in.Clone()
	for _, level := range []struct {
		add    []*core.HeaderValueOption
		remove []string
	}{
		{r.GetRequestHeadersToAdd(), r.GetRequestHeadersToRemove()},
		{vh.GetRequestHeadersToAdd(), vh.GetRequestHeadersToRemove()},
		{rc.GetRequestHeadersToAdd(), rc.GetRequestHeadersToRemove()},
	} {
		for _, name := range level.remove {
			out.Del(name)
		}
		for _, h := range level.add {
			key := http.CanonicalHeaderKey(h.GetHeader().GetKey())
			value := h.GetHeader().GetValue()
			switch h.GetAppendAction() {
			case core.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
				out[key] = []string{value}
			case core.HeaderValueOption_ADD_IF_ABSENT:
				if _, ok := out[key]; !ok {
					out[key] = []string{value}
				}
			case core.HeaderValueOption_OVERWRITE_IF_EXISTS:
				if _, ok := out[key]; ok {
					out[key] = []string{value}
				}
			default:
				if h.GetAppend() != nil && !h.GetAppend().GetValue() {
					out[key] = []string{value}
				} else {
					out[key] = append(out[key], value)
				}
			}
		}
	}
	return out
}

func addedHeaders(r *route.Route, vh *route.VirtualHost, rc *route.RouteConfiguration) map[string]string {
	added := map[string]string{}
	for _, list := range [][]*core.HeaderValueOption{rc.GetRequestHeadersToAdd(), vh.GetRequestHeadersToAdd(), r.GetRequestHeadersToAdd()} {
		for _, h := range list {
			added[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
	}
	if len(added) == 0 {
		return nil
	}
	return added
}

// routeCluster is the cluster a route action sends to; of weighted clusters, the heaviest
// (ties: the first), since the harness follows one path per request.
func routeCluster(a *route.RouteAction) string {
	if c := a.GetCluster(); c != "" {
		return c
	}
	return heaviest(a.GetWeightedClusters().GetClusters())
}

func heaviest(cs []*route.WeightedCluster_ClusterWeight) string {
	sorted := append([]*route.WeightedCluster_ClusterWeight{}, cs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].GetWeight().GetValue() > sorted[j].GetWeight().GetValue() })
	if len(sorted) == 0 {
		return ""
	}
	return sorted[0].GetName()
}

func tcpCluster(t *tcpproxy.TcpProxy) string {
	if c := t.GetCluster(); c != "" {
		return c
	}
	var best string
	var weight uint32
	for _, c := range t.GetWeightedClusters().GetClusters() {
		if c.GetWeight() > weight {
			best, weight = c.GetName(), c.GetWeight()
		}
	}
	return best
}

// upstreamTLS reads what a cluster sends when it connects to an endpoint with the given
// transport-socket-match metadata: nil for plain text.
func upstreamTLS(c *cluster.Cluster, endpointMeta map[string]string) *TLSSettings {
	socket := c.GetTransportSocket()
	if matches := c.GetTransportSocketMatches(); len(matches) > 0 {
		socket = nil
		for _, m := range matches {
			if structMatches(m.GetMatch().AsMap(), endpointMeta) {
				socket = m.GetTransportSocket()
				break
			}
		}
	}
	if socket == nil {
		return nil
	}
	ctx := &tlsv3.UpstreamTlsContext{}
	if err := socket.GetTypedConfig().UnmarshalTo(ctx); err != nil {
		return nil
	}
	common := ctx.GetCommonTlsContext()
	mode := "SIMPLE"
	if sds := common.GetTlsCertificateSdsSecretConfigs(); len(sds) > 0 && sds[0].GetName() == "default" {
		mode = "ISTIO_MUTUAL"
	}
	s := &TLSSettings{Mode: mode, Sni: ctx.GetSni(), Alpn: common.GetAlpnProtocols(), Verify: verifies(common)}
	if opts := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]; opts != nil {
		o := &httpopts.HttpProtocolOptions{}
		if opts.UnmarshalTo(o) == nil {
			s.AutoSni = o.GetUpstreamHttpProtocolOptions().GetAutoSni()
		}
	}
	return s
}

func verifies(common *tlsv3.CommonTlsContext) bool {
	if common.GetValidationContextSdsSecretConfig() != nil {
		return true
	}
	if v := common.GetValidationContext(); v != nil {
		return v.GetTrustedCa() != nil
	}
	if cv := common.GetCombinedValidationContext(); cv != nil {
		return cv.GetValidationContextSdsSecretConfig() != nil || cv.GetDefaultValidationContext().GetTrustedCa() != nil
	}
	return false
}

func structMatches(want map[string]any, have map[string]string) bool {
	for k, v := range want {
		if s, ok := v.(string); !ok || have[k] != s {
			return false
		}
	}
	return true
}
