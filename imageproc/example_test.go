package imageproc_test

import (
	"fmt"
	"log"

	"github.com/goclip/goclip/imageproc"
)

// The whole CLIPImageProcessor path: decode a file, then resize, crop and
// normalise it as the model's preprocessor_config.json says.
func Example() {
	cfg, err := imageproc.LoadConfig("../testdata/kit/models/tiny-synth/preprocessor_config.json")
	if err != nil {
		log.Fatal(err)
	}
	img, err := imageproc.DecodeFile("../testdata/kit/images/chelsea.png", imageproc.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	pixels, err := cfg.Preprocess(img) // [3, 224, 224], channel-major
	if err != nil {
		log.Fatal(err)
	}
	h, w := cfg.OutputSize()
	fmt.Printf("%dx%d image -> %d values (3x%dx%d)\n", img.W, img.H, len(pixels), h, w)
	// Output: 451x300 image -> 150528 values (3x224x224)
}
