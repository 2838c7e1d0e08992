package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/oprec"
)

// crashChildEnv names the node directory a re-executed test binary serves
// (TestMain): the node the harness kills with SIGKILL.
const crashChildEnv = "DXL_TEST_CRASH_NODE_DIR"

// serveUntilKilled runs the node in dir until the process is killed.
func serveUntilKilled(dir string) {
	opts := append([]node.Option{node.WithLogger(slog.New(slog.DiscardHandler))}, childOptions()...)
	n, err := node.Open(context.Background(), dir, []byte(devnet.Passphrase), opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	_ = n.RefreshConfig(context.Background())
	select {}
}

// startChild runs the node of h as a separate process.
func startChild(t *testing.T, h *devnet.NodeHandle) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+h.Dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// ownAPIPort gives the consumer API of h a port of its own in node.json
// (an in-process node is handed a listener), for h to run as a separate
// process, and returns its base URL.
func ownAPIPort(t *testing.T, h *devnet.NodeHandle) string {
	t.Helper()
	cfg, err := node.LoadConfig(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIListen = ln.Addr().String()
	ln.Close()
	if err := node.SaveConfig(h.Dir, cfg); err != nil {
		t.Fatal(err)
	}
	return "https://" + cfg.APIListen
}

// answered is what the information system got back for one call.
type answered struct {
	id, code string
	status   int
	provider bool // the answer (success or refusal) came from the provider node
}

// crashLoad calls A with a mix of outcomes from workers until stop, and
// returns every call that was answered completely: 200s, duplicates
// refused by the provider (409), unknown services and bad paths refused
// by the consumer (404, 400).
func crashLoad(base, service string, c *http.Client, stop <-chan struct{}) []answered {
	var mu sync.Mutex
	var got []answered
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := envelope.NewRequestID().String()
				method, u := "GET", base+"/r1/"+service+fmt.Sprintf("/citizens/%d", i)
				switch i % 4 {
				case 1:
					method, u = "POST", base+"/r1/"+service+"/echo"
				case 2:
					u = base + "/r1/" + service + "x/citizens/1"
				case 3:
					u = base + "/r1/bad"
				}
				for try := 0; try < 2 && (try == 0 || i%4 == 1); try++ { // a POST twice: 200, then 409
					a, ok := tryCall(c, method, u, id)
					if !ok {
						break
					}
					mu.Lock()
					got = append(got, answered{id: id, code: a.header.Get(node.HeaderError), status: a.status,
						provider: a.header.Get(node.HeaderProvider) != "" || a.status == http.StatusConflict})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return got
}

// tryCall is do without failing the test: a call cut by the kill is not
// an answer.
func tryCall(c *http.Client, method, u, id string) (answer, bool) {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return answer{}, false
	}
	req.Header.Set("X-Request-ID", id)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, false
	}
	defer resp.Body.Close()
	var buf [4096]byte
	for {
		if _, err := resp.Body.Read(buf[:]); err != nil {
			if err.Error() != "EOF" {
				return answer{}, false
			}
			break
		}
	}
	return answer{status: resp.StatusCode, header: resp.Header}, resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout
}

// TestKill9EveryAnsweredCallRecorded: under load, kill -9 the consumer
// node (then, on a fresh network, the provider node); every call it had
// answered, whatever the outcome, has an operational record with its
// request ID, and a message-log entry when it had an envelope.
func TestKill9EveryAnsweredCallRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("a kill -9 fault test: full suite only (-short skips it)")
	}
	for _, victim := range []string{"consumer", "provider"} {
		t.Run(victim, func(t *testing.T) { kill9(t, victim) })
	}
}

func kill9(t *testing.T, victim string) {
	n := startNet(t, nil)
	h, base := n.B, "https://"+n.A.Node.APIAddr()
	if victim == "consumer" {
		h, base = n.A, ownAPIPort(t, n.A)
	}
	h.Stop()
	child := startChild(t, h)
	c := n.client(t, true)
	c.Timeout = 5 * time.Second
	waitServing(t, c, base+"/r1/"+n.Service+"/citizens/1")
	stop := make(chan struct{})
	var got []answered
	done := make(chan struct{})
	go func() { got = crashLoad(base, n.Service, c, stop); close(done) }()
	time.Sleep(2 * time.Second)
	_ = child.Process.Kill() // SIGKILL
	_ = child.Wait()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	<-done

	reopened, err := node.Open(n.ctx, h.Dir, []byte(devnet.Passphrase), node.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	recs, _, err := reopened.Records().Query(oprec.Filter{Limit: oprec.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]oprec.Record{}
	for _, r := range recs {
		have[r.RequestID+"/"+fmt.Sprint(r.Status)] = r
	}
	counted, statuses := 0, map[int]int{}
	for _, a := range got {
		if victim == "provider" && !a.provider {
			continue // answered by the consumer node alone
		}
		counted++
		statuses[a.status]++
		if _, ok := have[a.id+"/"+fmt.Sprint(a.status)]; !ok {
			t.Errorf("answered %d %s (request %s) but %s has no record of it", a.status, a.code, a.id, victim)
		}
		if a.status == 200 || a.status == http.StatusConflict && victim == "consumer" {
			if rs, err := reopened.MessageLog().Records(a.id); err != nil || len(rs) == 0 {
				t.Errorf("answered %d (request %s) but the %s's message log has no entry: %v", a.status, a.id, victim, err)
			}
		}
	}
	if statuses[200] == 0 || statuses[http.StatusConflict] == 0 || (victim == "consumer" && (statuses[404] == 0 || statuses[400] == 0)) {
		t.Fatalf("the load did not produce every outcome: %v", statuses)
	}
	t.Logf("%s killed: %d answered calls, all recorded (by status %v)", victim, counted, statuses)
}
