package clip_test

import (
	"context"
	"testing"

	"github.com/goclip/goclip/clip"
)

// Each tower reserves exactly the activation memory it carves, for any
// batch: a first pass faults each page in once (no buffers allocated
// apart, then a grown slab), and the slab holds no more than it uses.
func TestWorkspaceReservation(t *testing.T) {
	m := synthModel(t, "tiny-synth")
	in := readInputs(t)
	pixels := goldenPixels(t, in)
	for _, b := range []int{1, 2, len(pixels)} {
		reserved, carved, err := clip.WorkspaceUse(context.Background(), m, pixels[:b], nil)
		if err != nil {
			t.Fatal(err)
		}
		if reserved != carved || carved == 0 {
			t.Errorf("image tower, batch %d: reserved %d floats, carved %d", b, reserved, carved)
		}
	}
	for _, n := range []int{1, 3, len(in.PromptIDs)} {
		reserved, carved, err := clip.WorkspaceUse(context.Background(), m, nil, in.PromptIDs[:n])
		if err != nil {
			t.Fatal(err)
		}
		if reserved != carved || carved == 0 {
			t.Errorf("text tower, %d prompts: reserved %d floats, carved %d", n, reserved, carved)
		}
	}
}
