package clip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/goclip/goclip/tensor"
)

// layerNorm is torch.nn.LayerNorm over the last dimension.
type layerNorm struct {
	weight, bias []float32
	eps          float32
}

func (ln *layerNorm) apply(dst, src []float32, rows int) {
	tensor.LayerNorm(dst, src, rows, len(ln.weight), ln.weight, ln.bias, ln.eps)
}

// encoderLayer is one pre-LayerNorm transformer block (CLIPEncoderLayer):
//
//	x = x + out_proj(attention(layer_norm1(x)))
//	x = x + fc2(act(fc1(layer_norm2(x))))
//
// q_proj, k_proj and v_proj are packed as one matrix of 3·d rows so that one
// GEMM computes all three; the attention scale head_dim^-0.5 is folded into
// the q rows and bias.
type encoderLayer struct {
	layerNorm1 layerNorm
	qkv        *tensor.Matrix
	qkvBias    []float32
	outProj    *tensor.Matrix
	outBias    []float32
	layerNorm2 layerNorm
	fc1        *tensor.Matrix
	fc1Bias    []float32
	fc2        *tensor.Matrix
	fc2Bias    []float32
}

// encoder is CLIPEncoder: a stack of blocks over sequences of width d.
type encoder struct {
	layers []encoderLayer
	d      int // hidden size
	ff     int // MLP width
	heads  int
	act    tensor.Activation
	causal bool // the text tower masks attention to earlier positions

	// scores holds attention's score buffers (*[]float32) between the
	// chunks of passes, which may run concurrently: warm, a pass
	// allocates none.
	scores sync.Pool
}

// scoreBuf returns a buffer of at least n floats from e.scores; the
// caller puts it back when done.
func (e *encoder) scoreBuf(n int) *[]float32 {
	b, _ := e.scores.Get().(*[]float32)
	if b == nil {
		b = new([]float32)
	}
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	return b
}

func activation(name string) (tensor.Activation, error) {
	switch name {
	case "quick_gelu":
		return tensor.QuickGELU, nil
	case "gelu":
		return tensor.GELU, nil
	}
	return tensor.Identity, fmt.Errorf("config: hidden_act %q is not supported (want quick_gelu or gelu)", name)
}

// loadEncoder reads the blocks under prefix (e.g. "vision_model"). Packing
// the weights is most of a model's load time, so blocks are packed on all
// cores, a round of GOMAXPROCS blocks at a time; after each round the
// source's pages are released (see pageReleaser), which bounds the memory
// a load needs to the packed weights plus one round of raw ones.
//
// With prec Int8 the four matrices of every block are quantized (see
// Precision); embeddings, LayerNorms, attention and the projections stay
// float32.
func loadEncoder(f *fetcher, pk *packer, prec Precision, prefix string, layers, d, ff, heads int, act string, eps float64, causal bool) (*encoder, error) {
	a, err := activation(act)
	if err != nil {
		return nil, err
	}
	e := &encoder{d: d, ff: ff, heads: heads, act: a, causal: causal, layers: make([]encoderLayer, layers)}
	scale := float32(1 / math.Sqrt(float64(d/heads)))
	round := max(1, runtime.GOMAXPROCS(0))
	for lo := 0; lo < layers; lo += round {
		hi := min(lo+round, layers)
		errs := make([]error, hi-lo)
		var wg sync.WaitGroup
		for i := lo; i < hi; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i-lo] = loadLayer(f, pk, prec == Int8, &e.layers[i], fmt.Sprintf("%s.encoder.layers.%d.", prefix, i), d, ff, eps, scale)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		f.release()
	}
	return e, nil
}

// loadLayer reads one block whose tensors are named p + ..., its matrices
// packed by pk (or taken from its pack file).
func loadLayer(shared *fetcher, pk *packer, int8 bool, l *encoderLayer, p string, d, ff int, eps float64, scale float32) error {
	f := &fetcher{w: shared.w, shapes: shared.shapes} // blocks load in parallel: an error of their own
	get := f.take
	l.layerNorm1 = layerNorm{get(p + "layer_norm1.weight"), get(p + "layer_norm1.bias"), float32(eps)}
	qBias, kBias, vBias := get(p+"self_attn.q_proj.bias"), get(p+"self_attn.k_proj.bias"), get(p+"self_attn.v_proj.bias")
	l.outBias = get(p + "self_attn.out_proj.bias")
	l.layerNorm2 = layerNorm{get(p + "layer_norm2.weight"), get(p + "layer_norm2.bias"), float32(eps)}
	l.fc1Bias = get(p + "mlp.fc1.bias")
	l.fc2Bias = get(p + "mlp.fc2.bias")
	if f.err != nil {
		return f.err
	}
	// q, k and v are one matrix, q (and its bias) scaled by 1/√head_dim.
	qkvBias := make([]float32, 0, 3*d)
	for _, v := range qBias {
		qkvBias = append(qkvBias, v*scale)
	}
	l.qkvBias = append(append(qkvBias, kBias...), vBias...)
	var err error
	l.qkv, err = pk.matrix(p+"self_attn.{q,k,v}_proj.weight", int8, 3*d, d, func() ([]float32, error) {
		qkv := make([]float32, 0, 3*d*d)
		for _, n := range []string{"q_proj", "k_proj", "v_proj"} {
			w, err := f.unscanned(p + "self_attn." + n + ".weight") // Pack and PackInt8 refuse non-finite weights
			if err != nil {
				return nil, err
			}
			if n == "q_proj" {
				for _, v := range w {
					qkv = append(qkv, v*scale)
				}
				continue
			}
			qkv = append(qkv, w...)
		}
		return qkv, nil
	})
	if err != nil {
		return err
	}
	if l.outProj, err = pk.tensorMatrix(f, p+"self_attn.out_proj.weight", int8, d, d); err != nil {
		return err
	}
	if l.fc1, err = pk.tensorMatrix(f, p+"mlp.fc1.weight", int8, ff, d); err != nil {
		return err
	}
	l.fc2, err = pk.tensorMatrix(f, p+"mlp.fc2.weight", int8, d, ff)
	return err
}

// forward runs the blocks over x and returns the final hidden state of
// one row per sequence: row pooled[s] (an absolute row index) of sequence s.
// x holds several sequences stacked row after row (width d); sequence s
// spans rows [bounds[s], bounds[s+1]). Only attention looks across rows, so
// all other steps treat the stack as one matrix, which is what lets one GEMM
// serve a whole batch of images or of prompts of different lengths without
// padding. x is overwritten.
//
// Only the pooled rows leave the encoder, so the last block computes the
// rest of its work (attention output, out_proj, MLP) for those rows alone:
// their values are exactly what the full block gives them, at a fraction of
// the cost (for ViT-B/32, one row of fifty).
func (e *encoder) forward(ctx context.Context, pool *tensor.Pool, w *workspace, x []float32, bounds, pooled []int) ([]float32, error) {
	rows := bounds[len(bounds)-1]
	d := e.d
	h := w.floats(rows * d)
	qkv := w.floats(rows * 3 * d)
	attn := w.floats(rows * d)
	mlp := w.floats(rows * e.ff)
	last := len(e.layers) - 1
	for i := range e.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l := &e.layers[i]
		l.layerNorm1.apply(h, x, rows)
		pool.Linear(qkv, h, rows, l.qkv, tensor.Epilogue{Bias: l.qkvBias})
		if i == last {
			break
		}
		e.attention(pool, attn, qkv, bounds)
		pool.Linear(x, attn, rows, l.outProj, tensor.Epilogue{Bias: l.outBias, Accumulate: true})
		l.layerNorm2.apply(h, x, rows)
		pool.Linear(mlp, h, rows, l.fc1, tensor.Epilogue{Bias: l.fc1Bias, Act: e.act})
		pool.Linear(x, mlp, rows, l.fc2, tensor.Epilogue{Bias: l.fc2Bias, Accumulate: true})
	}
	// The last block, for the pooled rows only.
	n := len(pooled)
	l := &e.layers[last]
	xp := w.floats(n * d)
	for s, r := range pooled {
		copy(xp[s*d:(s+1)*d], x[r*d:(r+1)*d])
	}
	ap := attn[:n*d]
	e.attentionRows(pool, ap, qkv, bounds, pooled)
	pool.Linear(xp, ap, n, l.outProj, tensor.Epilogue{Bias: l.outBias, Accumulate: true})
	hp := h[:n*d]
	l.layerNorm2.apply(hp, xp, n)
	mp := mlp[:n*e.ff]
	pool.Linear(mp, hp, n, l.fc1, tensor.Epilogue{Bias: l.fc1Bias, Act: e.act})
	pool.Linear(xp, mp, n, l.fc2, tensor.Epilogue{Bias: l.fc2Bias, Accumulate: true})
	return xp, nil
}

// workFloats is how many floats forward carves from its workspace for a
// stack of rows rows of which pooled leave the encoder.
func (e *encoder) workFloats(rows, pooled int) int {
	return rows*(e.d+3*e.d+e.d+e.ff) + pooled*e.d // h, qkv, attn, mlp; xp
}

// longest returns the length of the longest sequence of bounds (sequence
// s is rows bounds[s] to bounds[s+1]).
func longest(bounds []int) int {
	n := 0
	for s := 1; s < len(bounds); s++ {
		n = max(n, bounds[s]-bounds[s-1])
	}
	return n
}

// attentionRows is attention for one query row per sequence (row
// pooled[s] of sequence s), written to out row s.
func (e *encoder) attentionRows(pool *tensor.Pool, out, qkv []float32, bounds, pooled []int) {
	d, heads := e.d, e.heads
	hd := d / heads
	maxLen := longest(bounds)
	pool.Parallel(len(pooled)*heads, 1, func(lo, hi int) {
		buf := e.scoreBuf(maxLen)
		defer e.scores.Put(buf)
		for task := lo; task < hi; task++ {
			s, head := task/heads, task%heads
			start, q := bounds[s], pooled[s]
			m := bounds[s+1] - start
			if e.causal {
				m = q - start + 1
			}
			sc := (*buf)[:m]
			qi := qkv[q*3*d+head*hd:]
			qi = qi[:hd]
			for j := range sc {
				kj := qkv[(start+j)*3*d+d+head*hd:]
				sc[j] = tensor.Dot(qi, kj[:hd])
			}
			tensor.Softmax(sc)
			o := out[s*d+head*hd:]
			o = o[:hd]
			clear(o)
			for j, p := range sc {
				vj := qkv[(start+j)*3*d+2*d+head*hd:]
				tensor.Axpy(p, vj[:hd], o)
			}
		}
	})
}

// attention computes softmax(q·kᵀ)·v for every sequence and head, as two
// small matrix products per head read straight from the fused buffer. qkv
// rows hold [q | k | v] (q already scaled); out receives the heads side by
// side. In the causal (text) tower each row's softmax covers the positions
// up to its own, and the rest of the row is zeroed.
func (e *encoder) attention(pool *tensor.Pool, out, qkv []float32, bounds []int) {
	d, heads := e.d, e.heads
	hd := d / heads
	seqs := len(bounds) - 1
	maxLen := longest(bounds)
	pool.Parallel(seqs*heads, 1, func(lo, hi int) {
		buf := e.scoreBuf(maxLen * maxLen)
		defer e.scores.Put(buf)
		scores := *buf
		for task := lo; task < hi; task++ {
			s, head := task/heads, task%heads
			start, n := bounds[s], bounds[s+1]-bounds[s]
			base := start*3*d + head*hd
			sc := scores[:n*n]
			tensor.MatMulNT(sc, qkv[base:], qkv[base+d:], n, n, hd, 3*d, 3*d, n)
			for i := 0; i < n; i++ {
				row := sc[i*n : (i+1)*n]
				if e.causal {
					tensor.Softmax(row[:i+1])
					clear(row[i+1:])
				} else {
					tensor.Softmax(row)
				}
			}
			tensor.MatMulNN(out[start*d+head*hd:], sc, qkv[base+2*d:], n, hd, n, n, 3*d, d)
		}
	})
}
