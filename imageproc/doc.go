// Package imageproc turns image files into the pixel tensors a CLIP vision
// tower expects, reproducing Hugging Face's CLIPImageProcessor (the "slow",
// PIL-backed implementation) value for value.
//
// The pipeline has three stages, each usable on its own:
//
//   - Decode / DecodeFile sniff the format from the content (JPEG, PNG, GIF,
//     BMP, TIFF, WebP), refuse images larger than Options.MaxPixels before
//     allocating them, and convert the result to packed 8-bit RGB with the
//     same rules as PIL's Image.convert("RGB") (alpha is dropped, not
//     composited; EXIF orientation is not applied).
//   - Resize reproduces Pillow's ImagingResample (separable convolution with
//     antialiasing, 22-bit fixed-point coefficients, horizontal pass first),
//     so that resized pixels are bit-identical to PIL's.
//   - Config.Preprocess resizes the shortest edge, centre-crops (padding with
//     zeros when the image is smaller than the crop), rescales and
//     normalises in float32 exactly as NumPy does in CLIPImageProcessor, and
//     returns a CHW tensor.
package imageproc
