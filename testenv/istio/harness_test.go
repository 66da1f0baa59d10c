package istio_test

import (
	"encoding/json"
	"os"
	"testing"

	"egress-console.invalid/testenv/istio/harness"

	istiolog "istio.io/istio/pkg/log"
)

// TestHarness is the harness's entry point: `go test -c` builds the binary (pilot's fake
// discovery server needs a *testing.T), and
//
//	HARNESS_INPUT=in.json HARNESS_OUTPUT=out.json ./istio-harness -test.run TestHarness
//
// walks every world of in.json and writes out.json. Without HARNESS_INPUT it is skipped.
func TestHarness(t *testing.T) {
	inPath, outPath := os.Getenv("HARNESS_INPUT"), os.Getenv("HARNESS_OUTPUT")
	if inPath == "" || outPath == "" {
		t.Skip("HARNESS_INPUT and HARNESS_OUTPUT name the job and the answer")
	}
	// Pilot logs every push; the answer file is the output, the log only explains failures.
	for _, scope := range istiolog.Scopes() {
		scope.SetOutputLevel(istiolog.ErrorLevel)
	}
	raw, err := os.ReadFile(inPath)
	if err != nil {
		t.Fatal(err)
	}
	var in harness.Input
	if err := json.Unmarshal(raw, &in); err != nil {
		t.Fatal(err)
	}
	out := harness.Output{Worlds: []harness.WorldResult{}}
	for _, w := range in.Worlds {
		var result harness.WorldResult
		ok := t.Run(w.ID, func(t *testing.T) { result = harness.RunWorld(t, w) })
		if !ok {
			result = harness.WorldResult{ID: w.ID, Error: "the harness failed on this world; see its log"}
		}
		out.Worlds = append(out.Worlds, result)
	}
	encoded, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outPath, encoded, 0o644); err != nil {
		t.Fatal(err)
	}
}
