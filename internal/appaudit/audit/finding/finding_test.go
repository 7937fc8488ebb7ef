package finding

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestSeverityJSON(t *testing.T) {
	for _, s := range []Severity{Info, Low, Medium, High} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Severity
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%s: %s back to %v (%v)", s, b, back, err)
		}
	}
	var s Severity
	if err := json.Unmarshal([]byte(`"critical"`), &s); err == nil {
		t.Error("unknown severity accepted")
	}
	if Severity(9).String() != "severity(9)" {
		t.Error(Severity(9).String())
	}
}

func TestTrim(t *testing.T) {
	for _, n := range []int{0, 1, MaxEvidence, MaxEvidence + 1, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var ev []Evidence
			for i := range n {
				ev = append(ev, Evidence{Kind: EvString, Value: fmt.Sprint(i)})
			}
			got := Trim(ev)
			if n <= MaxEvidence {
				if len(got) != n {
					t.Fatalf("%d kept of %d", len(got), n)
				}
				return
			}
			if len(got) != MaxEvidence || got[MaxEvidence-1].Value != fmt.Sprintf("%d more", n-MaxEvidence+1) {
				t.Fatalf("%+v", got[len(got)-1])
			}
		})
	}
}
