// Command mksynth writes test material that cannot be downloaded where
// goclip is built: a model folder with the reference kit's synthetic
// full-size ViT-B/32 weights (WEIGHTS.md), and an AFHQ-like dataset of
// 512×512 JPEGs in class folders, cut from the kit's photos, and the
// generated JPEGs goclip bench preprocesses (for other engines to read).
//
//	go run ./internal/cmd/mksynth -model /tmp/vit-b-32-synth
//	go run ./internal/cmd/mksynth -dataset /tmp/afhq-like -n 300
//	go run ./internal/cmd/mksynth -bench-jpegs /tmp/bench-jpegs
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/bench"
	"github.com/goclip/goclip/checkpoint"
	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/synth"
)

func main() {
	kit := flag.String("kit", "testdata/kit", "the reference kit folder (run from the repository root)")
	model := flag.String("model", "", "write the full-size synthetic ViT-B/32 model folder here")
	dtype := flag.String("dtype", "F32", "weight type of model.safetensors: F32, F16 or BF16")
	dataset := flag.String("dataset", "", "write an AFHQ-like dataset (cat/dog/wild folders of 512×512 JPEGs) here")
	n := flag.Int("n", 300, "images in the dataset")
	benchJPEGs := flag.String("bench-jpegs", "", "write the 512×512 JPEGs goclip bench preprocesses here (bench.JPEGs(bench.PreprocessImages))")
	flag.Parse()
	if *model == "" && *dataset == "" && *benchJPEGs == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *model != "" {
		if err := writeModel(*kit, *model, *dtype); err != nil {
			log.Fatal(err)
		}
	}
	if *dataset != "" {
		if err := writeDataset(*kit, *dataset, *n); err != nil {
			log.Fatal(err)
		}
	}
	if *benchJPEGs != "" {
		if err := writeBenchJPEGs(*benchJPEGs); err != nil {
			log.Fatal(err)
		}
	}
}

func writeBenchJPEGs(dir string) error {
	jpegs, err := bench.JPEGs(bench.PreprocessImages)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, b := range jpegs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench%02d.jpg", i)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeModel(kit, dir, dtype string) error {
	src := filepath.Join(kit, "models", "vit-b-32-synth")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	cfg, err := clip.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return err
	}
	w, err := synth.Generate(cfg)
	if err != nil {
		return err
	}
	dt, err := checkpoint.ParseDType(dtype)
	if err != nil {
		return err
	}
	var tensors []checkpoint.NamedTensor
	for _, name := range w.Names() {
		tensors = append(tensors, checkpoint.NamedTensor{Name: name, Shape: w.Shapes[name], Data: w.Data[name]})
	}
	return checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, dt, map[string]string{"format": "pt"})
}

// writeDataset cuts random 512×512 windows (scaled) out of the kit's
// photos and saves them as JPEGs, spread over three class folders.
func writeDataset(kit, dir string, n int) error {
	entries, err := os.ReadDir(filepath.Join(kit, "images"))
	if err != nil {
		return err
	}
	var photos []*imageproc.RGB
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "bad-") {
			continue
		}
		img, err := imageproc.DecodeFile(filepath.Join(kit, "images", e.Name()), imageproc.Limits{})
		if err != nil || img.W < 64 || img.H < 64 {
			continue
		}
		photos = append(photos, img)
	}
	r := rand.New(rand.NewPCG(1, 2))
	classes := []string{"cat", "dog", "wild"}
	for i := 0; i < n; i++ {
		src := photos[r.IntN(len(photos))]
		side := min(src.W, src.H) * (60 + r.IntN(41)) / 100
		x0, y0 := r.IntN(src.W-side+1), r.IntN(src.H-side+1)
		crop := imageproc.NewRGB(side, side)
		for y := 0; y < side; y++ {
			copy(crop.Pix[3*y*side:3*(y+1)*side], src.Pix[3*((y0+y)*src.W+x0):3*((y0+y)*src.W+x0+side)])
		}
		out, err := imageproc.Resize(crop, 512, 512, imageproc.Bicubic)
		if err != nil {
			return err
		}
		cdir := filepath.Join(dir, classes[i%3])
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(cdir, fmt.Sprintf("img%05d.jpg", i)))
		if err != nil {
			return err
		}
		err = jpeg.Encode(f, image.Image(out), &jpeg.Options{Quality: 90})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
