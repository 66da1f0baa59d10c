package harness

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbachttp "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	rbacnet "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
)

// pilot/pkg/simulation does not evaluate RBAC; these functions evaluate the RBAC filters that
// pilot generated for the proxy with Envoy's semantics: for each filter in order, a DENY
// engine denies when any policy matches, an ALLOW engine denies when none does.

func (w *walker) networkRBAC(fc *listener.FilterChain, in stream) (bool, string) {
	for _, f := range fc.GetFilters() {
		if f.GetName() != "envoy.filters.network.rbac" {
			continue
		}
		cfg := &rbacnet.RBAC{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
			fail("network RBAC: %v", err)
		}
		if cfg.GetMatcher() != nil {
			fail("network RBAC with a matcher tree is not supported by the harness")
		}
		if denied, why := evaluate(cfg.GetRules(), in, false); denied {
			return true, "network RBAC " + cfg.GetStatPrefix() + ": " + why
		}
	}
	return false, ""
}

func (w *walker) httpRBAC(hcm *hcmv3.HttpConnectionManager, in stream) (bool, string) {
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() != "envoy.filters.http.rbac" {
			continue
		}
		cfg := &rbachttp.RBAC{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
			fail("HTTP RBAC: %v", err)
		}
		if cfg.GetMatcher() != nil {
			fail("HTTP RBAC with a matcher tree is not supported by the harness")
		}
		if denied, why := evaluate(cfg.GetRules(), in, true); denied {
			return true, "HTTP RBAC: " + why
		}
	}
	return false, ""
}

func evaluate(rules *rbacv3.RBAC, in stream, isHTTP bool) (bool, string) {
	if rules == nil {
		return false, ""
	}
	names := make([]string, 0, len(rules.GetPolicies()))
	for name := range rules.GetPolicies() {
		names = append(names, name)
	}
	sort.Strings(names)
	matched := ""
	for _, name := range names {
		p := rules.GetPolicies()[name]
		if anyPermission(p.GetPermissions(), in, isHTTP) && anyPrincipal(p.GetPrincipals(), in, isHTTP) {
			matched = name
			break
		}
	}
	switch rules.GetAction() {
	case rbacv3.RBAC_DENY:
		if matched != "" {
			return true, "DENY policy " + matched + " matches"
		}
	case rbacv3.RBAC_ALLOW:
		if matched == "" {
			return true, fmt.Sprintf("no ALLOW policy matches (%d present)", len(names))
		}
	}
	return false, ""
}

func anyPermission(ps []*rbacv3.Permission, in stream, isHTTP bool) bool {
	for _, p := range ps {
		if permission(p, in, isHTTP) {
			return true
		}
	}
	return false
}

func anyPrincipal(ps []*rbacv3.Principal, in stream, isHTTP bool) bool {
	for _, p := range ps {
		if principal(p, in, isHTTP) {
			return true
		}
	}
	return false
}

func permission(p *rbacv3.Permission, in stream, isHTTP bool) bool {
	switch r := p.GetRule().(type) {
	case *rbacv3.Permission_Any:
		return r.Any
	case *rbacv3.Permission_AndRules:
		for _, q := range r.AndRules.GetRules() {
			if !permission(q, in, isHTTP) {
				return false
			}
		}
		return true
	case *rbacv3.Permission_OrRules:
		return anyPermission(r.OrRules.GetRules(), in, isHTTP)
	case *rbacv3.Permission_NotRule:
		return !permission(r.NotRule, in, isHTTP)
	case *rbacv3.Permission_Header:
		return isHTTP && matchHeader(r.Header, in.headers)
	case *rbacv3.Permission_UrlPath:
		return isHTTP && matchString(r.UrlPath.GetPath(), strings.SplitN(in.headers.Get(":path"), "?", 2)[0])
	case *rbacv3.Permission_DestinationPort:
		return int(r.DestinationPort) == in.call.Port
	case *rbacv3.Permission_DestinationPortRange:
		return int32(in.call.Port) >= r.DestinationPortRange.GetStart() && int32(in.call.Port) < r.DestinationPortRange.GetEnd()
	case *rbacv3.Permission_DestinationIp:
		return cidrContains(r.DestinationIp.GetAddressPrefix(), r.DestinationIp.GetPrefixLen().GetValue(), in.call.Address)
	case *rbacv3.Permission_RequestedServerName:
		return matchString(r.RequestedServerName, in.call.Sni)
	}
	fail("RBAC permission %T is not supported by the harness", p.GetRule())
	return false
}

func principal(p *rbacv3.Principal, in stream, isHTTP bool) bool {
	switch id := p.GetIdentifier().(type) {
	case *rbacv3.Principal_Any:
		return id.Any
	case *rbacv3.Principal_AndIds:
		for _, q := range id.AndIds.GetIds() {
			if !principal(q, in, isHTTP) {
				return false
			}
		}
		return true
	case *rbacv3.Principal_OrIds:
		return anyPrincipal(id.OrIds.GetIds(), in, isHTTP)
	case *rbacv3.Principal_NotId:
		return !principal(id.NotId, in, isHTTP)
	case *rbacv3.Principal_Authenticated_:
		if in.peer == "" {
			return false
		}
		if id.Authenticated.GetPrincipalName() == nil {
			return true
		}
		return matchString(id.Authenticated.GetPrincipalName(), in.peer)
	case *rbacv3.Principal_Header:
		return isHTTP && matchHeader(id.Header, in.headers)
	case *rbacv3.Principal_DirectRemoteIp:
		return cidrContains(id.DirectRemoteIp.GetAddressPrefix(), id.DirectRemoteIp.GetPrefixLen().GetValue(), in.source.IP)
	case *rbacv3.Principal_RemoteIp:
		return cidrContains(id.RemoteIp.GetAddressPrefix(), id.RemoteIp.GetPrefixLen().GetValue(), in.source.IP)
	case *rbacv3.Principal_SourceIp:
		return cidrContains(id.SourceIp.GetAddressPrefix(), id.SourceIp.GetPrefixLen().GetValue(), in.source.IP)
	case *rbacv3.Principal_UrlPath:
		return isHTTP && matchString(id.UrlPath.GetPath(), in.headers.Get(":path"))
	}
	fail("RBAC principal %T is not supported by the harness", p.GetIdentifier())
	return false
}

func cidrContains(prefix string, bits uint32, ip string) bool {
	p, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", prefix, bits))
	a, err2 := netip.ParseAddr(ip)
	return err == nil && err2 == nil && p.Contains(a)
}
