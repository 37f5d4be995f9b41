package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/goclip/goclip/cache"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/hub"
)

// ModelSpec names the model a worker loads and how.
type ModelSpec struct {
	// Ref is a local model folder (which must exist on every worker) or
	// a Hub id, downloaded once per worker into its huggingface_hub cache.
	Ref       string
	Precision string // "fp32" or "int8"
}

// models holds the models loaded in this worker process. A runner makes a
// DoFn instance per bundle processor, and several may run at once in one
// process; they share one copy of the weights, loaded by the first Setup
// and closed by the last Teardown (the Python SDK's shared.Shared does
// this for the same reason). It is the one process-wide state of the
// package.
var models = struct {
	sync.Mutex
	m map[ModelSpec]*sharedModel
}{m: map[ModelSpec]*sharedModel{}}

type sharedModel struct {
	ready chan struct{} // closed once model or err is set
	model *clip.Model
	err   error
	users int
	// turn lets one shard at a time use the model. A shard already keeps
	// every core busy (decode goroutines feeding batches to the encoder);
	// a runner that hands the process several bundles at once (Prism
	// does, and so do Dataflow's and Flink's workers) would otherwise hold
	// that many shards' images and buffers in memory, competing for the
	// same cores.
	turn chan struct{}
}

// acquireModel returns the process's model for spec, loading it on first
// use, and the function that ends this use of it.
func acquireModel(ctx context.Context, spec ModelSpec) (*sharedModel, func(), error) {
	models.Lock()
	sm, ok := models.m[spec]
	if !ok {
		sm = &sharedModel{ready: make(chan struct{}), turn: make(chan struct{}, 1)}
		models.m[spec] = sm
		go func() {
			sm.model, sm.err = loadModel(context.WithoutCancel(ctx), spec)
			if sm.err != nil {
				models.Lock()
				delete(models.m, spec) // the next Setup tries again
				models.Unlock()
			}
			close(sm.ready)
		}()
	}
	sm.users++
	models.Unlock()
	select {
	case <-sm.ready:
	case <-ctx.Done():
		releaseModel(spec, sm)
		return nil, nil, ctx.Err()
	}
	if sm.err != nil {
		return nil, nil, sm.err
	}
	return sm, func() { releaseModel(spec, sm) }, nil
}

// releaseModel ends one use of the model; the last closes it.
func releaseModel(spec ModelSpec, sm *sharedModel) {
	models.Lock()
	defer models.Unlock()
	sm.users--
	if sm.users > 0 {
		return
	}
	if models.m[spec] == sm {
		delete(models.m, spec)
	}
	go func() {
		<-sm.ready
		if sm.model != nil {
			sm.model.Close()
		}
	}()
}

func loadModel(ctx context.Context, spec ModelSpec) (*clip.Model, error) {
	p, err := clip.ParsePrecision(spec.Precision)
	if err != nil {
		return nil, fmt.Errorf("--precision: %w", err)
	}
	dir, err := hub.ResolveModel(ctx, spec.Ref, nil)
	if err != nil {
		return nil, err
	}
	slog.Info("goclip-beam: loading model", "model", spec.Ref, "folder", dir, "precision", p)
	// The weights' hashes and the packed towers are kept in the worker's
	// cache folder, as the goclip command keeps them: a worker that loads
	// the model again neither reads nor packs it twice.
	return clip.Load(dir, clip.Options{Precision: p, HashMemo: cache.HashMemo(""), PackCache: cache.PackCache("")})
}
