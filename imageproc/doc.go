// Package imageproc turns image files into the pixel tensors a CLIP vision
// tower expects, reproducing Hugging Face's CLIPImageProcessor (the "slow",
// PIL-backed implementation) value for value.
//
// Pipeline is the one way goclip turns an image source (a file, a reader,
// bytes) into a model's pixels: a bounded read, the content hash caches
// key by, the pixel limit checked from the header, the decode within a
// process-wide pixel budget, and the preprocessing. Limits holds the
// limits and their defaults. The stages it chains are usable on their own:
//
//   - Decode / DecodeFile sniff the format from the content (JPEG, PNG, GIF,
//     BMP, TIFF, WebP), refuse files larger than Limits.MaxBytes without
//     reading them whole and images larger than Limits.MaxPixels before
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
//
// "Exactly" is checked against PIL 9.4 (Debian's python3-pil, with
// libjpeg-turbo and libwebp 1.2.4), the reference the golden pixels were made
// with: every kit image, JPEG and WebP included, preprocesses to the golden
// float32 values bit for bit. JPEG pixels come from imageproc/jpeg, which
// reproduces libjpeg-turbo; lossy WebP frames are decoded by
// golang.org/x/image/webp and converted with libwebp's fancy upsampling.
// PIL's conversion rules that differ from Go's image/color are reproduced:
// 16-bit grey clips to 255 (PIL's I;16 mode), 16-bit colour keeps the high
// byte, palette entries past the PLTE are PIL's grey ramp, a GIF's
// transparent index keeps its colour, CMYK uses Pillow's cmyk2rgb, TIFF
// associated alpha is un-premultiplied.
//
// Not supported (refused with an error): animated WebP, BMPs other than
// uncompressed 1/2/4/8/24/32-bit ones, GIFs without any colour table,
// arithmetic-coded, lossless and 12-bit JPEGs, and the Nearest resampling
// filter.
package imageproc
