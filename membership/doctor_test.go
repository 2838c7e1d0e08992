package membership

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

func findings(r *doctor.Report) map[string]doctor.Finding {
	m := map[string]doctor.Finding{}
	for _, f := range r.Findings {
		m[f.Check] = f
	}
	return m
}

// TestDoctor: a healthy running server has no error; a wrong passphrase
// is one with its fix; once stopped, its databases are checked and a port
// another program holds is an error naming it.
func TestDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops a registry server: full suite only (-short skips it)")
	}
	ctx := storetest.Context(t, time.Minute)
	dir := filepath.Join(t.TempDir(), "r1")
	reg, _ := initDaemon(t, dir)
	r := Doctor(ctx, dir, DoctorOptions{Passphrase: []byte(daemonPass)})
	f := findings(r)
	if !r.Running || r.Errors() != 0 || f["server"].Status != doctor.OK || f["passphrase"].Status != doctor.OK || f["cert "+FileServerCert].Status != doctor.OK {
		t.Fatalf("healthy running server: %+v", r)
	}
	if p := findings(Doctor(ctx, dir, DoctorOptions{Passphrase: []byte("wrong")}))["passphrase"]; p.Status != doctor.Error || !strings.Contains(p.Fix, "DXL_PASSPHRASE") {
		t.Fatalf("wrong passphrase: %+v", p)
	}
	file := reg.file
	reg.Close()
	taken, err := net.Listen("tcp", file.RaftListen)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	r = Doctor(ctx, dir, DoctorOptions{})
	f = findings(r)
	if r.Running || f["server"].Status != doctor.Warn || !strings.Contains(f["server"].Fix, "dxl registry serve") {
		t.Fatalf("stopped server: %+v", f["server"])
	}
	if db := f["database "+DirRaft+"/"+store.FileRaftDB]; db.Status != doctor.OK {
		t.Errorf("raft database: %+v", db)
	}
	if p := f["port "+file.RaftListen]; p.Status != doctor.Error || !strings.Contains(p.Fix, file.RaftListen) {
		t.Errorf("taken Raft port: %+v", p)
	}
	if p := f["port "+file.APIListen]; p.Status != doctor.OK {
		t.Errorf("free API port: %+v", p)
	}
}
