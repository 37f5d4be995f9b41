// Package clip is OpenAI's CLIP in Go: the vision and text towers of a
// Hugging Face CLIPModel, loaded from a model folder (config.json,
// preprocessor_config.json, vocab.json + merges.txt, and model.safetensors,
// a sharded index or pytorch_model.bin; OpenCLIP's files too), computing
// what transformers' CLIPProcessor + CLIPModel compute, to reference
// precision, and zero-shot classification on top.
//
// The file layout follows modeling_clip.py: config.go (CLIPConfig and its
// defaults), weights.go (the checkpoint's tensor names and shapes),
// encoder.go (CLIPEncoder: pre-LayerNorm blocks, attention), vision.go
// (CLIPVisionTransformer + visual_projection), text.go
// (CLIPTextTransformer + text_projection), model.go (Model, New, the
// Encode methods, the Encoder contract). Around them: load.go (Load),
// packcache.go (towers saved packed and mapped back: Options.PackCache),
// folder.go (what a model folder says besides its weights),
// fingerprint.go (what caches key by), weights_openai.go (OpenAI/OpenCLIP
// tensor names), openclip_config.go (open_clip_config.json), zeroshot.go
// and prompts.go (classifiers and prompts files).
//
//	m, err := clip.Load("clip-vit-base-patch32", clip.Options{})
//	classes, err := clip.LabelClasses([]string{"cat", "dog"})
//	cl, err := m.NewClassifier(ctx, classes, clip.EnsembleMax)
//	emb, err := m.EncodeRGB(ctx, []*imageproc.RGB{img})
//	p, err := cl.Classify(emb[0])
//	fmt.Println(p.Label)
//
// Embeddings are CLIPModel's image_embeds and text_embeds: projected, not
// normalised (Normalize does that). A Model is safe for concurrent use.
package clip
