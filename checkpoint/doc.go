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
// A non-contiguous view in a PyTorch archive (a transposed or strided
// tensor) is copied into a contiguous one when the file is opened; such
// copies, decompressed entries and byte-swapped big-endian storages are
// limited to a memory budget proportional to the file size. The legacy
// pre-1.6 torch format is refused with advice to re-save or convert.
//
// [WriteSafetensors] and [WritePyTorch] write float32 tensors as F32, F16 or
// BF16 files laid out like the reference writers' (the archives load with
// torch.load(weights_only=True); rounding to F16/BF16 matches torch's bit for
// bit).
//
// Errors name the file and, where there is one, the tensor.
package checkpoint
