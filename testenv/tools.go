//go:build tools

// Package testenv only pins the upstream main packages so that `go mod tidy`
// keeps their dependencies. Build them with `go build <pkg>` (see build.sh).
package testenv

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
