// Package checkpoint loads and writes model weights in the formats Hugging Face
// CLIP repositories ship: safetensors (single file or sharded with an index)
// and PyTorch's zip-format pytorch_model.bin.
//
// Loading is safe and cheap. Files are memory-mapped (read into memory on
// systems without mmap) and every structure is validated before use: the
// safetensors header length, JSON, dtypes, shapes and data offsets; the zip
// directory, the pickle program and every tensor view of a PyTorch archive.
// PyTorch pickles are read by a restricted unpickler that understands the
// handful of globals a state dict needs (collections.OrderedDict, torch's
// tensor-rebuild functions and storage types) and refuses every other global
// by name, so loading never executes code.
//
// A float32 tensor that is little-endian and 4-byte aligned in the file is
// returned by [Tensor.Float32] as a view into the mapping: no copy is made.
// Such views are read-only and valid only until the [Store] is closed.
//
// Errors name the file and, where there is one, the tensor.
package checkpoint
