package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// The linearizability check models a subset of the registry per member
// code: the member's status ("" = absent, pending, active, suspended) and
// the operations that move it. The real commands run against a 3-server
// cluster while a nemesis kills, restarts and partitions servers; porcupine
// then checks the recorded history against the sequential model.

type linInput struct {
	Op   string // submit, approve, suspend, reactivate, read
	Code string
}

type linOutput struct {
	Result  string // "ok", an error code, or for read the status ("absent")
	Unknown bool   // ErrIndeterminate: may or may not have taken effect
}

var linModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range h {
			k := op.Input.(linInput).Code
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, by[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(linInput), output.(linOutput)
		next, res := s, ""
		switch in.Op {
		case "submit":
			if s == "" {
				next, res = "pending", "ok"
			} else {
				res = "duplicate_request"
			}
		case "approve":
			switch s {
			case "":
				res = "unknown_request"
			case "pending":
				next, res = "active", "ok"
			default:
				res = "illegal_transition"
			}
		case "suspend", "reactivate":
			from, to := "active", "suspended"
			if in.Op == "reactivate" {
				from, to = to, from
			}
			switch s {
			case "":
				res = "unknown_member"
			case from:
				next, res = to, "ok"
			default:
				res = "illegal_transition"
			}
		case "read":
			res = s
			if s == "" {
				res = "absent"
			}
		}
		if out.Unknown {
			return true, next
		}
		return out.Result == res, next
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		if out.Unknown {
			return fmt.Sprintf("%s(%s) → ?", in.Op, in.Code)
		}
		return fmt.Sprintf("%s(%s) → %s", in.Op, in.Code, out.Result)
	},
}

// TestLinearizableRegistryOps runs 20 short seeded histories under random
// kill/restart/partition and checks each is linearizable.
func TestLinearizableRegistryOps(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed%02d", seed), func(t *testing.T) { runLinearSeed(t, uint64(seed)) })
	}
}

func runLinearSeed(t *testing.T, seed uint64) {
	const (
		clients  = 3
		runFor   = 1200 * time.Millisecond
		opBudget = time.Second
	)
	c := storetest.NewCluster(t, storetest.Opts{N: 3})
	codes := []string{"A", "B", "C"}
	apps := map[string]*regtest.Applicant{}
	for _, code := range codes {
		apps[code] = regtest.NewApplicant(t, fmt.Sprintf("L%d%s", seed, code))
	}

	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	var (
		mu      sync.Mutex
		history []porcupine.Operation
		dropped int
	)
	record := func(op porcupine.Operation) {
		mu.Lock()
		history = append(history, op)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(cl)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				in := linInput{Op: []string{"submit", "approve", "suspend", "reactivate", "read", "read"}[rng.IntN(6)],
					Code: codes[rng.IntN(len(codes))]}
				a := apps[in.Code]
				out, ok, call, ret := linearOp(c, rng, a, in, opBudget, now)
				if !ok {
					mu.Lock()
					dropped++
					mu.Unlock()
					time.Sleep(2 * time.Millisecond)
					continue
				}
				record(porcupine.Operation{ClientId: cl, Input: in, Output: out, Call: call, Return: ret})
			}
		}()
	}

	// Nemesis, on the test goroutine: one fault at a time.
	rng := rand.New(rand.NewPCG(seed, 99))
	var faults []string
	for time.Since(start) < runFor {
		time.Sleep(time.Duration(80+rng.IntN(120)) * time.Millisecond)
		victim := rng.IntN(3)
		if rng.IntN(2) == 0 {
			if l := c.LeaderIndex(); l >= 0 {
				victim = l
			}
		}
		if rng.IntN(2) == 0 {
			faults = append(faults, fmt.Sprintf("kill s%d", victim+1))
			c.Kill(victim)
			time.Sleep(time.Duration(100+rng.IntN(250)) * time.Millisecond)
			c.Start(victim)
		} else {
			faults = append(faults, fmt.Sprintf("isolate s%d", victim+1))
			c.Isolate(victim)
			time.Sleep(time.Duration(100+rng.IntN(250)) * time.Millisecond)
			c.Heal()
		}
	}
	close(stop)
	wg.Wait()

	// Unknown outcomes may take effect at any later time: they return at
	// "infinity".
	end := now()
	unknown := 0
	for i := range history {
		if history[i].Output.(linOutput).Unknown {
			history[i].Return = end + int64(time.Hour)
			unknown++
		}
	}
	res, info := porcupine.CheckOperationsVerbose(linModel, history, 20*time.Second)
	t.Logf("seed %d: %d operations (%d unknown, %d not executed), faults %v: %s", seed, len(history), unknown, dropped, faults, res)
	if res != porcupine.Ok {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("dxl-linear-seed%02d.html", seed))
		if err := porcupine.VisualizePath(linModel, info, path); err == nil {
			t.Logf("visualisation: %s", path)
		}
		t.Fatalf("history is not linearizable (%s)", res)
	}
}

// linearOp runs one operation. ok is false when the operation certainly
// did not take effect (not leader, unreachable, timed out before it was
// proposed, server shut down): such an operation is left out of the history.
func linearOp(c *storetest.Cluster, rng *rand.Rand, a *regtest.Applicant, in linInput, budget time.Duration, now func() int64) (out linOutput, ok bool, call, ret int64) {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	reqID := "req-" + a.Code
	if in.Op == "read" {
		l := c.LeaderIndex()
		if l < 0 {
			return out, false, 0, 0
		}
		s := c.Server(l)
		if s == nil {
			return out, false, 0, 0
		}
		call = now()
		if err := s.Sync(ctx); err != nil {
			return out, false, 0, 0
		}
		res := "absent"
		if m, err := s.Member(a.Member); err == nil {
			res = string(m.Status)
		}
		return linOutput{Result: res}, true, call, now()
	}

	var cmd state.Command
	switch in.Op {
	case "submit":
		cmd = a.Submit(reqID)
	case "approve":
		cmd = a.Approve(c.T, c.CA, reqID)
	case "suspend":
		cmd = &state.SuspendMember{Header: state.Header{Actor: "op"}, Member: a.Member, Reason: "test"}
	case "reactivate":
		cmd = &state.ReactivateMember{Header: state.Header{Actor: "op"}, Member: a.Member}
	}
	up := c.Up()
	if len(up) == 0 {
		return out, false, 0, 0
	}
	s := c.Server(up[rng.IntN(len(up))])
	if s == nil {
		return out, false, 0, 0
	}
	call = now()
	_, err := s.Apply(ctx, cmd)
	ret = now()
	switch code := state.Codes.Code(err); code {
	case "":
		return linOutput{Result: "ok"}, true, call, ret
	case "indeterminate":
		return linOutput{Unknown: true}, true, call, ret
	case "not_leader", "timeout", "shutdown":
		return out, false, 0, 0
	case "internal":
		c.T.Errorf("%s(%s): unexpected error %v", in.Op, in.Code, err)
		return out, false, 0, 0
	default:
		return linOutput{Result: code}, true, call, ret
	}
}
