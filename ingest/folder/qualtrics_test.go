package folder_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/demandd/demandd/demand"
	"github.com/demandd/demandd/ingest/folder"
	"github.com/demandd/demandd/internal/i18n"
	"github.com/demandd/demandd/internal/testenv"
)

// TestQualtricsThroughTheEngine imports both Qualtrics exports of the corpus
// into a real store: one demand each, from the free-text answer.
func TestQualtricsThroughTheEngine(t *testing.T) {
	forBackends(t, func(t *testing.T, url string) {
		env := testenv.New(t, url, nil)
		for _, name := range []string{"sample.csv", "sample_legacy.csv"} {
			res, err := folder.ImportFile(context.Background(), filepath.Join("testdata", "qualtrics", name), "import",
				demand.OriginRaised, i18n.EN, env.Engine, env.Store, nil)
			if err != nil || res.New != 1 || res.Total() != 1 {
				t.Fatalf("%s: %+v %v, want one new demand", name, res, err)
			}
		}
		if c := env.Counts(t); c.Demands != 2 || c.Raw != 2 || c.Quarantined != 0 {
			t.Errorf("counts %+v", c)
		}
		for _, r := range env.Records(t) {
			if r.Description.Text != "Hello World!" || !r.Source.ReceivedAt.Equal(time.Date(2017, 7, 18, 8, 28, 48, 0, testenv.Shanghai)) {
				t.Errorf("record %+v %v", r.Description, r.Source.ReceivedAt)
			}
		}
	})
}
