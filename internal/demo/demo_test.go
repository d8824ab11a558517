package demo

import (
	"context"
	"testing"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/cmd/kaiping/app/apptest"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/storage/ledger"
)

func TestMain(m *testing.M) { devenv.Main(m, devenv.NeedPostgres, devenv.NeedMinIO) }

// demoWorld is a running server with its administrator logged in: what the demonstration's
// parts are given by Run.
type demoWorld struct {
	base, dir string
	admin     *apiclient.Client
	setup     *app.DevSetup
}

// mustDemoWorld starts a server for one of the demonstration's parts.
func mustDemoWorld(t *testing.T) *demoWorld {
	t.Helper()
	_, setup := apptest.Serve(t, nil)
	w := &demoWorld{base: setup.Config.PublicURL, dir: t.TempDir(), setup: setup, admin: apiclient.New(setup.Config.PublicURL)}
	if _, err := w.admin.Login(context.Background(), setup.Admin.CertPEM(), setup.Admin.Key); err != nil {
		t.Fatal(err)
	}
	return w
}

// verifyLedger checks the world's whole ledger as `kaiping ledger verify` does.
func verifyLedger(w *demoWorld) (*ledger.Report, error) {
	v, err := app.LoadVerifier(w.setup.Config, "")
	if err != nil {
		return nil, err
	}
	return app.VerifyLedger(context.Background(), w.setup.Config, v)
}

// verifyDraw re-runs a draw from the ledger as `kaiping draw verify` does.
func verifyDraw(w *demoWorld, id kaiping.ID) (evaluation.DrawRecord, *evaluation.VerifyReport, error) {
	v, err := app.LoadVerifier(w.setup.Config, "")
	if err != nil {
		return evaluation.DrawRecord{}, nil, err
	}
	return app.VerifyDraw(context.Background(), w.setup.Config, v, id)
}
