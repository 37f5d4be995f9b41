package clip

// extra holds what Load adds to a bare model.
type extra struct {
	maxBatch int
}
