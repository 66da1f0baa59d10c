package harness

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/schema/collections"
	"sigs.k8s.io/yaml"

	meshconfig "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
)

// RunWorld validates the world's objects with Istio's own validation, builds pilot's config
// for every proxy involved and walks each request.
func RunWorld(t *testing.T, w World) (out WorldResult) {
	out = WorldResult{ID: w.ID, Rejected: []Rejection{}, Warnings: []Rejection{}, Results: []Result{}}
	defer func() {
		if failure := recover(); failure != nil {
			out.Error = fmt.Sprint(failure)
		}
	}()
	accepted := []config.Config{}
	// Objects applied together share a creation time (Kubernetes stores it in seconds), as
	// pilot's own test setup gives them; an explicit metadata.creationTimestamp is kept.
	appliedAt := time.Now().Truncate(time.Second)
	for _, doc := range strings.Split(w.Config, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		// NB: ParseInputs validates too: one invalid object would fail the whole set.
		configs, _, err := crd.ParseInputs(doc)
		if err != nil {
			out.Rejected = append(out.Rejected, rejection(doc, err))
			continue
		}
		c := configs[0]
		if c.CreationTimestamp.IsZero() {
			c.CreationTimestamp = appliedAt
		}
		if rej, warn := validate(c); rej != nil {
			out.Rejected = append(out.Rejected, *rej)
			continue
		} else if warn != nil {
			out.Warnings = append(out.Warnings, *warn)
		}
		accepted = append(accepted, c)
	}
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		Configs:                accepted,
		KubernetesObjectString: w.Kube,
		MeshConfig:             meshConfig(w.MeshMode),
	})
	world := &walker{t: t, server: s, world: w, sims: map[string]*simulation.Simulation{}, proxies: map[*simulation.Simulation]*model.Proxy{}, hostGroups: hostGroups(accepted)}
	world.gateway = world.simulation(w.Gateway.Pod, true)
	for _, r := range w.Requests {
		out.Results = append(out.Results, world.walk(r))
	}
	return out
}

// validate runs the validation istiod's webhook and `istioctl validate` run.
func validate(c config.Config) (rejected, warning *Rejection) {
	s, ok := collections.Pilot.FindByGroupVersionAliasesKind(c.GroupVersionKind)
	describe := func(msg string) *Rejection {
		return &Rejection{Kind: c.GroupVersionKind.Kind, Name: c.Name, Namespace: c.Namespace, Message: msg}
	}
	if !ok {
		return describe("unknown kind " + c.GroupVersionKind.String()), nil
	}
	warn, err := s.ValidateConfig(c)
	if err != nil {
		return describe(err.Error()), nil
	}
	if warn != nil {
		return nil, describe(warn.Error())
	}
	return nil, nil
}

// rejection describes a document ParseInputs refused, by the kind and name it claims.
func rejection(doc string, err error) Rejection {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal([]byte(doc), &head)
	return Rejection{Kind: head.Kind, Name: head.Metadata.Name, Namespace: head.Metadata.Namespace, Message: err.Error()}
}

func meshConfig(mode string) *meshconfig.MeshConfig {
	m := mesh.DefaultMeshConfig()
	m.OutboundTrafficPolicy = &meshconfig.MeshConfig_OutboundTrafficPolicy{Mode: meshconfig.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY}
	if mode == "ALLOW_ANY" {
		m.OutboundTrafficPolicy.Mode = meshconfig.MeshConfig_OutboundTrafficPolicy_ALLOW_ANY
	}
	return m
}

// hostGroups maps each ServiceEntry host to the hosts listed beside it. All hosts of one entry
// are taken to be served by the same servers (the policy's premise, validation V10B), so TLS
// for one of them delivered to another is accepted by the server.
func hostGroups(configs []config.Config) map[string][]string {
	groups := map[string][]string{}
	for _, c := range configs {
		se, ok := c.Spec.(*networking.ServiceEntry)
		if !ok {
			continue
		}
		for _, h := range se.Hosts {
			groups[h] = append(groups[h], se.Hosts...)
		}
	}
	return groups
}

type walker struct {
	t          *testing.T
	server     *xds.FakeDiscoveryServer
	world      World
	gateway    *simulation.Simulation
	sims       map[string]*simulation.Simulation
	proxies    map[*simulation.Simulation]*model.Proxy
	hostGroups map[string][]string
}

// simulation builds (once per workload) pilot's listeners, routes and clusters for a proxy.
func (w *walker) simulation(wl Workload, router bool) *simulation.Simulation {
	key := fmt.Sprintf("%v|%s|%s", router, wl.Namespace, labelString(wl.Labels))
	if sim, ok := w.sims[key]; ok {
		return sim
	}
	ip := wl.IP
	if ip == "" {
		ip = "10.10.0.1"
	}
	proxy := &model.Proxy{
		ID:              "workload-" + fmt.Sprint(len(w.sims)) + "." + wl.Namespace,
		ConfigNamespace: wl.Namespace,
		Labels:          wl.Labels,
		IPAddresses:     []string{ip},
		Metadata: &model.NodeMetadata{
			Labels:         wl.Labels,
			Namespace:      wl.Namespace,
			IstioVersion:   "1.30.0",
			ServiceAccount: wl.ServiceAccount,
		},
	}
	if router {
		proxy.Type = model.Router
	}
	proxy = w.server.SetupProxy(proxy)
	sim := simulation.NewSimulation(w.t, w.server, proxy)
	tagFilterChains(sim)
	w.sims[key] = sim
	w.proxies[sim] = proxy
	return sim
}

// chainTag separates the index we give each filter chain from the name pilot gave it.
const chainTag = "#"

// tagFilterChains names every filter chain uniquely ("<index>#<pilot's name>") so the chain
// pilot's simulation matched can be found again: pilot leaves many chains unnamed.
func tagFilterChains(sim *simulation.Simulation) {
	for _, l := range sim.Listeners {
		for i, fc := range l.GetFilterChains() {
			fc.Name = fmt.Sprintf("%d%s%s", i, chainTag, fc.GetName())
		}
		if fc := l.GetDefaultFilterChain(); fc != nil {
			fc.Name = "default" + chainTag + fc.GetName()
		}
	}
}

// chainName is pilot's own name of a tagged chain.
func chainName(tagged string) string {
	if _, name, ok := strings.Cut(tagged, chainTag); ok {
		return name
	}
	return tagged
}

func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}
