package clip

import "context"

// WorkspaceUse runs one pass of the image tower (ids nil) or of the text
// tower on a fresh workspace and reports the floats the pass reserved and
// the floats it carved: the two are equal when the tower's reservation is
// exact.
func WorkspaceUse(ctx context.Context, m *Model, images [][]float32, ids [][]int) (reserved, carved int, err error) {
	var w workspace
	out := make([]float32, max(len(images), len(ids))*m.cfg.ProjectionDim)
	if ids == nil {
		var v *visionTower
		if v, err = m.visionTower(); err == nil {
			err = v.forward(ctx, m.pool, &w, images, out)
		}
	} else {
		var t *textTower
		if t, err = m.textTower(); err == nil {
			err = t.forward(ctx, m.pool, &w, ids, out)
		}
	}
	return len(w.slab), w.used + w.more, err
}
